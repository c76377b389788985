"""Everything that connects dmasim to pynq, in one place.

- :mod:`dmasim.pynq.device`: :class:`SimulatedDevice`, a pynq ``Device`` over any target, so
  pynq's own drivers (``pynq.lib.dma.DMA``, ``pynq.MMIO``, ``pynq.allocate``) run on
  simulations; needs pynq.
- :mod:`dmasim.pynq.overlay`: a design's .hwh (:func:`render`, :func:`write_overlay`,
  ``python -m dmasim.pynq.overlay PATH``) and a real ``pynq.Overlay`` of a target
  (:func:`overlay`); only :func:`overlay` needs pynq.
- A missing pynq is one error everywhere: :class:`dmasim.errors.PynqMissingError`.

The ``"pynq"`` driver level is :mod:`dmasim.drivers.pynq`; the board targets, which run on
pynq's own device, are :mod:`dmasim.board`. ``dmasim.pynq_device`` and ``dmasim.board.hwh``,
the old homes of these, still work. Importing this package does not import pynq.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import PynqMissingError

__all__ = ["PynqMissingError", "SimulatedDevice", "overlay", "render", "write_overlay"]

_LAZY = {"SimulatedDevice": "device", "overlay": "overlay", "render": "overlay",
         "write_overlay": "overlay"}


def __getattr__(name: str) -> Any:
    """The room's main names, imported on first use (``SimulatedDevice`` imports pynq)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
