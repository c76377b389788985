"""The ``board`` target: the real bitstream on a PYNQ-Z2, driven from the board itself.

The overlay is loaded with ``pynq.Overlay`` (or the loaded one attached to), ``ip_dict`` comes
from its .hwh, registers are reached through :class:`~dmasim.board.devmem.DevMem` windows
over exactly the IP ranges ``ip_dict`` names, buffers come from ``pynq.allocate`` and time
is the wall clock. pynq is imported only when a board target is opened.

Scatter-gather overlays (``c_include_sg=1``) are accepted: the drivers' BD rings are target
buffers, so on the board they come from ``pynq.allocate`` like every other buffer. Interrupts go
through pynq's own machinery: :meth:`BoardTarget.interrupt` awaits a
``pynq.interrupt.Interrupt`` on the DMA's ``introut`` pin, which pynq reaches through the
``axi_intc`` the .hwh routes it to and that controller's UIO device (its ``irq`` on the PS's
``IRQ_F2P``). An overlay without that route has no ``"irq"`` capability, and awaiting one of
its lines is a :class:`NoInterruptRouteError` naming the line and what the design lacks.
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from .. import constants, regmap
from ..design.params import includes_sg
from ..errors import DmasimError, DmasimValueError, TargetError, pynq_missing
from ..target import Target, check_delay, iter_dma_ips
from .devmem import DEVMEM, DevMem, open_devmem
from .errors import NoInterruptRouteError, NotZynqError, OverlayError
from .loaded import FPGA_STATE, PROC_STAT, PlState, pynq_state_files, verify_loaded

if TYPE_CHECKING:
    from ..buffer import Buffer

__all__ = ["DT_COMPATIBLE", "BoardClock", "BoardMemory", "BoardTarget", "IpWindow",
           "DMA_INTERRUPTS", "RegisterWindow", "WindowBus", "check_zynq"]

DT_COMPATIBLE = "/proc/device-tree/compatible"
RESET_TIMEOUT_NS = 10_000_000
"""Wall-clock bound on a DMA soft reset (it takes a few clocks when nothing is in flight)."""
PL310_CACHE_SYNC = 0xF8F0_2730
"""The Zynq-7000's L2 cache controller (PL310 at 0xF8F0_2000), register CACHE_SYNC (0x730)."""
SPIN_BELOW_NS = 20_000
"""Delays shorter than this yield in a loop instead of sleeping (sleep granularity)."""
DMA_INTERRUPTS = (("mm2s_introut", regmap.MM2S, "c_include_mm2s"),
                  ("s2mm_introut", regmap.S2MM, "c_include_s2mm"))
"""Each AXI DMA interrupt output: its port, the channel that drives it, the parameter that
includes the channel."""


class RegisterWindow(Protocol):
    """One mapped IP window: ``read(offset)`` / ``write(offset, value)`` like ``pynq.MMIO``."""

    def read(self, offset: int) -> int:
        """Read the 32-bit register at ``offset``."""
        ...

    def write(self, offset: int, value: int) -> None:
        """Store a 32-bit register."""
        ...

    def close(self) -> None:
        """Unmap."""
        ...


WindowOpener = Callable[[int, int], RegisterWindow]
"""``(phys_base, length) -> RegisterWindow``: how an IP window is mapped."""


class IpWindow(NamedTuple):
    """An IP's register window as ``ip_dict`` names it."""

    name: str
    base: int
    length: int


class WindowBus:
    """The register bus: physical addresses inside the IP windows only, mapped on first use."""

    def __init__(self, windows: Sequence[IpWindow], opener: WindowOpener):
        self.windows = sorted((IpWindow(*w) for w in windows), key=lambda w: w.base)
        self._opener = opener
        self._mapped: dict[str, RegisterWindow] = {}
        self._hit: tuple[int, int, RegisterWindow] = (0, 0, _NO_WINDOW)

    def _window(self, addr: int) -> tuple[int, int, RegisterWindow]:
        for w in self.windows:
            if w.base <= addr < w.base + w.length:
                if addr & 3:
                    break
                mapped = self._mapped.get(w.name)
                if mapped is None:
                    mapped = self._mapped[w.name] = self._opener(w.base, w.length)
                self._hit = (w.base, w.length, mapped)
                return self._hit
        allowed = ", ".join(f"{w.name}: 0x{w.base:08x}+0x{w.length:x}" for w in self.windows)
        raise DmasimValueError(
            f"address 0x{addr:08x} is not a 4-byte aligned register inside an IP window of "
            f"the overlay (allowed: {allowed})"
        )

    def read32(self, addr: int) -> int:
        """Read the register at physical ``addr``."""
        base, length, win = self._hit
        if not 0 <= addr - base < length or addr & 3:
            base, length, win = self._window(addr)
        return win.read(addr - base)

    def write32(self, addr: int, value: int) -> None:
        """Write the register at physical ``addr``."""
        base, length, win = self._hit
        if not 0 <= addr - base < length or addr & 3:
            base, length, win = self._window(addr)
        win.write(addr - base, value)

    def close(self) -> None:
        """Unmap every window."""
        self._hit = (0, 0, _NO_WINDOW)
        mapped, self._mapped = self._mapped, {}
        for win in mapped.values():
            win.close()


