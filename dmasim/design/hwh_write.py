"""Write any :class:`~dmasim.design.Design` as a Vivado-style .hwh that pynq 4.0 parses.

A real .hwh is ~10,000 lines; this writes the part pynq's parser and
:func:`~dmasim.design.hwh_read.read_hwh` read, with the names Vivado uses. The design's own
instances (DMAs, the IPs between them, stream FIFOs, interrupt controllers, the PS) are
written as they are, with their parameters, ports and bus interfaces; what only joins them is
generated around them, as Vivado's block automation would:

- an AXI interconnect from the PS's ``M_AXI_GP0`` to every register window, and the PS's
  address map (``MEMORYMAP``) listing each window;
- an AXI interconnect from every memory master (the DMAs' ``M_AXI_MM2S``/``M_AXI_S2MM``) to
  the PS's ``S_AXI_HP0``;
- a reset block on FCLK0, every clock input on FCLK0 and every reset input on its reset;
- ``xlconcat`` blocks gathering interrupt lines, bit ``index`` each, into the PS's
  ``IRQ_F2P`` or an ``axi_intc``'s ``intr`` (the controller's ``irq`` goes to the PS);
- stream links as a ``BUSNAME`` both ends share, and one net per signal both ends have.

So ``Design.from_hwh(d.write_hwh(p))`` has ``d``'s :meth:`~dmasim.design.Design.structure`,
and notebook code runs unmodified on a simulated target through ``pynq.Overlay``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from .ips import ps7_instance
from .types import PLUMBING_VLNVS, Design, Instance, Port, vlnv_name

__all__ = ["VIVADO", "render_hwh", "write_hwh"]

VIVADO = "2022.1"
NOC = "__NOC__"
HP0_DDR = (0x0000_0000, 0x1FFF_FFFF)

_AXI4_SLAVE = (  # the PS's S_AXI_HP0 as its slave sees it: (logical, direction, width)
    ("ARADDR", "I", 32), ("ARLEN", "I", 4), ("ARVALID", "I", 1), ("ARREADY", "O", 1),
    ("RDATA", "O", 64), ("RLAST", "O", 1), ("RVALID", "O", 1), ("RREADY", "I", 1),
    ("AWADDR", "I", 32), ("AWLEN", "I", 4), ("AWVALID", "I", 1), ("AWREADY", "O", 1),
    ("WDATA", "I", 64), ("WSTRB", "I", 8), ("WLAST", "I", 1), ("WVALID", "I", 1),
    ("WREADY", "O", 1), ("BRESP", "O", 2), ("BVALID", "O", 1), ("BREADY", "I", 1),
)


@dataclass
class _Bus:
    name: str
    kind: str  # "axis" | "aximm"
    type: str  # INITIATOR/TARGET for streams, MASTER/SLAVE for memory-mapped
    busname: str
    port_map: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class _Module:
    """One MODULE to write: attributes, parameters, ports, buses, address ranges."""

    name: str
    vlnv: str
    fullname: str
    params: dict[str, str]
    ports: dict[str, Port]
    attrs: dict[str, str] = field(default_factory=dict)
    buses: list[_Bus] = field(default_factory=list)
    memranges: list[dict[str, str]] = field(default_factory=list)


class _Writer:
    def __init__(self, design: Design):
        self.d = design
        self.modules: list[_Module] = []
        self.net_of: dict[tuple[str, str], str] = {}
        self.names = {n for n, i in design.instances.items()
                      if vlnv_name(i.vlnv) not in PLUMBING_VLNVS}

    # --- helpers ----------------------------------------------------------------------

    def unique(self, wanted: str) -> str:
        name, n = wanted, 1
        while name in self.names:
            name, n = f"{wanted}_{n}", n + 1
        self.names.add(name)
        return name

    def module(self, inst: Instance, **attrs: str) -> _Module:
        mod = _Module(inst.name, inst.vlnv, inst.fullname, dict(inst.parameters),
                      dict(inst.ports), attrs)
        self.modules.append(mod)
        return mod

    def plumbing(self, name: str, vlnv: str, params: dict[str, str], modclass: str) -> _Module:
        mod = _Module(name, vlnv, f"/{name}", params, {}, {"MODCLASS": modclass})
        self.modules.append(mod)
        return mod

    @staticmethod
    def ensure(mod: _Module, name: str, direction: str, width: int = 1,
               sigis: str = "undef") -> Port:
        port = mod.ports.get(name)
        if port is None:
            port = Port(name, direction, width, sigis)  # type: ignore[arg-type]
            mod.ports[name] = port
        return port

    def wire(self, net: str, *ends: tuple[_Module, str]) -> None:
        for mod, port in ends:
            self.net_of[(mod.name, port)] = net

    # --- the design -------------------------------------------------------------------

    def build(self) -> list[_Module]:
        d = self.d
        lines_to: dict[str | None, dict[int, tuple[str, str]]] = defaultdict(dict)
        for line in d.interrupt_lines:
            if line.index is not None:
                src = line.source
                lines_to[line.controller][line.index] = (src.instance, src.interface)
        intcs = [i for i in d.instances.values() if vlnv_name(i.vlnv) == "axi_intc"]
        for intc in intcs:
            top = max(lines_to[None], default=-1) + 1
            lines_to[None][top] = (intc.name, "irq")

        ps_inst = d.ps
        if ps_inst is None:
            n_irq = max(lines_to[None], default=-1) + 1
            ps_inst = ps7_instance(clock_hz=d.clock_hz, irq_inputs=n_irq)
            self.names.add(ps_inst.name)
        ps = self.module(ps_inst, IS_PL="FALSE")
        mods: dict[str, _Module] = {ps.name: ps}
        for inst in d.instances.values():
            if inst is ps_inst or vlnv_name(inst.vlnv) in PLUMBING_VLNVS:
                continue
            mods[inst.name] = self.module(inst, MODCLASS="PERIPHERAL")
            if inst.kind == "dma":
                self._dma(mods[inst.name], inst)

        clk = f"{ps.name}_FCLK_CLK0"
        self.ensure(ps, "FCLK_CLK0", "O", sigis="clk")
        self.ensure(ps, "FCLK_RESET0_N", "O", sigis="rst")
        mhz = max(1, round(d.clock_hz / 1e6))
        rst = self.plumbing(self.unique(f"rst_ps7_0_{mhz}M"), "xilinx.com:ip:proc_sys_reset:5.0",
                            {"C_FAMILY": "zynq", "C_EXT_RST_WIDTH": "4"}, "PERIPHERAL")
        rstn = f"{rst.name}_peripheral_aresetn"
        self.ensure(rst, "slowest_sync_clk", "I", sigis="clk")
        self.ensure(rst, "ext_reset_in", "I", sigis="rst")
        self.ensure(rst, "peripheral_aresetn", "O", sigis="rst")
        self.wire(f"{ps.name}_FCLK_RESET0_N", (ps, "FCLK_RESET0_N"), (rst, "ext_reset_in"))
        self.wire(rstn, (rst, "peripheral_aresetn"))

        self._address_map(ps, mods)
        self._memory(ps, mods)
        self._streams(mods)
        self._interrupts(ps, mods, lines_to)

        for mod in self.modules:
            if mod is ps:
                continue
            for port in mod.ports.values():
                if (mod.name, port.name) in self.net_of or port.direction != "I":
                    continue
                if port.sigis == "clk":
                    self.wire(clk, (mod, port.name))
                elif port.sigis == "rst" and mod is not rst:
                    self.wire(rstn, (mod, port.name))
        self.wire(clk, (ps, "FCLK_CLK0"))
        for port in list(ps.ports.values()):
            if port.direction == "I" and port.sigis == "clk":
                self.wire(clk, (ps, port.name))
        # The PS first, then the design's instances in order, then what joins them.
        return self.modules

    def _dma(self, mod: _Module, inst: Instance) -> None:
        """The parameters Vivado writes beside the DMA's configuration, and its registers."""
        user = {k: v for k, v in inst.parameters.items() if k.startswith("c_")}
        derived = {k.upper(): v for k, v in user.items() if k != "c_addr_width"}
        derived.update({"C_S_AXI_LITE_ADDR_WIDTH": "10", "C_S_AXI_LITE_DATA_WIDTH": "32",
                        "C_M_AXI_MM2S_ADDR_WIDTH": user.get("c_addr_width", "32"),
                        "C_M_AXI_S2MM_ADDR_WIDTH": user.get("c_addr_width", "32"),
                        "C_FAMILY": "zynq",
                        "Component_Name": f"{self.d.name}_{inst.name}_0"})
        params = {k: v for k, v in derived.items() if k not in inst.parameters}
        params.update(inst.parameters)
        w = inst.window
        if w is not None:
            for k, v in (("EDK_IPTYPE", "PERIPHERAL"), ("C_BASEADDR", f"0x{w.base:08X}"),
                         ("C_HIGHADDR", f"0x{w.end - 1:08X}")):
                params.setdefault(k, v)
        mod.params = params

    def _address_map(self, ps: _Module, mods: dict[str, _Module]) -> None:
        windows = [(mods[i.name], w) for i, w in self.d.windows()
                   if i.name in mods and mods[i.name] is not ps]
        ic = self.plumbing(self.unique("ps7_0_axi_periph"), "xilinx.com:ip:axi_interconnect:2.1",
                           {"NUM_SI": "1", "NUM_MI": str(max(1, len(windows)))}, "BUS")
        for p in ("ACLK", "S00_ACLK", "M00_ACLK"):
            self.ensure(ic, p, "I", sigis="clk")
        self.ensure(ic, "ARESETN", "I", sigis="rst")
        gps = ["M_AXI_GP0"]
        if any(w.base >= 0x8000_0000 for _, w in windows):
            gps.append("M_AXI_GP1")
        for gp in gps:
            pm = {}
            for logical, direction, _w in _lite_slave():
                phys = f"{gp}_{logical}"
                flip = "O" if direction == "I" else "I"
                self.ensure(ps, phys, flip, 32 if logical.endswith(("ADDR", "DATA")) else
                            (4 if logical == "WSTRB" else 2 if logical.endswith("RESP") else 1))
                pm[logical] = phys
            self.ensure(ps, f"{gp}_ACLK", "I", sigis="clk")
            ps.buses.append(_Bus(gp, "aximm", "MASTER", f"{ps.name}_{gp}", pm,
                                 {"PROTOCOL": "AXI3", "DATA_WIDTH": "32"}))
            if gp == "M_AXI_GP0":
                spm = {}
                for logical, direction, _w in _lite_slave():
                    phys = f"S00_AXI_{logical.lower()}"
                    port = ps.ports[pm[logical]]
                    self.ensure(ic, phys, direction, port.width)
                    spm[logical] = phys
                    self.wire(f"{ps.name}_{gp}_{logical}", (ps, pm[logical]), (ic, phys))
                ic.buses.append(_Bus("S00_AXI", "aximm", "SLAVE", f"{ps.name}_{gp}", spm))
        for k, (mod, w) in enumerate(windows):
            bus = f"M{k:02d}_AXI"
            busname = f"{ic.name}_{bus}"
            mpm = {}
            for logical, phys in w.port_map.items():
                port = mod.ports.get(phys) or self.ensure(mod, phys, "I")
                mphys = f"{bus}_{logical.lower()}"
                self.ensure(ic, mphys, "O" if port.direction == "I" else "I", port.width)
                mpm[logical] = mphys
                self.wire(f"{busname}_{logical}", (ic, mphys), (mod, phys))
            ic.buses.append(_Bus(bus, "aximm", "MASTER", busname, mpm))
            mod.buses.append(_Bus(w.interface, "aximm", "SLAVE", busname, dict(w.port_map), {
                "PROTOCOL": w.protocol, "ADDR_WIDTH": str(w.addr_width),
                "DATA_WIDTH": str(w.data_width)}))
            gp = "M_AXI_GP1" if w.base >= 0x8000_0000 else "M_AXI_GP0"
            ps.memranges.append({
                "ADDRESSBLOCK": "Reg", "BASENAME": "C_BASEADDR", "BASEVALUE": f"0x{w.base:08X}",
                "HIGHNAME": "C_HIGHADDR", "HIGHVALUE": f"0x{w.end - 1:08X}",
                "INSTANCE": mod.name, "IS_DATA": "TRUE", "IS_INSTRUCTION": "TRUE",
                "MASTERBUSINTERFACE": gp, "MEMTYPE": w.memtype,
                "SLAVEBUSINTERFACE": w.interface})

    def _memory(self, ps: _Module, mods: dict[str, _Module]) -> None:
        # The memory masters of DMAs and user IPs go to HP0 (those of infrastructure stay open).
        masters = [(mods[name], m) for name in mods
                   if self.d.instances.get(name) is not None
                   and self.d.instances[name].kind != "infrastructure"
                   for m in self.d.instances[name].masters]
        hp = "S_AXI_HP0"
        hpm = {}
        for logical, direction, width in _AXI4_SLAVE:
            hpm[logical] = f"{hp}_{logical}"
            self.ensure(ps, hpm[logical], direction, width)
        self.ensure(ps, f"{hp}_ACLK", "I", sigis="clk")
        if not masters:
            ps.buses.append(_Bus(hp, "aximm", "SLAVE", NOC, hpm))
            return
        ic = self.plumbing(self.unique("axi_mem_intercon"), "xilinx.com:ip:axi_interconnect:2.1",
                           {"NUM_SI": str(len(masters)), "NUM_MI": "1"}, "BUS")
        self.ensure(ic, "ACLK", "I", sigis="clk")
        self.ensure(ic, "ARESETN", "I", sigis="rst")
        icm = {}
        for logical, direction, width in _AXI4_SLAVE:
            icm[logical] = f"M00_AXI_{logical.lower()}"
            self.ensure(ic, icm[logical], "O" if direction == "I" else "I", width)
            self.wire(f"{ic.name}_M00_AXI_{logical}", (ic, icm[logical]), (ps, hpm[logical]))
        busname = f"{ic.name}_M00_AXI"
        ic.buses.append(_Bus("M00_AXI", "aximm", "MASTER", busname, icm))
        ps.buses.append(_Bus(hp, "aximm", "SLAVE", busname, hpm))
        for k, (mod, master) in enumerate(masters):
            prefix = f"{master.lower()}_"
            pm = {}
            for port in list(mod.ports.values()):
                if not port.name.startswith(prefix) or port.sigis in ("clk", "rst"):
                    continue
                logical = port.name[len(prefix):].upper()
                if logical in ("ACLK", "ARESETN"):
                    continue
                pm[logical] = port.name
                sphys = f"S{k:02d}_AXI_{logical.lower()}"
                self.ensure(ic, sphys, "I" if port.direction == "O" else "O", port.width)
                self.wire(f"{mod.name}_{port.name}", (mod, port.name), (ic, sphys))
            sbus = f"{mod.name}_{master}"
            mod.buses.append(_Bus(master, "aximm", "MASTER", sbus, pm))
            ic.buses.append(_Bus(f"S{k:02d}_AXI", "aximm", "SLAVE", sbus,
                                 {lg: f"S{k:02d}_AXI_{lg.lower()}" for lg in pm}))
            mod.memranges.append({
                "ADDRESSBLOCK": "HP0_DDR_LOWOCM", "BASENAME": "C_BASEADDR",
                "BASEVALUE": f"0x{HP0_DDR[0]:08X}", "HIGHNAME": "C_HIGHADDR",
                "HIGHVALUE": f"0x{HP0_DDR[1]:08X}", "INSTANCE": ps.name, "IS_DATA": "TRUE",
                "IS_INSTRUCTION": "TRUE", "MASTERBUSINTERFACE": master, "MEMTYPE": "MEMORY",
                "SLAVEBUSINTERFACE": hp})

    def _streams(self, mods: dict[str, _Module]) -> None:
        busname: dict[tuple[str, str], str] = {}
        for c in self.d.connections:
            if c.src.instance not in mods or c.dst.instance not in mods:
                continue
            name = f"{c.src.instance}_{c.src.interface}"
            busname[(c.src.instance, c.src.interface)] = name
            busname[(c.dst.instance, c.dst.interface)] = name
            src = self.d.instances[c.src.instance].streams[c.src.interface]
            dst = self.d.instances[c.dst.instance].streams[c.dst.interface]
            for logical, sphys in src.port_map.items():
                dphys = dst.port_map.get(logical)
                if dphys is not None:
                    self.wire(f"{c.src.instance}_{sphys}", (mods[c.src.instance], sphys),
                              (mods[c.dst.instance], dphys))
        for name, mod in mods.items():
            for s in self.d.instances[name].streams.values():
                params = {"TDATA_NUM_BYTES": str(s.tdata_bytes), "TDEST_WIDTH": str(s.tdest_width),
                          "TID_WIDTH": str(s.tid_width), "TUSER_WIDTH": str(s.tuser_width),
                          "HAS_TREADY": "1", "HAS_TSTRB": str(int(s.has_tstrb)),
                          "HAS_TKEEP": str(int(s.has_tkeep)), "HAS_TLAST": str(int(s.has_tlast)),
                          "FREQ_HZ": str(self.d.clock_hz)}
                mod.buses.append(_Bus(s.name, "axis", "INITIATOR" if s.direction == "out"
                                      else "TARGET", busname.get((name, s.name), NOC),
                                      dict(s.port_map), params))

    def _interrupts(self, ps: _Module, mods: dict[str, _Module],
                    lines_to: dict[str | None, dict[int, tuple[str, str]]]) -> None:
        for controller, lines in lines_to.items():
            if not lines:
                continue
            if controller is None:
                sink, sport = ps, "IRQ_F2P"
            elif controller in mods:
                sink, sport = mods[controller], "intr"
            else:
                continue
            width = max(lines) + 1
            concat = self.plumbing(self.unique(f"xlconcat_{len(self.modules)}"),
                                   "xilinx.com:ip:xlconcat:2.1",
                                   {"NUM_PORTS": str(width), "dout_width": str(width),
                                    **{f"IN{i}_WIDTH": "1" for i in range(width)}},
                                   "COMBINATORIAL")
            for i in range(width):
                self.ensure(concat, f"In{i}", "I")
            self.ensure(concat, "dout", "O", width)
            sink.ports[sport] = Port(sport, "I", width, "intr")  # as wide as the lines
            self.wire(f"{concat.name}_dout", (concat, "dout"), (sink, sport))
            for index, (inst, port) in sorted(lines.items()):
                if inst not in mods:
                    continue
                self.ensure(mods[inst], port, "O", sigis="intr")
                self.wire(f"{inst}_{port}", (mods[inst], port), (concat, f"In{index}"))


