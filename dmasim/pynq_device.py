"""A pynq ``Device`` backed by a dmasim target, so pynq's own drivers run on simulations.

:class:`SimulatedDevice` has pynq's ``REGISTER_RW`` capability: every ``pynq.MMIO`` access
becomes ``target.bus.read32`` / ``write32`` at the physical address, and buffers come from the
target's allocator (``target.allocate``), whose ``flush()`` / ``invalidate()`` reach the
target's cache model. Nothing here touches a board: there is no ``_probe_``, so pynq never
enumerates it, and bitstream "downloads" only reset the target.

Usage, with pynq's driver unmodified::

    dev = SimulatedDevice(t)                 # any dmasim Target (model, rtl, ...)
    dma = pynq.lib.dma.DMA(dev.description("axi_dma_0"))
    A = pynq.allocate((32,), "u4", target=dev)
    pynq.Device.active_device = dev          # optional: then plain pynq.allocate/MMIO use it
    ol = pynq.Overlay("x.bit", download=False, device=dev)   # parses x.hwh next to it

Polling. pynq's drivers spin on registers with no timeout. When the CPU reads the same
register and gets the same value again, the device lets target time pass with exponential
back-off (as dmasim's own drivers do), so simulated hardware makes progress in few reads. A
caller can :meth:`~SimulatedDevice.arm` a deadline in target time (and stop conditions on
registers): a read past it raises :class:`RegisterPollTimeoutError` from inside pynq's loop.
Unarmed, a register that keeps reading the same value for ``max_poll_s`` of target time
raises :class:`RegisterPollTimeoutError` too, so a stuck pynq loop fails instead of hanging;
when the register is a DMA's, the error carries both channels' decoded DMASR (``state``) and
the likely cause (e.g. an S2MM packet shorter than the scatter-gather chain).

Interrupts. :func:`overlay` gives pynq the DMA's interrupt pins (through an ``axi_intc`` in the
.hwh it writes, as PYNQ designs have) and stands in for pynq's interrupt controller, so
``pynq.interrupt.Interrupt`` and an unmodified ``await dma.recvchannel.wait_async()`` run in
asyncio: the wait lets target time pass until the line is high (:meth:`Target.interrupt`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from . import constants, regmap
from .errors import DmasimError, DmasimValueError, DmaState, DriverUnavailableError

if TYPE_CHECKING:
    from .buffer import Buffer
    from .target import Target

__all__ = [
    "PYNQ_INSTALL_HINT",
    "PollStoppedError",
    "PynqUnavailableError",
    "RegisterPollTimeoutError",
    "SimulatedDevice",
    "SimulatedIntc",
    "dma_hang_cause",
    "overlay",
]

PYNQ_INSTALL_HINT = "pip install dmasim[pynq]"


class PynqUnavailableError(DriverUnavailableError, ImportError):
    """pynq cannot be imported; the message names the extra that installs it."""


try:
    from pynq.pl_server.device import Device
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise PynqUnavailableError(
        f"the 'pynq' driver level and SimulatedDevice need pynq, which is not installed "
        f"({exc}): {PYNQ_INSTALL_HINT}"
    ) from exc

FIRST_BACKOFF_NS = constants.POLL_FIRST_BACKOFF_NS
MAX_BACKOFF_NS = constants.POLL_MAX_BACKOFF_NS
WALL_GUARD_S = constants.POLL_WALL_GUARD_NS / 1e9
"""An armed wait that makes no progress for this long in wall time is abandoned."""
_NO_ADDR = -1


class RegisterPollTimeoutError(DmasimError, TimeoutError):
    """A register poll ran past its deadline (raised from inside the polling code).

    ``state`` holds both channels' registers when the register belongs to a DMA, ``cause``
    the likely reason it did not change.
    """

    def __init__(self, address: int, value: int, waited_ns: int,
                 state: DmaState | None = None, cause: str = ""):
        self.address = address
        self.value = value
        self.waited_ns = waited_ns
        self.state = state
        self.cause = cause
        text = (f"register 0x{address:08x} still read 0x{value:08x} after {waited_ns} ns of "
                "target time: the polling loop was stopped")
        if state is not None:
            text += f" [{state.describe()}]"
        if cause:
            text += f" Likely cause: {cause}"
        super().__init__(text)


def dma_hang_cause(state: DmaState, sg: bool) -> str:
    """Why a DMA's channel makes no progress, from its registers (``sg``: SG mode)."""
    both = state.mm2s_dmasr | state.s2mm_dmasr
    if both & regmap.DMASR_ALL_ERRORS:
        bad = "MM2S" if state.mm2s_dmasr & regmap.DMASR_ALL_ERRORS else "S2MM"
        return (f"{bad} stopped with an error ({regmap.describe_status(state.dmasr(bad))}); "
                "the engine stays halted and RS cannot be set until a reset (DMACR.Reset); "
                "pynq's channels do not reset on their own")
    if sg:
        s2mm = state.s2mm_dmasr
        if not s2mm & (regmap.DMASR_HALTED | regmap.DMASR_IDLE) and \
                state.mm2s_dmasr & (regmap.DMASR_IDLE | regmap.DMASR_HALTED):
            return ("S2MM waits for stream data in a later BD while MM2S sends nothing: the "
                    "packet (TLAST) ended before the last BD of the receive chain, so S2MM "
                    "never reaches Idle; receive into a buffer no longer than the packet")
        if state.mm2s_dmasr & regmap.DMASR_HALTED and s2mm & regmap.DMASR_HALTED:
            return "both channels are halted: nothing was started, or a stop/reset came first"
        return ("a channel has not reached its tail BD: S2MM not started or its chain too "
                "short leaves MM2S back-pressured, or the tail BD was never kicked (TAILDESC "
                "written while RS=0 is not remembered)")
    return "see the DMASR fields: the channel neither finished nor failed"


