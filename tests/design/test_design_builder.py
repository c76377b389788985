"""DesignBuilder: designs in Python get Vivado's interfaces, ports and checks."""

from __future__ import annotations

import pytest

import dmasim
from dmasim.design import (
    Design,
    DesignBuilder,
    DesignWarning,
    Endpoint,
    InterruptLine,
    StreamInterface,
    fifo_settings,
)
from dmasim.errors import DesignError


def fir_design(**dma: object) -> DesignBuilder:
    b = DesignBuilder(name="fir_design", clock_hz=100_000_000)
    b.dma("axi_dma_0", base=0x4040_0000, **dma)  # type: ignore[arg-type]
    b.ip("fir_0", vlnv="dmasim.org:user:fir:1.0", base=0x43C0_0000, range=0x1_0000,
         streams={"S_AXIS": "in", "M_AXIS": "out"}, interrupts=["interrupt"],
         parameters={"TAPS": 16})
    b.connect("axi_dma_0.M_AXIS_MM2S", "fir_0.S_AXIS")
    b.connect("fir_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM")
    return b


def test_exported_from_the_package() -> None:
    assert dmasim.DesignBuilder is DesignBuilder


def test_fir_design() -> None:
    d = fir_design(c_sg_length_width=23).build()
    assert list(d.instances) == ["processing_system7_0", "axi_dma_0", "fir_0"]
    fir = d.instance("fir_0")
    assert fir.kind == "user" and fir.parameters == {"TAPS": "16"}
    assert d.instance("axi_dma_0").parameters["c_sg_length_width"] == "23"
    assert d.peer("fir_0", "S_AXIS") == Endpoint("axi_dma_0", "M_AXIS_MM2S")
    assert d.peer("axi_dma_0", "S_AXIS_S2MM") == Endpoint("fir_0", "M_AXIS")
    s = fir.streams["S_AXIS"]
    assert s.direction == "in" and s.tdata_bytes == 4 and s.has_tkeep and s.has_tlast
    assert s.port_map == {sig: f"s_axis_{sig.lower()}"
                          for sig in ("TDATA", "TKEEP", "TLAST", "TVALID", "TREADY")}
    assert fir.ports["s_axis_tdata"].width == 32 and fir.ports["s_axis_tdata"].direction == "I"
    assert fir.ports["s_axis_tready"].direction == "O"
    assert fir.ports["m_axis_tdata"].direction == "O"
    w = fir.windows[0]
    assert (w.interface, w.base, w.range) == ("S_AXI", 0x43C0_0000, 0x1_0000)
    assert w.port_map["AWADDR"] == "s_axi_awaddr" and fir.ports["s_axi_rdata"].direction == "O"
    assert fir.ports["aclk"].sigis == "clk" and fir.ports["aresetn"].sigis == "rst"
    assert fir.ports["interrupt"].sigis == "intr"
    assert d.interrupt_lines == [
        InterruptLine(Endpoint("axi_dma_0", "mm2s_introut"), None, 0),
        InterruptLine(Endpoint("axi_dma_0", "s2mm_introut"), None, 1),
        InterruptLine(Endpoint("fir_0", "interrupt"), None, 2),
    ]
    ps = d.ps
    assert ps is not None and ps.ports["IRQ_F2P"].width == 3
    assert ps.parameters["PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ"] == "100.000000"
    ip = d.ip_dict()
    assert ip["fir_0"]["phys_addr"] == 0x43C0_0000 and ip["axi_dma_0"]["phys_addr"] == 0x4040_0000
    assert ip["fir_0"]["interrupts"] == {}  # straight to the PS: pynq lists none


