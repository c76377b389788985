"""Design.from_hwh against real Vivado .hwh files from public PYNQ projects.

The files are not in the repository: ``DMASIM_HWH_CORPUS`` names the folder holding them
(``.ci/run`` sets it when the folder is there); without it these tests skip. For each file the
facts its project shows (DMAs and their parameters, stream links, addresses, hierarchy, clock)
are checked, and ``Design.ip_dict()`` is compared with pynq 4.0's own parse of the same file.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from design_helpers import assert_ip_dict_agrees, pynq_parse

from dmasim.design import Design, DesignWarning, check_design, fifo_settings
from dmasim.design.hwh_read import parse_hwh
from dmasim.errors import DesignError


@dataclass(frozen=True)
class Expect:
    """What a file's design is, as its project describes it."""

    file: str
    clock_mhz: int
    windows: dict[str, tuple[int, int]]
    links: set[tuple[str, str]]
    dmas: dict[str, dict[str, str]]
    users: set[str] = field(default_factory=set)
    board: str = ""
    unconnected: tuple[str, ...] = ()


K64 = 0x1_0000
CORPUS = [
    Expect("nicholasmullikin__eece4632__design_1.hwh", 50,
           {"axi_dma_0": (0x4040_0000, K64)},
           {("axi_dma_0.M_AXIS_MM2S", "divide6_0.in_r"),
            ("divide6_0.out_r", "axi_dma_0.S_AXIS_S2MM")},
           {"axi_dma_0": {"c_include_sg": "0", "c_include_mm2s": "1", "c_include_s2mm": "1"}},
           users={"divide6_0"}),
    Expect("gt-cs3220__gt-cs3220.github.io__tutorial_2.hwh", 100,
           {"const_multiply/multiply_dma": (0x4040_0000, K64), "old_add": (0x43C0_0000, K64),
            "const_multiply/multiply": (0x43C1_0000, K64)},
           {("const_multiply_multiply_dma.M_AXIS_MM2S", "const_multiply_multiply.in_data"),
            ("const_multiply_multiply.out_data", "const_multiply_multiply_dma.S_AXIS_S2MM")},
           {"const_multiply_multiply_dma": {"c_include_sg": "0", "c_sg_length_width": "23"}},
           users={"const_multiply_multiply", "old_add"},
           board="digilentinc.com:arty-z7-20:part0:1.0"),
    Expect("rogerpease__PYNQProjects__AXIMasterSlaveStream.hwh", 100,
           {"axi_dma_0": (0x4040_0000, K64), "AXIMasterSlaveStream_0": (0x43C0_0000, K64)},
           {("axi_dma_0.M_AXIS_MM2S", "AXIMasterSlaveStream_0.s00_axis"),
            ("AXIMasterSlaveStream_0.m00_axis", "axi_dma_0.S_AXIS_S2MM")},
           {"axi_dma_0": {"c_include_sg": "0", "c_sg_length_width": "14"}},
           users={"AXIMasterSlaveStream_0"}, board="tul.com.tw:pynq-z2:part0:1.0"),
    Expect("Xilinx__PYNQ_Workshop__dma_tutorial.hwh", 50,
           {"axi_dma_from_pl_to_ps": (0x4040_0000, K64),
            "axi_dma_from_ps_to_pl": (0x4041_0000, K64)},
           {("axi_dma_from_ps_to_pl.M_AXIS_MM2S", "axis_data_fifo.S_AXIS"),
            ("axis_data_fifo.M_AXIS", "axi_dma_from_pl_to_ps.S_AXIS_S2MM")},
           {"axi_dma_from_ps_to_pl": {"c_include_mm2s": "1", "c_include_s2mm": "0"},
            "axi_dma_from_pl_to_ps": {"c_include_mm2s": "0", "c_include_s2mm": "1"}}),
    Expect("aashim007__2D-Convolution-Filter__design_1.hwh", 50,
           {"conv2d_linebuff_stre_0": (0x4000_0000, K64), "axi_timer_0": (0x41C0_0000, K64),
            "axi_dma_0": (0x41E0_0000, K64)},
           {("axi_dma_0.M_AXIS_MM2S", "conv2d_linebuff_stre_0.in_stream"),
            ("conv2d_linebuff_stre_0.out_stream", "axi_dma_0.S_AXIS_S2MM")},
           {"axi_dma_0": {"c_include_sg": "1", "c_sg_include_stscntrl_strm": "1"}},
           users={"conv2d_linebuff_stre_0", "axi_timer_0"},
           unconnected=("axi_dma_0.M_AXIS_CNTRL", "axi_dma_0.S_AXIS_STS")),
    Expect("Vipinkthomas__PYNQ-Stegnography__Steganography.hwh", 150,
           {"pixel": (0x4000_0000, K64), "axi_dma_0": (0x41E0_0000, K64),
            "axi_dma_1": (0x41E1_0000, K64)},
           {("axi_dma_0.M_AXIS_MM2S", "pixel.din"), ("pixel.dout", "axi_dma_1.S_AXIS_S2MM")},
           {"axi_dma_0": {"c_include_sg": "0"}, "axi_dma_1": {"c_include_sg": "0"}},
           users={"pixel"},
           unconnected=("axi_dma_0.S_AXIS_S2MM", "axi_dma_1.M_AXIS_MM2S")),
]


