"""Hand the FIR design, its Python model and its RTL to every target, once.

dmasim's ``target`` fixture opens each target (model, rtl, board) with what the
``dmasim_design`` fixture returns: the keyword arguments of ``dmasim.open_target``. A project
with its own IP overrides it like this in its ``conftest.py``; everything below this folder
then runs against that design.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def dmasim_design() -> dict[str, Any]:
    """The FIR design (built in Python), ``fir_0``'s model and its Verilog."""
    # imported here, not at the top, so collecting the RTL-only tests in tests/ needs neither
    from .design import fir_design, fir_rtl
    from .fir_model import Fir

    return {"design": fir_design(), "models": {"fir_0": Fir()}, "rtl": {"fir_0": fir_rtl()}}