class PollStoppedError(DmasimError):
    """A watched register showed a stop bit during an armed wait (e.g. an error bit)."""

    def __init__(self, address: int, value: int):
        self.address = address
        self.value = value
        super().__init__(f"register 0x{address:08x} read 0x{value:08x}: stop condition met")


class SimulatedDevice(Device):
    """pynq ``Device`` over a dmasim :class:`~dmasim.target.Target` (``REGISTER_RW``).

    ``name`` defaults to ``"dmasim-<target name>"``; ``poll_backoff`` lets target time pass
    on repeated identical reads; ``max_poll_s`` (target seconds, None: no limit) bounds an
    unarmed poll on an unchanging register.
    """

    def __init__(
        self,
        target: Target,
        *,
        name: str | None = None,
        poll_backoff: bool = True,
        max_poll_s: float | None = 10.0,
    ):
        super().__init__(f"dmasim:{target.name}:{id(target):x}")
        self.target = target
        self.name = name or f"dmasim-{target.name}"
        self.capabilities = {"REGISTER_RW": True}
        self.ip_dict: dict[str, dict[str, Any]] = {k: dict(v) for k, v in target.ip_dict.items()}
        self.mem_dict: dict[str, Any] = {}
        self.gpio_dict: dict[str, Any] = {}
        self.interrupt_pins: dict[str, Any] = {}
        self.interrupt_controllers: dict[str, Any] = {}
        self.hierarchy_dict: dict[str, Any] = {}
        self.timestamp = ""
        self.bitfile_name = ""
        self._read32 = target.bus.read32
        self._write32 = target.bus.write32
        self._clock = target.clock
        self._backoff = poll_backoff
        self._max_poll_ns = None if max_poll_s is None else int(max_poll_s * 1e9)
        # The current run of identical reads (address, value, next back-off, start time).
        self._last_addr = _NO_ADDR
        self._last_value = 0
        self._step = FIRST_BACKOFF_NS
        self._run_start_ns = 0
        # An armed deadline (target ns) and stop conditions {address: mask}.
        self._deadline_ns: int | None = None
        self._armed_at_ns = 0
        self._wall_deadline = 0.0
        self._stops: Mapping[int, int] = {}

    # --- decoded state of a stuck DMA ----------------------------------------------------

    def _timeout(self, address: int, value: int, waited_ns: int) -> RegisterPollTimeoutError:
        """The poll timeout for ``address``, with the DMA's decoded state when it is one."""
        for info in self.target.ip_dict.values():
            base, size = info.get("phys_addr"), info.get("addr_range")
            if base is None or not size or not str(info.get("type", "")).startswith(
                    "xilinx.com:ip:axi_dma:") or not base <= address < base + size:
                continue
            try:
                state = DmaState(
                    mm2s_dmasr=self._read32(base + regmap.MM2S.DMASR),
                    s2mm_dmasr=self._read32(base + regmap.S2MM.DMASR),
                    mm2s_dmacr=self._read32(base + regmap.MM2S.DMACR),
                    s2mm_dmacr=self._read32(base + regmap.S2MM.DMACR))
            except DmasimError:
                break
            sg = str(info.get("parameters", {}).get("c_include_sg", "0")) == "1"
            return RegisterPollTimeoutError(address, value, waited_ns, state,
                                            dma_hang_cause(state, sg))
        return RegisterPollTimeoutError(address, value, waited_ns)

    # --- deadlines ---------------------------------------------------------------------

    def arm(self, timeout_ns: int, stop: Mapping[int, int] | None = None) -> None:
        """Bound the next polling in target time; ``stop`` maps addresses to stop-bit masks.

        Until :meth:`disarm`, a register read after ``timeout_ns`` raises
        :class:`RegisterPollTimeoutError`, and a read of a ``stop`` address with any of its mask
        bits set raises :class:`PollStoppedError`.
        """
        now = self._clock.now_ns
        self._armed_at_ns = now
        self._deadline_ns = now + int(timeout_ns)
        self._wall_deadline = time.monotonic() + WALL_GUARD_S
        self._stops = stop or {}

    def disarm(self) -> None:
        """Remove the deadline and stop conditions set by :meth:`arm`."""
        self._deadline_ns = None
        self._stops = {}

    @property
    def armed(self) -> bool:
        """True between :meth:`arm` and :meth:`disarm`."""
        return self._deadline_ns is not None

    def _check_armed(self, address: int, value: int) -> None:
        mask = self._stops.get(address)
        if mask and value & mask:
            raise PollStoppedError(address, value)
        deadline = self._deadline_ns
        if deadline is not None:
            now = self._clock.now_ns
            if now >= deadline or time.monotonic() > self._wall_deadline:
                raise self._timeout(address, value, now - self._armed_at_ns)

    def _repeat(self, address: int, value: int) -> None:
        """Let target time pass: the CPU read the same value again, so it is polling."""
        now = self._clock.now_ns
        deadline = self._deadline_ns
        if deadline is None and self._max_poll_ns is not None and \
                now - self._run_start_ns >= self._max_poll_ns:
            raise self._timeout(address, value, now - self._run_start_ns)
        if not self._backoff:
            return
        step = self._step
        if deadline is not None:
            step = max(min(step, deadline - now), 0)
        if step:
            self._clock.delay(step)
        if self._step < MAX_BACKOFF_NS:
            self._step *= 2

    # --- REGISTER_RW -------------------------------------------------------------------

    def read_registers(self, address: int, length: int) -> bytes:
        """``length`` bytes from physical ``address`` (whole 32-bit bus reads, little endian)."""
        if length != 4 or address & 3:
            return self._read_span(address, length)
        value = self._read32(address)
        if address == self._last_addr and value == self._last_value:
            self._repeat(address, value)
        else:
            self._last_addr, self._last_value = address, value
            self._step = FIRST_BACKOFF_NS
            self._run_start_ns = self._clock.now_ns
        if self._deadline_ns is not None:
            self._check_armed(address, value)
        return value.to_bytes(4, "little")

    def _read_span(self, address: int, length: int) -> bytes:
        if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
            raise DmasimValueError(f"register read length {length!r} must be an integer >= 1")
        first, end = address & ~3, address + length
        words = b"".join(
            self.read_registers(a, 4) for a in range(first, end, 4)
        )
        return words[address - first : address - first + length]

    def write_registers(self, address: int, data: bytes | bytearray | memoryview) -> None:
        """Write whole 32-bit words of ``data`` from physical ``address`` on (little endian).

        Sub-word writes are refused: AXI-Lite write strobes are not modelled, and a
        read-modify-write would corrupt write-1-to-clear bits.
        """
        raw = bytes(data)
        n = len(raw)
        self._last_addr = _NO_ADDR  # a write ends a polling run
        if n == 4 and not address & 3:
            self._write32(address, int.from_bytes(raw, "little"))
            return
        if address & 3 or n % 4 or n == 0:
            raise DmasimValueError(
                f"register write of {n} bytes at 0x{address:08x}: only whole 32-bit words at "
                "4-byte aligned addresses are supported"
            )
        for i in range(0, n, 4):
            self._write32(address + i, int.from_bytes(raw[i : i + 4], "little"))

    # --- memory ------------------------------------------------------------------------

    def allocate(self, shape: Any, dtype: Any = "u4", **kwargs: Any) -> Buffer:
        """Allocate a target buffer, as ``pynq.allocate(shape, dtype, target=device)`` asks for.

        Accepts pynq's ``cacheable`` keyword (default False, coherent, as on the board).
        """
        cacheable = bool(kwargs.pop("cacheable", False))
        kwargs.pop("cache", None)  # pynq's buffer-reuse hint: no effect here
        if kwargs:
            raise DmasimValueError(
                f"allocate() got unsupported options {sorted(kwargs)}: allowed cacheable"
            )
        return self.target.allocate(shape, dtype, cacheable=cacheable)

    def _byte_view(self, bo: Any, offset: int, size: int) -> Buffer:
        from .buffer import Buffer

        if not isinstance(bo, Buffer):
            raise DmasimValueError(
                f"flush/invalidate need a buffer from this device's allocate(), not "
                f"{type(bo).__name__}"
            )
        flat = bo.root.view(np.uint8).reshape(-1)
        if offset < 0 or size < 0 or offset + size > flat.size:
            raise DmasimValueError(
                f"range {offset}+{size} is outside the {flat.size}-byte buffer"
            )
        return flat[offset : offset + size]  # type: ignore[return-value]

    def flush(self, bo: Any, offset: int, ptr: int, size: int) -> None:
        """Flush ``size`` bytes at ``offset`` of ``bo`` (pynq's device-level call)."""
        self._byte_view(bo, offset, size).flush()

    def invalidate(self, bo: Any, offset: int, ptr: int, size: int) -> None:
        """Invalidate ``size`` bytes at ``offset`` of ``bo`` (pynq's device-level call)."""
        self._byte_view(bo, offset, size).invalidate()

    # --- descriptions and overlays -----------------------------------------------------

    def description(self, ip_name: str = "axi_dma_0") -> dict[str, Any]:
        """Return the target's ``ip_dict`` entry for ``ip_name`` plus ``"device": self``.

        Interrupts are dropped: pynq would look for them on a real PL; its drivers then poll.
        """
        try:
            info = self.target.ip_dict[ip_name]
        except KeyError:
            raise DmasimValueError(
                f"no IP named {ip_name!r} in this design (have: {', '.join(self.target.ip_dict)})"
            ) from None
        desc = dict(info)
        desc["interrupts"] = {}
        desc["gpio"] = {}
        desc["device"] = self
        return desc

    def get_bitfile_metadata(self, bitfile_name: str, partial: bool = False) -> Any:
        """Parse the ``.hwh`` next to ``bitfile_name`` as pynq 4's ``EmbeddedDevice`` does."""
        from pynq.pl_server.hwh_parser import HWH, get_hwh_name

        hwh = get_hwh_name(bitfile_name)
        if partial:
            return HWH(hwh)
        try:
            from pynqmetadata.frontends import Metadata
            from pynqmetadata.views.runtime import RuntimeMetadataParser
        except ImportError:  # older pynq: the HWH parser is the full one
            return HWH(hwh)
        return RuntimeMetadataParser(Metadata(input=hwh))

    def download(self, bitstream: Any, parser: Any = None) -> None:
        """"Program" the design: a power-on reset of the target, then pynq's bookkeeping."""
        self.target.reset()
        self.post_download(bitstream, parser if parser is not None else self.parser, self.name)

    def gen_cache(self, bitstream: Any, parser: Any = None) -> None:
        """No metadata cache for a simulated device."""

    def insert_device_tree(self, abs_dtbo: str) -> None:
        """Device tree overlays do not apply to a simulated device (ignored)."""

    def remove_device_tree(self, abs_dtbo: str) -> None:
        """Device tree overlays do not apply to a simulated device (ignored)."""

    def shutdown(self) -> None:
        """No PL AXI shutdown managers to drive on a simulated device."""

    def __repr__(self) -> str:
        return f"<SimulatedDevice {self.name!r} on {self.target!r}>"


