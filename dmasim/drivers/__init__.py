"""Driver levels by name: ``"pynq"``, ``"python"``, ``"pybind11"``, ``"cffi"``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import DmasimValueError

if TYPE_CHECKING:
    from ..target import Target
    from .base import DmaDriver

__all__ = ["LEVELS", "load_driver"]

LEVELS: dict[str, str] = {
    "pynq": "dmasim.drivers.pynq:PynqDMA",
    "python": "dmasim.drivers.python:PythonDMA",
    "pybind11": "dmasim.drivers.native:Pybind11DMA",
    "cffi": "dmasim.drivers.native:CffiDMA",
}
"""Levels in the notebook's order: each should be faster than the one before."""


def load_driver(level: str, target: Target, ip_name: str = "axi_dma_0") -> DmaDriver:
    """Instantiate driver ``level`` for ``ip_name`` on ``target``."""
    spec = LEVELS.get(level)
    if spec is None:
        raise DmasimValueError(f"unknown driver level {level!r}: allowed {', '.join(LEVELS)}")
    module, _, attr = spec.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls(target, ip_name)  # type: ignore[no-any-return]