def test_port_map_clock_reset_and_stream_objects() -> None:
    b = DesignBuilder()
    b.dma()
    hls_in = StreamInterface("in_r", "in", 4, has_tstrb=True, tuser_width=1,
                             port_map={"TDATA": "in_r_TDATA", "TVALID": "in_r_TVALID",
                                       "TREADY": "in_r_TREADY", "TLAST": "in_r_TLAST",
                                       "TKEEP": "in_r_TKEEP", "TSTRB": "in_r_TSTRB",
                                       "TUSER": "in_r_TUSER"})
    b.ip("hls_0", vlnv="xilinx.com:hls:thing:1.0", base=0x43C0_0000,
         streams={"in_r": hls_in, "out_r": "out"}, window="s_axi_control",
         clock="ap_clk", reset="ap_rst_n",
         port_map={"out_r": {"TDATA": "out_r_TDATA"}, "s_axi_control": {"AWADDR": "aw"}})
    b.connect("axi_dma_0.M_AXIS_MM2S", "hls_0.in_r")
    b.connect("hls_0.out_r", "axi_dma_0.S_AXIS_S2MM")
    hls = b.build().instance("hls_0")
    assert hls.ports["in_r_TUSER"].width == 1 and hls.ports["in_r_TSTRB"].width == 4
    assert hls.streams["out_r"].port_map["TDATA"] == "out_r_TDATA"
    assert hls.streams["out_r"].port_map["TLAST"] == "out_r_tlast"
    assert hls.ports["out_r_TDATA"].direction == "O"
    assert hls.windows[0].port_map["AWADDR"] == "aw" and "aw" in hls.ports
    assert hls.windows[0].port_map["ARADDR"] == "s_axi_control_araddr"
    assert {"ap_clk", "ap_rst_n"} <= set(hls.ports)


def test_fifo_and_register_slice() -> None:
    b = DesignBuilder()
    b.dma()
    f = b.fifo("fifo_0", depth=1024, packet_mode=True)
    r = b.register_slice("rs_0")
    b.connect("axi_dma_0.M_AXIS_MM2S", "fifo_0.S_AXIS")
    b.connect("fifo_0.M_AXIS", "rs_0.S_AXIS")
    b.connect("rs_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM")
    d = b.build()
    assert f.vlnv == "xilinx.com:ip:axis_data_fifo:2.0"
    assert r.vlnv == "xilinx.com:ip:axis_register_slice:1.1"
    assert f.kind == r.kind == "builtin"
    assert (f.parameters["FIFO_DEPTH"], f.parameters["FIFO_MODE"],
            f.parameters["TDATA_NUM_BYTES"]) == ("1024", "2", "4")
    assert fifo_settings(d.instance("fifo_0")) == (1024, True)
    assert set(d.instance("rs_0").streams) == {"S_AXIS", "M_AXIS"}
    assert d.of_kind("user") == []


def test_dma_with_one_channel_and_several_dmas() -> None:
    b = DesignBuilder()
    b.dma("tx", base=0x4040_0000, c_include_s2mm=0)
    b.dma("rx", base=0x4041_0000, c_include_mm2s=0)
    b.fifo("fifo_0")
    b.connect("tx.M_AXIS_MM2S", "fifo_0.S_AXIS")
    b.connect("fifo_0.M_AXIS", "rx.S_AXIS_S2MM")
    d = b.build()
    assert [x.name for x in d.dmas] == ["tx", "rx"]
    assert list(d.instance("tx").streams) == ["M_AXIS_MM2S"] and d.instance("tx").masters == [
        "M_AXI_MM2S"]
    assert list(d.instance("rx").streams) == ["S_AXIS_S2MM"]
    assert [str(x.source) for x in d.interrupt_lines] == ["tx.mm2s_introut", "rx.s2mm_introut"]


def test_interrupt_controller_takes_the_lines() -> None:
    b = fir_design()
    b.interrupt_controller("axi_intc_0", base=0x4180_0000)
    d = b.build()
    assert [(str(x.source), x.controller, x.index) for x in d.interrupt_lines] == [
        ("axi_dma_0.mm2s_introut", "axi_intc_0", 0), ("axi_dma_0.s2mm_introut", "axi_intc_0", 1),
        ("fir_0.interrupt", "axi_intc_0", 2)]
    assert d.instance("axi_intc_0").ports["intr"].width == 3
    assert d.ip_dict()["fir_0"]["interrupts"] == {
        "interrupt": {"controller": "axi_intc_0", "index": 2, "fullpath": "fir_0/interrupt"}}


