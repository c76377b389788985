"""The target contract: role protocols, the :class:`Target` base, :class:`MMIO`, the registry.

A target is the thing drivers and tests talk to: the Python model, the RTL simulation or the
board. Each supplies three small roles — a register bus, a buffer allocator and a clock — and
the base class builds the public API (``mmio``, ``allocate``, drivers) on top of them, so the
drivers and the tests only ever see these protocols.

What only some targets offer is declared here too, as protocols a target (or its bus)
implements and code tests with ``isinstance``: :class:`Describes` and :class:`Traces`
(insight for failure reports), :class:`Waves`, :class:`FaultInjector`, :class:`Interrupts`,
:class:`NativeMapping` (a ``/dev/mem`` the C levels map themselves), :class:`PynqDeviceOwner`
(a pynq ``Device`` for the ``"pynq"`` level), :class:`DmaBarrier` and, on the bus,
:class:`WindowAccess`. Nothing looks for these members by name.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, final, runtime_checkable

import numpy as np

from .errors import DmasimValueError, TargetError

if TYPE_CHECKING:
    from .buffer import Buffer
    from .design import Design

__all__ = [
    "MMIO",
    "Allocator",
    "Clock",
    "Channel",
    "Describes",
    "DmaBarrier",
    "Driver",
    "FaultInjector",
    "Interrupts",
    "NativeMapping",
    "PynqDeviceOwner",
    "RegisterBus",
    "Traces",
    "WindowAccess",
    "WindowOps",
    "Waves",
    "Target",
    "available_targets",
    "open_target",
    "register_target",
]

AXI_DMA_VLNV_PREFIX = "xilinx.com:ip:axi_dma:"


@runtime_checkable
class RegisterBus(Protocol):
    """32-bit register access at physical addresses."""

    def read32(self, addr: int) -> int:
        """Read the 32-bit register at physical ``addr``."""
        ...

    def write32(self, addr: int, value: int) -> None:
        """Write the 32-bit register at physical ``addr``."""
        ...


@runtime_checkable
class Allocator(Protocol):
    """Physically contiguous buffers, as ``pynq.allocate`` hands out."""

    def allocate(self, shape: Any, dtype: Any, cacheable: bool) -> Buffer:
        """A new buffer; raises on bad size/dtype or when memory is exhausted."""
        ...

    def owns(self, buffer: object) -> bool:
        """True if ``buffer`` (or a view of it) came from here and is not freed."""
        ...

    def free_all(self) -> None:
        """Free every buffer still live (between tests; closing the target)."""
        ...


@runtime_checkable
class Clock(Protocol):
    """Time as the hardware sees it: simulated on model/rtl, wall-clock on the board."""

    @property
    def now_ns(self) -> int:
        """Current time in ns."""
        ...

    def delay(self, ns: int) -> None:
        """Let ``ns`` nanoseconds pass."""
        ...


@runtime_checkable
class FaultInjector(Protocol):
    """Memory regions that answer SLVERR/DECERR (simulated targets only)."""

    def add_fault(self, addr: int, nbytes: int, kind: str = "slverr") -> None:
        """Make ``[addr, addr + nbytes)`` answer ``kind`` (``"slverr"`` or ``"decerr"``)."""
        ...

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        ...


# --- the drivers as the contract sees them ---------------------------------------------------


class Channel(Protocol):
    """One direction of a DMA driver (``sendchannel``/``recvchannel``), as ``pynq.lib.dma``."""

    @property
    def name(self) -> str:
        """``"MM2S"`` or ``"S2MM"``."""
        ...

    @property
    def max_size(self) -> int:
        """The longest transfer in bytes (``2**c_sg_length_width - 1``)."""
        ...

    @property
    def running(self) -> bool:
        """True when the channel is not halted."""
        ...

    @property
    def idle(self) -> bool:
        """True when the last transfer completed."""
        ...

    @property
    def error(self) -> bool:
        """True when an error bit is set."""
        ...

    @property
    def transferred(self) -> int:
        """Bytes moved by the last completed transfer."""
        ...

    def transfer(self, buffer: Buffer, start: int = 0, nbytes: int = 0) -> None:
        """Start moving ``nbytes`` (0: to the end) of ``buffer`` from byte ``start``."""
        ...

    def wait(self, timeout: float = 1.0, *, interrupt: bool = False) -> None:
        """Wait for the transfer; raise with decoded state on error or timeout.

        ``interrupt=True`` sleeps on the channel's interrupt line (targets with ``"irq"``).
        """
        ...

    async def wait_async(self, timeout: float = 1.0) -> None:
        """:meth:`wait` on the interrupt line, in asyncio."""
        ...

    def start(self, timeout: float = 1.0) -> None:
        """Set RS and wait until the channel runs."""
        ...

    def stop(self, timeout: float = 1.0) -> None:
        """Clear RS and wait until the channel halts."""
        ...


class Driver(Protocol):
    """A driver level bound to one DMA (``t.driver(level, dma=name)``).

    The levels live in :mod:`dmasim.drivers`; the contract knows them only by this shape and
    creates them through :data:`DRIVER_FACTORY`, so it never imports them.
    """

    @property
    def level(self) -> str:
        """The level's name: ``"pynq"``, ``"python"``, ``"pybind11"``, ``"cffi"``."""
        ...

    @property
    def ip_name(self) -> str:
        """The DMA instance it drives."""
        ...

    @property
    def sendchannel(self) -> Channel:
        """MM2S."""
        ...

    @property
    def recvchannel(self) -> Channel:
        """S2MM."""
        ...

    def read(self, offset: int) -> int:
        """A register of this DMA."""
        ...

    def reset(self, timeout: float = 1.0) -> None:
        """Soft-reset the engine, then restart both channels on next use."""
        ...

    def forget_state(self) -> None:
        """After a power-on reset of the design: restart the channels lazily."""
        ...

    def close(self) -> None:
        """Release level resources (native handles)."""
        ...


