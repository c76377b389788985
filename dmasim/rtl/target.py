"""The ``rtl`` target: a block design simulated by Verilator under cocotb.

The design (default: the loopback) becomes a generated Verilog module
(:mod:`dmasim.rtl.generate`) of the open DMA RTL, dmasim's stream IPs and the user's own RTL
(:class:`~dmasim.RtlSources`).

Same contract as the model (``ip_dict``, ``mmio``, ``allocate``, ``delay``, ``reset``,
drivers). Register accesses and delays are commands to a simulator child process
(:mod:`dmasim.rtl.process`), one at a time and each waited for, so the simulator never runs
while the host touches buffers and a run replays exactly. DDR is memory shared with the
simulator (:mod:`dmasim.rtl.shared`): buffers are numpy views of the simulated DDR and the
DMA's beats never pass through Python. Simulators are built once per source hash
(:mod:`dmasim.rtl.build`) and pooled per process, so opening the target again costs a
reset, not a start.
"""

from __future__ import annotations

import atexit
import itertools
import os
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import constants, regmap
from ..design import DMA_BASE, Design, check_design, design_option
from ..design.params import includes_sg
from ..errors import DesignError, DmasimValueError, TargetError
from ..memory import CMA_BASE, CMA_SIZE, DDR_SIZE, Memory
from ..target import MMIO, Target, WindowOps
from . import protocol as p
from .build import BuildInfo, ensure_build, verilog_parameters
from .generate import DMA_AXIL_BITS, Generated, dma_verilog_parameters, generate
from .process import SimProcess
from .shared import SharedDdr
from .sources import RtlSources

__all__ = ["RtlTarget", "close_pool"]

RESET_CYCLES = 16
_OP_READ, _OP_WRITE = p.OP_READ, p.OP_WRITE
REGISTER_SPAN = 1 << DMA_AXIL_BITS
"""The open DMA decodes 10 address bits; offsets above read 0 and ignore writes without a bus
access, as in the model."""
_WAVE_SUFFIXES = (".fst", ".vcd")


@dataclass
class _Slot:
    """A simulator with its shared DDR, kept between targets of the same build."""

    build: BuildInfo
    ddr: SharedDdr
    clock_ns: int
    sim: SimProcess | None = None

    def fresh_sim(self, wave_file: Path | None = None) -> SimProcess:
        """Replace the simulator process (closing the old one); DDR stays as it is."""
        if self.sim is not None:
            self.sim.close()
            self.sim = None
        self.sim = SimProcess(self.build, self.ddr, clock_ns=self.clock_ns, wave_file=wave_file)
        return self.sim

    def close(self) -> None:
        if self.sim is not None:
            self.sim.close()
            self.sim = None
        self.ddr.close()


_POOL: dict[tuple[str, int], _Slot] = {}
_WAVE_COUNTER = itertools.count()


def close_pool() -> None:
    """Stop every pooled (idle) simulator of this process; also runs at exit."""
    while _POOL:
        _POOL.popitem()[1].close()


atexit.register(close_pool)


def _waves_dir() -> Path:
    return Path(os.environ.get("DMASIM_WAVES_DIR", "dmasim-waves"))


class RtlClock:
    """The Clock role: simulated time of the target's simulator (which a restart replaces)."""

    def __init__(self, target: RtlTarget):
        self._target = target

    @property
    def now_ns(self) -> int:
        """Simulated ns since the target was opened."""
        t = self._target
        return t._sim.last_ns - t._origin_ns

    def delay(self, ns: int) -> None:
        """Let ``ns`` ns of simulated time pass (checked by ``Target.delay``); returns when done."""
        if ns:  # its wall-clock limit grows with ns (WALL_S_PER_SIM_NS)
            self._target._sim.request(p.OP_DELAY, 0, int(ns))