class SimulatedIntc:
    """Stands in for pynq's ``_InterruptController`` of an overlay's ``axi_intc``.

    pynq's ``Interrupt.wait()`` calls :meth:`add_event`; the event is set once the line is high
    on the target (:meth:`Target.interrupt`, which lets target time pass). A wait that runs
    past ``timeout_ns`` of target time raises dmasim's timeout error in the waiting coroutine
    instead of leaving it asleep forever.
    """

    def __init__(self, device: SimulatedDevice, name: str, lines: Mapping[int, tuple[str, str]],
                 timeout_ns: int):
        self.name = name
        self.device = device
        self.lines = dict(lines)
        self.timeout_ns = timeout_ns
        self._tasks: set[Any] = set()

    def add_event(self, event: Any, number: int) -> None:
        """Set ``event`` when input ``number`` is high (pynq's controller protocol)."""
        import asyncio

        task = asyncio.get_running_loop().create_task(self._watch(event, number))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, event: Any, number: int) -> None:
        ip, port = self.lines[number]
        try:
            await self.device.target.interrupt(ip, port, timeout_ns=self.timeout_ns)
        except Exception as exc:  # deliver the timeout to whoever awaits the event
            waiters = [f for f in getattr(event, "_waiters", ()) if not f.done()]
            for fut in waiters:
                fut.set_exception(exc)
            if not waiters:
                raise
            return
        event.set()


