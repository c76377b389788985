"""The host<->simulator protocol has one source: the generated C++ and HDL headers match it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmasim.rtl import protocol

HDL = Path(__file__).resolve().parents[2] / "rtl_tb" / "hdl"
GENERATED = {
    HDL / "dmasim_sim_protocol.h": (protocol.c_header, "c"),
}


@pytest.mark.parametrize("path", list(GENERATED), ids=lambda p: p.name)
def test_generated_protocol_headers_are_fresh(path: Path) -> None:
    make, view = GENERATED[path]
    assert path.is_file(), f"{path} is missing: python -m dmasim.rtl.protocol {view} > {path.name}"
    assert path.read_text() == make(), (
        f"{path.name} is stale: regenerate with `python -m dmasim.rtl.protocol {view} > "
        f"rtl_tb/hdl/{path.name}`"
    )


def test_every_opcode_reaches_the_header() -> None:
    for name, (value, _doc) in protocol.OPS.items():
        assert f"constexpr int kOP_{name} = {value};" in protocol.c_header()
