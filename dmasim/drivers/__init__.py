"""Driver levels by name: ``"pynq"``, ``"python"``, ``"pybind11"``, ``"cffi"``.

:func:`load_driver` is the factory the contract (:data:`dmasim.target.DRIVER_FACTORY`) calls:
the drivers depend on :mod:`dmasim.target`, never the other way round.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import DmasimValueError

if TYPE_CHECKING:
    from ..target import Driver, Target
    from .base import DmaDriver

__all__ = ["LEVELS", "load_driver"]

LEVELS: dict[str, str] = {
    "pynq": "dmasim.drivers.pynq:PynqDMA",
    "python": "dmasim.drivers.python:PythonDMA",
    "pybind11": "dmasim.drivers.native:Pybind11DMA",
    "cffi": "dmasim.drivers.native:CffiDMA",
}
"""Levels in the notebook's order: each should be faster than the one before."""


def load_driver(level: str, target: Target, ip_name: str = "axi_dma_0") -> Driver:
    """Instantiate driver ``level`` for ``ip_name`` on ``target``.

    Every level is a DmaDriver, which fits the contract's :class:`~dmasim.target.Driver`
    (mypy checks that here).
    """
    spec = LEVELS.get(level)
    if spec is None:
        raise DmasimValueError(f"unknown driver level {level!r}: allowed {', '.join(LEVELS)}")
    module, _, attr = spec.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    driver: DmaDriver = cls(target, ip_name)
    return driver
