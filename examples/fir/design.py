"""The FIR example's block design, built in Python: DMA MM2S -> fir_0 -> DMA S2MM.

The same design Vivado builds from ``vivado/fir_design.tcl`` for the PYNQ-Z2 (same instance
names, VLNVs, addresses and stream wiring), so tests written against it run unchanged on the
board with the .bit/.hwh Vivado writes. Run it to write the .hwh (pynq and ``--design`` read
it)::

    python -m examples.fir.design [OUT.hwh]        # default: examples/fir/fir.hwh
"""

from __future__ import annotations

import sys
from pathlib import Path

from dmasim import RtlSources
from dmasim.design import Design, DesignBuilder

__all__ = [
    "DMA_BASE",
    "FIR_BASE",
    "FIR_RANGE",
    "FIR_RTL",
    "FIR_VLNV",
    "add_fir",
    "fir_design",
    "fir_rtl",
]

DMA_BASE = 0x4040_0000
FIR_BASE = 0x43C0_0000
FIR_RANGE = 0x1_0000
FIR_VLNV = "dmasim.org:user:fir:1.0"
"""The VLNV ``vivado/fir_design.tcl`` packages ``hdl/fir.v`` under."""
FIR_RTL = Path(__file__).resolve().parent / "hdl" / "fir.v"


def add_fir(b: DesignBuilder, name: str = "fir_0", base: int = FIR_BASE) -> None:
    """Add one FIR instance: S_AXIS in, M_AXIS out, S_AXI window, interrupt, ap_clk/ap_rst_n."""
    b.ip(name, vlnv=FIR_VLNV, base=base, range=FIR_RANGE,
         streams={"S_AXIS": "in", "M_AXIS": "out"}, interrupts=["interrupt"],
         clock="ap_clk", reset="ap_rst_n")


def fir_rtl() -> RtlSources:
    """The FIR's RTL for the rtl target: one Verilog file, top module ``fir``."""
    return RtlSources([FIR_RTL], top="fir")


def fir_design() -> Design:
    """``axi_dma_0`` (simple mode, 26-bit length, 32-bit data) looping through ``fir_0``."""
    b = DesignBuilder(name="fir", clock_hz=100_000_000)
    b.dma("axi_dma_0", base=DMA_BASE, c_sg_length_width=26)
    add_fir(b)
    b.connect("axi_dma_0.M_AXIS_MM2S", "fir_0.S_AXIS")
    b.connect("fir_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM")
    return b.build()


def main(argv: list[str]) -> int:
    """Write the design's .hwh to ``argv[0]`` (default ``fir.hwh`` next to this file)."""
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent / "fir.hwh"
    print(fir_design().write_hwh(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