def _lite_slave() -> tuple[tuple[str, str, int | str], ...]:
    from .ips import AXI_LITE_SIGNALS

    return AXI_LITE_SIGNALS


def _registers(parent: ET.Element, interface: str, size: int,
               regs: Mapping[str, Mapping[str, Any]]) -> None:
    block = ET.SubElement(parent, "ADDRESSBLOCK", ACCESS="read-write", INTERFACE=interface,
                          NAME="Reg", RANGE=str(size), USAGE="register")
    registers = ET.SubElement(block, "REGISTERS")
    for name, reg in regs.items():
        r = ET.SubElement(registers, "REGISTER", NAME=name)
        for key, value in (("DESCRIPTION", reg["description"]),
                           ("ADDRESS_OFFSET", f"0x{reg['address_offset']:X}"),
                           ("SIZE", str(reg["size"])), ("ACCESS", reg["access"]),
                           ("IS_ENABLED", "true")):
            ET.SubElement(r, "PROPERTY", NAME=key, VALUE=value)
        fields = ET.SubElement(r, "FIELDS")
        for fname, f in reg["fields"].items():
            fe = ET.SubElement(fields, "FIELD", NAME=fname)
            for key, value in (("DESCRIPTION", f["description"]), ("ACCESS", f["access"]),
                               ("BIT_OFFSET", str(f["bit_offset"])),
                               ("BIT_WIDTH", str(f["bit_width"]))):
                ET.SubElement(fe, "PROPERTY", NAME=key, VALUE=value)


