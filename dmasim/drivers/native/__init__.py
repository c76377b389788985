"""The ``"pybind11"`` and ``"cffi"`` levels: one C driver core behind two bindings.

The core (``dmasim_dma.c``) does the register sequences, the polls with back-off and the
deadlines; the bindings (``_dmasim_pybind11``, a C++ module, and ``_dmasim_cffi``, a cffi
API-mode module wrapped by :mod:`.cffi_device`) are thin. Registers are reached either through a
direct mapping of ``/dev/mem`` done by the core (when the target is a
:class:`~dmasim.target.NativeMapping`) or through callbacks into the target's bus and clock, so
the same compiled code drives the model, the RTL and the board. The channel classes only
translate the core's status codes into the primitives
:class:`~dmasim.drivers.base.ChannelBase` expects, so every check and every exception is the
same as on the Python level.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from ... import regmap
from ...errors import DmasimValueError, DriverUnavailableError
from ...target import NativeMapping
from .. import registers
from ..base import ChannelBase, DmaDriver, _ns
from ..diagnose import read_state
from . import status

if TYPE_CHECKING:
    from types import ModuleType

    from ...errors import DmaState
    from ...target import Target

__all__ = [
    "BINDINGS",
    "CffiDMA",
    "NativeChannel",
    "NativeDMA",
    "NativeDevice",
    "Pybind11DMA",
    "load_binding",
    "open_device",
]

BINDINGS: dict[str, str] = {
    "pybind11": "dmasim.drivers.native._dmasim_pybind11",
    "cffi": "dmasim.drivers.native.cffi_device",
}
"""The module holding each binding's ``Device`` class."""

REBUILD_HINT = (
    "rebuild it with `pip install -e .` in a dmasim checkout (on a PYNQ image: `pip install "
    "--no-build-isolation -e .`), or `pip install --force-reinstall dmasim`; it needs a C/C++ "
    "compiler and the Python headers (PYNQ images: `apt-get install build-essential "
    "python3-dev`) and, for the pybind11 level, `pip install pybind11`; the install log says "
    "which level was skipped and why"
)


class NativeDevice(Protocol):
    """What both bindings' ``Device`` offer (see ``dmasim_dma.h`` for the semantics)."""

    @property
    def direct(self) -> bool:
        """True for a direct mapping."""
        ...

    def close(self) -> None:
        """Unmap / drop the callbacks."""
        ...

    def set_timing(self, first: int, maximum: int, wall_guard: int, /) -> None:
        """Poll back-off and wall-clock guard in ns."""
        ...

    def read(self, offset: int, /) -> int:
        """Read one register."""
        ...

    def write(self, offset: int, value: int, /) -> None:
        """Write one register."""
        ...

    def read_loop(self, offset: int, count: int, /) -> int:
        """``count`` reads inside C."""
        ...

    def reset(self, timeout_ns: int, /) -> int:
        """Soft reset; a status code."""
        ...

    def dmasr(self, channel: int, /) -> int:
        """Read a channel's DMASR."""
        ...

    def start(self, channel: int, timeout_ns: int, irq_enables: int, /) -> tuple[int, int]:
        """(status, DMASR)."""
        ...

    def stop(self, channel: int, timeout_ns: int, /) -> tuple[int, int]:
        """(status, DMASR)."""
        ...

    def program(self, channel: int, addr: int, nbytes: int, write_msb: bool = True, /) -> None:
        """Address (+MSB), the DMA barrier, then LENGTH."""
        ...

    def open_outer_sync(self, path: str, sync_addr: int, /) -> None:
        """Make the barrier sync the PL310 outer cache too."""
        ...

    def wait_idle(self, channel: int, timeout_ns: int, nbytes: int = 0, /) -> tuple[int, int]:
        """(status, DMASR)."""
        ...

    def sg_link(self, bds: int, phys: int, count: int, /) -> None:
        """Zero and link a ring of BDs (CPU address ``bds``)."""
        ...

    def sg_fill(self, bds: int, count: int, first: int, addr: int, nbytes: int, bd_max: int,
                framing: bool, /) -> int:
        """Describe a buffer in BDs; how many."""
        ...

    def sg_result(self, bds: int, count: int, first: int, n: int, len_mask: int,
                  eof_mask: int, /) -> tuple[bool, int, int]:
        """(complete, bytes, end BD) of a chain."""
        ...

    def sg_start(self, channel: int, curdesc: int, dmacr_bits: int, write_msb: bool,
                 timeout_ns: int, /) -> tuple[int, int]:
        """(status, DMASR) after CURDESC, RS=1, Halted=0."""
        ...

    def sg_kick(self, channel: int, taildesc: int, write_msb: bool, /) -> None:
        """Barrier, TAILDESC."""
        ...

    def sg_wait(self, channel: int, bds: int, count: int, first: int, n: int, len_mask: int,
                eof_mask: int, nbytes: int, timeout_ns: int, /) -> tuple[int, int]:
        """(status, DMASR) of the chain wait."""
        ...


