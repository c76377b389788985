"""The loopback block design's description as PYNQ presents it: ``ip_dict`` and parameters.

Simulated targets build their ``ip_dict`` here (the board takes it from the overlay's .hwh),
with the defaults of a typical PYNQ-Z2 loopback design. Parameter values are strings, as PYNQ
parses them from the .hwh, so pynq's own driver reads them unchanged.
"""

from __future__ import annotations

from typing import Any

from .. import regmap
from ..errors import DmasimValueError

__all__ = ["DEFAULT_PARAMETERS", "DMA_BASE", "DMA_VLNV", "check_parameters", "make_ip_dict"]

DMA_BASE = 0x4040_0000
DMA_VLNV = "xilinx.com:ip:axi_dma:7.1"

DEFAULT_PARAMETERS: dict[str, str] = {
    "c_include_sg": "0",
    "c_sg_length_width": "26",
    "c_include_mm2s": "1",
    "c_include_s2mm": "1",
    "c_m_axi_mm2s_data_width": "32",
    "c_m_axis_mm2s_tdata_width": "32",
    "c_m_axi_s2mm_data_width": "32",
    "c_s_axis_s2mm_tdata_width": "32",
    "c_include_mm2s_dre": "0",
    "c_include_s2mm_dre": "0",
    "c_mm2s_burst_size": "16",
    "c_s2mm_burst_size": "16",
    "c_include_mm2s_sf": "1",
    "c_addr_width": "32",
    "c_micro_dma": "0",
}

_RANGES: dict[str, tuple[int, ...]] = {
    "c_include_sg": (0, 1),
    "c_sg_length_width": tuple(range(regmap.MIN_LENGTH_WIDTH, regmap.MAX_LENGTH_WIDTH + 1)),
    "c_m_axi_mm2s_data_width": (32, 64),
    "c_m_axis_mm2s_tdata_width": (32, 64),
    "c_m_axi_s2mm_data_width": (32, 64),
    "c_s_axis_s2mm_tdata_width": (32, 64),
    "c_include_mm2s_dre": (0, 1),
    "c_include_s2mm_dre": (0, 1),
    "c_mm2s_burst_size": (2, 4, 8, 16, 32, 64, 128, 256),
    "c_s2mm_burst_size": (2, 4, 8, 16, 32, 64, 128, 256),
    "c_addr_width": tuple(range(32, 65)),
    "c_micro_dma": (0,),
}


def _registers() -> dict[str, dict[str, Any]]:
    """Pynq's ``registers`` entry, generated from the register map."""
    out: dict[str, dict[str, Any]] = {}
    for ch in regmap.CHANNELS:
        for reg in regmap.SIMPLE_MODE_REGISTERS:
            out[ch.register_name(reg)] = {
                "address_offset": ch.base + reg.offset,
                "size": 32,
                "access": "read-write",
                "description": reg.doc,
                "fields": {
                    f.name: {
                        "bit_offset": f.lsb,
                        "bit_width": f.width,
                        "description": f.doc,
                        "access": "read-only" if f.access in ("R", "RSVD") else "read-write",
                    }
                    for f in reg.fields
                },
            }
    return out


def check_parameters(params: dict[str, Any]) -> dict[str, int]:
    """Integer parameters, each checked against what the design supports."""
    out: dict[str, int] = {}
    for name, value in params.items():
        try:
            number = int(value, 0) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            raise DmasimValueError(f"parameter {name}={value!r} is not an integer") from None
        allowed = _RANGES.get(name)
        if allowed is not None and number not in allowed:
            shown = (f"{allowed[0]}..{allowed[-1]}" if len(allowed) > 8
                     else ", ".join(map(str, allowed)))
            raise DmasimValueError(f"parameter {name}={number} is not supported: allowed {shown}")
        out[name] = number
    return out


def make_ip_dict(
    parameters: dict[str, Any] | None = None,
    phys_addr: int = DMA_BASE,
    name: str = "axi_dma_0",
) -> dict[str, dict[str, Any]]:
    """A PYNQ-style ``ip_dict`` with one AXI DMA; ``parameters`` override the defaults."""
    from .types import Design

    return Design.loopback(parameters, phys_addr, name).ip_dict()


def dma_registers() -> dict[str, dict[str, Any]]:
    """Pynq's ``registers`` entry of an AXI DMA, generated from the register map."""
    return _registers()