@pytest.fixture(scope="module")
def corpus() -> Path:
    folder = os.environ.get("DMASIM_HWH_CORPUS")
    if not folder:
        pytest.skip("DMASIM_HWH_CORPUS is not set: it names the folder of real Vivado .hwh "
                    "files (.ci/run sets it when they are beside the checkout)")
    path = Path(folder)
    assert path.is_dir(), f"DMASIM_HWH_CORPUS={folder} is not a folder"
    return path


@pytest.fixture(params=CORPUS, ids=lambda e: e.file.split("__")[-1].removesuffix(".hwh"))
def case(request: pytest.FixtureRequest, corpus: Path) -> tuple[Expect, Path, Design]:
    expect: Expect = request.param
    path = corpus / expect.file
    assert path.is_file(), f"{path} is missing from the corpus"
    return expect, path, Design.from_hwh(path)


def test_file_starts_with_a_bom_and_reads(case: tuple[Expect, Path, Design]) -> None:
    expect, path, design = case
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert design.source == str(path)
    assert design.part == "xc7z020clg400-1"
    assert design.board == expect.board
    assert design.clock_hz == expect.clock_mhz * 1_000_000


def test_windows_and_addresses(case: tuple[Expect, Path, Design]) -> None:
    expect, _, design = case
    got = {k: (v["phys_addr"], v["addr_range"])
           for k, v in design.ip_dict().items() if "phys_addr" in v}
    assert got == expect.windows
    for key, (base, size) in expect.windows.items():
        inst = design.instance(key)  # the ip_dict path finds the instance too
        assert inst.window is not None and (inst.window.base, inst.window.range) == (base, size)
        assert inst.window.memtype == "REGISTER"
        assert inst.window.port_map["AWADDR"] in inst.ports


def test_dmas_and_their_parameters(case: tuple[Expect, Path, Design]) -> None:
    expect, _, design = case
    assert {d.name for d in design.dmas} == set(expect.dmas)
    for name, params in expect.dmas.items():
        inst = design.instance(name)
        assert {k: inst.parameters[k] for k in params} == params
        assert inst.window is not None and inst.window.interface == "S_AXI_LITE"
        mm2s, s2mm = inst.param("c_include_mm2s") == 1, inst.param("c_include_s2mm") == 1
        assert ("M_AXIS_MM2S" in inst.streams) == mm2s == ("M_AXI_MM2S" in inst.masters)
        assert ("S_AXIS_S2MM" in inst.streams) == s2mm == ("M_AXI_S2MM" in inst.masters)
        assert ("M_AXI_SG" in inst.masters) == (inst.param("c_include_sg") == 1)
        for stream in inst.streams.values():
            assert stream.tdata_bytes == 4 and stream.has_tkeep and stream.has_tlast


def test_stream_links_resolved_through_busnames(case: tuple[Expect, Path, Design]) -> None:
    expect, _, design = case
    assert {(str(c.src), str(c.dst)) for c in design.connections} == expect.links
    for end in expect.unconnected:  # BUSNAME="__NOC__"
        inst, iface = end.split(".")
        assert iface in design.instance(inst).streams
        assert design.peer(inst, iface) is None


def test_kinds_and_user_ips(case: tuple[Expect, Path, Design]) -> None:
    expect, _, design = case
    assert {i.name for i in design.of_kind("user")} == expect.users
    ps = design.ps
    assert ps is not None and ps.kind == "infrastructure" and "M_AXI_GP0" in ps.masters
    for inst in design.of_kind("user"):
        assert not inst.masters  # none of these IPs masters memory
    # No interrupt is wired in any of these designs: every output is there, unconnected.
    assert design.interrupt_lines
    assert all(x.index is None and x.controller is None for x in design.interrupt_lines)
    for line in design.interrupt_lines:
        port = design.instance(line.source.instance).ports[line.source.interface]
        assert port.sigis == "intr" and port.direction == "O"


