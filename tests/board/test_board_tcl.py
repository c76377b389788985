"""hw/board/dma_loopback.tcl builds the design whose .hwh dmasim writes for the same overlay.

Vivado is not available here, so the script runs in a plain Tcl interpreter (Python's tkinter)
over a stand-in for the Vivado commands it uses (``vivado_standin.tcl``), which records the
block design: cells, configuration, nets, connection automation, address segments, outputs.
That design is then compared with what pynq reads from the .hwh that dmasim's writer produces
for :func:`dmasim.pynq.overlay.board_design` (the loopback with its lines on ``axi_intc_0``):
the same DMA configuration, interrupt pins on the same controller inputs, the controller's irq
on IRQ_F2P[0], the same register windows and the same masters on HP0. What only Vivado can
check (IP names and properties it accepts, timing, the bitstream) is not checked here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

tkinter = pytest.importorskip("tkinter", reason="needs Tcl (Python's tkinter) to run the script")
pytest.importorskip("pynqmetadata", reason="compares with pynq's reading of the .hwh")

from dmasim.design import Design
from dmasim.pynq.overlay import board_design, write_overlay

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "hw" / "board" / "dma_loopback.tcl"
STANDIN = Path(__file__).parent / "vivado_standin.tcl"
VARIANTS = {"simple": ([], {}, "dma_loopback_1"),
            "sg": (["sg"], {"c_include_sg": 1}, "dma_loopback_sg")}


class BlockDesign:
    """What the script built, read back from the stand-in's records."""

    def __init__(self, tcl: Any):
        def dict_of(expr: str) -> dict[str, str]:
            items = tcl.splitlist(tcl.eval(expr))
            return dict(zip(items[::2], items[1::2], strict=True))

        def lists(name: str) -> list[tuple[str, ...]]:
            return [tuple(tcl.splitlist(x)) for x in tcl.splitlist(tcl.eval(f"set {name}"))]

        self.cells = dict_of("set ::bd::cells")
        self.config = {c: dict_of(f"dict get $::bd::config {c}") for c in self.cells}
        self.nets = lists("::bd::nets")
        self.intf_nets = lists("::bd::intf_nets")
        self.links = lists("::bd::links")
        self.segs = {s: dict_of(f"dict get $::bd::segs {{{s}}}")
                     for s in tcl.splitlist(tcl.eval("dict keys $::bd::segs"))}
        self.copies = list(tcl.splitlist(tcl.eval("set ::bd::copies")))

    def net_of(self, pin: str) -> set[str]:
        """Every pin on the net that ``pin`` is on."""
        for net in self.nets:
            if pin in net:
                return set(net) - {pin}
        return set()

    def interrupt_pins(self) -> dict[str, tuple[str, int]]:
        """pynq's view: a pin -> (controller, input), resolved through xlconcat cells."""
        out = {}
        for net in self.nets:
            for pin in net:
                port = pin.partition("/")[2]
                if not port.endswith("introut"):
                    continue
                for other in set(net) - {pin}:
                    concat, _, inport = other.partition("/")
                    if "xlconcat" not in self.cells[concat] or not inport.startswith("In"):
                        continue
                    for sink in self.net_of(f"{concat}/dout"):
                        ctrl, _, sport = sink.partition("/")
                        if "axi_intc" in self.cells[ctrl] and sport == "intr":
                            out[pin] = (ctrl, int(inport[2:]))
        return out

    def windows(self) -> dict[str, tuple[int, int]]:
        """cell -> (base, range) of every GP0 address segment."""
        sizes = {"64K": 0x1_0000}
        return {seg.split("SEG_")[1].rsplit("_Reg", 1)[0]: (int(v["offset"], 16),
                                                            sizes[v["range"]])
                for seg, v in self.segs.items()}


def run_script(args: list[str]) -> BlockDesign:
    tcl = tkinter.Tcl()
    tcl.eval(f"set argv {{{' '.join(args)}}}")
    tcl.eval(f"source {{{STANDIN}}}")
    tcl.eval("proc puts {args} {}")  # the script's progress lines
    tcl.eval(f"source {{{SCRIPT}}}")
    return BlockDesign(tcl)


def pynq_view(tmp: Path, params: dict[str, Any]) -> tuple[Any, Design]:
    """pynq's parse (as pynq 4's EmbeddedDevice) and dmasim's read of the written .hwh."""
    from pynqmetadata.frontends import Metadata
    from pynqmetadata.views.runtime import RuntimeMetadataParser

    bit = write_overlay(tmp, "board", design=board_design(params))
    hwh = bit.with_suffix(".hwh")
    return RuntimeMetadataParser(Metadata(input=str(hwh))), Design.from_hwh(str(hwh))


@pytest.fixture(params=sorted(VARIANTS))
def variant(request):
    args, params, output = VARIANTS[request.param]
    return run_script(args), params, output


def test_the_script_runs_and_writes_the_variants_files(variant):
    bd, _params, output = variant
    assert bd.copies == [f"{output}.bit", f"{output}.hwh"]


