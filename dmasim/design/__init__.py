"""Block designs as data (:class:`Design`) and the PYNQ view of them (``ip_dict``).

``Design.loopback()`` is the default design: one AXI DMA whose MM2S stream loops back into its
S2MM stream. ``Design.from_hwh(path)`` reads a Vivado .hwh, :class:`DesignBuilder` builds a
design in Python, ``design.write_hwh(path)`` writes one pynq parses, and :func:`check_design`
says why a design cannot be realised. ``params`` keeps the DMA's parameter defaults and checks.
"""

from __future__ import annotations

from .builder import FIFO_DEPTHS, DesignBuilder
from .check import SUPPORTED_DMA, DesignWarning, check_design
from .ips import fifo_settings
from .option import design_option
from .params import DEFAULT_PARAMETERS, DMA_BASE, DMA_VLNV, check_parameters, make_ip_dict
from .types import (
    BUILTIN_STREAM_VLNVS,
    DMA_VLNV_PREFIX,
    INFRASTRUCTURE_VLNVS,
    PLUMBING_VLNVS,
    PS_VLNVS,
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
    "FIFO_DEPTHS",
    "PLUMBING_VLNVS",
    "PS_VLNVS",
    "SUPPORTED_DMA",
    "DMA_BASE",
    "DMA_VLNV",
    "DMA_VLNV_PREFIX",
    "INFRASTRUCTURE_VLNVS",
    "Connection",
    "Design",
    "DesignBuilder",
    "DesignWarning",
    "Endpoint",
    "Instance",
    "InterruptLine",
    "Port",
    "StreamInterface",
    "Window",
    "check_design",
    "check_parameters",
    "design_option",
    "dma_instance",
    "fifo_settings",
    "make_ip_dict",
    "vlnv_name",
]
