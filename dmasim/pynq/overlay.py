"""A design as pynq sees it: its .hwh, a loadable overlay pair, and a real ``pynq.Overlay``.

:func:`render` gives the .hwh text of a design (default: the loopback of
``hw/board/dma_loopback.tcl``, DMA ``parameters`` overridden), through
:func:`dmasim.design.hwh_write.render_hwh`; :func:`write_overlay` a ``.hwh``/placeholder
``.bit`` pair that ``pynq.Overlay(..., download=False)`` loads; :func:`overlay` such an overlay
on a :class:`~dmasim.pynq.device.SimulatedDevice`, so notebook code
(``overlay.axi_dma_0.sendchannel.transfer(A)``) runs on simulated targets and the board
target's pynq path is tested off-board. ``python -m dmasim.pynq.overlay PATH`` (or the old
``python -m dmasim.board.hwh PATH``) writes the loopback's .hwh. Only :func:`overlay` needs pynq.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..design import Design
from ..design.hwh_write import VIVADO, render_hwh

if TYPE_CHECKING:
    from ..target import Target

__all__ = ["VIVADO", "main", "overlay", "render", "write_overlay"]


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


def overlay(target: Target, name: str = "dma_loopback_1", **device_options: Any) -> Any:
    """A real ``pynq.Overlay`` of the target's design: notebook code runs as is.

    The design's ``.hwh`` is written from ``target.design`` (:meth:`Design.write_hwh`; the
    loopback with the target's DMA parameters when it has none) into a temporary folder that
    lives as long as the overlay, and pynq parses it with its own code; ``overlay.axi_dma_0``
    is then pynq's unmodified ``pynq.lib.dma.DMA`` on a :class:`SimulatedDevice`, and
    ``pynq.allocate(..., target=overlay.device)`` hands out the target's buffers::

        ol = dmasim.pynq.overlay(t)
        A = pynq.allocate((32,), "u4", target=ol.device)
        ol.axi_dma_0.sendchannel.transfer(A)
    """
    import tempfile
    import warnings
    import weakref

    from ..errors import pynq_missing
    from .device import SimulatedDevice

    try:
        import pynq
    except ImportError as exc:
        raise pynq_missing("dmasim.pynq.overlay", exc) from exc

    folder = tempfile.TemporaryDirectory(prefix="dmasim-overlay-")
    if target.design is not None:
        bit = write_overlay(folder.name, name, design=target.design)
    else:
        bit = write_overlay(folder.name, name, target.ip_dict["axi_dma_0"].get("parameters", {}))
    device = SimulatedDevice(target, **device_options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynq warns about the placeholder bitstream's header
        ol = pynq.Overlay(str(bit), download=False, device=device)
    weakref.finalize(ol, folder.cleanup)
    return ol


def main(argv: list[str] | None = None) -> int:
    """Write the default design's .hwh to the path given."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dmasim.pynq.overlay PATH.hwh", file=sys.stderr)
        return 2
    Path(args[0]).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
