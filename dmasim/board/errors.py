"""Why the board target cannot open: each case its own :class:`TargetError`, saying what to do."""

from __future__ import annotations

from ..errors import PynqMissingError, TargetError

__all__ = ["DevMemError", "DevMemPermissionError", "NotZynqError", "OverlayError",
           "PynqMissingError"]


class DevMemError(TargetError):
    """``/dev/mem`` (or the given path) cannot be opened or mapped."""


class DevMemPermissionError(DevMemError, PermissionError):
    """Not root, or ``/dev/mem`` refused read/write access."""


class NotZynqError(TargetError):
    """Not running on a Zynq: the board target runs on the PYNQ board itself."""


class OverlayError(TargetError):
    """The bitstream or its .hwh is missing, pynq cannot load it, or it has no usable AXI DMA."""
