"""The board back end: ``/dev/mem`` mapping and the pynq-based ``board`` target.

Importing this package does not import pynq; opening a board target does.
"""

from __future__ import annotations

from .devmem import DEVMEM, DevMem
from .errors import (
    DevMemError,
    DevMemPermissionError,
    NotZynqError,
    OverlayError,
    PynqMissingError,
)

__all__ = ["DEVMEM", "DevMem", "DevMemError", "DevMemPermissionError", "NotZynqError",
           "OverlayError", "PynqMissingError"]