DRIVER_FACTORY = "dmasim.drivers:load_driver"
"""``module:attr`` of ``(level, target, ip_name) -> Driver``, imported on the first driver."""


# --- optional capabilities: what only some targets offer ------------------------------------

WindowOps = tuple[Callable[..., int], Callable[[int, int], None]]
"""``(read(offset, length=4), write(offset, value))`` of one register window."""


@runtime_checkable
class WindowAccess(Protocol):
    """A bus that serves a whole window with its own checked accessors (saves a call per access).

    The model's bus does, and the rtl target for its first DMA's window: drivers poll through
    these.
    """

    def window_ops(self, mmio: MMIO) -> WindowOps | None:
        """Read/write for ``mmio``'s window (checking offsets and values as MMIO does), or None."""
        ...


@runtime_checkable
class Describes(Protocol):
    """A target that can say what state it is in (a failing test's report shows it)."""

    def describe(self) -> str:
        """Decoded registers and whatever else explains the state, as text."""
        ...


@runtime_checkable
class Traces(Protocol):
    """A target that keeps the last register accesses."""

    def format_trace(self, last: int = 32) -> str:
        """The last ``last`` accesses, decoded, with timestamps."""
        ...


@runtime_checkable
class Waves(Protocol):
    """A simulated target that can write waveforms."""

    @property
    def wave_file(self) -> Path | None:
        """The waveform file being written, or None."""
        ...

    def start_waves(self, path: str | os.PathLike[str]) -> Path:
        """Write the waveform from now on to ``path`` (a file or a name); the file's path."""
        ...


@runtime_checkable
class Interrupts(Protocol):
    """A target whose interrupt lines can be read and awaited."""

    def interrupts(self) -> dict[str, bool]:
        """Level of every interrupt line now, by ``"instance/port"`` (loopback: bare port)."""
        ...

    async def interrupt(self, ip: str = "axi_dma_0", port: str = "s2mm_introut", *,
                        timeout_ns: int | None = None) -> None:
        """Return when ``ip``'s line ``port`` is high; raise a timeout error past the deadline."""
        ...