def _with_intc(design: Any) -> tuple[Any, str | None, dict[int, tuple[str, str]]]:
    """``design`` with its DMA interrupt lines on an ``axi_intc`` (pynq lists only those).

    Returns the design for the .hwh, the controller's name and its inputs (index -> (ip,
    port)); the design itself when it has an intc already or no DMA lines.
    """
    import copy
    import dataclasses

    from .design.ips import intc_instance
    from .design.types import vlnv_name

    intcs = [i.name for i in design.instances.values() if vlnv_name(i.vlnv) == "axi_intc"]
    lines = [ln for ln in design.interrupt_lines if ln.controller is None]
    if intcs:
        name = intcs[0]
        inputs = {ln.index: (ln.source.instance, ln.source.interface)
                  for ln in design.interrupt_lines
                  if ln.controller == name and ln.index is not None}
        return design, name, inputs
    if not lines:
        return design, None, {}
    out = copy.deepcopy(design)
    name = "axi_intc_0"
    base = 0x4180_0000
    while any(w.base <= base < w.end or base <= w.base < base + 0x1_0000
              for _, w in out.windows()):
        base += 0x1_0000
    out.instances[name] = intc_instance(name, base, len(lines))
    inputs = {}
    rewired = []
    for ln in out.interrupt_lines:
        if ln.controller is None:
            i = len(inputs)
            inputs[i] = (ln.source.instance, ln.source.interface)
            ln = dataclasses.replace(ln, controller=name, index=i)
        rewired.append(ln)
    out.interrupt_lines = rewired
    return out, name, inputs


