"""Read a Vivado hardware handoff (.hwh) into a :class:`~dmasim.design.Design`.

The .hwh is the XML file PYNQ reads next to the .bit: root ``<EDKSYSTEM>`` (Vivado writes a
UTF-8 byte-order mark first), one ``<MODULE>`` per IP instance with its ``PARAMETERS``,
``PORTS`` (nets as ``CONNECTIONS``) and ``BUSINTERFACES`` (port maps, bus parameters and a
``BUSNAME`` shared by both ends of a bus). What dmasim takes from it:

- instances: ``INSTANCE`` (hierarchy flattened with ``_``), ``FULLNAME``, VLNV, parameters,
  ports, AXI-Stream interfaces, AXI memory-mapped master interfaces, interrupt outputs;
- stream links: an initiator (``INITIATOR``/``MASTER``) and a target (``TARGET``/``SLAVE``)
  AXI-Stream interface with the same ``BUSNAME`` (``__NOC__`` means not connected);
- register windows: the processing system's ``MEMORYMAP`` ranges seen from ``M_AXI_GP0/1``;
- interrupt lines: an interrupt output traced through its net, through ``xlconcat`` inputs
  (each adds the widths of the inputs before it), to an ``axi_intc`` ``intr`` input or the
  PS's ``IRQ_F2P``;
- the clock: the PS's FCLK0 frequency.

Errors are :class:`~dmasim.errors.DesignError` naming the file and what is wrong with it; what
the file describes but dmasim cannot realise is for :func:`~dmasim.design.check_design`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from ..errors import DesignError
from .types import (
    Connection,
    Design,
    Endpoint,
    Instance,
    InterruptLine,
    Port,
    StreamInterface,
    Window,
    vlnv_name,
)

__all__ = ["read_hwh", "parse_hwh"]

NOC = "__NOC__"
"""The BUSNAME Vivado gives a bus interface that is not connected."""

INITIATOR_TYPES = frozenset({"INITIATOR", "MASTER"})
TARGET_TYPES = frozenset({"TARGET", "SLAVE"})
PS_NAMES = frozenset({"processing_system7", "zynq_ultra_ps_e"})
PS_MASTERS = ("M_AXI_GP0", "M_AXI_GP1", "M_AXI_HPM0_FPD", "M_AXI_HPM1_FPD", "M_AXI_HPM0_LPD")
INTERRUPT_SIGIS = frozenset({"INTERRUPT", "INTR"})


def read_hwh(path: str | os.PathLike[str]) -> Design:
    """The design a .hwh file describes; :class:`DesignError` if it is not one."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DesignError(f"cannot read the design file {path}: {exc.strerror or exc}") from None
    design = parse_hwh(data, str(path))
    design.source = str(path)
    return design