class _NoWindow:
    def read(self, offset: int) -> int:
        raise AssertionError("unreachable: the empty window matches no address")

    def write(self, offset: int, value: int) -> None:
        raise AssertionError("unreachable: the empty window matches no address")

    def close(self) -> None:
        """Nothing to unmap."""


_NO_WINDOW = _NoWindow()


def _no_barrier() -> None:
    """Stands in for the barrier when the C core is not built (a warning said so)."""


class BoardClock:
    """Wall-clock time: ``now_ns`` is ``time.monotonic_ns()``, ``delay`` sleeps."""

    @property
    def now_ns(self) -> int:
        """Monotonic wall-clock ns."""
        return time.monotonic_ns()

    def delay(self, ns: int) -> None:
        """At least ``ns`` pass: sleep, or yield in a loop for delays below the sleep grain."""
        if ns <= 0:
            return
        if ns >= SPIN_BELOW_NS:
            time.sleep(ns / 1e9)
            return
        deadline = time.monotonic_ns() + ns
        while time.monotonic_ns() < deadline:
            time.sleep(0)


def _is_freed(buf: Any) -> bool:
    """Tell whether pynq freed ``buf``: ``freed`` set (plain) or ``pointer`` cleared (cached)."""
    if getattr(buf, "freed", False):
        return True
    return hasattr(buf, "pointer") and not buf.pointer


class BoardMemory:
    """Buffers from ``pynq.allocate`` on the overlay's device; tracks what it handed out."""

    def __init__(self, pynq: Any, device: Any):
        self._allocate = pynq.allocate
        self._device = device
        self._live: list[Any] = []

    def allocate(self, shape: Any, dtype: Any = "u4", cacheable: bool = False) -> Buffer:
        """Allocate a ``PynqBuffer`` (with ``physical_address``/``flush``/``invalidate``)."""
        try:
            dt = np.dtype(dtype)
        except TypeError as exc:
            raise DmasimValueError(f"dtype {dtype!r} is not a numpy dtype") from exc
        try:
            count = int(np.prod(shape, dtype=np.int64))
        except (TypeError, ValueError) as exc:
            raise DmasimValueError(f"shape {shape!r} is not a shape") from exc
        if count <= 0:
            raise DmasimValueError(f"shape {shape!r} holds no elements: allowed >= 1 element")
        try:
            buf = self._allocate(shape, dt, target=self._device, cacheable=cacheable)
        except MemoryError:
            raise
        except Exception as exc:
            raise TargetError(
                f"pynq.allocate({shape!r}, {dt}) failed: {type(exc).__name__}: {exc}"
            ) from exc
        self._live = [b for b in self._live if not _is_freed(b)]
        self._live.append(buf)
        return buf  # type: ignore[no-any-return]

    def owns(self, buffer: object) -> bool:
        """Tell whether ``buffer`` (or a view of it) came from here and is not freed."""
        if not isinstance(buffer, np.ndarray):
            return False
        lo = int(buffer.__array_interface__["data"][0])
        hi = lo + int(buffer.nbytes)
        for root in self._live:
            start = int(root.__array_interface__["data"][0])
            if start <= lo and hi <= start + int(root.nbytes):
                return not _is_freed(root)
        return False

    @property
    def allocations(self) -> int:
        """Number of live buffers."""
        return sum(1 for b in self._live if not _is_freed(b))

    def free_all(self) -> None:
        """Free every buffer still live."""
        live, self._live = self._live, []
        for buf in live:
            if not _is_freed(buf):
                buf.freebuffer()

    def close(self) -> None:
        """Free everything (closing the target)."""
        self.free_all()