def overlay(target: Target, name: str = "dma_loopback_1", **device_options: Any) -> Any:
    """A real ``pynq.Overlay`` of the target's design: notebook code runs as is.

    The design's ``.hwh`` is written from ``target.design`` (:meth:`Design.write_hwh`; the
    loopback with the target's DMA parameters when it has none) into a temporary folder that
    lives as long as the overlay, and pynq parses it with its own code; ``overlay.axi_dma_0``
    is then pynq's unmodified ``pynq.lib.dma.DMA`` on a :class:`SimulatedDevice`, and
    ``pynq.allocate(..., target=overlay.device)`` hands out the target's buffers::

        ol = dmasim.pynq_device.overlay(t)
        A = pynq.allocate((32,), "u4", target=ol.device)
        ol.axi_dma_0.sendchannel.transfer(A)

    Interrupt lines reach pynq through an ``axi_intc`` added to the .hwh when the design wires
    them straight to the PS (pynq lists only pins on a controller); the device becomes pynq's
    active device (as a board's overlay is) and a :class:`SimulatedIntc` answers for that
    controller, so ``await ol.axi_dma_0.recvchannel.wait_async()`` works unmodified.
    """
    import tempfile
    import warnings
    import weakref

    import pynq

    from .board.hwh import write_overlay
    from .design import Design

    folder = tempfile.TemporaryDirectory(prefix="dmasim-overlay-")
    design = target.design
    if design is None:
        design = Design.loopback(target.ip_dict["axi_dma_0"].get("parameters", {}))
    design, intc, inputs = _with_intc(design)
    bit = write_overlay(folder.name, name, design=design)
    device = SimulatedDevice(target, **device_options)
    if intc is not None:
        pynq.Device.active_device = device  # pynq's Interrupt looks pins up on the active device
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynq warns about the placeholder bitstream's header
        ol = pynq.Overlay(str(bit), download=False, device=device)
    weakref.finalize(ol, folder.cleanup)
    if intc is not None:
        from pynq.interrupt import _InterruptController

        limit = device._max_poll_ns or constants.IRQ_WAIT_TIMEOUT_NS
        ctrl = SimulatedIntc(device, intc, inputs, limit)
        registry = _InterruptController._controllers
        registry[:] = [c for c in registry if c.name != intc]
        registry.append(ctrl)
        _InterruptController._last_timestamp = device.timestamp
        ol.dmasim_intc = ctrl  # pynq keeps only a weak reference to its controllers
    return ol
