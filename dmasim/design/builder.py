"""Designs written in Python, for an IP that has no Vivado project (or .hwh) yet.

::

    b = DesignBuilder(name="fir_design", clock_hz=100_000_000)
    b.dma("axi_dma_0", base=0x4040_0000, c_sg_length_width=26)
    b.ip("fir_0", vlnv="dmasim.org:user:fir:1.0", base=0x43C0_0000, range=0x1_0000,
         streams={"S_AXIS": "in", "M_AXIS": "out"}, interrupts=["interrupt"])
    b.connect("axi_dma_0.M_AXIS_MM2S", "fir_0.S_AXIS")
    b.connect("fir_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM")
    design = b.build()

Instances get the interfaces, physical ports and parameters Vivado would give them, so a
built design behaves like one read from a .hwh: ``design.write_hwh(path)`` writes one pynq
loads, and the rtl target wires a user module by the physical names. Interrupts go to the
PS's IRQ_F2P in the order they are declared (or to an ``axi_intc`` added with
:meth:`DesignBuilder.interrupt_controller`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..errors import DesignError
from .check import SUPPORTED_DMA, check_design
from .ips import (
    FIFO_VLNV,
    SLICE_VLNV,
    axi_lite_ports,
    axis_ports,
    default_stream,
    dma_instance,
    intc_instance,
    ps7_instance,
    stream_instance,
)
from .params import DEFAULT_PARAMETERS, check_parameters
from .types import (
    Connection,
    Design,
    Endpoint,
    Instance,
    InterruptLine,
    Port,
    StreamInterface,
    Window,
)

__all__ = ["FIFO_DEPTHS", "DesignBuilder"]

FIFO_DEPTHS = tuple(1 << n for n in range(4, 16))
"""The axis_data_fifo depths Vivado offers (16..32768, powers of two)."""

_TDATA_BYTES = tuple(range(1, 65))


class DesignBuilder:
    """Collects instances and stream links, then :meth:`build` checks and returns a Design."""

    def __init__(self, name: str = "design_1", clock_hz: int = 100_000_000, *,
                 part: str = "xc7z020clg400-1", board: str = "tul.com.tw:pynq-z2:part0:1.0"):
        if not isinstance(clock_hz, int) or not 1_000_000 <= clock_hz <= 250_000_000:
            raise DesignError(f"clock_hz={clock_hz!r} is not supported: allowed "
                              "1_000_000..250_000_000 (the PS's FCLK0 range)")
        self.name, self.clock_hz, self.part, self.board = name, clock_hz, part, board
        self._instances: dict[str, Instance] = {}
        self._links: list[Connection] = []
        self._intc: str | None = None

    # --- instances ----------------------------------------------------------------------

    def _add(self, inst: Instance) -> Instance:
        if not inst.name or not inst.name.replace("_", "a").isalnum() or inst.name[0].isdigit():
            raise DesignError(f"instance name {inst.name!r} is not a Verilog identifier "
                              "(letters, digits and _, not starting with a digit)")
        if inst.name in self._instances or inst.name == "processing_system7_0":
            raise DesignError(f"instance name {inst.name!r} is already used in "
                              f"{self.name!r}")
        self._instances[inst.name] = inst
        return inst

    def dma(self, name: str = "axi_dma_0", base: int = 0x4040_0000, **params: Any) -> Instance:
        """An AXI DMA at ``base``; ``params`` are .hwh names (``c_sg_length_width=26``)."""
        allowed = set(DEFAULT_PARAMETERS) | set(SUPPORTED_DMA)
        values = dict(DEFAULT_PARAMETERS)
        for key, value in params.items():
            if key.lower() not in allowed:
                raise DesignError(f"{name}: unknown AXI DMA parameter {key!r}: allowed "
                                  f"{', '.join(sorted(allowed))}")
            values[key.lower()] = str(int(value)) if isinstance(value, bool) else str(value)
        try:
            check_parameters({k: v for k, v in values.items() if k in DEFAULT_PARAMETERS})
        except ValueError as exc:
            raise DesignError(f"{name}: {exc}") from None
        if values["c_include_mm2s"] == "0" and values["c_include_s2mm"] == "0":
            raise DesignError(f"{name}: c_include_mm2s=0 and c_include_s2mm=0 leave the DMA "
                              "with no channel: enable at least one")
        return self._add(dma_instance(name, _address(name, base), values))

    def ip(self, name: str, *, vlnv: str, base: int | None = None, range: int = 0x1_0000,
           streams: Mapping[str, str | StreamInterface] | None = None,
           interrupts: Iterable[str] = (), parameters: Mapping[str, Any] | None = None,
           port_map: Mapping[str, Mapping[str, str]] | None = None,
           window: str = "S_AXI", clock: str = "aclk", reset: str = "aresetn",
           tdata_bytes: int = 4,
           registers: Mapping[str, int | Mapping[str, Any]] | None = None) -> Instance:
        """A user IP: an AXI-Lite ``window`` at ``base`` (None: none), streams, interrupts.

        ``streams`` maps interface names to ``"in"``/``"out"`` (signals named
        ``name.lower() + "_tdata"`` etc., ``tdata_bytes`` wide, with TKEEP and TLAST) or to
        :class:`StreamInterface` objects. ``port_map`` overrides physical names per
        interface: ``{"S_AXIS": {"TDATA": "in_TDATA", ...}, "S_AXI": {"AWADDR": ...}}``.
        ``registers`` names the window's registers for pynq's ``register_map``: an offset
        (a 32-bit read-write register) or pynq's own entry (``address_offset``, ``size``,
        ``access``, ``description``, ``fields``).
        """
        if len(vlnv.split(":")) != 4:
            raise DesignError(f"{name}: VLNV {vlnv!r} is not vendor:library:name:version")
        if tdata_bytes not in _TDATA_BYTES:
            raise DesignError(f"{name}: tdata_bytes={tdata_bytes} is not supported: allowed "
                              "1..64")
        overrides = {k: dict(v) for k, v in (port_map or {}).items()}
        inst = Instance(name=name, vlnv=vlnv,
                        parameters={k: str(v) for k, v in (parameters or {}).items()})
        inst.ports[clock] = Port(clock, "I", sigis="clk")
        inst.ports[reset] = Port(reset, "I", sigis="rst")
        if base is not None:
            if range < 0x1000 or range & (range - 1):
                raise DesignError(f"{name}: range=0x{range:x} is not supported: allowed a "
                                  "power of two from 0x1000 (4 KiB)")
            lite_map, lite_ports = axi_lite_ports(f"{window.lower()}_")
            renamed = {**lite_map, **overrides.pop(window, {})}
            for p in lite_ports:
                logical = next(lg for lg, ph in lite_map.items() if ph == p.name)
                phys = renamed[logical]
                inst.ports[phys] = Port(phys, p.direction, p.width, p.sigis)
            inst.windows.append(Window(window, _address(name, base, range), range, renamed,
                                       registers=_registers(name, registers or {}, range)))
        elif registers:
            raise DesignError(f"{name}: registers need a register window: give base=...")
        for sname, spec in (streams or {}).items():
            if isinstance(spec, StreamInterface):
                stream = spec
            elif spec in ("in", "out"):
                stream = default_stream(sname, spec, tdata_bytes)
            else:
                raise DesignError(f"{name}.{sname}: stream direction {spec!r} is not supported: "
                                  "allowed 'in', 'out' or a StreamInterface")
            if sname in overrides:
                pm = {**stream.port_map, **overrides.pop(sname)}
                stream = replace(stream, name=sname, port_map=pm)
            inst.streams[sname] = stream
            for p in axis_ports(stream):
                inst.ports[p.name] = p
        if overrides:
            raise DesignError(f"{name}: port_map names {', '.join(overrides)}, which is no "
                              f"interface of it (have: {', '.join([*inst.streams, window])})")
        for port in interrupts:
            inst.interrupts.append(port)
            inst.ports[port] = Port(port, "O", sigis="intr")
        return self._add(inst)

    def fifo(self, name: str, depth: int = 512, packet_mode: bool = False, *,
             tdata_bytes: int = 4, has_tkeep: bool = True) -> Instance:
        """An ``axis_data_fifo`` (S_AXIS -> M_AXIS), ``packet_mode`` holding whole packets."""
        if depth not in FIFO_DEPTHS:
            raise DesignError(f"{name}: depth={depth} is not supported: allowed "
                              f"{', '.join(map(str, FIFO_DEPTHS))}")
        if tdata_bytes not in _TDATA_BYTES:
            raise DesignError(f"{name}: tdata_bytes={tdata_bytes} is not supported: allowed "
                              "1..64")
        params = {"TDATA_NUM_BYTES": str(tdata_bytes), "FIFO_DEPTH": str(depth),
                  "FIFO_MODE": "2" if packet_mode else "1", "HAS_TKEEP": str(int(has_tkeep)),
                  "HAS_TLAST": "1", "HAS_TSTRB": "0", "TUSER_WIDTH": "0", "TID_WIDTH": "0",
                  "TDEST_WIDTH": "0", "IS_ACLK_ASYNC": "0"}
        return self._add(stream_instance(name, FIFO_VLNV, params, tdata_bytes, has_tkeep))

    def register_slice(self, name: str, *, tdata_bytes: int = 4,
                       has_tkeep: bool = True) -> Instance:
        """An ``axis_register_slice`` (S_AXIS -> M_AXIS, one stage)."""
        if tdata_bytes not in _TDATA_BYTES:
            raise DesignError(f"{name}: tdata_bytes={tdata_bytes} is not supported: allowed "
                              "1..64")
        params = {"TDATA_NUM_BYTES": str(tdata_bytes), "HAS_TKEEP": str(int(has_tkeep)),
                  "HAS_TLAST": "1", "HAS_TSTRB": "0", "TUSER_WIDTH": "0", "TID_WIDTH": "0",
                  "TDEST_WIDTH": "0", "REG_CONFIG": "8"}
        return self._add(stream_instance(name, SLICE_VLNV, params, tdata_bytes, has_tkeep))

    def interrupt_controller(self, name: str = "axi_intc_0",
                             base: int = 0x4180_0000) -> Instance:
        """An ``axi_intc``: interrupts declared after building go to its ``intr`` inputs."""
        if self._intc is not None:
            raise DesignError(f"{name}: the design already has interrupt controller "
                              f"{self._intc!r}")
        self._intc = name
        return self._add(intc_instance(name, _address(name, base), 1))

    # --- links --------------------------------------------------------------------------

    def connect(self, src: str, dst: str) -> Connection:
        """A stream link from output ``"inst.IFACE"`` to input ``"inst.IFACE"``."""
        a, b = Endpoint.parse(src), Endpoint.parse(dst)
        for end, want in ((a, "out"), (b, "in")):
            inst = self._instances.get(end.instance)
            if inst is None:
                raise DesignError(f"stream link {src} -> {dst}: no instance {end.instance!r} "
                                  f"(have: {', '.join(self._instances)})")
            stream = inst.streams.get(end.interface)
            if stream is None:
                raise DesignError(f"stream link {src} -> {dst}: {end.instance} has no stream "
                                  f"interface {end.interface!r} (have: "
                                  f"{', '.join(inst.streams) or 'none'})")
            if stream.direction != want:
                raise DesignError(f"stream link {src} -> {dst}: {end} is an "
                                  f"{'input' if stream.direction == 'in' else 'output'}; a "
                                  "link goes from an output to an input")
        for end in (a, b):
            for c in self._links:
                if end in (c.src, c.dst):
                    raise DesignError(f"stream link {src} -> {dst}: {end} is already linked "
                                      f"({c}); AXI-Stream links are point to point")
        link = Connection(a, b)
        self._links.append(link)
        return link

    # --- result -------------------------------------------------------------------------

    def build(self, *, check: bool = True) -> Design:
        """The design: a PS7 with FCLK0 at ``clock_hz``, interrupts numbered, checked."""
        instances = {k: _copy(v) for k, v in self._instances.items()}
        sources = [Endpoint(i.name, p) for i in instances.values()
                   if i.name != self._intc for p in i.interrupts]
        lines: list[InterruptLine] = []
        if self._intc is not None:
            intc = instances[self._intc]
            fresh = intc_instance(intc.name, intc.windows[0].base, len(sources))
            instances[self._intc] = fresh
            lines = [InterruptLine(s, self._intc, i) for i, s in enumerate(sources)]
            to_ps = 1
        else:
            if len(sources) > 16:
                raise DesignError(f"{len(sources)} interrupt lines but the PS's IRQ_F2P has 16: "
                                  "add b.interrupt_controller() to gather them")
            lines = [InterruptLine(s, None, i) for i, s in enumerate(sources)]
            to_ps = len(sources)
        ps = ps7_instance(clock_hz=self.clock_hz, irq_inputs=to_ps)
        if any(w.base >= 0x8000_0000 for i in instances.values() for w in i.windows):
            ps.masters.append("M_AXI_GP1")
        design = Design(name=self.name, instances={ps.name: ps, **instances},
                        connections=list(self._links), interrupt_lines=lines,
                        clock_hz=self.clock_hz, part=self.part, board=self.board)
        if check:
            check_design(design)
        return design


def _address(name: str, base: int, size: int = 0x1_0000) -> int:
    """``base`` checked: inside the PS's GP0/GP1 ranges and aligned to ``size``."""
    if not isinstance(base, int) or not (base >= 0x4000_0000 and base + size <= 0xC000_0000):
        shown = f"0x{base:08x}" if isinstance(base, int) else repr(base)
        raise DesignError(f"{name}: base={shown} is outside the PS's AXI GP ranges: allowed "
                          "0x40000000..0xbfffffff")
    if base % size:
        raise DesignError(f"{name}: base=0x{base:08x} is not aligned to its range 0x{size:x}")
    return base


def _registers(name: str, regs: Mapping[str, int | Mapping[str, Any]],
               size: int) -> dict[str, dict[str, Any]]:
    """pynq-shaped register entries from offsets or entries, each inside the window."""
    out: dict[str, dict[str, Any]] = {}
    for reg, spec in regs.items():
        if isinstance(spec, int):
            entry: dict[str, Any] = {"address_offset": spec, "size": 32, "access": "read-write",
                                     "description": reg, "fields": {}}
        else:
            entry = {"size": 32, "access": "read-write", "description": reg, "fields": {},
                     **spec}
        offset = entry.get("address_offset")
        if not isinstance(offset, int) or offset % 4 or not 0 <= offset < size:
            raise DesignError(f"{name}: register {reg} at offset {offset!r} is not supported: "
                              f"allowed a multiple of 4 in 0..0x{size - 4:x}")
        out[reg] = entry
    return out


def _copy(inst: Instance) -> Instance:
    return Instance(name=inst.name, vlnv=inst.vlnv, parameters=dict(inst.parameters),
                    windows=list(inst.windows), streams=dict(inst.streams),
                    interrupts=list(inst.interrupts), masters=list(inst.masters),
                    ports=dict(inst.ports), fullname=inst.fullname)