class RtlTarget(Target):
    """A block design in Verilator: the open DMA RTL, dmasim's stream IPs, the user's RTL.

    Options: ``design`` (a :class:`~dmasim.Design` or a .hwh path; default
    ``Design.loopback(parameters)``), ``rtl`` (``{instance: RtlSources}`` for every user IP),
    ``simulator`` (only ``"verilator"``), ``parameters`` (PYNQ ``ip_dict`` parameter
    overrides of the default loopback's DMA; with ``design`` an error, as on the model),
    ``waves`` (False; True for a file under ``$DMASIM_WAVES_DIR`` or ``./dmasim-waves``; or a
    file path), ``clock_ns`` (clock period, even; default from the
    design's clock), ``trace_depth`` (register accesses kept in :attr:`trace`), ``cma_size``,
    ``phys_addr`` (of the loopback's DMA), ``bus_access_ns`` (the time one register access
    of the simulated CPU takes, from one access's address/data handshake to the next one's:
    default a Cortex-A9 access on the PYNQ-Z2; settable later as the attribute of the same
    name; the simulated AXI-Lite bus takes at least 5 clocks per write).
    """

    name = "rtl"
    simulated = True
    capabilities = frozenset({"faults", "irq", "cache-model", "trace"})

    def __init__(
        self,
        *,
        simulator: str = "verilator",
        waves: bool | str | os.PathLike[str] = False,
        parameters: dict[str, Any] | None = None,
        clock_ns: int | None = None,
        trace_depth: int = 1024,
        cma_size: int = CMA_SIZE,
        phys_addr: int = DMA_BASE,
        design: Design | str | os.PathLike[str] | None = None,
        rtl: dict[str, RtlSources] | None = None,
        bus_access_ns: int = constants.BUS_ACCESS_NS,
    ):
        super().__init__()
        if simulator != "verilator":
            raise DmasimValueError(f"simulator {simulator!r} is not supported: allowed verilator")
        rtl = dict(rtl or {})
        for name, src in rtl.items():
            if not isinstance(src, RtlSources):
                raise DmasimValueError(f"rtl[{name!r}] is {type(src).__name__}: allowed "
                                       "dmasim.RtlSources([...], top=...)")
        loopback = design is None
        design = design_option(design, parameters, phys_addr)
        if loopback:  # the loopback keeps the checks (and messages) of its DMA parameters
            verilog_parameters(design.dmas[0].parameters)
        check_design(design, supplied=rtl.keys(), target="rtl")
        users = {i.name for i in design.of_kind("user")}
        for name in rtl:
            if name not in users:
                have = ", ".join(sorted(users)) or "none"
                raise DesignError(f"rtl={{{name!r}: ...}}: {name!r} is not a user IP of design "
                                  f"{design.name!r} (user IPs: {have})")
        if clock_ns is None:
            clock_ns = max(2, round(1e9 / design.clock_hz / 2) * 2)
        if (not isinstance(clock_ns, int) or isinstance(clock_ns, bool) or clock_ns < 2
                or clock_ns % 2):
            raise DmasimValueError(f"clock_ns={clock_ns!r} must be an even integer >= 2")
        self.clock_ns = clock_ns
        self.bus_access_ns = bus_access_ns
        self.design = design
        self.ip_dict = design.ip_dict()
        self.generated: Generated = generate(design, rtl)
        """The design module generated for this design (``.text`` is its Verilog)."""
        first = design.dmas[0]
        self.verilog_parameters = dma_verilog_parameters(first)
        self._base = first.windows[0].base
        self._windows = self._route()
        self.trace: deque[tuple[int, str, int, int]] = deque(maxlen=trace_depth)
        self.wave_file: Path | None = None
        """The waveform file being written, or None."""
        self.build = ensure_build(self.generated, tuple(rtl[k] for k in sorted(rtl)),
                                  waves=bool(waves))
        if waves:
            self.wave_file = self._wave_path(waves if waves is not True else None)
            self._slot = _Slot(self.build, SharedDdr(DDR_SIZE), clock_ns)
            self._pooled = False
            self._slot.fresh_sim(self.wave_file)
        else:
            slot = _POOL.pop((self.build.key, clock_ns), None)
            self._slot = slot or _Slot(self.build, SharedDdr(DDR_SIZE), clock_ns)
            self._pooled = True
            if self._slot.sim is None or not self._slot.sim.alive:
                self._slot.fresh_sim()
        assert self._slot.sim is not None
        self._sim: SimProcess = self._slot.sim
        self.memory_model = Memory(self._slot.ddr.array, size=DDR_SIZE, cma_base=CMA_BASE,
                                   cma_size=cma_size)
        self.memory = self.memory_model
        self.faults = self
        self.bus = self
        self.clock = RtlClock(self)
        self._origin_ns = 0
        try:
            self._reset_design()
        except BaseException:
            self._slot.close()  # never leave a simulator behind a target that did not open
            raise
        self._origin_ns = self._sim.last_ns

    # --- RegisterBus role ---------------------------------------------------------------

    @property
    def bus_access_ns(self) -> int:
        """Time of one register access (rounded up to whole clocks in the simulator)."""
        return self._bus_access_ns

    @bus_access_ns.setter
    def bus_access_ns(self, ns: int) -> None:
        if not isinstance(ns, int) or isinstance(ns, bool) or not 1 <= ns <= 1_000_000:
            raise DmasimValueError(f"bus_access_ns={ns!r} must be an integer in 1..1000000")
        self._bus_access_ns = ns
        self._bus_timing = -(-ns // self.clock_ns) << 32  # clocks, in arg64[63:32]

    def _route(self) -> list[tuple[int, int, int]]:
        """Every window in ip_dict as (base, range, decoded bytes; 0 = not in the simulation).

        DMA windows decode 1 KiB (above reads 0 without a bus access, as on the model); user
        windows decode all of it; windows of IPs the simulation leaves out (an axi_intc) read
        0 and ignore writes.
        """
        design = self.design
        assert design is not None
        routed = {(w.base, w.range): (REGISTER_SPAN if design.instance(n).kind == "dma"
                                      else w.range)
                  for n, w, _bits in self.generated.windows}
        out = []
        for info in self.ip_dict.values():
            if info.get("phys_addr") is None or not info.get("addr_range"):
                continue  # pynq lists the PS without a register window
            base, size = int(info["phys_addr"]), int(info["addr_range"])
            out.append((base, size, routed.get((base, size), 0)))
        return out

    def _resolve(self, addr: int) -> tuple[int, bool]:
        """(trace offset, on the bus) of a register address, or a clear error."""
        if not addr & 3:
            for base, size, decoded in self._windows:
                off = addr - base
                if 0 <= off < size:
                    return (off if base == self._base else addr), off < decoded
        windows = ", ".join(f"0x{b:08x}..0x{b + s - 4:08x}" for b, s, _d in self._windows)
        raise DmasimValueError(
            f"address 0x{addr:08x} is not a 4-byte aligned register of the design's IPs "
            f"(allowed {windows})"
        )

    def read32(self, addr: int) -> int:
        """One AXI-Lite read through the simulated interconnect."""
        off = addr - self._base
        if 0 <= off < REGISTER_SPAN and not off & 3:
            sim = self._sim
            value = sim.request(_OP_READ, 0, addr | self._bus_timing)
        else:
            off, on_bus = self._resolve(addr)
            sim = self._sim
            value = sim.request(_OP_READ, 0, addr | self._bus_timing) if on_bus else 0
        self.trace.append((sim.mailbox.last_ns - self._origin_ns, "R", off, value))
        return value

    def write32(self, addr: int, value: int) -> None:
        """One AXI-Lite write through the simulated interconnect.

        Synchronous, like every command: the simulator never runs while the host touches
        buffers, so a run does not depend on wall-clock timing and replays exactly.
        """
        off = addr - self._base
        sim = self._sim
        if 0 <= off < REGISTER_SPAN and not off & 3:
            sim.request(_OP_WRITE, value & 0xFFFF_FFFF, addr | self._bus_timing)
        else:
            off, on_bus = self._resolve(addr)
            if on_bus:
                sim.request(_OP_WRITE, value & 0xFFFF_FFFF, addr | self._bus_timing)
        self.trace.append((sim.mailbox.last_ns - self._origin_ns, "W", off, value))

    def window_ops(self, mmio: MMIO) -> WindowOps | None:
        """Accessors for a window starting at the first DMA's registers (``t.ip_mmio()``).

        They make MMIO's checks and then do what :meth:`read32` / :meth:`write32` do, one
        Python call fewer per access (drivers poll through them); offsets past the DMA's
        decoded registers take :meth:`read32` / :meth:`write32`. Other windows: None (MMIO's
        own accessors).
        """
        base = mmio.base_addr
        if base != self._base:
            return None
        length = mmio.length
        span = min(length, REGISTER_SPAN)
        check_offset, check_value = mmio.check_offset, mmio.check_value
        trace = self.trace

        def read(offset: int, nbytes: int = 4) -> int:
            if type(offset) is not int or offset & 3 or not 0 <= offset < span or nbytes != 4:
                return self.read32(base + check_offset(offset, nbytes))
            sim = self._sim
            value = sim.request(_OP_READ, 0, (base + offset) | self._bus_timing)
            trace.append((sim.mailbox.last_ns - self._origin_ns, "R", offset, value))
            return value

        def write(offset: int, value: int) -> None:
            if type(offset) is not int or offset & 3 or not 0 <= offset < span:
                offset = check_offset(offset)
            if type(value) is not int or not 0 <= value <= 0xFFFF_FFFF:
                value = check_value(offset, value)
            if offset >= span:
                self.write32(base + offset, value)
                return
            sim = self._sim
            sim.request(_OP_WRITE, value, (base + offset) | self._bus_timing)
            trace.append((sim.mailbox.last_ns - self._origin_ns, "W", offset, value))

        return read, write

    # --- FaultInjector role -------------------------------------------------------------

    def add_fault(self, addr: int, nbytes: int, kind: str = "slverr") -> None:
        """Make ``[addr, addr + nbytes)`` answer ``kind`` (``"slverr"``/``"decerr"``)."""
        self.memory_model.add_fault(addr, nbytes, kind)
        try:
            self._slot.ddr.set_faults(self.memory_model.faults)
        except DmasimValueError:
            self.memory_model._faults.pop()
            raise

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.memory_model.clear_faults()
        self._slot.ddr.set_faults([])

    # --- design control -----------------------------------------------------------------

    def interrupts(self) -> dict[str, bool]:
        """Level of every interrupt line now.

        Keys are ``"instance/port"`` as on the model; the loopback (one DMA and nothing else)
        keeps its two lines' bare names, ``mm2s_introut`` and ``s2mm_introut``.
        """
        irq = self._sim.request(p.OP_STATUS)
        lines = self.generated.irqs
        design = self.design
        bare = design is not None and len(design.instances) - len(
            design.of_kind("infrastructure")) == 1 and len(design.dmas) == 1
        return {(port if bare else f"{inst}/{port}"): bool(irq >> i & 1)
                for i, (inst, port) in enumerate(lines)}

    @property
    def idle_clocks_skipped(self) -> int:
        """Clock periods the simulator jumped over as idle since it started (saturates at 2**32-1).

        It skips a run of clocks once a period changed no state (``rtl_tb/hdl/README.md``):
        the same results, fewer evaluations; 0 with waves, with ``DMASIM_RTL_IDLE_SKIP=0`` or
        for a design whose build cannot skip (its ``build.log`` says why).
        """
        return self._sim.request(p.OP_SKIPPED)

    def stream_state(self) -> dict[str, dict[str, int]]:
        """Counters of every stream link since the last reset, read from its monitor.

        ``{"src.IF -> dst.IF": {"beats", "packets", "open_packet_beats", "stalled_cycles"}}``:
        beats and TLAST packets passed, beats of the packet still open (no TLAST yet), and
        clocks the current beat has waited for TREADY. Hang diagnosis reads these.
        """
        self._check_open()
        n = len(p.MONITOR_FIELDS)
        out: dict[str, dict[str, int]] = {}
        for k, link in enumerate(self.generated.links):
            out[link] = {f: self._sim.request(p.OP_MONITOR, 0, k * n + i)
                         for i, f in enumerate(p.MONITOR_FIELDS)}
        return out

    def _reset_design(self) -> None:
        """Power-on reset (``rst`` for some clocks); a crashed simulator is replaced first."""
        if self._sim.broken is not None or self._sim.proc.poll() is not None:
            wave = self.wave_file
            if wave is not None:  # keep the crashed run's waves
                wave = wave.with_name(f"{wave.stem}-restarted{wave.suffix}")
                self.wave_file = wave
            self._restart(wave)
        self.clear_faults()
        self._sim.request(p.OP_RESET, RESET_CYCLES)

    def _restart(self, wave_file: Path | None) -> None:
        """A new simulator process on the same DDR; time carries on from where it was."""
        now = self._sim.last_ns - self._origin_ns
        self._sim = self._slot.fresh_sim(wave_file)
        self._origin_ns = self._sim.last_ns - now

    def stall_cause(self, dma: str, channel: str, *, programmed: int = 0) -> str | None:
        """Why ``dma``'s ``channel`` is stuck, read from the stream monitors, naming the IP."""
        from ..drivers.streams import stream_cause

        design = self.design
        assert design is not None
        if self._sim.broken is not None or len(design.connections) == 0:
            return None
        base = design.instance(dma).windows[0].base
        sr = self._sim.request(p.OP_READ, 0, base + regmap.S2MM.DMASR)
        length = self._sim.request(p.OP_READ, 0, base + regmap.S2MM.LENGTH)
        beat = self.generated.data_width // 8
        return stream_cause(design, self.stream_state(), dma, channel, programmed=programmed,
                            transferred=length, s2mm_idle=bool(sr & regmap.DMASR_IDLE),
                            beat_bytes=beat)

    # --- waves --------------------------------------------------------------------------

    def start_waves(self, path: str | os.PathLike[str]) -> Path:
        """Write the waveform from now on to ``path`` and return the file's full path.

        ``path`` is a file (``.fst``/``.vcd``), or any name (a pytest node id, say) made
        into a file name under ``$DMASIM_WAVES_DIR`` or ``./dmasim-waves``. The simulator
        restarts for this (power-on state; time and buffers carry on): call it between tests,
        then reset. Needs a target opened with ``waves``.
        """
        self._check_open()
        if self.build.wave_format is None:
            raise DmasimValueError(
                "this rtl target was opened without waves: open it with waves=True to "
                "name wave files"
            )
        self.wave_file = self._wave_path(path)
        self._restart(self.wave_file)
        self._sim.request(p.OP_RESET, RESET_CYCLES)
        return self.wave_file

    def _wave_path(self, path: str | os.PathLike[str] | None) -> Path:
        """A wave file path for a name, a path, or None (a numbered file)."""
        fmt = self.build.wave_format or "vcd"
        if path is None:
            out = _waves_dir() / f"rtl-{os.getpid()}-{next(_WAVE_COUNTER)}.{fmt}"
        else:
            text = os.fspath(path)
            if Path(text).suffix in _WAVE_SUFFIXES:
                out = Path(text).with_suffix(f".{fmt}")
            else:  # a name such as "tests/test_x.py::test_y[rtl-python]"
                safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_.")[:150] or "waves"
                out = _waves_dir() / f"{safe}.{fmt}"
        out.parent.mkdir(parents=True, exist_ok=True)
        return out.resolve()

    # --- closing and insight ------------------------------------------------------------

    def _close(self) -> None:
        self.memory_model.close()
        self.clear_faults()
        slot, sim = self._slot, self._sim
        healthy = sim.broken is None and sim.proc.poll() is None
        key = (slot.build.key, slot.clock_ns)
        if self._pooled and healthy and key not in _POOL:
            slot.ddr.release_pages()  # the next target allocates (zeroed) anyway
            _POOL[key] = slot
        else:
            slot.close()

    def format_trace(self, last: int = 32) -> str:
        """The last register accesses, decoded, with simulated timestamps."""
        return regmap.format_accesses(self.trace, last)

    def describe(self) -> str:
        """Decoded registers, time, and where the simulator, its log and waves are."""
        sim = self._sim
        out = []
        if sim.broken is None:
            try:
                def read(off: int) -> int:
                    return self._sim.request(p.OP_READ, 0, self._base + off)

                sg = any(includes_sg(ip.get("parameters") or {}) for ip in self.ip_dict.values()
                         if int(ip.get("phys_addr", -1)) == self._base)
                out.append(regmap.format_registers(
                    {**regmap.read_channel(read, regmap.MM2S, sg),
                     **regmap.read_channel(read, regmap.S2MM, sg)}
                ))
                out.append(f"time {self.now_ns} ns; interrupts {self.interrupts()}")
            except TargetError as exc:
                out.append(f"(registers unreadable: {exc})")
        else:
            out.append(f"simulator broken: {sim.broken}")
        design = self.design
        assert design is not None
        out.append(
            f"design {design.name!r}: {', '.join(design.instances)}; Verilator build "
            f"{self.build.key} ({self.build.directory}), parameters {self.verilog_parameters}; "
            f"simulator pid {sim.proc.pid}, log {sim.log_path}"
        )
        if self.wave_file is not None:
            out.append(f"waveform: {self.wave_file}")
        return "\n".join(out)
