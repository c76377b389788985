"""Block designs as data (:class:`Design`) and the PYNQ view of them (``ip_dict``).

``Design.loopback()`` is the default design: one AXI DMA whose MM2S stream loops back into its
S2MM stream. ``params`` keeps the DMA's parameter defaults and checks.
"""

from __future__ import annotations

from .check import check_design
from .params import DEFAULT_PARAMETERS, DMA_BASE, DMA_VLNV, check_parameters, make_ip_dict
from .types import (
    BUILTIN_STREAM_VLNVS,
    DMA_VLNV_PREFIX,
    INFRASTRUCTURE_VLNVS,
    Connection,
    Design,
    Endpoint,
    Instance,
    InterruptLine,
    Port,
    StreamInterface,
    Window,
    dma_instance,
    vlnv_name,
)

__all__ = [
    "BUILTIN_STREAM_VLNVS",
    "DEFAULT_PARAMETERS",
    "DMA_BASE",
    "DMA_VLNV",
    "DMA_VLNV_PREFIX",
    "INFRASTRUCTURE_VLNVS",
    "Connection",
    "Design",
    "Endpoint",
    "Instance",
    "InterruptLine",
    "Port",
    "StreamInterface",
    "Window",
    "check_design",
    "check_parameters",
    "dma_instance",
    "make_ip_dict",
    "vlnv_name",
]
