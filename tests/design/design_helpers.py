"""Shared by the design tests: pynq 4.0's own parse of a .hwh, and the comparison with ours."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from dmasim.design import Design

COMPARED = ("phys_addr", "addr_range", "type", "fullpath", "mem_id")


def pynq_parse(path: str | Path) -> Any:
    """pynq 4.0's parser of a .hwh, as its EmbeddedDevice runs it (skips without pynq)."""
    pytest.importorskip("pynqmetadata")
    from pynqmetadata.frontends import Metadata
    from pynqmetadata.views.runtime import RuntimeMetadataParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return RuntimeMetadataParser(Metadata(input=str(path)))


def assert_ip_dict_agrees(design: Design, path: str | Path) -> dict[str, Any]:
    """``design.ip_dict()`` has pynq's keys, addresses, types, interrupts, registers.

    pynq merges every bus interface's parameters into an IP's ``parameters``; ours are the
    module's own, so they must be a subset with the same values.
    """
    theirs = pynq_parse(path).ip_dict
    ours = design.ip_dict()
    assert sorted(ours) == sorted(theirs)
    for name, info in theirs.items():
        for key in COMPARED:
            assert ours[name].get(key) == info.get(key), (name, key)
        assert ours[name]["interrupts"] == info["interrupts"], name
        assert ours[name].get("registers") == info.get("registers"), name
        params = ours[name]["parameters"]
        assert {k: info["parameters"].get(k) for k in params} == params, name
    return theirs
