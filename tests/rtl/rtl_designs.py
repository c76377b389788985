"""Designs for the rtl target's tests, built from the design types (no .hwh needed)."""

from __future__ import annotations

from pathlib import Path

from dmasim import RtlSources
from dmasim.design import (
    DEFAULT_PARAMETERS,
    Connection,
    Design,
    Endpoint,
    Instance,
    InterruptLine,
    Port,
    StreamInterface,
    Window,
    dma_instance,
)

HDL = Path(__file__).resolve().parent / "hdl"
ADDER_BASE = 0x43C0_0000
LITE = ("AWADDR", "AWVALID", "AWREADY", "WDATA", "WSTRB", "WVALID", "WREADY", "BRESP",
        "BVALID", "BREADY", "ARADDR", "ARVALID", "ARREADY", "RDATA", "RRESP", "RVALID",
        "RREADY")


def _stream(name: str, direction: str, prefix: str) -> StreamInterface:
    return StreamInterface(name, "in" if direction == "in" else "out", 4,
                           port_map={s: f"{prefix}_{s.lower()}" for s in
                                     ("TDATA", "TKEEP", "TLAST", "TVALID", "TREADY")})


def adder_instance(name: str = "adder_0", port_map: dict[str, str] | None = None) -> Instance:
    """The test IP ``adder_ip``: S_AXIS in, M_AXIS out, S_AXI window, ``interrupt``."""
    lite = {s: f"s_axi_{s.lower()}" for s in LITE}
    lite.update(port_map or {})
    ports = {"aclk": Port("aclk", "I", sigis="clk"), "aresetn": Port("aresetn", "I", sigis="rst"),
             "interrupt": Port("interrupt", "O", sigis="intr")}
    ports["s_axi_awaddr"] = Port("s_axi_awaddr", "I", 6)
    ports["s_axi_araddr"] = Port("s_axi_araddr", "I", 6)
    return Instance(
        name=name, vlnv="dmasim.org:test:adder_ip:1.0",
        windows=[Window("S_AXI", ADDER_BASE, 0x1_0000, lite)],
        streams={"S_AXIS": _stream("S_AXIS", "in", "s_axis"),
                 "M_AXIS": _stream("M_AXIS", "out", "m_axis")},
        interrupts=["interrupt"], ports=ports)


def adder_rtl() -> RtlSources:
    return RtlSources([HDL / "adder_ip.sv"], top="adder_ip", parameters={"ADDR_BITS": 6})


def adder_design(port_map: dict[str, str] | None = None) -> Design:
    """axi_dma_0.M_AXIS_MM2S -> adder_0 -> axi_dma_0.S_AXIS_S2MM."""
    dma = dma_instance("axi_dma_0", 0x4040_0000, dict(DEFAULT_PARAMETERS))
    add = adder_instance(port_map=port_map)
    return Design(
        name="adder_design", instances={"axi_dma_0": dma, "adder_0": add},
        connections=[
            Connection(Endpoint("axi_dma_0", "M_AXIS_MM2S"), Endpoint("adder_0", "S_AXIS")),
            Connection(Endpoint("adder_0", "M_AXIS"), Endpoint("axi_dma_0", "S_AXIS_S2MM"))],
        interrupt_lines=[InterruptLine(Endpoint("axi_dma_0", "mm2s_introut"), None, 0),
                         InterruptLine(Endpoint("axi_dma_0", "s2mm_introut"), None, 1),
                         InterruptLine(Endpoint("adder_0", "interrupt"), None, 2)])


def _builtin(name: str, vlnv: str, params: dict[str, str]) -> Instance:
    return Instance(name=name, vlnv=vlnv, parameters=params,
                    streams={"S_AXIS": _stream("S_AXIS", "in", "s_axis"),
                             "M_AXIS": _stream("M_AXIS", "out", "m_axis")})


def two_dma_design(fifo_depth: int = 64, packet_mode: bool = True) -> Design:
    """axi_dma_0 -> axis_data_fifo -> axi_dma_1, axi_dma_1 -> register slice -> axi_dma_0."""
    d0 = dma_instance("axi_dma_0", 0x4040_0000, dict(DEFAULT_PARAMETERS))
    d1 = dma_instance("axi_dma_1", 0x4041_0000, dict(DEFAULT_PARAMETERS))
    fifo = _builtin("fifo_0", "xilinx.com:ip:axis_data_fifo:2.0",
                    {"FIFO_DEPTH": str(fifo_depth), "FIFO_MODE": "2" if packet_mode else "1",
                     "TDATA_NUM_BYTES": "4"})
    rs = _builtin("rs_0", "xilinx.com:ip:axis_register_slice:1.1", {"TDATA_NUM_BYTES": "4"})
    e = Endpoint
    return Design(
        name="two_dmas",
        instances={"axi_dma_0": d0, "axi_dma_1": d1, "fifo_0": fifo, "rs_0": rs},
        connections=[Connection(e("axi_dma_0", "M_AXIS_MM2S"), e("fifo_0", "S_AXIS")),
                     Connection(e("fifo_0", "M_AXIS"), e("axi_dma_1", "S_AXIS_S2MM")),
                     Connection(e("axi_dma_1", "M_AXIS_MM2S"), e("rs_0", "S_AXIS")),
                     Connection(e("rs_0", "M_AXIS"), e("axi_dma_0", "S_AXIS_S2MM"))],
        interrupt_lines=[InterruptLine(e(d, p), None, i) for i, (d, p) in enumerate(
            (d, p) for d in ("axi_dma_0", "axi_dma_1") for p in ("mm2s_introut", "s2mm_introut"))])


def one_way_design() -> Design:
    """tx (MM2S only) -> adder_0 -> rx (S2MM only): DMAs with one channel each."""
    tx = dma_instance("dma_tx", 0x4040_0000, {**DEFAULT_PARAMETERS, "c_include_s2mm": "0"})
    rx = dma_instance("dma_rx", 0x4041_0000, {**DEFAULT_PARAMETERS, "c_include_mm2s": "0"})
    add = adder_instance()
    e = Endpoint
    return Design(
        name="one_way", instances={"dma_tx": tx, "adder_0": add, "dma_rx": rx},
        connections=[Connection(e("dma_tx", "M_AXIS_MM2S"), e("adder_0", "S_AXIS")),
                     Connection(e("adder_0", "M_AXIS"), e("dma_rx", "S_AXIS_S2MM"))],
        interrupt_lines=[InterruptLine(e("dma_tx", "mm2s_introut"), None, 0),
                         InterruptLine(e("dma_rx", "s2mm_introut"), None, 1)])
