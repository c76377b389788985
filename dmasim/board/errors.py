"""Why the board target cannot open: each case its own :class:`TargetError`, saying what to do."""

from __future__ import annotations

from ..errors import PynqMissingError, TargetError

__all__ = ["DevMemError", "DevMemPermissionError", "NoInterruptRouteError", "NotZynqError",
           "OverlayError", "PynqMissingError"]


class DevMemError(TargetError):
    """``/dev/mem`` (or the given path) cannot be opened or mapped."""


class DevMemPermissionError(DevMemError, PermissionError):
    """Not root, or ``/dev/mem`` refused read/write access."""


class NotZynqError(TargetError):
    """Not running on a Zynq: the board target runs on the PYNQ board itself."""


class OverlayError(TargetError):
    """The bitstream or its .hwh is missing, pynq cannot load it, or it has no usable AXI DMA."""


class NoInterruptRouteError(OverlayError):
    """An interrupt line the overlay does not route to the PS through an ``axi_intc``.

    pynq waits on a PL interrupt only through an AXI interrupt controller whose ``irq`` goes to
    the PS's ``IRQ_F2P`` (it reads that route from the .hwh); a line wired straight to
    ``IRQ_F2P``, or not at all, cannot be awaited.
    """