def test_ip_dict_agrees_with_pynq(case: tuple[Expect, Path, Design]) -> None:
    _, path, design = case
    assert_ip_dict_agrees(design, path)


def test_written_back_is_the_same_design_for_us_and_for_pynq(
        case: tuple[Expect, Path, Design], tmp_path: Path) -> None:
    _, path, design = case
    out = design.write_hwh(tmp_path / "again.hwh")
    again = Design.from_hwh(out)
    assert again.structure() == design.structure()
    theirs = assert_ip_dict_agrees(again, out)
    original = pynq_parse(path)
    assert {k: (v.get("phys_addr"), v.get("type")) for k, v in theirs.items()} == \
        {k: (v.get("phys_addr"), v.get("type")) for k, v in original.ip_dict.items()}
    assert sorted(pynq_parse(out).hierarchy_dict) == sorted(original.hierarchy_dict)


def test_older_master_slave_stream_types_read_the_same(
        case: tuple[Expect, Path, Design]) -> None:
    """Vivado before 2020 writes axis TYPE="MASTER"/"SLAVE" instead of INITIATOR/TARGET."""
    _, path, design = case
    text = path.read_bytes()
    old = text.replace(b'TYPE="INITIATOR"', b'TYPE="MASTER"').replace(
        b'TYPE="TARGET"', b'TYPE="SLAVE"')
    assert old != text
    assert parse_hwh(old).structure() == design.structure()


def test_hierarchy_keeps_the_path(corpus: Path) -> None:
    design = Design.from_hwh(corpus / CORPUS[1].file)
    inst = design.instance("const_multiply_multiply")
    assert inst.fullname == "/const_multiply/multiply"
    assert inst.vlnv == "Xilinx:hls:mult_constant:1.0"
    assert design.instance("const_multiply/multiply") is inst
    assert design.instance("const_multiply/multiply_dma").kind == "dma"
    assert "const_multiply/multiply" in design.ip_dict()
    assert "const_multiply" in pynq_parse(corpus / CORPUS[1].file).hierarchy_dict
    lite = inst.windows[0]
    assert (lite.interface, lite.addr_width, lite.data_width, lite.protocol) == \
        ("s_axi_AXILiteS", 5, 32, "AXI4LITE")


def test_stream_details(corpus: Path) -> None:
    """HLS streams carry 1-bit TUSER/TID/TDEST; template RTL has TSTRB but no TKEEP."""
    hls = Design.from_hwh(corpus / CORPUS[0].file).instance("divide6_0")
    s = hls.streams["in_r"]
    assert (s.direction, s.tuser_width, s.tid_width, s.tdest_width, s.has_tstrb) == \
        ("in", 1, 1, 1, True)
    assert s.port_map["TDATA"] == "in_r_TDATA" and hls.ports["in_r_TDATA"].width == 32
    assert hls.windows == []  # ap_ctrl_none, no AXI-Lite
    rtl = Design.from_hwh(corpus / CORPUS[2].file).instance("AXIMasterSlaveStream_0")
    m = rtl.streams["m00_axis"]
    assert (m.direction, m.has_tkeep, m.has_tstrb, m.has_tlast) == ("out", False, True, True)
    assert "TKEEP" not in m.port_map and m.port_map["TSTRB"] == "m00_axis_tstrb"
    fifo = Design.from_hwh(corpus / CORPUS[3].file).instance("axis_data_fifo")
    assert fifo.kind == "builtin" and fifo_settings(fifo) == (512, False)


def test_check_design_on_the_corpus(corpus: Path) -> None:
    def load(i: int) -> Design:
        return Design.from_hwh(corpus / CORPUS[i].file)

    check_design(load(3), supplied=[])  # two DMAs and a FIFO: nothing to supply
    with pytest.raises(DesignError, match=r"divide6_0 \(xilinx.com:hls:divide6:1.0\) is not "
                                          r"modelled.*models=\{'divide6_0'"):
        check_design(load(0), supplied=[])
    check_design(load(0), supplied=["divide6_0"])
    with pytest.raises(DesignError,
                       match=r"axi_dma_0 .*c_sg_include_stscntrl_strm=1 is not modelled"):
        check_design(load(4))
    with pytest.warns(DesignWarning, match=r"axi_dma_0.M_AXIS_MM2S has TKEEP but "
                                           r"AXIMasterSlaveStream_0.s00_axis has none"):
        check_design(load(2), supplied=["AXIMasterSlaveStream_0"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_design(load(5), supplied=["pixel"])