def parse_hwh(data: bytes | str, where: str = "<hwh>") -> Design:
    """The design in .hwh text ``data`` (bytes or str; a UTF-8 BOM is fine)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise DesignError(
            f"{where} is not XML ({exc}); a Vivado .hwh is the XML hardware handoff written "
            "next to the .bit (File > Export > Export Block Design / write_hw_platform)") from None
    if root.tag != "EDKSYSTEM" or root.find("MODULES") is None:
        raise DesignError(
            f"{where} is XML but not a Vivado block design: its root is <{root.tag}>"
            + ("" if root.tag != "EDKSYSTEM" else " without <MODULES>")
            + ", a .hwh has <EDKSYSTEM> with <MODULES>")
    return _Reader(root, where).design()


@dataclass
class _Bus:
    """One bus interface as read: its owner, name, type, VLNV kind, bus name and element."""

    instance: str
    name: str
    type: str
    kind: str
    busname: str
    elem: ET.Element


def _params(elem: ET.Element | None) -> dict[str, str]:
    if elem is None:
        return {}
    return {p.get("NAME", ""): p.get("VALUE", "") for p in elem.findall("PARAMETER")
            if p.get("NAME")}


def _props(elem: ET.Element) -> dict[str, str]:
    """The PROPERTY children of a REGISTER or FIELD, by name."""
    return {p.get("NAME", ""): p.get("VALUE", "") for p in elem.findall("PROPERTY")}


def _int(text: str | None, default: int) -> int:
    if text is None or text.strip() == "":
        return default
    try:
        return int(text.strip(), 0)
    except ValueError:
        try:
            return int(float(text))
        except ValueError:
            return default


def _flag(params: dict[str, str], name: str, default: bool) -> bool:
    return _int(params.get(name), int(default)) != 0


class _Reader:
    def __init__(self, root: ET.Element, where: str):
        self.root, self.where = root, where
        self.modules = [m for m in root.iter("MODULE") if m.get("INSTANCE")]
        self.by_name = {m.get("INSTANCE", ""): m for m in self.modules}

    def design(self) -> Design:
        info = self.root.find("SYSTEMINFO")
        info_attrs = info.attrib if info is not None else {}
        design = Design(
            name=info_attrs.get("NAME", "design_1"),
            part=(f"xc{info_attrs.get('DEVICE', '')}{info_attrs.get('PACKAGE', '')}"
                  f"{info_attrs.get('SPEEDGRADE', '')}") if info_attrs.get("DEVICE") else "",
            board=info_attrs.get("BOARD", ""),
        )
        buses: list[_Bus] = []
        for mod in self.modules:
            inst = self._instance(mod, buses)
            if inst.name in design.instances:
                raise DesignError(f"{self.where}: instance {inst.name!r} appears twice")
            design.instances[inst.name] = inst
        self._windows(design, buses)
        design.connections = self._connections(design, buses)
        design.interrupt_lines = self._interrupts(design)
        ps = self._ps()
        if ps is not None:
            params = _params(ps.find("PARAMETERS"))
            mhz = params.get("PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ") or params.get(
                "PCW_FPGA0_PERIPHERAL_FREQMHZ")
            try:
                if mhz:
                    design.clock_hz = round(float(mhz) * 1_000_000)
            except ValueError:
                pass
        return design

    # --- instances ------------------------------------------------------------------------

    def _instance(self, mod: ET.Element, buses: list[_Bus]) -> Instance:
        name = mod.get("INSTANCE", "")
        inst = Instance(
            name=name,
            vlnv=mod.get("VLNV", ""),
            parameters=_params(mod.find("PARAMETERS")),
            fullname=mod.get("FULLNAME", "") or f"/{name}",
        )
        ports = mod.find("PORTS")
        for p in ports.findall("PORT") if ports is not None else []:
            pname = p.get("NAME", "")
            left, right = p.get("LEFT"), p.get("RIGHT")
            width = abs(_int(left, 0) - _int(right, 0)) + 1 if left is not None else 1
            direction = p.get("DIR", "I")
            sigis = p.get("SIGIS", "undef")
            is_intr = sigis.upper() in INTERRUPT_SIGIS
            inst.ports[pname] = Port(
                pname, direction if direction in ("I", "O", "IO") else "IO",  # type: ignore[arg-type]
                width, "intr" if is_intr else sigis.lower())
            if is_intr and direction == "O":
                inst.interrupts.append(pname)
        bis = mod.find("BUSINTERFACES")
        for b in bis.findall("BUSINTERFACE") if bis is not None else []:
            bus = _Bus(name, b.get("NAME", ""), b.get("TYPE", "").upper(),
                       vlnv_name(b.get("VLNV", "")), b.get("BUSNAME", NOC), b)
            buses.append(bus)
            if bus.kind == "axis" and bus.type in INITIATOR_TYPES | TARGET_TYPES:
                inst.streams[bus.name] = self._stream(bus, inst)
            elif bus.kind == "aximm" and bus.type in INITIATOR_TYPES:
                inst.masters.append(bus.name)
        return inst

    @staticmethod
    def _port_map(elem: ET.Element) -> dict[str, str]:
        pm = elem.find("PORTMAPS")
        return {m.get("LOGICAL", ""): m.get("PHYSICAL", "")
                for m in (pm.findall("PORTMAP") if pm is not None else []) if m.get("LOGICAL")}

    def _stream(self, bus: _Bus, inst: Instance) -> StreamInterface:
        params = _params(bus.elem)
        port_map = self._port_map(bus.elem)
        tdata = inst.ports.get(port_map.get("TDATA", ""))
        nbytes = _int(params.get("TDATA_NUM_BYTES"), (tdata.width + 7) // 8 if tdata else 0)
        return StreamInterface(
            name=bus.name,
            direction="out" if bus.type in INITIATOR_TYPES else "in",
            tdata_bytes=nbytes,
            has_tkeep=_flag(params, "HAS_TKEEP", "TKEEP" in port_map),
            has_tstrb=_flag(params, "HAS_TSTRB", "TSTRB" in port_map),
            has_tlast=_flag(params, "HAS_TLAST", "TLAST" in port_map),
            tuser_width=_int(params.get("TUSER_WIDTH"), 0),
            tid_width=_int(params.get("TID_WIDTH"), 0),
            tdest_width=_int(params.get("TDEST_WIDTH"), 0),
            port_map=port_map,
        )

    def _ps(self) -> ET.Element | None:
        for mod in self.modules:
            if vlnv_name(mod.get("VLNV", "")) in PS_NAMES:
                return mod
        return None

    # --- address map ------------------------------------------------------------------

    def _windows(self, design: Design, buses: list[_Bus]) -> None:
        ps = self._ps()
        mmap = ps.find("MEMORYMAP") if ps is not None else None
        if mmap is None:
            return
        by_iface = {(b.instance, b.name): b for b in buses}
        for r in mmap.findall("MEMRANGE"):
            if r.get("MASTERBUSINTERFACE") not in PS_MASTERS:
                continue
            name, iface = r.get("INSTANCE", ""), r.get("SLAVEBUSINTERFACE", "")
            inst = design.instances.get(name)
            if inst is None or inst.name == ps.get("INSTANCE"):  # type: ignore[union-attr]
                continue
            lo, hi = _int(r.get("BASEVALUE"), -1), _int(r.get("HIGHVALUE"), -1)
            if lo < 0 or hi < lo:
                raise DesignError(
                    f"{self.where}: {name}.{iface} has an address range "
                    f"{r.get('BASEVALUE')!r}..{r.get('HIGHVALUE')!r} that is not base <= high")
            bus = by_iface.get((name, iface))
            bparams = _params(bus.elem) if bus is not None else {}
            blocks = self._registers(name)
            inst.windows.append(Window(
                interface=iface,
                base=lo,
                range=hi - lo + 1,
                port_map=self._port_map(bus.elem) if bus is not None else {},
                addr_width=_int(bparams.get("ADDR_WIDTH"), 32),
                data_width=_int(bparams.get("DATA_WIDTH"), 32),
                protocol=bparams.get("PROTOCOL", "AXI4LITE"),
                memtype=r.get("MEMTYPE", "REGISTER"),
                registers=blocks.get(iface, {}),
            ))

    def _registers(self, instance: str) -> dict[str, dict[str, dict[str, Any]]]:
        """The register maps of ``instance``'s ADDRESSBLOCKs, by interface, as pynq has them."""
        mod = self._module(instance)
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for block in mod.iter("ADDRESSBLOCK") if mod is not None else []:
            regs: dict[str, dict[str, Any]] = {}
            for reg in block.iter("REGISTER"):
                props = _props(reg)
                fields = {}
                for f in reg.iter("FIELD"):
                    fp = _props(f)
                    fields[f.get("NAME", "")] = {
                        "bit_offset": _int(fp.get("BIT_OFFSET"), 0),
                        "bit_width": _int(fp.get("BIT_WIDTH"), 1),
                        "access": fp.get("ACCESS", ""),
                        "description": fp.get("DESCRIPTION", ""),
                    }
                regs[reg.get("NAME", "")] = {
                    "address_offset": _int(props.get("ADDRESS_OFFSET"), 0),
                    "size": _int(props.get("SIZE"), 32),
                    "access": props.get("ACCESS", ""),
                    "description": props.get("DESCRIPTION", ""),
                    "fields": fields,
                }
            if regs:
                out[block.get("INTERFACE", "")] = regs
        return out

    # --- stream links -----------------------------------------------------------------

    def _connections(self, design: Design, buses: list[_Bus]) -> list[Connection]:
        ends: dict[str, tuple[list[_Bus], list[_Bus]]] = {}
        for b in buses:
            if b.kind != "axis" or b.busname in ("", NOC):
                continue
            if b.type not in INITIATOR_TYPES | TARGET_TYPES:
                continue
            src, dst = ends.setdefault(b.busname, ([], []))
            (src if b.type in INITIATOR_TYPES else dst).append(b)
        links: list[Connection] = []
        for busname, (src, dst) in ends.items():
            if len(src) > 1 or len(dst) > 1:
                names = ", ".join(f"{b.instance}.{b.name}" for b in src + dst)
                raise DesignError(
                    f"{self.where}: AXI-Stream bus {busname!r} joins more than one initiator or "
                    f"target ({names}); a stream link is point to point")
            if src and dst:
                links.append(Connection(Endpoint(src[0].instance, src[0].name),
                                        Endpoint(dst[0].instance, dst[0].name)))
        return links

    # --- interrupts -------------------------------------------------------------------

    def _sinks(self, instance: str, port: str) -> list[tuple[str, str]]:
        """Where the output ``instance.port`` goes: (instance, port) per CONNECTION."""
        mod = self._module(instance)
        if mod is None:
            return []
        ports = mod.find("PORTS")
        for p in ports.findall("PORT") if ports is not None else []:
            if p.get("NAME") == port:
                conns = p.find("CONNECTIONS")
                return [(c.get("INSTANCE", ""), c.get("PORT", ""))
                        for c in (conns.findall("CONNECTION") if conns is not None else [])]
        return []

    def _module(self, instance: str) -> ET.Element | None:
        return self.by_name.get(instance)

    def _trace(self, design: Design, instance: str, port: str, offset: int,
               depth: int = 0) -> tuple[str | None, int | None]:
        """(controller, index) the output ``instance.port`` reaches; (None, None) if nothing."""
        if depth > 8:
            return None, None
        for sink, sport in self._sinks(instance, port):
            inst = design.instances.get(sink)
            if inst is None:
                continue
            kind = vlnv_name(inst.vlnv)
            if kind == "axi_intc" and sport == "intr":
                return inst.name, offset
            if kind in PS_NAMES and sport.upper().startswith("IRQ_F2P"):
                return None, offset
            if kind == "xlconcat" and sport.startswith("In") and sport[2:].isdigit():
                k = int(sport[2:])
                below = sum(inst.param(f"IN{i}_WIDTH", 1) for i in range(k))
                found = self._trace(design, sink, "dout", offset + below, depth + 1)
                if found != (None, None):
                    return found
        return None, None

    def _interrupts(self, design: Design) -> list[InterruptLine]:
        lines: list[InterruptLine] = []
        for inst in design.instances.values():
            if inst.kind == "infrastructure":
                continue
            for port in inst.interrupts:
                controller, index = self._trace(design, inst.name, port, 0)
                lines.append(InterruptLine(Endpoint(inst.name, port), controller, index))
        return lines
