"""Hand the two-DMA design, fir_0's model and its RTL to every target, once.

The FIFO needs nothing: dmasim models ``axis_data_fifo`` itself on the model and rtl targets.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def dmasim_design() -> dict[str, Any]:
    """The design of ``design.py``; fir_0 as in ``examples/fir``."""
    from examples.fir.design import fir_rtl
    from examples.fir.fir_model import Fir

    from .design import two_dmas_design

    return {"design": two_dmas_design(), "models": {"fir_0": Fir()},
            "rtl": {"fir_0": fir_rtl()}}