@runtime_checkable
class NativeMapping(Protocol):
    """A target whose registers the C core may map itself (the board's ``/dev/mem``)."""

    def native_mapping(self, ip_name: str) -> tuple[str, int, int] | None:
        """``(path, phys_base, length)`` of ``ip_name``'s window, or None (use the bus)."""
        ...

    def native_outer_sync(self) -> tuple[str, int] | None:
        """``(path, address)`` of the outer cache's sync register for the barrier, or None."""
        ...


@runtime_checkable
class PynqDeviceOwner(Protocol):
    """A target with a pynq ``Device`` of its own (the board's), which the pynq level runs on."""

    pynq_device: Any
    """pynq's ``Device``, or None where the pynq level should run over the target's bus."""


@runtime_checkable
class DmaBarrier(Protocol):
    """A target where CPU writes must be ordered before the register write starting the DMA."""

    def dma_barrier(self) -> None:
        """Order the CPU's buffer writes before the next register write (DSB + outer sync)."""
        ...


def check_delay(ns: object) -> int:
    """``ns`` as an int if it is a whole number of ns >= 0, else raise.

    ``Target.delay`` (final) calls it before the clock role sees the value; a clock that user
    code may reach by another way (the remote board's) calls it too.
    """
    if type(ns) is int and ns >= 0:
        return ns
    if isinstance(ns, (int, np.integer)) and not isinstance(ns, bool) and ns >= 0:
        return int(ns)
    raise DmasimValueError(f"delay {ns!r} ns is not a whole number >= 0")


class MMIO:
    """A register window, mirroring ``pynq.MMIO``: ``read(offset)`` / ``write(offset, value)``.

    Offsets are relative to the window, 4-byte aligned and inside it; values fit 32 bits.
    Anything else raises :class:`DmasimValueError` naming the offset and the window, before the
    bus is touched, so the target stays usable.
    """

    __slots__ = ("_read32", "_write32", "base_addr", "length", "read", "write")

    read: Callable[..., int]
    """``read(offset, length=4) -> int``: the 32-bit register at ``offset``."""
    write: Callable[[int, int], None]
    """``write(offset, value)``: store the 32-bit ``value`` at ``offset``."""

    def __init__(self, bus: RegisterBus, base_addr: int, length: int):
        self.base_addr = base_addr
        self.length = length
        self._read32 = bus.read32
        self._write32 = bus.write32
        ops = bus.window_ops(self) if isinstance(bus, WindowAccess) else None
        self.read, self.write = ops if ops is not None else (self._read, self._write)

    def check_offset(self, offset: object, length: int = 4) -> int:
        """``offset`` as an int if it is a valid register offset here, else raise."""
        if length != 4:
            raise DmasimValueError(f"access length {length!r} is not supported: only 4 bytes")
        if isinstance(offset, (int, np.integer)) and not isinstance(offset, bool):
            value = int(offset)
            if not value & 3 and 0 <= value < self.length:
                return value
        raise DmasimValueError(
            f"register offset {offset!r} is not a 4-byte aligned offset inside the window "
            f"0x{self.base_addr:08x}+[0, 0x{self.length:x}): allowed 0..0x{self.length - 4:x}"
            " in steps of 4"
        )

    def check_value(self, offset: int, value: object) -> int:
        """``value`` as an int if it fits a 32-bit register, else raise."""
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            number = int(value)
            if 0 <= number <= 0xFFFF_FFFF:
                return number
            raise DmasimValueError(
                f"register value {number:#x} at offset 0x{offset:x} does not fit 32 bits: "
                "allowed 0..0xffffffff"
            )
        raise DmasimValueError(f"register value {value!r} is not an integer: allowed 0..0xffffffff")

    def _read(self, offset: int, length: int = 4) -> int:
        if type(offset) is not int or offset & 3 or not 0 <= offset < self.length or length != 4:
            offset = self.check_offset(offset, length)
        return self._read32(self.base_addr + offset)

    def _write(self, offset: int, value: int) -> None:
        if type(offset) is not int or offset & 3 or not 0 <= offset < self.length:
            offset = self.check_offset(offset)
        if type(value) is not int or not 0 <= value <= 0xFFFF_FFFF:
            value = self.check_value(offset, value)
        self._write32(self.base_addr + offset, value)

    def __repr__(self) -> str:
        return f"MMIO(base_addr=0x{self.base_addr:08x}, length=0x{self.length:x})"


