"""The ``model`` target: the block design (DMA + loopback + DDR + CPU cache) in pure Python."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from .. import regmap
from ..design import DMA_BASE, check_parameters, make_ip_dict
from ..errors import DmasimValueError
from ..memory import CMA_BASE, CMA_SIZE, DDR_SIZE, Memory
from ..target import MMIO, Target, check_delay
from .dma import AxiDmaModel

__all__ = ["ModelTarget"]

WindowOps = tuple[Callable[..., int], Callable[[int, int], None]]


class ModelTarget(Target):
    """Register-level model of the PYNQ-Z2 loopback design; deterministic simulated time.

    Options: ``parameters`` (PYNQ ``ip_dict`` parameter overrides, e.g.
    ``{"c_sg_length_width": 14}``), ``bus_access_ns`` (modelled cost of one register access),
    ``clock_ns`` (stream clock period; one beat per cycle), ``trace_depth`` (register accesses
    kept in :attr:`trace`), ``cma_size`` (bytes of the buffer region).
    """

    name = "model"
    simulated = True
    capabilities = frozenset({"faults", "cache-model", "irq", "trace", "diagnostics"})

    def __init__(
        self,
        *,
        parameters: dict[str, Any] | None = None,
        bus_access_ns: int = 100,
        clock_ns: int = 10,
        trace_depth: int = 1024,
        cma_size: int = CMA_SIZE,
        phys_addr: int = DMA_BASE,
    ):
        super().__init__()
        for label, value in (("bus_access_ns", bus_access_ns), ("clock_ns", clock_ns)):
            if not isinstance(value, int) or value < 1:
                raise DmasimValueError(f"{label}={value!r} must be an integer >= 1")
        self.ip_dict = make_ip_dict(parameters, phys_addr)
        info = self.ip_dict["axi_dma_0"]
        params = check_parameters(info["parameters"])
        self._base = phys_addr
        self._span = int(info["addr_range"])
        self.memory_model = Memory(size=DDR_SIZE, cma_base=CMA_BASE, cma_size=cma_size)
        self.memory = self.memory_model
        self.faults = self.memory_model
        self.engine = AxiDmaModel(self.memory_model, params, clock_ns=clock_ns)
        self.bus_access_ns = bus_access_ns
        self.clock_ns = clock_ns
        self._now = 0
        self.trace: deque[tuple[int, str, int, int]] = deque(maxlen=trace_depth)
        self.bus = self
        self.clock = self
        self._window = MMIO(self, phys_addr, self._span)

    # --- Clock role ---------------------------------------------------------------------

    @property
    def now_ns(self) -> int:
        """Modelled time in ns."""
        return self._now

    def delay(self, ns: int) -> None:
        """Advance modelled time by ``ns``."""
        self._now += check_delay(ns)
        dma = self.engine
        if dma.reset_until >= 0 or dma.mm2s.busy or dma.s2mm.busy:
            dma.run_until(self._now // self.clock_ns)
        else:
            dma.cycle = self._now // self.clock_ns

    # --- RegisterBus role ---------------------------------------------------------------

    def window_ops(self, mmio: MMIO) -> WindowOps | None:
        """Checked read/write for a window of the DMA, with the model inline: the hot path.

        Every access costs ``bus_access_ns`` of modelled time; the engine catches up first.
        """
        delta = mmio.base_addr - self._base
        if delta < 0 or delta + mmio.length > self._span:
            return None
        wlen, dma, trace = mmio.length, self.engine, self.trace
        mm2s, s2mm, clock_ns = dma.mm2s, dma.s2mm, self.clock_ns
        target = self

        def read(offset: int, length: int = 4) -> int:
            if type(offset) is not int or offset & 3 or not 0 <= offset < wlen or length != 4:
                offset = mmio.check_offset(offset, length)
            off = offset + delta
            target._now = now = target._now + target.bus_access_ns
            if dma.reset_until >= 0 or mm2s.busy or s2mm.busy:
                dma.run_until(now // clock_ns)
            else:
                dma.cycle = now // clock_ns
            if off == 0x04 or off == 0x34:  # DMASR, the register drivers poll
                c = mm2s if off == 0x04 else s2mm
                value = c.err | c.irq | c.halted | (c.idle << 1)
            else:
                value = dma.read(off) if off < 0x60 else 0
            trace.append((now, "R", off, value))
            return value

        def write(offset: int, value: int) -> None:
            if type(offset) is not int or offset & 3 or not 0 <= offset < wlen:
                offset = mmio.check_offset(offset)
            if type(value) is not int or not 0 <= value <= 0xFFFF_FFFF:
                value = mmio.check_value(offset, value)
            off = offset + delta
            target._now = now = target._now + target.bus_access_ns
            if dma.reset_until >= 0 or mm2s.busy or s2mm.busy:
                dma.run_until(now // clock_ns)
            else:
                dma.cycle = now // clock_ns
            if off < 0x60:
                dma.write(off, value)
            trace.append((now, "W", off, value))

        return read, write

    def read32(self, addr: int) -> int:
        """One AXI-Lite read at a physical address: costs ``bus_access_ns`` of modelled time."""
        return self._window.read(addr - self._base)

    def write32(self, addr: int, value: int) -> None:
        """One AXI-Lite write at a physical address: costs ``bus_access_ns`` of modelled time."""
        self._window.write(addr - self._base, value)

    # --- the rest of the contract -------------------------------------------------------

    def _reset_design(self) -> None:
        self.engine.power_on_reset()
        self.memory_model.clear_faults()

    def _close(self) -> None:
        self.memory_model.close()

    def add_fault(self, addr: int, nbytes: int, kind: str = "slverr") -> None:
        """Make a memory region answer SLVERR or DECERR."""
        self.memory_model.add_fault(addr, nbytes, kind)

    def interrupts(self) -> dict[str, bool]:
        """Levels of ``mm2s_introut`` and ``s2mm_introut`` now."""
        mm2s, s2mm = self.engine.interrupts()
        return {"mm2s_introut": mm2s, "s2mm_introut": s2mm}

    def format_trace(self, last: int = 32) -> str:
        """The last register accesses, decoded, with modelled timestamps."""
        return regmap.format_accesses(self.trace, last)

    def describe(self) -> str:
        """Decoded registers, bytes moved, data in flight and diagnostics."""
        out = [regmap.format_registers(
            {**regmap.read_channel(self.engine.read, regmap.MM2S),
             **regmap.read_channel(self.engine.read, regmap.S2MM)}
        )]
        d = self.engine
        out.append(
            f"time {self._now} ns; moved MM2S {d.mm2s.moved} B in {d.mm2s.transfers} transfers, "
            f"S2MM {d.s2mm.moved} B in {d.s2mm.transfers}; stream holds {d.stream.nbytes} B"
        )
        out.extend(f"{x.time_ns} ns {x.channel}: {x.message}" for x in d.diagnostics)
        return "\n".join(out)
