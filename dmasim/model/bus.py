"""The model target's clock and register bus: two role objects over one simulated time.

Time moves in two ways only: ``delay(ns)`` and a register access (``bus_access_ns`` each). Both
move the clock and then call the one helper that brings the design up to it
(:attr:`ModelClock.catch_up`), so nothing reads state that is behind the clock.

Each IP window has one factory of accessors (:data:`OpsFactory`): :meth:`ModelBus.window_ops`
makes a pair for an ``MMIO`` with its offset checks (drivers poll through these, one call per
access), and ``read32``/``write32`` use a pair made for the whole window: there is no bus built
on an MMIO built on the bus.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from .. import regmap
from ..errors import DmasimValueError
from ..ip.base import StreamIP
from ..target import MMIO, WindowOps
from .dma import AxiDmaModel

__all__ = ["ModelBus", "ModelClock", "OpsFactory"]

CheckOffset = Callable[..., int]
"""``check_offset(offset, length=4)``: the offset as an int, or raise (as ``MMIO``'s)."""
CheckValue = Callable[[int, object], int]
"""``check_value(offset, value)``: the value as an int, or raise (as ``MMIO``'s)."""
OpsFactory = Callable[[int, int, CheckOffset, CheckValue], WindowOps]
"""``(delta, length, check_offset, check_value) -> (read, write)`` of one IP window: offsets
``0..length`` of the caller are ``delta`` bytes into the window."""

Trace = deque[tuple[int, str, int, int]]

_MM2S_DMASR = regmap.MM2S.DMASR
_S2MM_DMASR = regmap.S2MM.DMASR
REGISTER_FILE_END = regmap.S2MM.base + max(r.offset for r in regmap.CHANNEL_REGISTERS) + 4
"""The DMA decodes offsets below this; above it reads 0 and ignores writes (as the RTL)."""


def _nothing(now_ns: int) -> None:
    """The design before it is wired: nothing to catch up."""


class ModelClock:
    """Modelled time in ns (the Clock role)."""

    __slots__ = ("catch_up", "now")

    def __init__(self) -> None:
        self.now = 0
        self.catch_up: Callable[[int], None] = _nothing
        """Brings the design up to a time in ns (set by the target once the design is wired)."""

    @property
    def now_ns(self) -> int:
        """Modelled time in ns."""
        return self.now

    def delay(self, ns: int) -> None:
        """Let ``ns`` ns pass (checked by ``Target.delay``; drivers pass ints)."""
        self.now = now = self.now + ns
        self.catch_up(now)


class ModelBus:
    """The register bus (the RegisterBus role) of the model's design.

    Each window has an :data:`OpsFactory`; every access costs ``cost_ns`` of modelled time on
    ``clock``, and a DMA window's accesses are kept in ``trace``.
    """

    def __init__(self, clock: ModelClock, cost_ns: int, trace: Trace):
        self.clock = clock
        self.cost_ns = cost_ns
        self.trace = trace
        self.windows: list[tuple[int, int, str, OpsFactory]] = []
        self._direct: dict[int, tuple[int, int, WindowOps]] = {}
        self._hit: tuple[int, int, WindowOps] | None = None

    # --- one factory per window ---------------------------------------------------------

    def add_window(self, base: int, end: int, name: str, ops: OpsFactory) -> None:
        """Decode ``[base, end)`` with ``ops``."""
        self.windows.append((base, end, name, ops))

    def engine_ops(self, dma: AxiDmaModel) -> OpsFactory:
        """The register file of one DMA engine; its accesses are traced.

        The design's ``clock.catch_up`` must be set before: the accessors hold on to it.
        """
        trace, clock, bus = self.trace, self.clock, self
        catch_up = clock.catch_up
        mm2s, s2mm = dma.mm2s, dma.s2mm
        end, mm2s_dmasr, s2mm_dmasr = REGISTER_FILE_END, _MM2S_DMASR, _S2MM_DMASR

        def make(delta: int, wlen: int, check_offset: CheckOffset,
                 check_value: CheckValue) -> WindowOps:
            def read(offset: int, length: int = 4) -> int:
                if type(offset) is not int or offset & 3 or not 0 <= offset < wlen \
                        or length != 4:
                    offset = check_offset(offset, length)
                off = offset + delta
                clock.now = now = clock.now + bus.cost_ns  # settable: a faster CPU
                catch_up(now)
                if off == mm2s_dmasr:  # the register drivers poll
                    value = mm2s.dmasr
                elif off == s2mm_dmasr:
                    value = s2mm.dmasr
                else:
                    value = dma.read(off) if off < end else 0
                trace.append((now, "R", off, value))
                return value

            def write(offset: int, value: int) -> None:
                if type(offset) is not int or offset & 3 or not 0 <= offset < wlen:
                    offset = check_offset(offset)
                if type(value) is not int or not 0 <= value <= 0xFFFF_FFFF:
                    value = check_value(offset, value)
                off = offset + delta
                clock.now = now = clock.now + bus.cost_ns  # settable: a faster CPU
                catch_up(now)
                if off < end:
                    dma.write(off, value)
                trace.append((now, "W", off, value))

            return read, write

        return make

    def ip_ops(self, name: str, model: StreamIP | None) -> OpsFactory:
        """The AXI-Lite window of a user IP model (reads 0 and ignores writes without one)."""
        clock, bus = self.clock, self

        def make(delta: int, wlen: int, check_offset: CheckOffset,
                 check_value: CheckValue) -> WindowOps:
            def read(offset: int, length: int = 4) -> int:
                if type(offset) is not int or offset & 3 or not 0 <= offset < wlen \
                        or length != 4:
                    offset = check_offset(offset, length)
                clock.delay(bus.cost_ns)
                if model is None:
                    return 0
                value = model.read(offset + delta)
                if isinstance(value, bool) or not isinstance(value, int) \
                        or not 0 <= value <= 0xFFFF_FFFF:
                    raise DmasimValueError(
                        f"{name}: the model's read(0x{offset + delta:x}) returned {value!r}: "
                        "allowed an integer 0..0xffffffff")
                return value

            def write(offset: int, value: int) -> None:
                if type(offset) is not int or offset & 3 or not 0 <= offset < wlen:
                    offset = check_offset(offset)
                if type(value) is not int or not 0 <= value <= 0xFFFF_FFFF:
                    value = check_value(offset, value)
                clock.delay(bus.cost_ns)
                if model is not None:
                    model.write(offset + delta, value)

            return read, write

        return make

    # --- the RegisterBus role -----------------------------------------------------------

    def _ops_at(self, addr: int) -> tuple[int, int, WindowOps]:
        """``(base, end, ops)`` of the window holding ``addr``, checked against it directly."""
        for base, end, _name, make in self.windows:
            if base <= addr < end:
                found = self._direct.get(base)
                if found is None:
                    def bad_offset(offset: Any, length: int = 4, base: int = base) -> int:
                        raise DmasimValueError(
                            f"address 0x{base + offset:08x} is not a 4-byte aligned register")

                    def bad_value(offset: int, value: object, base: int = base) -> int:
                        raise DmasimValueError(
                            f"register value {value!r} at 0x{base + offset:08x} does not fit "
                            "32 bits: allowed 0..0xffffffff")

                    found = (base, end, make(0, end - base, bad_offset, bad_value))
                    self._direct[base] = found
                self._hit = found
                return found
        raise DmasimValueError(
            f"address 0x{addr:08x} is not inside an IP's register window (allowed: "
            + ", ".join(f"{n}: 0x{lo:08x}+0x{hi - lo:x}" for lo, hi, n, _ in self.windows)
            + ")")

    def read32(self, addr: int) -> int:
        """One AXI-Lite read at a physical address: costs ``cost_ns`` of modelled time."""
        hit = self._hit
        if hit is None or not hit[0] <= addr < hit[1]:
            hit = self._ops_at(addr)
        return hit[2][0](addr - hit[0])

    def write32(self, addr: int, value: int) -> None:
        """One AXI-Lite write at a physical address: costs ``cost_ns`` of modelled time."""
        hit = self._hit
        if hit is None or not hit[0] <= addr < hit[1]:
            hit = self._ops_at(addr)
        hit[2][1](addr - hit[0], value)

    def window_ops(self, mmio: MMIO) -> WindowOps | None:
        """Accessors for ``mmio``'s window, with MMIO's own offset and value checks."""
        for base, end, _name, make in self.windows:
            if base <= mmio.base_addr and mmio.base_addr + mmio.length <= end:
                return make(mmio.base_addr - base, mmio.length, mmio.check_offset,
                            mmio.check_value)
        return None
