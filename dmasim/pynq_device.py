"""The pynq ``Device`` adapter's old home: see :mod:`dmasim.pynq.device` (imports pynq).

``from dmasim.pynq_device import SimulatedDevice, overlay`` keeps working.
"""

from __future__ import annotations

from .errors import PYNQ_INSTALL_HINT
from .pynq.device import (
    PollStoppedError,
    PynqUnavailableError,
    RegisterPollTimeoutError,
    SimulatedDevice,
    SimulatedIntc,
    dma_hang_cause,
)
from .pynq.overlay import overlay

__all__ = [
    "PYNQ_INSTALL_HINT",
    "PollStoppedError",
    "PynqUnavailableError",
    "RegisterPollTimeoutError",
    "SimulatedDevice",
    "SimulatedIntc",
    "dma_hang_cause",
    "overlay",
]