def test_dma_configuration_matches_the_hwh(variant, tmp_path):
    bd, params, _ = variant
    parser, _design = pynq_view(tmp_path, params)
    hwh_params = parser.ip_dict["axi_dma_0"]["parameters"]
    assert bd.cells["axi_dma_0"] == parser.ip_dict["axi_dma_0"]["type"]
    script = {k.removeprefix("CONFIG."): str(v) for k, v in bd.config["axi_dma_0"].items()}
    assert script["c_include_sg"] == str(params.get("c_include_sg", 0))
    compared = [k for k in script if k in hwh_params]
    assert {"c_include_sg", "c_sg_length_width", "c_m_axi_mm2s_data_width",
            "c_addr_width"} <= set(compared)
    assert {k: script[k] for k in compared} == {k: hwh_params[k] for k in compared}
    assert script.get("c_sg_include_stscntrl_strm") == "0"  # the drivers need it off


def test_interrupts_reach_the_ps_through_axi_intc_as_in_the_hwh(variant, tmp_path):
    bd, params, _ = variant
    parser, _design = pynq_view(tmp_path, params)
    pins = {p: (v["controller"], v["index"]) for p, v in parser.interrupt_pins.items()
            if p.startswith("axi_dma_0/")}
    assert pins == {"axi_dma_0/mm2s_introut": ("axi_intc_0", 0),
                    "axi_dma_0/s2mm_introut": ("axi_intc_0", 1)}
    assert bd.interrupt_pins() == pins
    assert bd.cells["axi_intc_0"] == parser.ip_dict["axi_intc_0"]["type"]
    assert bd.config["axi_intc_0"]["CONFIG.C_IRQ_CONNECTION"] == \
        parser.ip_dict["axi_intc_0"]["parameters"]["C_IRQ_CONNECTION"]
    # The controller's irq alone drives IRQ_F2P: bit 0, pynq's raw_irq 61 on a Zynq-7000.
    ctrl = parser.interrupt_controllers["axi_intc_0"]
    assert (ctrl["parent"], ctrl["index"]) == ("", 0)
    assert bd.net_of("axi_intc_0/irq") == {"processing_system7_0/IRQ_F2P"}
    assert bd.config["processing_system7_0"]["CONFIG.PCW_USE_FABRIC_INTERRUPT"] == "1"
    assert bd.config["processing_system7_0"]["CONFIG.PCW_IRQ_F2P_INTR"] == "1"


def test_register_windows_match_the_hwh(variant, tmp_path):
    bd, params, _ = variant
    parser, _design = pynq_view(tmp_path, params)
    hwh = {name: (info["phys_addr"], info["addr_range"]) for name, info in parser.ip_dict.items()
           if info.get("phys_addr") is not None and info.get("addr_range")}
    assert bd.windows() == hwh == {"axi_dma_0": (0x4040_0000, 0x1_0000),
                                   "axi_intc_0": (0x4180_0000, 0x1_0000)}
    gp0 = {(s, ic) for m, s, ic in bd.links if m == "processing_system7_0/M_AXI_GP0"}
    assert gp0 == {("axi_dma_0/S_AXI_LITE", "ps7_0_axi_periph"),
                   ("axi_intc_0/s_axi", "ps7_0_axi_periph")}


def test_memory_masters_and_plumbing_match_the_hwh(variant, tmp_path):
    bd, params, _ = variant
    _parser, design = pynq_view(tmp_path, params)
    hp0 = {m.split("/")[1] for m, s, ic in bd.links
           if s == "processing_system7_0/S_AXI_HP0" and ic == "axi_mem_intercon"}
    assert hp0 == set(design.instances["axi_dma_0"].masters)
    assert ("M_AXI_SG" in hp0) == bool(params.get("c_include_sg"))
    assert bd.intf_nets == [("axi_dma_0/M_AXIS_MM2S", "axi_dma_0/S_AXIS_S2MM")]
    assert [(c.src.instance, c.src.interface, c.dst.instance, c.dst.interface)
            for c in design.connections] == [("axi_dma_0", "M_AXIS_MM2S", "axi_dma_0",
                                              "S_AXIS_S2MM")]
    # The interconnects, reset and controller the .hwh names are the ones the script makes.
    plumbing = {"ps7_0_axi_periph", "axi_mem_intercon", "rst_ps7_0_100M", "axi_intc_0",
                "processing_system7_0", "axi_dma_0"}
    assert plumbing <= set(bd.cells) and plumbing <= set(design.instances)
    assert {bd.cells[n] for n in plumbing} == {design.instances[n].vlnv for n in plumbing}


def test_the_standin_catches_a_misnamed_pin():
    """The comparison is only as good as the stand-in's checks: a wrong cell name fails."""
    tcl = tkinter.Tcl()
    tcl.eval(f"source {{{STANDIN}}}")
    tcl.eval("create_bd_cell -type ip -vlnv xilinx.com:ip:axi_intc:4.1 axi_intc_0")
    with pytest.raises(tkinter.TclError, match="no cell axi_intc0"):
        tcl.eval("connect_bd_net [get_bd_pins axi_intc0/irq] [get_bd_pins axi_intc_0/intr]")
    with pytest.raises(tkinter.TclError, match="not connected to M_AXI_GP0"):
        tcl.eval("get_bd_addr_segs {processing_system7_0/Data/SEG_axi_intc_0_Reg}")