_SIGIS_OUT = {"intr": "INTERRUPT"}


def render_hwh(design: Design) -> str:
    """The .hwh XML text of ``design``."""
    w = _Writer(design)
    modules = w.build()
    ends: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for mod in modules:
        for port in mod.ports.values():
            net = w.net_of.get((mod.name, port.name))
            if net is not None:
                ends[net].append((mod.name, port.name, port.direction))

    root = ET.Element("EDKSYSTEM", EDWVERSION="1.2", TIMESTAMP="Mon Jan  2 12:00:00 2023",
                      VIVADOVERSION=VIVADO)
    part = design.part or "xc7z020clg400-1"
    info = {"ARCH": "zynq"}
    if design.board:
        info["BOARD"] = design.board
    device, package, speed = _split_part(part)
    info.update(DEVICE=device, NAME=design.name, PACKAGE=package, SPEEDGRADE=speed)
    ET.SubElement(root, "SYSTEMINFO", info)
    ET.SubElement(root, "EXTERNALPORTS")
    ET.SubElement(root, "EXTERNALINTERFACES")
    xml_modules = ET.SubElement(root, "MODULES")
    for mod in modules:
        attrs = {"FULLNAME": mod.fullname, "INSTANCE": mod.name, "IS_ENABLE": "1",
                 "MODTYPE": vlnv_name(mod.vlnv), "VLNV": mod.vlnv,
                 "HWVERSION": mod.vlnv.rsplit(":", 1)[-1], **mod.attrs}
        m = ET.SubElement(xml_modules, "MODULE", attrs)
        inst = design.instances.get(mod.name)
        blocks = [w for w in (inst.windows if inst is not None else []) if w.registers]
        if blocks:
            xml_blocks = ET.SubElement(m, "ADDRESSBLOCKS")
            for win in blocks:
                _registers(xml_blocks, win.interface, win.range, win.registers)
        params = ET.SubElement(m, "PARAMETERS")
        for name, value in mod.params.items():
            ET.SubElement(params, "PARAMETER", NAME=name, VALUE=value)
        if mod.memranges:
            mmap = ET.SubElement(m, "MEMORYMAP")
            for r in mod.memranges:
                ET.SubElement(mmap, "MEMRANGE", r)
        ports = ET.SubElement(m, "PORTS")
        for port in mod.ports.values():
            attrs = {"DIR": port.direction, "NAME": port.name,
                     "SIGIS": _SIGIS_OUT.get(port.sigis, port.sigis)}
            if port.width > 1:
                attrs.update(LEFT=str(port.width - 1), RIGHT="0")
            net = w.net_of.get((mod.name, port.name))
            if net is not None:
                attrs["SIGNAME"] = net
            p = ET.SubElement(ports, "PORT", attrs)
            if net is not None:
                others = [(i, n) for i, n, dr in ends[net]
                          if (i, n) != (mod.name, port.name) and dr != port.direction]
                if others:
                    conns = ET.SubElement(p, "CONNECTIONS")
                    for inst_name, port_name in others:
                        ET.SubElement(conns, "CONNECTION", INSTANCE=inst_name, PORT=port_name)
        buses = ET.SubElement(m, "BUSINTERFACES")
        for bus in mod.buses:
            b = ET.SubElement(buses, "BUSINTERFACE", BUSNAME=bus.busname, NAME=bus.name,
                              TYPE=bus.type, VLNV=f"xilinx.com:interface:{bus.kind}:1.0")
            for name, value in bus.params.items():
                ET.SubElement(b, "PARAMETER", NAME=name, VALUE=value)
            pmaps = ET.SubElement(b, "PORTMAPS")
            for logical, phys in bus.port_map.items():
                ET.SubElement(pmaps, "PORTMAP", LOGICAL=logical, PHYSICAL=phys)
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def _split_part(part: str) -> tuple[str, str, str]:
    """``xc7z020clg400-1`` -> (``7z020``, ``clg400``, ``-1``)."""
    body = part[2:] if part.startswith("xc") else part
    speed = ""
    if "-" in body:
        body, speed = body.split("-", 1)
        speed = "-" + speed
    for i in range(len(body) - 1, -1, -1):
        if not body[i].isdigit():
            j = i
            while j > 0 and body[j - 1].isalpha():
                j -= 1
            return body[:j], body[j:], speed
    return body, "", speed


def write_hwh(design: Design, path: str | os.PathLike[str]) -> Path:
    """Write ``design`` as a .hwh at ``path``; returns the path."""
    out = Path(path)
    out.write_text(render_hwh(design), encoding="utf-8")
    return out
