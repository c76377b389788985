"""A block design as data: instances, AXI-Stream connections, interrupt lines.

One :class:`Design` is read once (from a Vivado .hwh, from the Python builder, or
:meth:`Design.loopback`) and consumed by every target: the model builds one DMA model per DMA
instance and joins the IPs with stream links, the rtl target generates a Verilog top from it,
the board confines ``/dev/mem`` to its windows, and ``ip_dict`` / the .hwh writer present it to
pynq. Names follow the .hwh: an instance is its flattened ``INSTANCE`` name (hierarchy joined
with ``_``, as PYNQ keys ``ip_dict``), an interface is its ``BUSINTERFACE`` name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import DmasimValueError
from .params import DEFAULT_PARAMETERS, DMA_BASE, check_parameters

__all__ = [
    "BUILTIN_STREAM_VLNVS",
    "DMA_VLNV_PREFIX",
    "INFRASTRUCTURE_VLNVS",
    "PLUMBING_VLNVS",
    "PS_VLNVS",
    "Connection",
    "Design",
    "Endpoint",
    "Instance",
    "InterruptLine",
    "Port",
    "StreamInterface",
    "Window",
]

DMA_VLNV_PREFIX = "xilinx.com:ip:axi_dma:"

PLUMBING_VLNVS = frozenset({
    "axi_interconnect", "smartconnect", "proc_sys_reset", "xlconcat", "xlconstant", "clk_wiz",
    "xlslice", "util_vector_logic", "system_ila", "ila",
})
"""Infrastructure that only joins other IPs (buses, resets, interrupt wiring): a .hwh writer
regenerates it, so it is not part of :meth:`Design.structure`."""

PS_VLNVS = frozenset({"processing_system7", "zynq_ultra_ps_e"})
"""The processing system: the address map's master and the clock source."""

INFRASTRUCTURE_VLNVS = frozenset({
    "processing_system7", "axi_interconnect", "smartconnect", "proc_sys_reset", "xlconcat",
    "xlconstant", "clk_wiz", "axi_intc", "xlslice", "util_vector_logic", "system_ila", "ila",
})
"""IP names (the VLNV's third field) that never sit in the data path: left out of it."""

BUILTIN_STREAM_VLNVS = frozenset({"axis_data_fifo", "axis_register_slice"})
"""Stream infrastructure dmasim models itself, on the model and in RTL."""

Direction = Literal["in", "out"]
Kind = Literal["dma", "infrastructure", "builtin", "user"]


def vlnv_name(vlnv: str) -> str:
    """The IP name field of a VLNV (``xilinx.com:ip:axi_dma:7.1`` -> ``axi_dma``)."""
    parts = vlnv.split(":")
    return parts[2] if len(parts) >= 3 else vlnv


@dataclass(frozen=True)
class Port:
    """One physical port of an instance (for RTL wiring): name, direction, width, role."""

    name: str
    direction: Literal["I", "O", "IO"]
    width: int = 1
    sigis: str = "undef"
    """The .hwh SIGIS: ``"clk"``, ``"rst"``, ``"intr"``, ``"data"`` or ``"undef"``."""


@dataclass(frozen=True)
class StreamInterface:
    """An AXI-Stream bus interface of an instance.

    ``direction`` is ``"out"`` for INITIATOR/MASTER and ``"in"`` for TARGET/SLAVE.
    ``port_map`` maps logical signals (``TDATA``, ``TVALID``, ``TREADY``, ``TLAST``, ``TKEEP``,
    ``TSTRB``, ``TUSER``, ``TID``, ``TDEST``) to the instance's physical port names.
    """

    name: str
    direction: Direction
    tdata_bytes: int = 4
    has_tkeep: bool = True
    has_tstrb: bool = False
    has_tlast: bool = True
    tuser_width: int = 0
    tid_width: int = 0
    tdest_width: int = 0
    port_map: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """An AXI-Lite (or AXI4 memory-mapped) slave window of an instance in the PS address map."""

    interface: str
    base: int
    range: int
    port_map: Mapping[str, str] = field(default_factory=dict)
    addr_width: int = 32
    data_width: int = 32
    protocol: str = "AXI4LITE"
    """The bus interface's PROTOCOL (``AXI4LITE`` for register windows, ``AXI4`` for memory)."""
    memtype: str = "REGISTER"
    """The PS address map's MEMTYPE: ``REGISTER`` (``ip_dict``) or ``MEMORY``."""
    registers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Its register map as pynq's ``ip_dict`` shows it (``address_offset``, ``size``,
    ``access``, ``description``, ``fields``), from the .hwh's ADDRESSBLOCK; may be empty."""

    @property
    def end(self) -> int:
        """First address past the window."""
        return self.base + self.range

    def overlaps(self, other: Window) -> bool:
        """True if the two windows share an address."""
        return self.base < other.end and other.base < self.end