class Target:
    """Base of every target: the public API over the three role objects.

    Subclasses set ``bus``, ``memory``, ``clock`` (three role objects) and ``ip_dict`` in
    ``__init__`` and implement :meth:`_reset_design` and :meth:`_close`; the public methods
    over the roles are final, so every target makes the same checks. Optional: ``faults`` (a
    :class:`FaultInjector`), the capability protocols above, and ``capabilities`` naming what
    tests may rely on (``"faults"``, ``"cache-model"``, ``"irq"``, ``"trace"``).
    """

    name: ClassVar[str] = "abstract"
    simulated: ClassVar[bool] = True
    default_level: ClassVar[str] = "python"

    bus: RegisterBus
    memory: Allocator
    clock: Clock
    ip_dict: dict[str, dict[str, Any]]
    design: Design | None = None
    """The block design the target realises (None where a target cannot describe it)."""
    capabilities: frozenset[str] = frozenset()
    faults: FaultInjector | None = None

    def __init__(self) -> None:
        self._closed = False
        self._drivers: dict[tuple[str, str], Driver] = {}

    # --- registers ---------------------------------------------------------------------

    @final
    def mmio(self, base_addr: int, length: int = 0x1_0000) -> MMIO:
        """A register window; it must lie inside one IP window of ``ip_dict``."""
        self._check_open()
        for info in self.ip_dict.values():
            if info.get("phys_addr") is None or not info.get("addr_range"):
                continue  # pynq lists the PS and other IPs without a register window
            lo, size = int(info["phys_addr"]), int(info["addr_range"])
            if lo <= base_addr and base_addr + length <= lo + size and length > 0:
                return MMIO(self.bus, base_addr, length)
        windows = ", ".join(
            f"{n}: 0x{int(i['phys_addr']):08x}+0x{int(i['addr_range']):x}"
            for n, i in self.ip_dict.items()
            if i.get("phys_addr") is not None and i.get("addr_range")
        )
        raise DmasimValueError(
            f"window 0x{base_addr:08x}+0x{length:x} is not inside an IP's register window "
            f"(allowed: {windows})"
        )

    def ip_mmio(self, ip_name: str = "axi_dma_0") -> MMIO:
        """The whole register window of IP ``ip_name``."""
        info = self._ip(ip_name)
        return self.mmio(int(info["phys_addr"]), int(info["addr_range"]))

    def _ip(self, ip_name: str) -> dict[str, Any]:
        try:
            return self.ip_dict[ip_name]
        except KeyError:
            raise DmasimValueError(
                f"no IP named {ip_name!r} in this design (have: {', '.join(self.ip_dict)})"
            ) from None

    # --- buffers and time --------------------------------------------------------------

    @final
    def allocate(self, shape: Any, dtype: Any = "u4", cacheable: bool = False) -> Buffer:
        """A contiguous buffer, like ``pynq.allocate`` (``cacheable=False`` is coherent)."""
        self._check_open()
        return self.memory.allocate(shape, dtype, cacheable)

    def owns(self, buffer: object) -> bool:
        """True if ``buffer`` was allocated here and is not freed."""
        return self.memory.owns(buffer)

    @final
    def delay(self, ns: int) -> None:
        """Let ``ns`` nanoseconds pass (simulators advance time; the board sleeps).

        Final: the check is made here once, and the clock role only ever gets a whole
        number of ns >= 0.
        """
        self.clock.delay(check_delay(ns))

    @final
    @property
    def now_ns(self) -> int:
        """The target's time in ns."""
        return self.clock.now_ns

    # --- design control ----------------------------------------------------------------

    @final
    def reset(self) -> None:
        """Power-on reset of the design. Buffers stay allocated, memory keeps its contents."""
        self._check_open()
        self._reset_design()
        for drv in self._drivers.values():
            drv.forget_state()

    def _reset_design(self) -> None:
        raise NotImplementedError

    def stall_cause(self, dma: str, channel: str, *, programmed: int = 0) -> str | None:
        """Why ``dma``'s ``channel`` (``"MM2S"``/``"S2MM"``) is stuck, from the design's state.

        ``programmed`` is the S2MM LENGTH the driver last wrote (0: unknown). Simulated targets
        that see the stream name the IP at fault; None lets the driver explain from the DMA
        registers alone.
        """
        return None

    # --- interrupts --------------------------------------------------------------------

    def interrupts(self) -> dict[str, bool]:
        """Level of every interrupt line now, by ``"instance/port"`` (targets with "irq")."""
        raise TargetError(f"the {self.name} target cannot observe interrupt lines")

    def _irq_key(self, ip: str, port: str) -> str:
        """The :meth:`interrupts` key of ``ip``'s line ``port``."""
        levels = self.interrupts()
        for key in (f"{ip}/{port}", port):
            if key in levels and (key != port or ip == "axi_dma_0" or len(levels) <= 2):
                return key
        raise DmasimValueError(
            f"no interrupt line {ip}/{port} in this design (lines: "
            f"{', '.join(sorted(levels)) or 'none'})")

    async def interrupt(self, ip: str = "axi_dma_0", port: str = "s2mm_introut", *,
                        timeout_ns: int | None = None) -> None:
        """Return once ``ip``'s interrupt line ``port`` is high (at once if it already is).

        Meanwhile target time passes in growing steps (:meth:`delay`) and the event loop runs
        between them, so other coroutines (e.g. pynq's ``wait_async``) progress too. Past
        ``timeout_ns`` of target time (default ``constants.IRQ_WAIT_TIMEOUT_NS``) it raises
        :class:`~dmasim.errors.DmaTimeoutError` with both channels' DMASR decoded.
        """
        import asyncio

        from . import constants

        self._check_open()
        key = self._irq_key(ip, port)
        limit = constants.IRQ_WAIT_TIMEOUT_NS if timeout_ns is None else check_delay(timeout_ns)
        start = self.now_ns
        deadline = start + limit
        step = constants.POLL_FIRST_BACKOFF_NS
        while not self.interrupts()[key]:
            now = self.now_ns
            if now >= deadline:
                raise self._irq_timeout(ip, port, now - start)
            self.delay(max(1, min(step, deadline - now)))
            step = min(step * 2, constants.POLL_MAX_BACKOFF_NS)
            await asyncio.sleep(0)

    def _irq_timeout(self, ip: str, port: str, waited_ns: int) -> Exception:
        """The timeout of :meth:`interrupt`: decoded DMASRs and the likely reason."""
        from . import regmap
        from .errors import DmaState, DmaTimeoutError

        channel = "MM2S" if port.startswith("mm2s") else "S2MM"
        try:
            mmio = self.ip_mmio(ip)
            read = mmio.read
            state = DmaState(mm2s_dmasr=read(regmap.MM2S.DMASR), s2mm_dmasr=read(regmap.S2MM.DMASR),
                             mm2s_dmacr=read(regmap.MM2S.DMACR), s2mm_dmacr=read(regmap.S2MM.DMACR))
        except DmasimValueError:  # not a DMA: no registers to decode
            return DmaTimeoutError(f"interrupt {ip}/{port} stayed low for {waited_ns} ns",
                                   channel=channel, state=None)
        cr, sr = (state.mm2s_dmacr, state.mm2s_dmasr) if channel == "MM2S" else (
            state.s2mm_dmacr, state.s2mm_dmasr)
        if not cr & regmap.DMACR_IRQEN_ALL:
            cause = ("no interrupt is enabled on this channel: set IOC_IrqEn/Dly_IrqEn/"
                     "Err_IrqEn (DMACR bits 12..14)")
        elif sr & regmap.DMASR_IRQS:
            cause = (f"{regmap.describe_status(sr)} is pending but its enable bit in DMACR "
                     f"0x{cr:08x} is 0")
        elif sr & regmap.DMASR_HALTED:
            cause = "the channel is halted (never started, stopped, or reset): nothing can finish"
        elif sr & regmap.DMASR_IDLE:
            cause = ("the channel is idle and its IOC_Irq was already cleared, or the threshold "
                     "counter (DMASR[23:16]) has not reached 1")
        else:
            cause = ("the transfer has not finished: no packet end yet (S2MM waits for data or "
                     "TLAST; MM2S waits for the stream to drain)")
        return DmaTimeoutError(f"interrupt {ip}/{port} stayed low for {waited_ns} ns of target "
                               "time", channel=channel, state=state, cause=cause)

    def _close(self) -> None:
        """Release the target's resources (subclasses)."""

    @final
    def close(self) -> None:
        """Release the target; idempotent."""
        if self._closed:
            return
        self._closed = True
        for drv in self._drivers.values():
            with suppress(Exception):
                drv.close()
        self._drivers.clear()
        self._close()

    def _check_open(self) -> None:
        if self._closed:
            raise TargetError(f"the {self.name} target is closed")

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- drivers -----------------------------------------------------------------------

    def driver(
        self, level: str | None = None, ip_name: str = "axi_dma_0", *, dma: str | None = None
    ) -> Driver:
        """The driver of one DMA at ``level``: ``"pynq"``, ``"python"``, ``"pybind11"``, ``"cffi"``.

        The DMA is ``dma`` when given, else ``ip_name`` (default ``axi_dma_0``).
        """
        self._check_open()
        if dma is not None:
            ip_name = dma
        level = level or self.default_level
        key = (level, ip_name)
        drv = self._drivers.get(key)
        if drv is None:
            info = self._ip(ip_name)
            if not str(info.get("type", "")).startswith(AXI_DMA_VLNV_PREFIX):
                raise DmasimValueError(f"IP {ip_name!r} is {info.get('type')!r}, not an AXI DMA")
            drv = _load(DRIVER_FACTORY)(level, self, ip_name)
            self._drivers[key] = drv
        return drv

    def dma(self, name: str = "axi_dma_0", level: str | None = None) -> Driver:
        """The driver of DMA instance ``name`` at ``level`` (default level when None)."""
        return self.driver(level, dma=name)

    @property
    def axi_dma_0(self) -> Driver:
        """The default driver level on ``axi_dma_0``."""
        return self.driver()

    def __repr__(self) -> str:
        return f"<dmasim {self.name} target{' (closed)' if self._closed else ''}>"