def check_zynq(path: str = DT_COMPATIBLE) -> str:
    """Return the device tree's ``compatible`` if it names a Zynq; else :class:`NotZynqError`."""
    hint = ("the board target runs on the PYNQ board itself; here use --target=model or "
            "--target=rtl")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        raise NotZynqError(
            f"not running on a Zynq: {path} cannot be read (this is a {platform.machine()} "
            f"machine without a device tree); {hint}"
        ) from None
    names = [n for n in raw.decode("ascii", "replace").split("\0") if n]
    if not any(n.startswith("xlnx,zynq") for n in names):
        raise NotZynqError(
            f"not running on a Zynq: {path} says {', '.join(names) or 'nothing'} "
            f"(expected xlnx,zynq-7000); {hint}"
        )
    return ",".join(names)


def _import_pynq() -> Any:
    try:
        import pynq
    except ImportError as exc:
        raise pynq_missing("the board target", exc) from exc
    return pynq


class BoardTarget(Target):
    """The loopback bitstream on the PYNQ-Z2, from the board's own Linux.

    Options: ``bitfile`` (the overlay .bit, its .hwh beside it; ``None`` attaches to the
    overlay already loaded), ``download`` (program the PL; ``False`` attaches once the PL is
    proved to hold it), ``ignore_version`` (passed to ``pynq.Overlay``), ``device`` (the
    pynq Device; default pynq's active one). For tests only: ``devmem_path`` (the file mapped
    for registers), ``dt_compatible_path`` (the file the Zynq check reads),
    ``open_window`` (how a register window is mapped; default :class:`DevMem`), and the
    files that prove which design is loaded (:mod:`dmasim.board.loaded`):
    ``fpga_state_path``, ``proc_stat_path``, ``pl_state_files`` (default: pynq's own).

    Unless it downloads the bitstream itself, the target proves that the loaded design decodes
    every IP window before the first register access (a wrong or stale overlay would otherwise
    be a bus fault that kills the interpreter); ``loaded_by`` says how it knows.

    ``capabilities`` holds ``"irq"`` when pynq lists every DMA interrupt line on an interrupt
    controller (``irq_pins``), so :meth:`interrupt` and the drivers' interrupt waits work.
    """

    name = "board"
    simulated = False
    capabilities: frozenset[str] = frozenset()

    def __init__(
        self,
        *,
        bitfile: str | os.PathLike[str] | None = None,
        download: bool = True,
        ignore_version: bool = False,
        device: Any = None,
        devmem_path: str = DEVMEM,
        dt_compatible_path: str = DT_COMPATIBLE,
        open_window: WindowOpener | None = None,
        fpga_state_path: str = FPGA_STATE,
        proc_stat_path: str = PROC_STAT,
        pl_state_files: Sequence[str] | None = None,
        outer_sync_addr: int | None = PL310_CACHE_SYNC,
    ):
        super().__init__()
        self.devmem_path = devmem_path
        self.outer_sync_addr = outer_sync_addr
        self._barrier: Callable[[], None] | None = None
        self.compatible = check_zynq(dt_compatible_path)
        os.close(open_devmem(devmem_path))  # not root / no /dev/mem: fail before loading
        pynq = _import_pynq()
        self.overlay, downloaded = self._load_overlay(pynq, bitfile, download, ignore_version,
                                                      device)
        self.pynq_device: Any = self.overlay.device
        self.bitfile: str = self.overlay.bitfile_name
        # The addressable IP only: pynq also lists the PS, with no register window (the full
        # dict stays in ``overlay.ip_dict``).
        self.ip_dict = {name: dict(info) for name, info in self.overlay.ip_dict.items()
                        if isinstance(info.get("phys_addr"), int) and info.get("addr_range")}
        self.dma_names = self._check_dmas()
        self.irq_pins = self._irq_pins()
        """``{(dma, port): pynq pin name}`` of the DMA lines pynq can wait on."""
        wired = len(self.irq_pins) == len(self._dma_lines())
        self.capabilities = frozenset({"irq"}) if wired and self.irq_pins else frozenset()
        self._uio_loops: dict[int, weakref.ref[asyncio.AbstractEventLoop]] = {}
        windows = [IpWindow(name, int(info["phys_addr"]), int(info["addr_range"]))
                   for name, info in self.ip_dict.items()]
        self.pl_state: PlState | None = None
        if downloaded:
            self.loaded_by = "downloaded by this target"
        else:
            files = pynq_state_files(pynq) if pl_state_files is None else list(pl_state_files)
            self.pl_state = verify_loaded(
                self.bitfile, [(w.name.rsplit("/", 1)[-1], w.base, w.length) for w in windows],
                state_files=files, fpga_state_path=fpga_state_path, proc_stat=proc_stat_path)
            self.loaded_by = f"pynq's state file {self.pl_state.path}"
        if open_window is None:
            path = devmem_path

            def open_window(base: int, length: int) -> RegisterWindow:
                return DevMem(base, length, path)

        self.window_bus = WindowBus(windows, open_window)
        self.bus = self.window_bus
        self.buffers = BoardMemory(pynq, self.pynq_device)
        self.memory = self.buffers
        self.clock = BoardClock()
        try:
            self._reset_design()
        except BaseException:
            self._close()
            raise

    # --- opening ------------------------------------------------------------------------

    @staticmethod
    def _load_overlay(pynq: Any, bitfile: str | os.PathLike[str] | None, download: bool,
                      ignore_version: bool, device: Any) -> tuple[Any, bool]:
        """``(pynq.Overlay, whether it was downloaded now)``."""
        if bitfile is None:
            loaded = getattr(device, "bitfile_name", None) if device is not None else None
            if loaded is None and device is None:
                try:
                    loaded = pynq.PL.bitfile_name
                except Exception:  # no PL state at all: nothing is loaded
                    loaded = None
            if not loaded:
                raise OverlayError(
                    "no overlay is loaded and no bitfile was given: pass "
                    "bitfile=/home/xilinx/overlays/dma_loopback_1.bit (pytest: --bitfile=...)"
                )
            bitfile, download = loaded, False
        path = os.path.abspath(os.fspath(bitfile))
        if not os.path.isfile(path):
            raise OverlayError(f"bitfile {path} does not exist (see hw/board/README.md)")
        hwh = os.path.splitext(path)[0] + ".hwh"
        if not os.path.isfile(hwh):
            raise OverlayError(
                f"{hwh} is missing: pynq reads the design (ip_dict) from the .hwh that Vivado "
                "writes with the .bit; copy both (see hw/board/README.md)"
            )
        try:
            overlay = pynq.Overlay(path, download=download, ignore_version=ignore_version,
                                   device=device)
        except Exception as exc:
            raise OverlayError(
                f"pynq could not {'load' if download else 'attach to'} the overlay {path}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return overlay, download

    def _check_dmas(self) -> list[str]:
        names = list(iter_dma_ips(self.ip_dict))
        if not names:
            have = ", ".join(f"{n} ({i.get('type')})" for n, i in self.ip_dict.items())
            raise OverlayError(
                f"no AXI DMA (xilinx.com:ip:axi_dma) in the overlay {self.bitfile}; it has: "
                f"{have or 'no IP'}"
            )
        for name in names:
            params = self.ip_dict[name].get("parameters") or {}
            if includes_sg(params) and str(params.get("c_sg_include_stscntrl_strm", "0")) != "0":
                raise OverlayError(
                    f"{name} in {self.bitfile} is built with the scatter-gather status/control "
                    "streams (c_sg_include_stscntrl_strm=1), which dmasim's drivers do not "
                    "drive: allowed 0 (hw/board/dma_loopback.tcl builds it with 0)"
                )
        return names

    # --- interrupts -----------------------------------------------------------------------

    def _dma_lines(self) -> list[tuple[str, str, regmap.Channel]]:
        """``(dma, port, channel)`` of every interrupt output the overlay's DMAs have."""
        out = []
        for name in self.dma_names:
            params = self.ip_dict[name].get("parameters") or {}
            for port, ch, include in DMA_INTERRUPTS:
                if str(params.get(include, "1")) != "0":
                    out.append((name, port, ch))
        return out

    def _irq_pins(self) -> dict[tuple[str, str], str]:
        """The DMA lines pynq lists on an interrupt controller, and their pin names."""
        pins = getattr(self.overlay, "interrupt_pins", None) or {}
        out = {}
        for name, port, _ch in self._dma_lines():
            pin = f"{name}/{port}"
            if pin in pins:
                out[(name, port)] = pin
        return out

    def interrupts(self) -> dict[str, bool]:
        """Level of each DMA interrupt output now, as the DMA drives it.

        An AXI DMA's ``introut`` is high while a DMASR interrupt bit (IOC/Dly/Err, 12..14) is
        set whose enable in DMACR is set; the levels are read from those two registers (the
        line itself is not readable from the PS). Keys are ``"instance/port"``; an overlay
        with one DMA keeps the bare port names, as the loopback does on every target.
        """
        self._check_open()
        bare = len(self.dma_names) == 1
        out = {}
        for name, port, ch in self._dma_lines():
            base = int(self.ip_dict[name]["phys_addr"])
            pending = self.bus.read32(base + ch.DMASR) & self.bus.read32(base + ch.DMACR)
            out[port if bare else f"{name}/{port}"] = bool(pending & regmap.DMASR_IRQS)
        return out

    def _irq_pin(self, ip: str, port: str) -> str:
        """The pynq pin name of ``ip``'s line ``port``, or why the overlay cannot deliver it."""
        self._irq_key(ip, port)  # an unknown line: DmasimValueError listing the lines
        pin = self.irq_pins.get((ip, port))
        if pin is not None:
            return pin
        ctrls = getattr(self.overlay, "interrupt_controllers", None) or {}
        have = (f"its interrupt controllers ({', '.join(sorted(ctrls))}) do not have it as an "
                "input") if ctrls else "it has no AXI interrupt controller (axi_intc) at all"
        raise NoInterruptRouteError(
            f"interrupt line {ip}/{port} cannot be awaited on the overlay {self.bitfile}: pynq "
            f"lists no route from it to the PS, and {have}. pynq waits on PL interrupts through "
            "an axi_intc whose intr input the line drives (through an xlconcat) and whose irq "
            "goes to the PS's IRQ_F2P; a line wired straight to IRQ_F2P is not enough. "
            "hw/board/dma_loopback.tcl builds that route (axi_intc_0); without it, use the "
            "polling wait()"
        )

    async def interrupt(self, ip: str = "axi_dma_0", port: str = "s2mm_introut", *,
                        timeout_ns: int | None = None) -> None:
        """Return once ``ip``'s interrupt line ``port`` is high (at once if it already is).

        Sleeps in pynq's own ``pynq.interrupt.Interrupt(pin).wait()`` (the axi_intc and its
        UIO device) between looks at the line, so the event loop runs other coroutines.
        Past ``timeout_ns`` of wall-clock time (default ``constants.IRQ_WAIT_TIMEOUT_NS``) it
        raises :class:`~dmasim.errors.DmaTimeoutError` with both channels' DMASR decoded.
        A line the overlay does not route to an interrupt controller raises
        :class:`~dmasim.board.errors.NoInterruptRouteError`.
        """
        self._check_open()
        pin = self._irq_pin(ip, port)
        key = self._irq_key(ip, port)
        limit = constants.IRQ_WAIT_TIMEOUT_NS if timeout_ns is None else check_delay(timeout_ns)
        start = time.monotonic_ns()
        deadline = start + limit
        from pynq.interrupt import Interrupt

        while not self.interrupts()[key]:
            left = deadline - time.monotonic_ns()
            if left <= 0:
                raise self._irq_timeout(ip, port, time.monotonic_ns() - start)
            try:
                irq = Interrupt(pin)
            except Exception as exc:
                if "UIO" in str(exc):
                    hint = ("Linux must give the interrupt controller's PS interrupt to a UIO "
                            "device, /dev/uioN, found through /proc/interrupts (the PYNQ "
                            "images do for IRQ_F2P[0]; see hw/board/README.md)")
                else:
                    hint = ("pynq looks pins up on its active device, pynq.Device."
                            f"active_device, which must be the one holding {self.bitfile}")
                raise TargetError(
                    f"pynq cannot wait on {pin}: {type(exc).__name__}: {exc}; {hint}"
                ) from exc
            self._bind_uio_to_running_loop()
            try:
                await asyncio.wait_for(irq.wait(), left / 1e9)
            except asyncio.TimeoutError:
                raise self._irq_timeout(ip, port, time.monotonic_ns() - start) from None

    def _bind_uio_to_running_loop(self) -> None:
        """Make pynq's UIO devices wake this event loop, not only the first one they saw.

        pynq's ``UioController`` registers its file with the event loop current when it is
        created and keeps it for good; a later loop (each ``asyncio.run``, or the drivers'
        per-thread loop of ``wait(interrupt=True)``) would never see the interrupt. Register
        pynq's own callback with the running loop once per loop.
        """
        try:
            from pynq.interrupt import _InterruptController
        except ImportError:  # pragma: no cover - pynq without the controller registry
            return
        loop = asyncio.get_running_loop()
        for dev in list(getattr(_InterruptController, "_uio_devices", {}).values()):
            uio = getattr(dev, "uio", None)
            callback = getattr(dev, "_uio_callback", None)
            if uio is None or callback is None:
                continue
            fd = uio.fileno()
            bound = self._uio_loops.get(fd)
            if bound is not None and bound() is loop:
                continue
            # A loop that outlives a closed target (the drivers' per-thread loop) may still list
            # this fd number for a file closed since: drop that entry before registering.
            loop.remove_reader(fd)
            loop.add_reader(fd, callback)
            self._uio_loops[fd] = weakref.ref(loop)

    # --- the rest of the contract -------------------------------------------------------

    def native_mapping(self, ip_name: str = "axi_dma_0") -> tuple[str, int, int]:
        """``(devmem path, phys_base, length)`` for code that maps ``/dev/mem`` itself."""
        self._check_open()
        info = self._ip(ip_name)
        return self.devmem_path, int(info["phys_addr"]), int(info["addr_range"])

    def native_outer_sync(self) -> tuple[str, int] | None:
        """``(devmem path, PL310 CACHE_SYNC address)`` for the C core's barrier, or None."""
        if self.outer_sync_addr is None:
            return None
        return self.devmem_path, self.outer_sync_addr

    def dma_barrier(self) -> None:
        """Order the CPU's buffer writes before the register write that starts the DMA.

        The Python level calls this before each LENGTH write. Python cannot issue DSB itself,
        so this is the C core's barrier (DSB + PL310 sync) through the cffi binding; without
        the compiled core it warns once and goes on without one, as pynq's own driver does.
        """
        if self._barrier is None:
            self._barrier = self._open_barrier()
        self._barrier()

    def _open_barrier(self) -> Callable[[], None]:
        import warnings

        from ..drivers.native import load_binding

        try:
            module = load_binding("cffi")
            if self.outer_sync_addr is None:
                return module.Barrier()  # type: ignore[no-any-return]
            return module.Barrier(self.devmem_path, self.outer_sync_addr)  # type: ignore[no-any-return]
        except DmasimError as exc:
            warnings.warn(
                f"the Python driver level on the board runs without a DMA barrier (DSB + PL310 "
                f"sync) before starting a transfer: {exc}. Buffer data written just before a "
                "transfer may reach DDR after the DMA read it; build dmasim's native extension",
                RuntimeWarning, stacklevel=3)
            return _no_barrier

    def _reset_design(self) -> None:
        """Soft reset of every AXI DMA (DMACR.Reset), waiting until both channels leave it."""
        for name in self.dma_names:
            base = int(self.ip_dict[name]["phys_addr"])
            self.bus.write32(base + regmap.MM2S.DMACR, regmap.DMACR_RESET)
            deadline = time.monotonic_ns() + RESET_TIMEOUT_NS
            while True:
                busy = [ch.name for ch in regmap.CHANNELS
                        if self.bus.read32(base + ch.DMACR) & regmap.DMACR_RESET]
                if not busy:
                    break
                if time.monotonic_ns() > deadline:
                    raise TargetError(
                        f"{name}: soft reset did not finish within "
                        f"{RESET_TIMEOUT_NS // 1_000_000} ms ({', '.join(busy)} DMACR.Reset "
                        "still 1): is the PL clocked and the bitstream the one loaded?"
                    )
                time.sleep(0)

    def _close(self) -> None:
        self.buffers.close()
        self.window_bus.close()

    def describe(self) -> str:
        """Describe every AXI DMA: its decoded registers."""
        out = []
        for name in self.dma_names:
            base = int(self.ip_dict[name]["phys_addr"])

            def read(off: int, base: int = base) -> int:
                return self.bus.read32(base + off)

            sg = includes_sg(self.ip_dict[name].get("parameters") or {})
            regs = {**regmap.read_channel(read, regmap.MM2S, sg),
                    **regmap.read_channel(read, regmap.S2MM, sg)}
            out.append(f"{name} @ 0x{base:08x}:\n{regmap.format_registers(regs)}")
        return "\n".join(out)
