"""Two DMAs in one design: ``axi_dma_0`` through a 512-word FIFO, ``axi_dma_1`` through a FIR.

::

    axi_dma_0.M_AXIS_MM2S -> axis_data_fifo_0 (512 words) -> axi_dma_0.S_AXIS_S2MM
    axi_dma_1.M_AXIS_MM2S -> fir_0                        -> axi_dma_1.S_AXIS_S2MM

The FIFO is one of the stream IPs dmasim models itself (no model or RTL to supply); fir_0
is ``examples/fir``. Run it to write the .hwh::

    python -m examples.two_dmas.design [OUT.hwh]    # default: examples/two_dmas/two_dmas.hwh
"""

from __future__ import annotations

import sys
from pathlib import Path

from dmasim.design import Design, DesignBuilder
from examples.fir.design import add_fir

__all__ = ["DMA0_BASE", "DMA1_BASE", "FIFO_DEPTH", "two_dmas_design"]

DMA0_BASE = 0x4040_0000
DMA1_BASE = 0x4041_0000
FIFO_DEPTH = 512
"""Words the loopback FIFO holds (axis_data_fifo's FIFO_DEPTH)."""


def two_dmas_design() -> Design:
    """Both DMAs in simple mode (26-bit length, 32-bit data), the FIFO and fir_0."""
    b = DesignBuilder(name="two_dmas", clock_hz=100_000_000)
    b.dma("axi_dma_0", base=DMA0_BASE, c_sg_length_width=26)
    b.dma("axi_dma_1", base=DMA1_BASE, c_sg_length_width=26)
    b.fifo("axis_data_fifo_0", depth=FIFO_DEPTH)
    add_fir(b)
    b.connect("axi_dma_0.M_AXIS_MM2S", "axis_data_fifo_0.S_AXIS")
    b.connect("axis_data_fifo_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM")
    b.connect("axi_dma_1.M_AXIS_MM2S", "fir_0.S_AXIS")
    b.connect("fir_0.M_AXIS", "axi_dma_1.S_AXIS_S2MM")
    return b.build()


def main(argv: list[str]) -> int:
    """Write the design's .hwh to ``argv[0]`` (default ``two_dmas.hwh`` next to this file)."""
    out = Path(argv[0]) if argv else Path(__file__).resolve().parent / "two_dmas.hwh"
    print(two_dmas_design().write_hwh(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