# --- registry ------------------------------------------------------------------------------

TargetFactory = Callable[..., Target]
_REGISTRY: dict[str, TargetFactory | str] = {
    "model": "dmasim.model.target:ModelTarget",
    "rtl": "dmasim.rtl.target:RtlTarget",
    "board": "dmasim.board.remote:open_board",  # host=...: through PYNQ.remote
}


def register_target(name: str, factory: TargetFactory | str) -> None:
    """Register a target under ``name``: a callable, or ``"module:attr"`` loaded on first use.

    Third-party packages can also declare an entry point in the ``dmasim.targets`` group.
    """
    _REGISTRY[name] = factory


def _entry_points() -> Mapping[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group="dmasim.targets")}


def available_targets() -> list[str]:
    """Names ``open_target`` accepts."""
    return sorted(set(_REGISTRY) | set(_entry_points()))


def _load(spec: str) -> Any:
    """The object ``"module:attr.attr"`` names, importing the module."""
    module, _, attr = spec.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _resolve(name: str) -> TargetFactory:
    spec = _REGISTRY.get(name) or _entry_points().get(name)
    if spec is None:
        raise DmasimValueError(
            f"unknown target {name!r}: allowed {', '.join(available_targets())}"
        )
    if isinstance(spec, str):
        return _load(spec)  # type: ignore[no-any-return]
    return spec


def open_target(name: str = "model", **options: Any) -> Target:
    """Open the target ``name`` (``"model"``, ``"rtl"``, ``"board"`` or a registered one)."""
    return _resolve(name)(**options)


def iter_dma_ips(ip_dict: Mapping[str, Mapping[str, Any]]) -> Iterator[str]:
    """Names of the AXI DMA IPs in ``ip_dict``."""
    for name, info in ip_dict.items():
        if str(info.get("type", "")).startswith(AXI_DMA_VLNV_PREFIX):
            yield name
