"""The ``design=`` / ``parameters=`` options every simulated target takes, read one way.

One rule for the model and the rtl target: ``parameters`` (PYNQ ``ip_dict`` names) configure
the default loopback only; with a ``design`` each DMA's parameters are part of the design, and
giving both is an error rather than a silent choice.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import DmasimValueError
from .types import Design

__all__ = ["design_option"]


def design_option(design: Design | str | os.PathLike[str] | None,
                  parameters: dict[str, Any] | None, phys_addr: int) -> Design:
    """The design a target realises: ``design`` (a Design or a .hwh path), else the loopback.

    ``parameters`` and ``phys_addr`` shape the loopback; ``parameters`` with a ``design``
    raises :class:`DmasimValueError`.
    """
    if design is None:
        return Design.loopback(parameters, phys_addr)
    if parameters:
        raise DmasimValueError(
            "parameters= configures the default loopback design; with design=... set each "
            "DMA's parameters in the design (DesignBuilder.dma(..., c_sg_length_width=...) or "
            "the .hwh)")
    if isinstance(design, (str, os.PathLike)):
        design = Design.from_hwh(design)
    if not isinstance(design, Design):
        raise DmasimValueError(
            f"design={design!r} must be a dmasim.Design or the path of a .hwh file")
    return design