@pytest.mark.parametrize("build, match", [
    (lambda b: b.dma("axi_dma_0"), r"'axi_dma_0' is already used"),
    (lambda b: b.dma("d1", base=0x4040_0000), r"register windows overlap: d1.S_AXI_LITE"),
    (lambda b: b.dma("d1", base=0x3000_0000), r"base=0x30000000 is outside .* 0x40000000"),
    (lambda b: b.dma("d1", base=0x4040_1000), r"not aligned to its range 0x10000"),
    (lambda b: b.dma("d1", base=0x4050_0000, c_bogus=1), r"unknown AXI DMA parameter 'c_bogus'"),
    (lambda b: b.dma("d1", base=0x4050_0000, c_sg_length_width=27),
     r"c_sg_length_width=27 is not supported: allowed 8\.\.26"),
    (lambda b: b.dma("d1", base=0x4050_0000, c_include_sg=2),
     r"c_include_sg=2 is not supported: allowed 0, 1"),
    (lambda b: b.dma("d1", base=0x4050_0000, c_include_mm2s=0, c_include_s2mm=0),
     r"no channel"),
    (lambda b: b.dma("1dma", base=0x4050_0000), r"'1dma' is not a Verilog identifier"),
    (lambda b: b.ip("x", vlnv="fir"), r"VLNV 'fir' is not vendor:library:name:version"),
    (lambda b: b.ip("x", vlnv="a:b:c:1.0", base=0x43C0_0000, range=0x1800),
     r"range=0x1800 is not supported"),
    (lambda b: b.ip("x", vlnv="a:b:c:1.0", streams={"S": "sideways"}),
     r"x.S: stream direction 'sideways' is not supported: allowed 'in', 'out'"),
    (lambda b: b.ip("x", vlnv="a:b:c:1.0", streams={"S": "in"}, port_map={"T": {}}),
     r"port_map names T, which is no interface of it \(have: S, S_AXI\)"),
    (lambda b: b.ip("x", vlnv="a:b:c:1.0", tdata_bytes=0), r"tdata_bytes=0 is not supported"),
    (lambda b: b.ip("x", vlnv="a:b:c:1.0", base=0x43C1_0000, registers={"K": 0x10002}),
     r"register K at offset 65538 is not supported: allowed a multiple of 4 in 0..0xfffc"),
    (lambda b: b.ip("x", vlnv="a:b:c:1.0", registers={"K": 0x10}),
     r"registers need a register window"),
    (lambda b: b.fifo("f", depth=500), r"depth=500 is not supported: allowed 16, 32"),
    (lambda b: b.connect("axi_dma_0.S_AXIS_S2MM", "fir_0.S_AXIS"),
     r"axi_dma_0.S_AXIS_S2MM is an input; a link goes from an output to an input"),
    (lambda b: b.connect("axi_dma_0.M_AXIS_MM2S", "nope.S_AXIS"), r"no instance 'nope'"),
    (lambda b: b.connect("fir_0.M_AXIS", "fir_0.S_AX"),
     r"fir_0 has no stream interface 'S_AX' \(have: S_AXIS, M_AXIS\)"),
    (lambda b: b.connect("axi_dma_0.M_AXIS_MM2S", "fir_0.S_AXIS"), r"is already linked"),
    (lambda b: b.connect("fir_0", "x.y"), r"endpoint 'fir_0' is not 'instance.interface'"),
    (lambda b: b.interrupt_controller(base=0x4180_0000) and b.interrupt_controller("i2"),
     r"already has interrupt controller 'axi_intc_0'"),
])
def test_bad_input_is_a_clear_error(build, match) -> None:  # type: ignore[no-untyped-def]
    b = fir_design()
    with pytest.raises((DesignError, dmasim.DmasimValueError), match=match):
        build(b)
        b.build()