@dataclass(frozen=True)
class Endpoint:
    """``instance.interface`` (or ``instance.port`` for interrupt lines)."""

    instance: str
    interface: str

    def __str__(self) -> str:
        return f"{self.instance}.{self.interface}"

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """``"fir_0.S_AXIS"`` -> ``Endpoint("fir_0", "S_AXIS")``."""
        inst, dot, port = text.rpartition(".")
        if not dot or not inst or not port:
            raise DmasimValueError(f"endpoint {text!r} is not 'instance.interface'")
        return cls(inst, port)


@dataclass(frozen=True)
class Connection:
    """A point-to-point AXI-Stream link from an ``out`` interface to an ``in`` interface."""

    src: Endpoint
    dst: Endpoint

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}"


@dataclass(frozen=True)
class InterruptLine:
    """An interrupt output and where it goes: an ``axi_intc`` input or the PS's IRQ_F2P."""

    source: Endpoint
    controller: str | None = None
    """Instance name of the ``axi_intc`` it feeds, or None when wired to the PS directly."""
    index: int | None = None
    """Input index at the controller (or the IRQ_F2P bit); None when not connected."""


@dataclass
class Instance:
    """One IP instance of the block design."""

    name: str
    vlnv: str
    parameters: dict[str, str] = field(default_factory=dict)
    windows: list[Window] = field(default_factory=list)
    streams: dict[str, StreamInterface] = field(default_factory=dict)
    interrupts: list[str] = field(default_factory=list)
    """Names of its interrupt output ports (``mm2s_introut``, ``interrupt``)."""
    masters: list[str] = field(default_factory=list)
    """Its AXI memory-mapped master interfaces (a DMA's ``M_AXI_MM2S``; unsupported on user IPs)."""
    ports: dict[str, Port] = field(default_factory=dict)
    fullname: str = ""
    """The hierarchical path (``/const_multiply/multiply``); ``/name`` when flat."""

    def __post_init__(self) -> None:
        if not self.fullname:
            self.fullname = f"/{self.name}"

    @property
    def kind(self) -> Kind:
        """``"dma"``, ``"infrastructure"``, ``"builtin"`` (stream FIFO/slice) or ``"user"``."""
        if self.vlnv.startswith(DMA_VLNV_PREFIX):
            return "dma"
        name = vlnv_name(self.vlnv)
        if name in INFRASTRUCTURE_VLNVS:
            return "infrastructure"
        if name in BUILTIN_STREAM_VLNVS:
            return "builtin"
        return "user"

    @property
    def window(self) -> Window | None:
        """The first register window (the one PYNQ's ``ip_dict`` entry shows), if any."""
        return self.windows[0] if self.windows else None

    def param(self, name: str, default: int | None = None) -> int:
        """Integer parameter ``name`` (case-insensitive), or ``default`` when absent."""
        for key in (name, name.lower(), name.upper()):
            if key in self.parameters:
                value = self.parameters[key]
                return int(value, 0) if isinstance(value, str) else int(value)
        if default is None:
            raise DmasimValueError(f"{self.name} ({self.vlnv}) has no parameter {name!r}")
        return default

    def stream(self, interface: str) -> StreamInterface:
        """Stream interface ``interface``, or a clear error listing the ones it has."""
        try:
            return self.streams[interface]
        except KeyError:
            have = ", ".join(self.streams) or "none"
            raise DmasimValueError(
                f"{self.name} ({self.vlnv}) has no stream interface {interface!r} (have: {have})"
            ) from None


