"""The ``board`` target: the real bitstream on a PYNQ-Z2, driven from the board itself.

The overlay is loaded with ``pynq.Overlay`` (or the loaded one attached to), ``ip_dict`` comes
from its .hwh, registers are reached through :class:`~dmasim.board.devmem.DevMem` windows
over exactly the IP ranges ``ip_dict`` names, buffers come from ``pynq.allocate`` and time
is the wall clock. pynq is imported only when a board target is opened.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from .. import regmap
from ..design.params import includes_sg
from ..errors import DmasimError, DmasimValueError, TargetError, pynq_missing
from ..target import Target, iter_dma_ips
from .devmem import DEVMEM, DevMem, open_devmem
from .errors import NotZynqError, OverlayError
from .loaded import FPGA_STATE, PROC_STAT, PlState, pynq_state_files, verify_loaded

if TYPE_CHECKING:
    from ..buffer import Buffer

__all__ = ["DT_COMPATIBLE", "BoardClock", "BoardMemory", "BoardTarget", "IpWindow",
           "RegisterWindow", "WindowBus", "check_zynq"]

DT_COMPATIBLE = "/proc/device-tree/compatible"
RESET_TIMEOUT_NS = 10_000_000
"""Wall-clock bound on a DMA soft reset (it takes a few clocks when nothing is in flight)."""
PL310_CACHE_SYNC = 0xF8F0_2730
"""The Zynq-7000's L2 cache controller (PL310 at 0xF8F0_2000), register CACHE_SYNC (0x730)."""
SPIN_BELOW_NS = 20_000
"""Delays shorter than this yield in a loop instead of sleeping (sleep granularity)."""


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
    """

    name = "board"
    simulated = False
    capabilities = frozenset()

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
            if str(params.get("c_include_sg", "0")) != "0":
                raise OverlayError(
                    f"{name} in {self.bitfile} is built with scatter-gather "
                    "(c_include_sg=1); dmasim's drivers need direct register mode "
                    "(hw/board/dma_loopback.tcl builds it with c_include_sg=0)"
                )
        return names

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