def load_binding(name: str) -> ModuleType:
    """Import binding ``name``'s ``Device`` module; DriverUnavailableError if not built."""
    module = BINDINGS[name]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if getattr(exc, "name", "") == "_cffi_backend":
            raise DriverUnavailableError(
                f"the {name!r} driver level needs the cffi runtime, which is not installed "
                f"({exc}): `pip install cffi`"
            ) from exc
        raise DriverUnavailableError(
            f"the {name!r} driver level needs its compiled extension ({module}), which could not "
            f"be imported: {exc}. It is built by dmasim's own build: {REBUILD_HINT}."
        ) from exc


def open_device(binding: str, target: Target, ip_name: str = "axi_dma_0") -> NativeDevice:
    """Open a core device for ``ip_name``: a direct mapping if offered, else callbacks.

    A :class:`~dmasim.target.NativeMapping` target offers one with ``native_mapping(ip_name)``
    returning ``(path, phys_base, length)`` (the board: ``("/dev/mem", 0x40400000, 0x10000)``),
    or ``None`` for none.
    """
    module = load_binding(binding)
    info = target.ip_dict[ip_name]
    base, span = int(info["phys_addr"]), int(info["addr_range"])
    mapping: tuple[str, int, int] | None = None
    outer: tuple[str, int] | None = None
    if isinstance(target, NativeMapping):
        mapping = target.native_mapping(ip_name)
        outer = target.native_outer_sync() if mapping is not None else None
    dev: NativeDevice
    if mapping is not None:
        path, phys_base, length = mapping
        dev = module.Device(str(path), int(phys_base), int(length))
    else:
        dev = module.Device(target.bus, target.clock, base, span)
    if outer is not None:
        dev.open_outer_sync(*outer)  # the board: the barrier also syncs the PL310
    dev.set_timing(
        registers.FIRST_BACKOFF_NS,
        registers.MAX_BACKOFF_NS,
        int(registers.WALL_GUARD_S * 1e9),
    )
    return dev


class NativeChannel(ChannelBase):
    """A channel whose five primitives are calls into the C core."""

    _driver: NativeDMA

    def __init__(self, driver: NativeDMA, ch: regmap.Channel):
        super().__init__(driver, ch)
        self._dev = driver.device
        self._base = ch.base
        self._msb = driver.config["addr_width"] > 32

    def _dmasr(self) -> int:
        return self._dev.dmasr(self._base)

    def _start(self, timeout_ns: int) -> int | None:
        rc, sr = self._dev.start(self._base, timeout_ns, 0)
        return None if rc == status.TIMEOUT else sr

    def _stop(self, timeout_ns: int) -> int | None:
        rc, sr = self._dev.stop(self._base, timeout_ns)
        return None if rc == status.TIMEOUT else sr

    def _program(self, addr: int, nbytes: int) -> None:
        self._dev.program(self._base, addr, nbytes, self._msb)

    def _wait(self, timeout_ns: int) -> int | None:
        rc, sr = self._dev.wait_idle(self._base, timeout_ns, self._pending.nbytes)
        return None if rc == status.TIMEOUT else sr


class NativeDMA(DmaDriver):
    """The pynq-style DMA API over the C core through the binding named by ``binding``."""

    binding: ClassVar[str]

    def __init__(self, target: Target, ip_name: str = "axi_dma_0"):
        super().__init__(target, ip_name)
        self.device: NativeDevice = open_device(self.binding, target, ip_name)
        channel: type[NativeChannel] = NativeChannel
        if self.config["sg"]:
            from .sg import NativeSgChannel  # SG mode: the core's BD ring functions

            channel = NativeSgChannel
        self.sendchannel = channel(self, regmap.MM2S)
        self.recvchannel = channel(self, regmap.S2MM)

    @property
    def direct(self) -> bool:
        """True when the core reaches the registers through its own mapping."""
        return self.device.direct

    def read(self, offset: int) -> int:
        """Read a register of this DMA through the C core."""
        if type(offset) is not int or offset < 0:
            if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0:
                raise DmasimValueError(
                    f"register offset {offset!r} is not a 4-byte aligned offset inside the "
                    f"window of {self.ip_name}"
                )
            offset = int(offset)
        return self.device.read(offset)

    def state(self) -> DmaState:
        """Snapshot both channels through the C core."""
        return read_state(self.device.read)

    def reset(self, timeout: float = 1.0) -> None:
        """Soft-reset the engine (clears errors); channels restart on next use."""
        self.device.reset(_ns(timeout))
        self.forget_state()

    def close(self) -> None:
        """Unmap the registers / drop the callbacks."""
        self.device.close()

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError(f"{type(self).__name__} holds a native handle and cannot be pickled")


class Pybind11DMA(NativeDMA):
    """The C core through its pybind11 (C++) binding."""

    level = "pybind11"
    binding = "pybind11"


class CffiDMA(NativeDMA):
    """The C core through its cffi (API mode) binding."""

    level = "cffi"
    binding = "cffi"
