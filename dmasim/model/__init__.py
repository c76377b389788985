"""The ``model`` target: a pure-Python register-level model of the loopback block design."""

from .dma import AxiDmaModel, Diagnostic
from .target import ModelTarget

__all__ = ["AxiDmaModel", "Diagnostic", "ModelTarget"]
