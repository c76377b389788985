"""dmasim probe: the fixed experiments run on every target, reports compare, the model can
take a board's answers for its uncertain constants."""

from __future__ import annotations

import json

import pytest

import dmasim
from dmasim import probe
from dmasim.cli import main

CERTAIN = ("reset_values", "length_masking", "dmacr_fields", "dmasr_w1c")
"""Experiments whose answers the semantics states without doubt: every target must agree."""


@pytest.fixture(scope="module")
def model_report():
    with dmasim.open_target("model") as m:
        return probe.run_probe(m)


def test_probe_runs_every_experiment(target, model_report):
    if target.name == "board":
        pytest.skip("the board's answers are what the probe is for; see tests/board")
    report = probe.run_probe(target)
    assert report["format"] == probe.FORMAT and report["meta"]["target"] == target.name
    assert list(report["results"]) == list(probe.EXPERIMENTS)
    errors = {k: v for k, v in report["results"].items() if "error" in v}
    assert not errors
    r = report["results"]
    assert r["reset_values"]["MM2S_DMACR"] == "0x00010002"
    assert r["reset_values"]["S2MM_DMASR"] == "0x00000001"
    assert r["length_masking"]["readback_of_2_pow_width"] == 0
    assert r["length_masking"]["readback_of_2_pow_width_plus_64"] == 64
    assert r["length_masking"]["data_ok"] and not r["length_masking"]["power_of_two_started"]
    assert r["overlong_packet"]["beyond_length_untouched"]
    assert r["mm2s_readahead"]["largest_bytes"] >= 512
    json.loads(json.dumps(report))  # a plain JSON document
    # The simulated targets against each other: the certain answers agree; the rest is
    # printed (-s / -rP) for the lead to judge.
    diffs = probe.compare(model_report, report)
    print(f"\nprobe differences, model vs {target.name}: {len(diffs)}")
    for line in diffs:
        print("  " + line)
    assert not [d for d in diffs if d.split(".", 1)[0] in CERTAIN]


def test_compare_lists_every_difference(model_report):
    assert probe.compare(model_report, model_report) == []
    other = json.loads(json.dumps(model_report))
    other["meta"]["target"] = "board"
    other["results"]["mm2s_readahead"]["largest_bytes"] = 536
    del other["results"]["dmasr_w1c"]["before"]
    assert probe.compare(model_report, other) == [
        "dmasr_w1c.before: model='0x00001002' board='(absent)'",
        "mm2s_readahead.largest_bytes: model=528 board=536",
    ]


def test_board_truth_overrides_the_models_uncertain_constants(model_report):
    board = json.loads(json.dumps(model_report))
    board["meta"]["target"] = "board"
    board["results"]["mm2s_readahead"]["largest_bytes"] = 536
    board["results"]["soft_reset_window"]["first_effective_write"] = 3
    assert probe.model_overrides(board) == {"SKID_BEATS": 6, "RESET_CYCLES": 60}
    from dmasim.model import dma

    before = (dma.SKID_BEATS, dma.RESET_CYCLES)
    with probe.board_truth(board) as used, dmasim.open_target("model") as m:
        assert used == {"SKID_BEATS": 6, "RESET_CYCLES": 60}
        again = probe.run_probe(m, ["mm2s_readahead"])
    assert again["results"]["mm2s_readahead"]["largest_bytes"] == 536
    assert before == (dma.SKID_BEATS, dma.RESET_CYCLES)


def test_cli_probe_out_and_compare(tmp_path, capsys):
    out = tmp_path / "model.json"
    assert main(["probe", "--target", "model", "--only", "reset_values,length_masking",
                 "--out", str(out)]) == 0
    report = probe.load_report(out)
    assert set(report["results"]) == {"reset_values", "length_masking"}
    assert main(["probe", "--only", "reset_values,length_masking", "--compare", str(out)]) == 0
    report["results"]["reset_values"]["MM2S_DMACR"] = "0x00010003"
    out.write_text(json.dumps(report))
    capsys.readouterr()
    assert main(["probe", "--only", "reset_values,length_masking", "--compare", str(out)]) == 1
    assert "reset_values.MM2S_DMACR: model='0x00010003' model='0x00010002'" in (
        capsys.readouterr().out)


def test_bad_input_is_a_clear_error(tmp_path):
    with dmasim.open_target("model") as m, pytest.raises(dmasim.DmasimValueError,
                                                         match="allowed"):
        probe.run_probe(m, ["nope"])
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(dmasim.DmasimValueError, match="not a dmasim probe report"):
        probe.load_report(bad)
