"""dmasim: test AXI DMA (PG021) drivers against a model, an RTL simulation or the board.

>>> import dmasim
>>> with dmasim.open_target("model") as t:
...     A = t.allocate(shape=(32,), dtype="u4")
"""

from __future__ import annotations

from . import ip as ip
from .buffer import Buffer
from .design import Design, DesignBuilder
from .errors import (
    BufferStateError,
    DesignError,
    DmaBusyError,
    DmaDecodeError,
    DmaError,
    DmaInternalError,
    DmaNotRunningError,
    DmasimError,
    DmasimValueError,
    DmaSlaveError,
    DmaState,
    DmaTimeoutError,
    DriverUnavailableError,
    OutOfMemoryError,
    TargetError,
)
from .rtl.sources import RtlSources
from .target import MMIO, Target, available_targets, open_target, register_target

__version__ = "0.1.0"

__all__ = [
    "MMIO",
    "Buffer",
    "Design",
    "DesignBuilder",
    "DesignError",
    "BufferStateError",
    "DmaBusyError",
    "DmaDecodeError",
    "DmaError",
    "DmaInternalError",
    "DmaNotRunningError",
    "DmaSlaveError",
    "DmaState",
    "DmaTimeoutError",
    "DmasimError",
    "DmasimValueError",
    "DriverUnavailableError",
    "OutOfMemoryError",
    "RtlSources",
    "Target",
    "TargetError",
    "__version__",
    "available_targets",
    "open_target",
    "register_target",
]