def test_bad_clock() -> None:
    with pytest.raises(DesignError, match=r"clock_hz=500000000 is not supported"):
        DesignBuilder(clock_hz=500_000_000)


def test_build_checks_widths_and_needs_a_dma() -> None:
    b = DesignBuilder()
    b.dma(c_m_axis_mm2s_tdata_width=64, c_m_axi_mm2s_data_width=64)
    b.ip("fir_0", vlnv="a:b:fir:1.0", streams={"S_AXIS": "in"})
    b.connect("axi_dma_0.M_AXIS_MM2S", "fir_0.S_AXIS")
    with pytest.raises(DesignError, match=r"TDATA widths differ \(64 bits into 32 bits\)"):
        b.build()
    assert b.build(check=False).instance("fir_0").streams["S_AXIS"].tdata_bytes == 4
    empty = DesignBuilder(name="nodma")
    empty.fifo("f")
    with pytest.raises(DesignError, match=r"design 'nodma' has no AXI DMA"):
        empty.build()


def test_tkeep_loss_warns_and_tlast_loss_is_an_error() -> None:
    b = DesignBuilder()
    b.dma()
    b.ip("ip_0", vlnv="a:b:c:1.0",
         streams={"S_AXIS": StreamInterface("S_AXIS", "in", 4, has_tkeep=False,
                                            port_map={"TDATA": "d", "TVALID": "v",
                                                      "TREADY": "r", "TLAST": "l"}),
                  "M_AXIS": StreamInterface("M_AXIS", "out", 4, has_tlast=False,
                                            port_map={"TDATA": "q", "TVALID": "qv",
                                                      "TREADY": "qr"})})
    b.connect("axi_dma_0.M_AXIS_MM2S", "ip_0.S_AXIS")
    with pytest.warns(DesignWarning, match=r"ip_0.S_AXIS has none, so a partial last beat \(a "
                                           r"transfer that is not a multiple of 4 bytes\)"):
        b.build()
    b.connect("ip_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM")
    with pytest.warns(DesignWarning), pytest.raises(
            DesignError, match=r"ip_0.M_AXIS has no TLAST but axi_dma_0.S_AXIS_S2MM needs it"):
        b.build()


def test_loopback_is_a_design_like_the_others() -> None:
    d = Design.loopback()
    assert [i.name for i in d.dmas] == ["axi_dma_0"]
    assert d.ps is not None and d.ps.name == "processing_system7_0"
    assert d.ip_dict()["processing_system7_0"]["type"].startswith(
        "xilinx.com:ip:processing_system7:")
    assert "phys_addr" not in d.ip_dict()["processing_system7_0"]
    assert [(str(x.source), x.index) for x in d.interrupt_lines] == [
        ("axi_dma_0.mm2s_introut", 0), ("axi_dma_0.s2mm_introut", 1)]
    dma = d.instance("axi_dma_0")
    assert dma.ports["m_axis_mm2s_tdata"].width == 32 and dma.ports["s_axi_lite_awaddr"].width == 10


def test_registers_reach_pynq_register_maps() -> None:
    b = DesignBuilder()
    b.dma()
    b.ip("hls_0", vlnv="a:hls:k:1.0", base=0x43C0_0000, streams={"S_AXIS": "in"},
         registers={"CTRL": 0x00, "coef": {"address_offset": 0x10, "access": "write-only",
                                            "fields": {"c": {"bit_offset": 0, "bit_width": 16,
                                                             "access": "write-only",
                                                             "description": "coefficient"}}}})
    b.connect("axi_dma_0.M_AXIS_MM2S", "hls_0.S_AXIS")
    regs = b.build().ip_dict()["hls_0"]["registers"]
    assert regs["CTRL"] == {"address_offset": 0, "size": 32, "access": "read-write",
                            "description": "CTRL", "fields": {}}
    assert regs["coef"]["address_offset"] == 0x10 and regs["coef"]["fields"]["c"]["bit_width"] == 16
