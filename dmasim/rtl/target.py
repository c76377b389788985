"""The ``rtl`` target: the open RTL block design simulated by Verilator under cocotb.

Same contract as the model (``ip_dict``, ``mmio``, ``allocate``, ``delay``, ``reset``,
drivers). Register accesses and delays are commands to a simulator child process
(:mod:`dmasim.rtl.process`); DDR is memory shared with it (:mod:`dmasim.rtl.shared`), so
buffers are numpy views of the simulated DDR and the DMA's beats never pass through Python.
Simulators are built once per source hash (:mod:`dmasim.rtl.build`) and kept in a
per-process pool, so opening a target again (the next test) costs a reset, not a start.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..design import DMA_BASE, make_ip_dict
from ..errors import DmasimValueError, TargetError
from ..memory import CMA_BASE, CMA_SIZE, DDR_SIZE, Memory
from ..target import Target
from . import protocol as p
from .build import BuildInfo, ensure_build, verilog_parameters
from .process import SimProcess
from .shared import SharedDdr

__all__ = ["RtlTarget"]

RESET_CYCLES = 16
REGISTER_SPAN = 0x400
"""dmasim_bd decodes 10 address bits; offsets above read 0 and ignore writes, as in the
model, without a bus access."""


@dataclass
class _Slot:
    """A simulator with its shared DDR, kept between targets with the same build."""

    build: BuildInfo
    ddr: SharedDdr
    clock_ns: int
    sim: SimProcess | None = None

    def fresh_sim(self, wave_file: Path | None = None) -> SimProcess:
        """Replace the simulator process (closing the old one); DDR stays as it is."""
        if self.sim is not None:
            self.sim.close()
        self.sim = None
        self.sim = SimProcess(self.build, self.ddr.fd, self.ddr.size, clock_ns=self.clock_ns,
                              wave_file=wave_file)
        return self.sim

    def close(self) -> None:
        if self.sim is not None:
            self.sim.close()
            self.sim = None
        self.ddr.close()


_POOL: dict[tuple[str, int], _Slot] = {}
_WAVE_COUNTER = itertools.count()


def close_pool() -> None:
    """Stop every pooled simulator of this process (tests; also runs at exit)."""
    while _POOL:
        _POOL.popitem()[1].close()


class RtlTarget(Target):
    """The open RTL of the block design in Verilator, driven through cocotb.

    Options: ``simulator`` (only ``"verilator"``), ``parameters`` (PYNQ ``ip_dict``
    parameter overrides, mapped to dmasim_bd's Verilog parameters), ``waves`` (False, True
    for a file under ``$DMASIM_WAVES_DIR`` or ``./dmasim-waves``, or a path: dump this
    target's waveform there), ``clock_ns`` (clock period), ``cma_size``, ``phys_addr``.
    """

    name = "rtl"
    simulated = True
    capabilities = frozenset({"faults", "irq"})

    def __init__(
        self,
        *,
        simulator: str = "verilator",
        waves: bool | str | os.PathLike[str] = False,
        parameters: dict[str, Any] | None = None,
        clock_ns: int = 10,
        cma_size: int = CMA_SIZE,
        phys_addr: int = DMA_BASE,
    ):
        super().__init__()
        if simulator != "verilator":
            raise DmasimValueError(f"simulator {simulator!r} is not supported: allowed verilator")
        if not isinstance(clock_ns, int) or isinstance(clock_ns, bool) or clock_ns < 2:
            raise DmasimValueError(f"clock_ns={clock_ns!r} must be an integer >= 2")
        self.ip_dict = make_ip_dict(parameters, phys_addr)
        info = self.ip_dict["axi_dma_0"]
        self.verilog_parameters = verilog_parameters(info["parameters"])
        self._base = phys_addr
        self._span = int(info["addr_range"])
        self._clock_ns = clock_ns
        self.wave_file: Path | None = None
        """The waveform file being written, or None."""
        build = ensure_build(self.verilog_parameters, waves=bool(waves))
        self.build = build
        if waves:
            self.wave_file = self._wave_path(waves)
            self._slot = _Slot(build, SharedDdr(DDR_SIZE), clock_ns)
            self._pooled = False
            self._slot.fresh_sim(self.wave_file)
        else:
            slot = _POOL.pop((build.key, clock_ns), None)
            self._slot = slot or _Slot(build, SharedDdr(DDR_SIZE), clock_ns)
            self._pooled = True
            if self._slot.sim is None or not self._slot.sim.alive:
                self._slot.fresh_sim()
        self._sim: SimProcess = self._slot.sim  # type: ignore[assignment]
        self.memory_model = Memory(self._slot.ddr.array, size=DDR_SIZE, cma_base=CMA_BASE,
                                   cma_size=cma_size)
        self.memory = self.memory_model
        self.faults = self
        self.bus = self
        self.clock = self
        self._origin_ns = 0
        self._reset_design()
        self._origin_ns = self._sim.last_ns

    # --- RegisterBus role ---------------------------------------------------------------

    def _offset(self, addr: int) -> int:
        off = addr - self._base
        if not 0 <= off < self._span or off & 3:
            raise DmasimValueError(
                f"address 0x{addr:08x} is not a 4-byte aligned register of axi_dma_0 "
                f"(0x{self._base:08x}..0x{self._base + self._span - 4:08x})"
            )
        return off

    def read32(self, addr: int) -> int:
        """One AXI-Lite read through the simulated interconnect."""
        off = addr - self._base
        if not 0 <= off < REGISTER_SPAN or off & 3:
            off = self._offset(addr)
            if off >= REGISTER_SPAN:
                self._sim.sync()
                return 0
        return self._sim.request(p.OP_READ, 0, off, what=f"a read of offset 0x{off:x}")

    def write32(self, addr: int, value: int) -> None:
        """One AXI-Lite write (posted: an error surfaces at the next synchronous access)."""
        off = addr - self._base
        if not 0 <= off < REGISTER_SPAN or off & 3:
            off = self._offset(addr)
            if off >= REGISTER_SPAN:
                return
        self._sim.post(p.OP_WRITE, value & 0xFFFF_FFFF, off)

    # --- Clock role ---------------------------------------------------------------------

    @property
    def now_ns(self) -> int:
        """Simulated ns since this target was opened."""
        self._sim.sync(what="a time query")
        return self._sim.last_ns - self._origin_ns

    def delay(self, ns: int) -> None:
        """Let ``ns`` ns of simulated time pass (posted, like a write)."""
        if ns < 0:
            raise DmasimValueError(f"delay {ns!r} ns is not a whole number >= 0")
        if ns:
            self._sim.post(p.OP_DELAY, 0, int(ns))

    # --- FaultInjector role -------------------------------------------------------------

    def add_fault(self, addr: int, nbytes: int, kind: str = "slverr") -> None:
        """Make ``[addr, addr + nbytes)`` answer ``kind`` (``"slverr"``/``"decerr"``)."""
        self._sim.sync()
        self.memory_model.add_fault(addr, nbytes, kind)
        try:
            self._slot.ddr.set_faults(self.memory_model.faults)
        except DmasimValueError:
            self.memory_model._faults.pop()
            raise

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._sim.sync()
        self.memory_model.clear_faults()
        self._slot.ddr.set_faults([])

    # --- the rest of the contract -------------------------------------------------------

    def interrupts(self) -> dict[str, bool]:
        """Levels of ``mm2s_introut`` and ``s2mm_introut`` now."""
        self._sim.request(p.OP_STATUS, what="an interrupt query")
        irq = self._sim.last_irq
        return {"mm2s_introut": bool(irq & 1), "s2mm_introut": bool(irq & 2)}

    def _reset_design(self) -> None:
        """Power-on reset: ``rst`` for some clocks; a dead simulator is replaced first."""
        if self._sim.broken is not None or self._sim.proc.poll() is not None:
            wave = self.wave_file
            if wave is not None:  # keep the crashed run's waves
                wave = wave.with_name(f"{wave.stem}-restarted{wave.suffix}")
                self.wave_file = wave
            self._restart(wave)
        self.clear_faults()
        self._sim.request(p.OP_RESET, RESET_CYCLES, what="a reset")

    def _restart(self, wave_file: Path | None) -> None:
        """A new simulator process on the same DDR; time continues from where it was."""
        now = self._sim.last_ns - self._origin_ns
        self._sim = self._slot.fresh_sim(wave_file)
        self._origin_ns = self._sim.last_ns - now

    def start_waves(self, path: str | os.PathLike[str]) -> Path:
        """Dump the waveform from now on into ``path`` (closing the previous file).

        The simulator restarts for this (power-on state, time and buffers carry on), so
        call it between tests, before the test's reset.
        """
        if self._slot.build.wave_format is None:
            raise DmasimValueError(
                "this rtl target was opened without waves: open it with waves=True to be "
                "able to name wave files"
            )
        self._check_open()
        self._sim.sync()
        self.wave_file = Path(path)
        self.wave_file.parent.mkdir(parents=True, exist_ok=True)
        self._restart(self.wave_file)
        self._sim.request(p.OP_RESET, RESET_CYCLES, what="a reset")
        return self.wave_file

    def _wave_path(self, waves: bool | str | os.PathLike[str]) -> Path:
        fmt = self.build.wave_format or "vcd"
        if waves is True:
            folder = Path(os.environ.get("DMASIM_WAVES_DIR", "dmasim-waves"))
            path = folder / f"rtl-{os.getpid()}-{next(_WAVE_COUNTER)}.{fmt}"
        else:
            path = Path(os.fspath(waves))
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.resolve()

    def _release_slot(self) -> None:
        """Give the simulator back to the pool (healthy) or stop it."""
        slot = self._slot
        sim = slot.sim
        healthy = sim is not None and sim.broken is None
        if healthy and sim is not None:
            try:
                sim.sync()
            except TargetError:
                healthy = False
        key = (slot.build.key, slot.clock_ns)
        if self._pooled and healthy and key not in _POOL:
            _POOL[key] = slot
        else:
            slot.close()

    def _close(self) -> None:
        self.memory_model.close()
        try:
            if self._sim.broken is None:
                self.clear_faults()
        except TargetError:
            pass
        self._release_slot()

    def describe(self) -> str:
        """Where the simulator runs and what it was built from."""
        sim = self._sim
        return (
            f"rtl target: Verilator build {self.build.key} ({self.build.directory}), "
            f"parameters {self.verilog_parameters}; simulator pid {sim.proc.pid}, log "
            f"{sim.log_path}" + (f", waves {self.wave_file}" if self.wave_file else "")
        )
