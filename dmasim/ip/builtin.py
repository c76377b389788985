"""The stream infrastructure the model provides itself: how much a built-in IP buffers.

``axis_data_fifo`` holds FIFO_DEPTH beats (C_FIFO_DEPTH in older versions), and in packet mode
(FIFO_MODE / C_FIFO_MODE = 2) holds a packet until its TLAST beat is in or the FIFO is full;
``axis_register_slice`` holds two beats. A plain wire holds nothing.
"""

from __future__ import annotations

from ..design import Instance, vlnv_name
from ..design.ips import fifo_settings
from ..errors import DesignError

__all__ = ["REGISTER_SLICE_BEATS", "buffering"]

REGISTER_SLICE_BEATS = 2


def buffering(inst: Instance) -> tuple[int, bool]:
    """``(beats held, packet mode)`` of a built-in stream IP instance."""
    kind = vlnv_name(inst.vlnv)
    if kind == "axis_register_slice":
        return REGISTER_SLICE_BEATS, False
    if kind == "axis_data_fifo":
        mode = inst.param("FIFO_MODE", inst.param("C_FIFO_MODE", 1))
        if mode not in (1, 2):
            raise DesignError(f"{inst.name} ({inst.vlnv}): FIFO_MODE={mode}: allowed 1, 2")
        depth, packet = fifo_settings(inst)
        if depth < 16 or depth & (depth - 1):
            raise DesignError(
                f"{inst.name} ({inst.vlnv}): FIFO_DEPTH={depth} is not a power of two >= 16")
        return depth, packet
    raise DesignError(f"{inst.name} ({inst.vlnv}) is not a built-in stream IP")
