"""The .hwh of a design for pynq: the loopback (``hw/board/dma_loopback.tcl``) by default.

Thin wrappers over :func:`dmasim.design.hwh_write.render_hwh`, which writes any
:class:`~dmasim.design.Design`: :func:`render` gives the loopback design's text (DMA
``parameters`` overridden), :func:`write_overlay` a ``.hwh``/placeholder ``.bit`` pair that
``pynq.Overlay(..., download=False)`` loads, so notebook code
(``overlay.axi_dma_0.sendchannel.transfer(A)``) runs on simulated targets
(:func:`dmasim.pynq_device.overlay`) and the board target's pynq path is tested off-board.
``python -m dmasim.board.hwh PATH`` writes the loopback's .hwh.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..design import Design
from ..design.hwh_write import VIVADO, render_hwh

__all__ = ["VIVADO", "main", "render", "write_overlay"]


def render(parameters: Mapping[str, Any] | None = None, design: Design | None = None) -> str:
    """The .hwh XML text of ``design`` (default: the loopback with these DMA ``parameters``)."""
    if design is None:
        design = Design.loopback(dict(parameters or {}))
    elif parameters:
        raise ValueError("give either parameters (for the loopback) or a design, not both")
    return render_hwh(design)


def write_overlay(directory: str | Path, name: str = "dma_loopback_1",
                  parameters: Mapping[str, Any] | None = None,
                  design: Design | None = None) -> Path:
    """Write ``name.hwh`` and a placeholder ``name.bit`` (for ``download=False``); the .bit."""
    directory = Path(directory)
    (directory / f"{name}.hwh").write_text(render(parameters, design), encoding="utf-8")
    bit = directory / f"{name}.bit"
    bit.write_bytes(b"\x00\x09dmasim placeholder: no bitstream")
    return bit


def main(argv: list[str] | None = None) -> int:
    """Write the default design's .hwh to the path given."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dmasim.board.hwh PATH.hwh", file=sys.stderr)
        return 2
    Path(args[0]).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
