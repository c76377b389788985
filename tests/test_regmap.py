"""The register map is the one source: generated headers in the tree must match it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmasim import regmap

ROOT = Path(__file__).resolve().parent.parent
GENERATED = {
    ROOT / "hw" / "rtl" / "dmasim_regmap.vh": regmap.verilog_header,
    ROOT / "dmasim" / "drivers" / "native" / "dmasim_regmap.h": regmap.c_header,
}


@pytest.mark.parametrize("path", list(GENERATED), ids=lambda p: p.name)
def test_generated_headers_are_fresh(path):
    if not path.exists():
        pytest.fail(f"{path} is missing: run python -m dmasim.regmap")
    assert path.read_text() == GENERATED[path](), (
        f"{path.name} is stale: regenerate with `python -m dmasim.regmap "
        f"{'verilog' if path.suffix == '.vh' else 'c'} > {path.relative_to(ROOT)}`"
    )


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
