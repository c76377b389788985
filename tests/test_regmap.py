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


@pytest.mark.rule("SG-REGS", "SG-BD-LAYOUT")
def test_sg_offsets_and_bd_layout():
    assert (regmap.MM2S.CURDESC, regmap.MM2S.CURDESC_MSB, regmap.MM2S.TAILDESC,
            regmap.MM2S.TAILDESC_MSB) == (0x08, 0x0C, 0x10, 0x14)
    assert (regmap.S2MM.CURDESC, regmap.S2MM.CURDESC_MSB, regmap.S2MM.TAILDESC,
            regmap.S2MM.TAILDESC_MSB) == (0x38, 0x3C, 0x40, 0x44)
    assert regmap.DMACR.field("Cyclic").mask == 0x10
    assert [regmap.DMASR.field(n).lsb for n in ("SGIncld", "SGIntErr", "SGSlvErr", "SGDecErr",
                                                "IRQThresholdSts", "IRQDelaySts")] == [
        3, 8, 9, 10, 16, 24]
    bd = regmap.BD
    assert (bd.NXTDESC, bd.BUFFER_ADDRESS, bd.CONTROL, bd.STATUS, bd.APP4, bd.SIZE) == (
        0x00, 0x08, 0x18, 0x1C, 0x30, 0x40)
    assert (regmap.BD_CMPLT, regmap.BD_TXSOF, regmap.BD_TXEOF, regmap.BD_RXSOF,
            regmap.BD_RXEOF) == (1 << 31, 1 << 27, 1 << 26, 1 << 27, 1 << 26)
    # Simple mode keeps 0x08..0x14 reserved; SG mode keeps SA/DA/LENGTH reserved.
    assert regmap.register_at(0x08, sg=False) is None
    assert regmap.register_at(0x58, sg=True) is None
    assert regmap.register_at(0x40, sg=True) == (regmap.S2MM, regmap.TAILDESC)
    assert list(regmap.read_channel(lambda off: off, regmap.S2MM, sg=True)) == [
        "S2MM_DMACR", "S2MM_DMASR", "S2MM_CURDESC", "S2MM_CURDESC_MSB", "S2MM_TAILDESC",
        "S2MM_TAILDESC_MSB"]
    words = [0x1040, 0, 0x2000, 0, 0, 0, 0x0C00_0100, 0x8C00_0080] + [0] * 8
    text = regmap.decode_bd(words, at=0x1000)
    assert text == ("BD@0x1000 next=0x1040 buffer=0x2000 CONTROL=0x0c000100 (length=256 TXEOF "
                    "TXSOF) STATUS=0x8c000080 (transferred=128 RXEOF RXSOF Cmplt)")
    assert "DMASIM_BD_STATUS_CMPLT_MASK 0x80000000u" in regmap.c_header()
    assert "`define DMASIM_S2MM_TAILDESC 32'h00000040" in regmap.verilog_header()
