"""The host<->simulator protocol and the shared control area have one source each: the
generated C++ headers match them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dmasim.rtl import protocol, shared

HDL = Path(__file__).resolve().parents[2] / "rtl_tb" / "hdl"
GENERATED = {
    HDL / "dmasim_sim_protocol.h": (protocol.c_header, "c"),
    HDL / "dmasim_sim_shared.h": (shared.c_header, "c"),
}


@pytest.mark.parametrize("path", list(GENERATED), ids=lambda p: p.name)
def test_generated_protocol_headers_are_fresh(path: Path) -> None:
    make, view = GENERATED[path]
    module = make.__module__
    assert path.is_file(), f"{path} is missing: python -m {module} {view} > {path.name}"
    assert path.read_text() == make(), (
        f"{path.name} is stale: regenerate with `python -m {module} {view} > "
        f"rtl_tb/hdl/{path.name}`"
    )


def test_every_opcode_reaches_the_header() -> None:
    for name, (value, _doc) in protocol.OPS.items():
        assert f"constexpr int kOP_{name} = {value};" in protocol.c_header()


def test_every_mailbox_word_reaches_the_header() -> None:
    for name, (value, _doc) in shared.CONTROL.items():
        assert f"constexpr uint32_t k{name} = 0x{value:x};" in shared.c_header()
