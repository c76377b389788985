""".hwh in and out without the real files: bad input, interrupt tracing, the round trip.

Designs come from :class:`DesignBuilder` (hypothesis draws them); ``write_hwh`` writes them,
``Design.from_hwh`` reads them back with the same structure, and pynq 4.0's own parser sees
the ``ip_dict`` the design reports.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from design_helpers import assert_ip_dict_agrees
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmasim.board.hwh import render, write_overlay
from dmasim.design import Design, DesignBuilder, InterruptLine, check_design
from dmasim.design.hwh_read import parse_hwh
from dmasim.design.ips import axi_master_ports
from dmasim.errors import DesignError


def fir_builder() -> DesignBuilder:
    b = DesignBuilder(name="fir_design")
    b.dma("axi_dma_0", base=0x4040_0000)
    b.ip("fir_0", vlnv="dmasim.org:user:fir:1.0", base=0x43C0_0000,
         streams={"S_AXIS": "in", "M_AXIS": "out"}, interrupts=["interrupt"])
    b.fifo("fifo_0")
    b.connect("axi_dma_0.M_AXIS_MM2S", "fir_0.S_AXIS")
    b.connect("fir_0.M_AXIS", "fifo_0.S_AXIS")
    b.connect("fifo_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM")
    return b


def reread(design: Design, tmp_path: Path) -> Design:
    return Design.from_hwh(design.write_hwh(tmp_path / "d.hwh"))


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\x00\x09dmasim placeholder: no bitstream", b"hello",
                                  b"<EDKSYSTEM><MODULES></EDKSYSTEM>"])
def test_not_xml(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.hwh"
    path.write_bytes(data)
    with pytest.raises(DesignError, match=r"bad\.hwh is not XML \(.*\); a Vivado \.hwh is"):
        Design.from_hwh(path)


@pytest.mark.parametrize("text, match", [
    ("<?xml version='1.0'?><project><x/></project>", r"its root is <project>, a \.hwh has"),
    ("\ufeff<EDKSYSTEM><SYSTEMINFO/></EDKSYSTEM>", r"its root is <EDKSYSTEM> without <MODULES>"),
])
def test_xml_but_not_a_block_design(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "other.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DesignError, match=r"other\.xml is XML but not a Vivado block design: "
                                          + match):
        Design.from_hwh(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DesignError, match=r"cannot read the design file .*nope\.hwh"):
        Design.from_hwh(tmp_path / "nope.hwh")


def test_bom_and_str_input(tmp_path: Path) -> None:
    d = fir_builder().build()
    text = render(design=d)
    assert parse_hwh(text).structure() == d.structure()
    assert parse_hwh("\ufeff" + text).structure() == d.structure()
    path = tmp_path / "bom.hwh"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert Design.from_hwh(path).structure() == d.structure()


def test_a_stream_bus_with_two_initiators(tmp_path: Path) -> None:
    text = render(design=fir_builder().build())
    text = text.replace('BUSNAME="fifo_0_M_AXIS"', 'BUSNAME="axi_dma_0_M_AXIS_MM2S"')
    with pytest.raises(DesignError, match=r"AXI-Stream bus 'axi_dma_0_M_AXIS_MM2S' joins more "
                                          r"than one initiator or target \(axi_dma_0.M_AXIS_MM2S"):
        parse_hwh(text)


def test_a_reversed_address_range() -> None:
    text = render(design=fir_builder().build())
    text = text.replace('HIGHVALUE="0x43C0FFFF"', 'HIGHVALUE="0x43B00000"')
    with pytest.raises(DesignError, match=r"fir_0.S_AXI has an address range '0x43C00000'.."
                                          r"'0x43B00000' that is not base <= high"):
        parse_hwh(text)


def test_sg_design_from_hwh_is_realised_by_model_and_rtl() -> None:
    old = '<PARAMETER NAME="c_include_sg" VALUE="0" />'
    design = parse_hwh(render().replace(old, '<PARAMETER NAME="c_include_sg" VALUE="1" />'))
    assert design.dmas[0].param("c_include_sg") == 1
    check_design(design)  # the model realises scatter-gather
    check_design(design, target="rtl")  # and so does the open RTL


@pytest.mark.parametrize("param", ["c_micro_dma"])
def test_unmodelled_dma_configuration_names_parameter_and_value(param: str) -> None:
    text = render()
    old = f'<PARAMETER NAME="{param}" VALUE="0" />'
    assert old in text
    design = parse_hwh(text.replace(old, f'<PARAMETER NAME="{param}" VALUE="1" />'))
    with pytest.raises(DesignError, match=rf"axi_dma_0 \(xilinx.com:ip:axi_dma:7.1\): {param}=1 "
                                          r"is not modelled by dmasim \(supported: 0\)"):
        check_design(design)


def test_no_dma(tmp_path: Path) -> None:
    b = DesignBuilder(name="just_ip")
    b.ip("fir_0", vlnv="a:b:fir:1.0", base=0x43C0_0000, streams={"S_AXIS": "in"})
    design = reread(b.build(check=False), tmp_path)
    assert design.ps is not None and "fir_0" in design.ip_dict()
    with pytest.raises(DesignError, match=r"design 'just_ip' has no AXI DMA"):
        check_design(design)


def test_mismatched_widths_and_overlapping_windows(tmp_path: Path) -> None:
    b = DesignBuilder()
    b.dma(c_m_axis_mm2s_tdata_width=64)
    b.ip("fir_0", vlnv="a:b:fir:1.0", base=0x4040_0000, streams={"S_AXIS": "in"})
    b.connect("axi_dma_0.M_AXIS_MM2S", "fir_0.S_AXIS")
    design = reread(b.build(check=False), tmp_path)
    with pytest.raises(DesignError, match=r"register windows overlap: fir_0.S_AXI 0x40400000\+"
                                          r"0x10000 and axi_dma_0.S_AXI_LITE 0x40400000"):
        check_design(design)
    design.instance("fir_0").windows.clear()
    with pytest.raises(DesignError, match=r"axi_dma_0.M_AXIS_MM2S -> fir_0.S_AXIS: TDATA widths "
                                          r"differ \(64 bits into 32 bits\)"):
        check_design(design)


def test_user_ip_with_a_memory_master(tmp_path: Path) -> None:
    d = fir_builder().build()
    fir = d.instance("fir_0")
    fir.masters.append("m_axi_gmem")
    fir.ports.update({p.name: p for p in axi_master_ports("m_axi_gmem_", True, True)})
    again = reread(d, tmp_path)
    assert again.instance("fir_0").masters == ["m_axi_gmem"]
    assert again.structure() == d.structure()
    with pytest.raises(DesignError, match=r"fir_0 \(dmasim.org:user:fir:1.0\) has an AXI memory "
                                          r"master 'm_axi_gmem': user IPs that master memory "
                                          r"are not supported yet"):
        check_design(again, supplied=["fir_0"])


def test_interrupt_to_something_not_a_controller() -> None:
    d = fir_builder().build()
    d.interrupt_lines.append(InterruptLine(d.interrupt_lines[0].source, "fir_0", 0))
    with pytest.raises(DesignError, match=r"goes to 'fir_0', which is not an axi_intc"):
        check_design(d)


# --- interrupts ------------------------------------------------------------------------------


def test_interrupt_index_is_the_bit_position_through_xlconcat() -> None:
    b = fir_builder()
    b.interrupt_controller()
    d = b.build()
    text = render(design=d)
    assert [(x.controller, x.index) for x in parse_hwh(text).interrupt_lines] == [
        ("axi_intc_0", 0), ("axi_intc_0", 1), ("axi_intc_0", 2)]
    wide = text.replace('<PARAMETER NAME="IN0_WIDTH" VALUE="1" />',
                        '<PARAMETER NAME="IN0_WIDTH" VALUE="3" />', 1)
    assert wide != text
    assert [x.index for x in parse_hwh(wide).interrupt_lines] == [0, 3, 4]
    cut = text.replace('<CONNECTION INSTANCE="xlconcat', '<CONNECTION INSTANCE="nowhere')
    assert [(x.controller, x.index) for x in parse_hwh(cut).interrupt_lines] == [(None, None)] * 3


# --- the round trip --------------------------------------------------------------------------


@st.composite
def designs(draw: st.DrawFn) -> Design:
    """Builder designs: 1-3 DMAs, each channel pair looped through FIFOs, slices, user IPs."""
    b = DesignBuilder(name=draw(st.sampled_from(["design_1", "fir_design"])),
                      clock_hz=draw(st.integers(1_000_000, 250_000_000)))
    users: list[str] = []
    for i in range(draw(st.integers(1, 3))):
        width = draw(st.sampled_from([32, 64]))
        channels = draw(st.sampled_from([(1, 1), (1, 1), (1, 0), (0, 1)]))
        name = f"axi_dma_{i}"
        b.dma(name, base=0x4040_0000 + i * 0x1_0000,
              c_sg_length_width=draw(st.integers(8, 26)),
              c_include_mm2s=channels[0], c_include_s2mm=channels[1],
              c_m_axis_mm2s_tdata_width=width, c_s_axis_s2mm_tdata_width=width,
              c_m_axi_mm2s_data_width=width, c_m_axi_s2mm_data_width=width,
              c_mm2s_burst_size=draw(st.sampled_from([2, 16, 256])),
              c_include_mm2s_dre=draw(st.integers(0, 1)))
        if channels != (1, 1):
            continue  # its stream stays unconnected (BUSNAME __NOC__)
        at = f"{name}.M_AXIS_MM2S"
        for j in range(draw(st.integers(0, 3))):
            stage = f"s{i}_{j}"
            kind = draw(st.sampled_from(["fifo", "slice", "user"]))
            if kind == "fifo":
                b.fifo(stage, depth=draw(st.sampled_from([16, 512, 32768])),
                       packet_mode=draw(st.booleans()), tdata_bytes=width // 8)
                ins, outs = "S_AXIS", "M_AXIS"
            elif kind == "slice":
                b.register_slice(stage, tdata_bytes=width // 8)
                ins, outs = "S_AXIS", "M_AXIS"
            else:
                ins, outs = draw(st.sampled_from([("S_AXIS", "M_AXIS"), ("in_r", "out_r")]))
                base = draw(st.sampled_from([None, 0x43C0_0000 + len(users) * 0x2_0000]))
                b.ip(stage, vlnv=f"dmasim.org:user:ip{j}:1.0", base=base,
                     range=draw(st.sampled_from([0x1000, 0x1_0000, 0x2_0000])),
                     streams={ins: "in", outs: "out"}, tdata_bytes=width // 8,
                     interrupts=draw(st.sampled_from([[], ["interrupt"]])),
                     parameters=draw(st.dictionaries(st.sampled_from(["N", "C_TAPS", "MODE"]),
                                                     st.integers(0, 99), max_size=2)),
                     window=draw(st.sampled_from(["S_AXI", "s_axi_control"])),
                     registers=None if base is None else draw(st.dictionaries(
                         st.sampled_from(["CTRL", "GIE", "arg"]),
                         st.sampled_from([0, 4, 0x10, 0x18]), max_size=3)),
                     clock=draw(st.sampled_from(["aclk", "ap_clk"])))
                users.append(stage)
            b.connect(at, f"{stage}.{ins}")
            at = f"{stage}.{outs}"
        b.connect(at, f"{name}.S_AXIS_S2MM")
    if draw(st.booleans()):
        b.interrupt_controller(base=0x4180_0000)
    return b.build()


@settings(max_examples=40, deadline=None)
@given(designs())
def test_round_trip_keeps_the_structure(design: Design) -> None:
    text = render(design=design)
    again = parse_hwh(text)
    assert again.structure() == design.structure()
    assert again == design
    assert again.source is None and any(i.kind == "infrastructure" and i is not again.ps
                                        for i in again.instances.values())
    assert again.ip_dict().keys() == design.ip_dict().keys()
    check_design(again, supplied=[i.name for i in again.of_kind("user")])
    assert render(design=again) == text  # writing is deterministic and idempotent


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(designs())
def test_pynq_sees_the_ip_dict_the_design_reports(design: Design) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = design.write_hwh(Path(folder) / "d.hwh")
        assert_ip_dict_agrees(design, path)


def test_write_overlay_of_a_design_loads_in_pynq(tmp_path: Path) -> None:
    pynq = pytest.importorskip("pynq")
    import dmasim
    from dmasim.pynq_device import SimulatedDevice

    design = fir_builder().build()
    bit = write_overlay(tmp_path, "fir", design=design)
    with dmasim.open_target("model") as t:
        ol = pynq.Overlay(str(bit), download=False, device=SimulatedDevice(t))
        assert sorted(ol.ip_dict) == sorted(design.ip_dict())
        assert type(ol.axi_dma_0).__name__ == "DMA"
        assert ol.ip_dict["fir_0"]["phys_addr"] == 0x43C0_0000
    with pytest.raises(ValueError, match="either parameters"):
        render({"c_sg_length_width": 20}, design)


def test_equality_sees_every_structural_change() -> None:
    def fresh() -> Design:
        return fir_builder().build()

    base = fresh()
    assert base == fresh() and base != 3
    changes = [
        lambda d: d.instance("fir_0").parameters.update(N="2"),
        lambda d: d.instance("axi_dma_0").parameters.update(c_sg_length_width="20"),
        lambda d: d.connections.pop(),
        lambda d: d.interrupt_lines.pop(),
        lambda d: d.instance("fir_0").windows.clear(),
        lambda d: d.instance("fir_0").ports.pop("aclk"),
        lambda d: d.instance("fifo_0").streams.pop("M_AXIS"),
        lambda d: setattr(d, "clock_hz", 50_000_000),
    ]
    for change in changes:
        d = fresh()
        change(d)
        assert d != base
    d = fresh()
    d.instance("axi_dma_0").parameters["C_BASEADDR"] = "0x40400000"  # Vivado's copy: ignored
    d.source = "elsewhere.hwh"
    assert d == base
