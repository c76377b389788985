"""The .hwh of the PYNQ-Z2 loopback design (``hw/board/dma_loopback.tcl``), generated.

A real Vivado .hwh is ~10,000 lines; this writes the part pynq's parser reads, with the names
Vivado uses: the PS7 (clocks, M_AXI_GP0 address map, S_AXI_HP0, IRQ_F2P), axi_dma_0 in
direct-register mode at 0x4040_0000 (upper- and lower-case parameters, register block,
masters mapped to HP0), the AXI-Lite and memory interconnects, the reset block and the
xlconcat feeding both interrupts to the PS. pynq's own ``Overlay`` parses it, which lets
notebook code (``overlay.axi_dma_0.sendchannel.transfer(A)``) run on simulated targets
(:func:`dmasim.pynq_device.overlay`) and the board target's pynq path be tested off-board.
``python -m dmasim.board.hwh PATH`` writes it.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from ..design import DMA_BASE, make_ip_dict

VIVADO = "2022.1"

# (instance, port, direction) endpoints per net; CONNECTION elements are derived from these:
# a driver lists its sinks, a sink lists its driver, as Vivado writes them.
Net = list[tuple[str, str, str]]


class _Design:
    def __init__(self) -> None:
        self.modules: list[dict[str, Any]] = []
        self.nets: dict[str, Net] = defaultdict(list)

    def module(self, inst: str, vlnv: str, modtype: str, params: dict[str, str],
               **extra: str) -> dict[str, Any]:
        mod: dict[str, Any] = {"inst": inst, "vlnv": vlnv, "modtype": modtype,
                               "params": params, "ports": [], "buses": [], "memranges": [],
                               "regs": None, "extra": extra}
        self.modules.append(mod)
        return mod

    def port(self, mod: dict[str, Any], name: str, direction: str, net: str | None = None,
             width: int = 1, sigis: str = "undef") -> None:
        mod["ports"].append((name, direction, width, sigis, net))
        if net is not None:
            self.nets[net].append((mod["inst"], name, direction))

    def bus(self, mod: dict[str, Any], name: str, kind: str, btype: str,
            signals: list[tuple[str, str, str, int]], prefix: str, net_prefix: str) -> None:
        """A bus interface: ``signals`` are (logical, physical suffix, direction, width)."""
        maps = []
        for logical, suffix, direction, width in signals:
            phys = f"{prefix}{suffix}"
            self.port(mod, phys, direction, f"{net_prefix}_{suffix.lower()}", width)
            maps.append((logical, phys))
        mod["buses"].append((name, kind, btype, maps))


_AXI_LITE = [("ARADDR", "araddr", "O", 32), ("ARVALID", "arvalid", "O", 1),
             ("ARREADY", "arready", "I", 1), ("RDATA", "rdata", "I", 32),
             ("RVALID", "rvalid", "I", 1), ("RREADY", "rready", "O", 1),
             ("AWADDR", "awaddr", "O", 32), ("AWVALID", "awvalid", "O", 1),
             ("AWREADY", "awready", "I", 1), ("WDATA", "wdata", "O", 32),
             ("WVALID", "wvalid", "O", 1), ("WREADY", "wready", "I", 1),
             ("BVALID", "bvalid", "I", 1), ("BREADY", "bready", "O", 1)]
_AXI_RD = [("ARADDR", "araddr", "O", 32), ("ARLEN", "arlen", "O", 8),
           ("ARVALID", "arvalid", "O", 1), ("ARREADY", "arready", "I", 1),
           ("RDATA", "rdata", "I", 32), ("RLAST", "rlast", "I", 1),
           ("RVALID", "rvalid", "I", 1), ("RREADY", "rready", "O", 1)]
_AXI_WR = [("AWADDR", "awaddr", "O", 32), ("AWLEN", "awlen", "O", 8),
           ("AWVALID", "awvalid", "O", 1), ("AWREADY", "awready", "I", 1),
           ("WDATA", "wdata", "O", 32), ("WLAST", "wlast", "O", 1),
           ("WVALID", "wvalid", "O", 1), ("WREADY", "wready", "I", 1),
           ("BVALID", "bvalid", "I", 1), ("BREADY", "bready", "O", 1)]
_AXIS = [("TDATA", "tdata", "O", 32), ("TKEEP", "tkeep", "O", 4), ("TLAST", "tlast", "O", 1),
         ("TVALID", "tvalid", "O", 1), ("TREADY", "tready", "I", 1)]


def _flip(signals: list[tuple[str, str, str, int]]) -> list[tuple[str, str, str, int]]:
    """The same bus seen from the other side."""
    return [(lg, sfx, "I" if d == "O" else "O", w) for lg, sfx, d, w in signals]


def _ps7_params() -> dict[str, str]:
    params = {"C_USE_S_AXI_HP0": "1", "C_USE_M_AXI_GP0": "1", "C_NUM_F2P_INTR_INPUTS": "2",
              "C_S_AXI_HP0_DATA_WIDTH": "64", "PCW_USE_S_AXI_HP0": "1",
              "PCW_USE_M_AXI_GP0": "1", "PCW_USE_FABRIC_INTERRUPT": "1",
              "PCW_IRQ_F2P_INTR": "1", "PCW_UIPARAM_DDR_PARTNO": "MT41K256M16 RE-125",
              "preset": "None"}
    for i in range(4):
        on = i == 0
        params[f"PCW_FPGA_FCLK{i}_ENABLE"] = "1" if on else "0"
        params[f"PCW_FPGA{i}_PERIPHERAL_FREQMHZ"] = "100" if on else "50"
        params[f"PCW_ACT_FPGA{i}_PERIPHERAL_FREQMHZ"] = "100.000000" if on else "10.000000"
        params[f"PCW_FCLK{i}_PERIPHERAL_DIVISOR0"] = "5" if on else "1"
        params[f"PCW_FCLK{i}_PERIPHERAL_DIVISOR1"] = "2" if on else "1"
        params[f"PCW_FCLK{i}_PERIPHERAL_CLKSRC"] = "IO PLL"
    return params


def _dma_params(user: Mapping[str, str]) -> dict[str, str]:
    """Both spellings, as Vivado writes them: C_* model parameters and c_* user ones."""
    params = {k.upper(): v for k, v in user.items() if k != "c_addr_width"}
    params.update({"C_S_AXI_LITE_ADDR_WIDTH": "10", "C_S_AXI_LITE_DATA_WIDTH": "32",
                   "C_M_AXI_MM2S_ADDR_WIDTH": "32", "C_M_AXI_S2MM_ADDR_WIDTH": "32",
                   "C_FAMILY": "zynq", "Component_Name": "dma_loopback_axi_dma_0_0"})
    params.update(user)
    params.update({"EDK_IPTYPE": "PERIPHERAL", "C_BASEADDR": f"0x{DMA_BASE:08X}",
                   "C_HIGHADDR": f"0x{DMA_BASE + 0xFFFF:08X}"})
    return params


def build(parameters: Mapping[str, Any] | None = None) -> _Design:
    """The loopback design as modules, ports, buses and nets (DMA ``parameters`` overridden)."""
    ip = make_ip_dict(dict(parameters or {}))["axi_dma_0"]
    d = _Design()
    clk, rstn = "processing_system7_0_FCLK_CLK0", "rst_ps7_0_100M_peripheral_aresetn"

    ps = d.module("processing_system7_0", "xilinx.com:ip:processing_system7:5.5",
                  "processing_system7", _ps7_params(), IS_PL="FALSE")
    d.port(ps, "FCLK_CLK0", "O", clk, sigis="clk")
    d.port(ps, "FCLK_RESET0_N", "O", "processing_system7_0_FCLK_RESET0_N", sigis="rst")
    d.port(ps, "M_AXI_GP0_ACLK", "I", clk, sigis="clk")
    d.port(ps, "S_AXI_HP0_ACLK", "I", clk, sigis="clk")
    d.port(ps, "IRQ_F2P", "I", "xlconcat_0_dout", width=2, sigis="INTERRUPT")
    d.bus(ps, "M_AXI_GP0", "aximm", "MASTER", _AXI_LITE, "M_AXI_GP0_", "ps7_gp0")
    d.bus(ps, "S_AXI_HP0", "aximm", "SLAVE", _flip(_AXI_RD + _AXI_WR), "S_AXI_HP0_", "hp0")
    ps["memranges"].append(("M_AXI_GP0", "axi_dma_0", "S_AXI_LITE", "REGISTER", "Reg",
                            DMA_BASE, DMA_BASE + 0xFFFF))

    periph = d.module("ps7_0_axi_periph", "xilinx.com:ip:axi_interconnect:2.1",
                      "axi_interconnect", {"NUM_SI": "1", "NUM_MI": "1"}, MODCLASS="BUS")
    d.port(periph, "ACLK", "I", clk, sigis="clk")
    d.port(periph, "ARESETN", "I", rstn, sigis="rst")
    d.bus(periph, "S00_AXI", "aximm", "SLAVE", _flip(_AXI_LITE), "S00_AXI_", "ps7_gp0")
    d.bus(periph, "M00_AXI", "aximm", "MASTER", _AXI_LITE, "M00_AXI_", "dma_lite")

    mem = d.module("axi_mem_intercon", "xilinx.com:ip:axi_interconnect:2.1",
                   "axi_interconnect", {"NUM_SI": "2", "NUM_MI": "1"}, MODCLASS="BUS")
    d.port(mem, "ACLK", "I", clk, sigis="clk")
    d.port(mem, "ARESETN", "I", rstn, sigis="rst")
    d.bus(mem, "S00_AXI", "aximm", "SLAVE", _flip(_AXI_RD), "S00_AXI_", "mm2s_mem")
    d.bus(mem, "S01_AXI", "aximm", "SLAVE", _flip(_AXI_WR), "S01_AXI_", "s2mm_mem")
    d.bus(mem, "M00_AXI", "aximm", "MASTER", _AXI_RD + _AXI_WR, "M00_AXI_", "hp0")

    dma = d.module("axi_dma_0", "xilinx.com:ip:axi_dma:7.1", "axi_dma",
                   _dma_params(ip["parameters"]),
                   MODCLASS="PERIPHERAL")
    for name in ("s_axi_lite_aclk", "m_axi_mm2s_aclk", "m_axi_s2mm_aclk"):
        d.port(dma, name, "I", clk, sigis="clk")
    d.port(dma, "axi_resetn", "I", rstn, sigis="rst")
    d.bus(dma, "S_AXI_LITE", "aximm", "SLAVE", _flip(_AXI_LITE), "s_axi_lite_", "dma_lite")
    d.bus(dma, "M_AXI_MM2S", "aximm", "MASTER", _AXI_RD, "m_axi_mm2s_", "mm2s_mem")
    d.bus(dma, "M_AXI_S2MM", "aximm", "MASTER", _AXI_WR, "m_axi_s2mm_", "s2mm_mem")
    d.bus(dma, "M_AXIS_MM2S", "axis", "MASTER", _AXIS, "m_axis_mm2s_", "loopback")
    d.bus(dma, "S_AXIS_S2MM", "axis", "SLAVE", _flip(_AXIS), "s_axis_s2mm_", "loopback")
    d.port(dma, "mm2s_introut", "O", "axi_dma_0_mm2s_introut", sigis="INTERRUPT")
    d.port(dma, "s2mm_introut", "O", "axi_dma_0_s2mm_introut", sigis="INTERRUPT")
    for master in ("M_AXI_MM2S", "M_AXI_S2MM"):
        dma["memranges"].append((master, "processing_system7_0", "S_AXI_HP0", "MEMORY",
                                 "HP0_DDR_LOWOCM", 0x0000_0000, 0x1FFF_FFFF))
    dma["regs"] = ip["registers"]

    concat = d.module("xlconcat_0", "xilinx.com:ip:xlconcat:2.1", "xlconcat",
                      {"NUM_PORTS": "2", "IN0_WIDTH": "1", "IN1_WIDTH": "1",
                       "dout_width": "2"}, MODCLASS="COMBINATORIAL")
    d.port(concat, "In0", "I", "axi_dma_0_mm2s_introut")
    d.port(concat, "In1", "I", "axi_dma_0_s2mm_introut")
    d.port(concat, "dout", "O", "xlconcat_0_dout", width=2)

    rst = d.module("rst_ps7_0_100M", "xilinx.com:ip:proc_sys_reset:5.0", "proc_sys_reset",
                   {"C_FAMILY": "zynq", "C_EXT_RST_WIDTH": "4"}, MODCLASS="PERIPHERAL")
    d.port(rst, "slowest_sync_clk", "I", clk, sigis="clk")
    d.port(rst, "ext_reset_in", "I", "processing_system7_0_FCLK_RESET0_N", sigis="rst")
    d.port(rst, "peripheral_aresetn", "O", rstn, width=1, sigis="rst")
    return d


def _registers(parent: ET.Element, regs: dict[str, dict[str, Any]]) -> None:
    block = ET.SubElement(ET.SubElement(parent, "ADDRESSBLOCKS"), "ADDRESSBLOCK",
                          ACCESS="read-write", INTERFACE="S_AXI_LITE", NAME="Reg",
                          RANGE="4096", USAGE="register")
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


def render(parameters: Mapping[str, Any] | None = None) -> str:
    """The .hwh XML text of the design with these DMA ``parameters`` (PYNQ names)."""
    d = build(parameters)
    root = ET.Element("EDKSYSTEM", EDWVERSION="1.2", TIMESTAMP="Mon Jan  2 12:00:00 2023",
                      VIVADOVERSION=VIVADO)
    ET.SubElement(root, "SYSTEMINFO", ARCH="zynq", BOARD="tul.com.tw:pynq-z2:part0:1.0",
                  DEVICE="7z020", NAME="dma_loopback", PACKAGE="clg400", SPEEDGRADE="-1")
    ET.SubElement(root, "EXTERNALPORTS")
    ET.SubElement(root, "EXTERNALINTERFACES")
    modules = ET.SubElement(root, "MODULES")
    for mod in d.modules:
        attrs = {"FULLNAME": f"/{mod['inst']}", "INSTANCE": mod["inst"], "IS_ENABLE": "1",
                 "MODTYPE": mod["modtype"], "VLNV": mod["vlnv"],
                 "HWVERSION": mod["vlnv"].rsplit(":", 1)[1], **mod["extra"]}
        m = ET.SubElement(modules, "MODULE", attrs)
        if mod["regs"]:
            _registers(m, mod["regs"])
        params = ET.SubElement(m, "PARAMETERS")
        for name, value in mod["params"].items():
            ET.SubElement(params, "PARAMETER", NAME=name, VALUE=value)
        if mod["memranges"]:
            mmap = ET.SubElement(m, "MEMORYMAP")
            for master, inst, slave, memtype, block, lo, hi in mod["memranges"]:
                ET.SubElement(mmap, "MEMRANGE", ADDRESSBLOCK=block, BASENAME="C_BASEADDR",
                              BASEVALUE=f"0x{lo:08X}", HIGHNAME="C_HIGHADDR",
                              HIGHVALUE=f"0x{hi:08X}", INSTANCE=inst, IS_DATA="TRUE",
                              IS_INSTRUCTION="TRUE", MASTERBUSINTERFACE=master,
                              MEMTYPE=memtype, SLAVEBUSINTERFACE=slave)
        ports = ET.SubElement(m, "PORTS")
        for name, direction, width, sigis, net in mod["ports"]:
            attrs = {"DIR": direction, "NAME": name, "SIGIS": sigis}
            if width > 1:
                attrs.update(LEFT=str(width - 1), RIGHT="0")
            if net is not None:
                attrs["SIGNAME"] = net
            p = ET.SubElement(ports, "PORT", attrs)
            if net is not None:
                others = [(i, n) for i, n, dr in d.nets[net] if dr != direction]
                if others:
                    conns = ET.SubElement(p, "CONNECTIONS")
                    for inst, port in others:
                        ET.SubElement(conns, "CONNECTION", INSTANCE=inst, PORT=port)
        buses = ET.SubElement(m, "BUSINTERFACES")
        for name, kind, btype, maps in mod["buses"]:
            b = ET.SubElement(buses, "BUSINTERFACE", BUSNAME=f"{mod['inst']}_{name}",
                              NAME=name, TYPE=btype,
                              VLNV=f"xilinx.com:interface:{kind}:1.0")
            pmaps = ET.SubElement(b, "PORTMAPS")
            for logical, phys in maps:
                ET.SubElement(pmaps, "PORTMAP", LOGICAL=logical, PHYSICAL=phys)
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")


def write_overlay(directory: str | Path, name: str = "dma_loopback_1",
                  parameters: Mapping[str, Any] | None = None) -> Path:
    """Write ``name.hwh`` and a placeholder ``name.bit`` (for ``download=False``); the .bit."""
    directory = Path(directory)
    (directory / f"{name}.hwh").write_text(render(parameters), encoding="utf-8")
    bit = directory / f"{name}.bit"
    bit.write_bytes(b"\x00\x09dmasim placeholder: no bitstream")
    return bit


def main(argv: list[str] | None = None) -> int:
    """Write the default design's .hwh to the path given."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dmasim.board.hwh PATH.hwh", file=sys.stderr)
        return 2
    Path(args[0]).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
