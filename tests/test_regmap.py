"""The register map is the one source: generated headers in the tree must match it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmasim import constants, regmap

ROOT = Path(__file__).resolve().parent.parent
GENERATED = {
    ROOT / "hw" / "rtl" / "dmasim_regmap.vh": (regmap.verilog_header, "regmap verilog"),
    ROOT / "dmasim" / "drivers" / "native" / "dmasim_regmap.h": (regmap.c_header, "regmap c"),
    ROOT / "hw" / "rtl" / "dmasim_constants.vh": (constants.verilog_header, "constants verilog"),
    ROOT / "dmasim" / "drivers" / "native" / "dmasim_constants.h": (
        constants.c_header, "constants c"),
}


@pytest.mark.rule("POLL-BACKOFF", "REG-MAP")
@pytest.mark.parametrize("path", list(GENERATED), ids=lambda p: p.name)
def test_generated_headers_are_fresh(path):
    if not path.exists():
        pytest.fail(f"{path} is missing: run python -m dmasim.{GENERATED[path][1]}")
    make, command = GENERATED[path]
    assert path.read_text() == make(), (
        f"{path.name} is stale: regenerate with `python -m dmasim.{command} > "
        f"{path.relative_to(ROOT)}`"
    )


@pytest.mark.rule("REG-MAP", "REG-RESET-VALUES")
def test_offsets_match_pg021():
    assert (regmap.MM2S.DMACR, regmap.MM2S.DMASR, regmap.MM2S.ADDR, regmap.MM2S.LENGTH) == (
        0x00, 0x04, 0x18, 0x28)
    assert (regmap.S2MM.DMACR, regmap.S2MM.DMASR, regmap.S2MM.ADDR, regmap.S2MM.LENGTH) == (
        0x30, 0x34, 0x48, 0x58)
    assert regmap.DMACR.reset == 0x0001_0002
    assert regmap.DMASR.reset == 0x0000_0001
    assert regmap.DMASR_IRQS == 0x7000


def test_decode_and_describe():
    assert regmap.decode(regmap.DMASR, 0x1002)["IOC_Irq"] == 1
    assert regmap.describe_status(0x4011) == "0x00004011 (Halted DMAIntErr Err_Irq)"
    assert "MM2S_DMACR" in regmap.markdown_table()


def test_cli_views(capsys):
    assert regmap.main(["verilog"]) == 0
    assert "`define DMASIM_S2MM_BASE" in capsys.readouterr().out
    assert regmap.main(["bogus"]) == 2


@pytest.mark.rule("FLOW-SF-DEPTH", "FLOW-SKID")
def test_constants_views_and_depth_rule(capsys):
    assert constants.main(["c"]) == 0
    assert "#define DMASIM_S2MM_SKID_BEATS" in capsys.readouterr().out
    assert constants.main(["bogus"]) == 2
    # (4 + 2) bursts rounded up to a power of two, at least 128 beats
    assert [constants.mm2s_fifo_beats(b) for b in (2, 16, 32, 64, 256)] == [
        128, 128, 256, 512, 2048]
    skid = constants.S2MM_SKID_BEATS
    assert constants.readahead_bytes({}) == (128 + skid) * 4
    assert constants.readahead_bytes({"c_mm2s_burst_size": "64",
                                      "c_m_axi_mm2s_data_width": "64"}) == (512 + skid) * 8


@pytest.mark.rule("POLL-DIAG-READAHEAD")
def test_diagnosis_names_the_designs_readahead():
    from dmasim.drivers.diagnose import Pending, timeout_error
    from dmasim.errors import DmaState

    state = DmaState(mm2s_dmasr=0, s2mm_dmasr=0, mm2s_dmacr=1, s2mm_dmacr=1, s2mm_length=0)
    pending = {"MM2S": Pending(0, 65536, True), "S2MM": Pending()}
    big = constants.readahead_bytes({"c_mm2s_burst_size": 64})
    assert f"about {big} bytes" in str(timeout_error("MM2S", state, pending, 0.1,
                                                     readahead=big))
    assert f"about {constants.readahead_bytes({})} bytes" in str(
        timeout_error("MM2S", state, pending, 0.1))