@dataclass(eq=False)
class Design:
    """A block design: instances, stream connections, interrupt lines, and where it came from.

    Two designs are equal (``==``) when they have the same :meth:`structure`: where they were
    read from and the buses Vivado generates around the IPs do not count.
    """

    name: str = "design_1"
    instances: dict[str, Instance] = field(default_factory=dict)
    connections: list[Connection] = field(default_factory=list)
    interrupt_lines: list[InterruptLine] = field(default_factory=list)
    clock_hz: int = 100_000_000
    part: str = "xc7z020clg400-1"
    board: str = "tul.com.tw:pynq-z2:part0:1.0"
    source: str | None = None
    """The .hwh path it was read from, or None when built in Python."""

    # --- lookups -------------------------------------------------------------------------

    def instance(self, name: str) -> Instance:
        """Instance ``name`` (its flattened name or its hierarchical ``ip_dict`` path).

        A clear error lists the instances there are.
        """
        found = self.instances.get(name)
        if found is not None:
            return found
        path = "/" + name.strip("/")
        for inst in self.instances.values():
            if inst.fullname == path:
                return inst
        raise DmasimValueError(
            f"no instance {name!r} in design {self.name!r} (have: {', '.join(self.instances)})"
        )

    @property
    def dmas(self) -> list[Instance]:
        """The AXI DMA instances, in design order."""
        return [i for i in self.instances.values() if i.kind == "dma"]

    @property
    def ps(self) -> Instance | None:
        """The processing system instance (``processing_system7``), if the design has one."""
        for inst in self.instances.values():
            if vlnv_name(inst.vlnv) in PS_VLNVS:
                return inst
        return None

    def of_kind(self, kind: Kind) -> list[Instance]:
        """Instances of ``kind``, in design order."""
        return [i for i in self.instances.values() if i.kind == kind]

    def peer(self, instance: str, interface: str) -> Endpoint | None:
        """The other end of the stream link at ``instance.interface``; None if unconnected."""
        for c in self.connections:
            if c.src.instance == instance and c.src.interface == interface:
                return c.dst
            if c.dst.instance == instance and c.dst.interface == interface:
                return c.src
        return None

    def windows(self) -> Iterator[tuple[Instance, Window]]:
        """Every register window with its instance."""
        for inst in self.instances.values():
            for w in inst.windows:
                yield inst, w

    def ip_dict(self) -> dict[str, dict[str, Any]]:
        """PYNQ's ``ip_dict`` of the design, as pynq 4.0 builds it from the .hwh.

        One entry per instance with a window in the PS address map, keyed by its hierarchical
        path (``const_multiply/multiply_dma``; the flat name when not in a hierarchy), plus
        the PS itself (no ``phys_addr``). Value shapes are PYNQ's (``phys_addr``,
        ``addr_range``, ``type``, ``parameters`` as strings, ``registers``, ``interrupts`` of
        lines reaching an ``axi_intc``, ``fullpath``), so pynq's own drivers read them.
        """
        from .params import dma_registers

        irq_of: dict[str, dict[str, Any]] = {}
        for line in self.interrupt_lines:
            if line.index is None or line.controller is None:
                continue  # pynq only reports interrupts that reach an axi_intc
            src = self.instances.get(line.source.instance)
            ctrl = self.instances.get(line.controller)
            path = _path(src) if src is not None else line.source.instance
            irq_of.setdefault(line.source.instance, {})[line.source.interface] = {
                "controller": _path(ctrl) if ctrl is not None else line.controller,
                "index": line.index,
                "fullpath": f"{path}/{line.source.interface}",
            }
        out: dict[str, dict[str, Any]] = {}
        for inst in self.instances.values():
            w = inst.window
            if w is None or vlnv_name(inst.vlnv) in PS_VLNVS:
                continue
            out[_path(inst)] = {
                "fullpath": _path(inst),
                "type": inst.vlnv,
                "bdtype": None,
                "state": None,
                "phys_addr": w.base,
                "addr_range": w.range,
                "mem_id": w.interface,
                "memtype": "REGISTER",
                "gpio": {},
                "interrupts": irq_of.get(inst.name, {}),
                "parameters": dict(inst.parameters),
                "registers": _copy_registers(w.registers) if w.registers else (
                    dma_registers() if inst.kind == "dma" else {}),
            }
        ps = self.ps
        if ps is not None:
            out[_path(ps)] = {"type": ps.vlnv, "gpio": {}, "interrupts": {},
                              "parameters": dict(ps.parameters)}
        return out

    # --- structure -----------------------------------------------------------------------

    def structure(self) -> dict[str, Any]:
        """What the design is, as plain data: equal for designs that behave the same.

        Instances (but not the buses, resets and interrupt concatenators that only join them,
        which a .hwh writer regenerates) with VLNV, path, parameters, windows, streams,
        masters, interrupt outputs and physical ports (ports only for the DMAs and the IPs
        between them), the stream links, the interrupt lines and the clock. A DMA's
        parameters are compared by its configuration (the lower-case ``c_*`` names pynq's
        driver reads); the upper-case copies and addresses Vivado writes beside them follow.
        ``Design.from_hwh(d.write_hwh(p)).structure() == d.structure()``.
        """
        insts: dict[str, Any] = {}
        for inst in self.instances.values():
            if vlnv_name(inst.vlnv) in PLUMBING_VLNVS:
                continue
            params = dict(inst.parameters)
            if inst.kind == "dma":
                params = {k: v for k, v in params.items() if k.startswith("c_")}
            insts[inst.name] = {
                "vlnv": inst.vlnv,
                "fullname": inst.fullname,
                "parameters": params,
                "windows": sorted(
                    (w.interface, w.base, w.range, tuple(sorted(w.port_map.items())),
                     w.addr_width, w.data_width, w.protocol, w.memtype,
                     json.dumps(w.registers, sort_keys=True)) for w in inst.windows),
                "streams": {n: (s.direction, s.tdata_bytes, s.has_tkeep, s.has_tstrb,
                                s.has_tlast, s.tuser_width, s.tid_width, s.tdest_width,
                                tuple(sorted(s.port_map.items())))
                            for n, s in sorted(inst.streams.items())},
                "masters": sorted(inst.masters),
                "interrupts": sorted(inst.interrupts),
                "ports": (None if inst.kind == "infrastructure" else
                          {p.name: (p.direction, p.width, p.sigis)
                           for p in sorted(inst.ports.values(), key=lambda p: p.name)}),
            }
        return {
            "instances": insts,
            "connections": sorted((str(c.src), str(c.dst)) for c in self.connections),
            "interrupt_lines": sorted(
                (str(x.source), x.controller or "", -1 if x.index is None else x.index)
                for x in self.interrupt_lines),
            "clock_hz": self.clock_hz,
        }

    def same_structure(self, other: Design) -> bool:
        """True if ``other`` has the same :meth:`structure` (where it was read from aside)."""
        return self.structure() == other.structure()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Design):
            return NotImplemented
        return self.same_structure(other)

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    # --- files ---------------------------------------------------------------------------

    @classmethod
    def from_hwh(cls, path: str | os.PathLike[str]) -> Design:
        """The design a Vivado .hwh describes; :class:`~dmasim.errors.DesignError` if none.

        What dmasim cannot realise (scatter-gather DMA, mismatched streams, ...) is reported
        by :func:`~dmasim.design.check_design` when a target opens it.
        """
        from .hwh_read import read_hwh

        return read_hwh(path)

    def write_hwh(self, path: str | os.PathLike[str]) -> Path:
        """Write the design as a .hwh that ``pynq.Overlay`` parses; returns the path."""
        from .hwh_write import write_hwh

        return write_hwh(self, path)

    # --- constructors --------------------------------------------------------------------

    @classmethod
    def loopback(
        cls,
        parameters: Mapping[str, Any] | None = None,
        phys_addr: int = DMA_BASE,
        name: str = "axi_dma_0",
    ) -> Design:
        """Today's default design: one DMA whose M_AXIS_MM2S feeds its own S_AXIS_S2MM.

        Its interrupts go to the PS's IRQ_F2P (bits 0 and 1). ``hw/board``'s bitstream puts an
        ``axi_intc`` between them, as pynq needs to await them: that design is
        ``dmasim.pynq.overlay.board_design()``, whose .hwh the simulated targets' overlays use.
        """
        from .ips import ps7_instance

        params = dict(DEFAULT_PARAMETERS)
        for key, value in (parameters or {}).items():
            key = key.lower()
            if key not in params:
                raise DmasimValueError(
                    f"unknown parameter {key!r}: allowed {', '.join(sorted(params))}"
                )
            params[key] = str(value)
        check_parameters(params)
        dma = dma_instance(name, phys_addr, params)
        ps = ps7_instance(irq_inputs=2)
        return cls(
            name="dma_loopback",
            instances={ps.name: ps, name: dma},
            connections=[Connection(Endpoint(name, "M_AXIS_MM2S"), Endpoint(name, "S_AXIS_S2MM"))],
            interrupt_lines=[
                InterruptLine(Endpoint(name, "mm2s_introut"), None, 0),
                InterruptLine(Endpoint(name, "s2mm_introut"), None, 1),
            ],
        )


def _copy_registers(regs: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """A fresh copy of a register map (callers may edit what ``ip_dict`` returns)."""
    return {name: {**reg, "fields": {f: dict(v) for f, v in reg.get("fields", {}).items()}}
            for name, reg in regs.items()}


def _path(inst: Instance) -> str:
    """The instance's ``ip_dict`` key: its hierarchical path without the leading ``/``."""
    return inst.fullname.strip("/") or inst.name


def dma_instance(name: str, base: int, params: Mapping[str, str]) -> Instance:
    """An AXI DMA instance with the interfaces and ports Vivado gives it (simple or SG mode)."""
    from .ips import dma_instance as make

    return make(name, base, params)
