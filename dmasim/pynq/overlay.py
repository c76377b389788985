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

__all__ = ["VIVADO", "board_design", "main", "overlay", "render", "with_intc", "write_overlay"]


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


def with_intc(design: Design) -> Design:
    """``design`` with its DMA interrupt lines on an ``axi_intc``, as pynq needs to await them.

    Lines wired straight to the PS go to the inputs of ``axi_intc_0`` (at 0x4180_0000, or the
    next free 64K) in their order, through an ``xlconcat``; the controller's ``irq`` goes to
    the PS's ``IRQ_F2P``. A design that has an ``axi_intc`` already is returned as it is.
    """
    return _with_intc(design)[0]


def board_design(parameters: Mapping[str, Any] | None = None) -> Design:
    """The block design ``hw/board/dma_loopback.tcl`` builds, as a :class:`Design`.

    The loopback (these DMA ``parameters``; ``{"c_include_sg": 1}`` for the script's ``sg``
    variant) with both interrupt lines on ``axi_intc_0``: the topology of the .hwh that
    :func:`overlay` writes for the simulated targets.
    """
    return with_intc(Design.loopback(dict(parameters or {})))


def _with_intc(design: Design) -> tuple[Design, str | None, dict[int, tuple[str, str]]]:
    """``design`` with its DMA interrupt lines on an ``axi_intc`` (pynq lists only those).

    Returns the design for the .hwh, the controller's name and its inputs (index -> (ip,
    port)); the design itself when it has an intc already or no DMA lines.
    """
    import copy
    import dataclasses

    from ..design.ips import intc_instance
    from ..design.types import vlnv_name

    intcs = [i.name for i in design.instances.values() if vlnv_name(i.vlnv) == "axi_intc"]
    lines = [ln for ln in design.interrupt_lines if ln.controller is None]
    if intcs:
        name = intcs[0]
        inputs = {ln.index: (ln.source.instance, ln.source.interface)
                  for ln in design.interrupt_lines
                  if ln.controller == name and ln.index is not None}
        return design, name, inputs
    if not lines:
        return design, None, {}
    out = copy.deepcopy(design)
    name = "axi_intc_0"
    base = 0x4180_0000
    while any(w.base <= base < w.end or base <= w.base < base + 0x1_0000
              for _, w in out.windows()):
        base += 0x1_0000
    out.instances[name] = intc_instance(name, base, len(lines))
    inputs = {}
    rewired = []
    for ln in out.interrupt_lines:
        if ln.controller is None:
            i = len(inputs)
            inputs[i] = (ln.source.instance, ln.source.interface)
            ln = dataclasses.replace(ln, controller=name, index=i)
        rewired.append(ln)
    out.interrupt_lines = rewired
    return out, name, inputs


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

    Interrupt lines reach pynq through an ``axi_intc`` added to the .hwh when the design wires
    them straight to the PS (pynq lists only pins on a controller); the device becomes pynq's
    active device (as a board's overlay is) and a :class:`SimulatedIntc` answers for that
    controller, so ``await ol.axi_dma_0.recvchannel.wait_async()`` works unmodified.
    """
    import tempfile
    import warnings
    import weakref

    from .. import constants
    from ..errors import pynq_missing
    from .device import SimulatedDevice, SimulatedIntc

    try:
        import pynq
    except ImportError as exc:
        raise pynq_missing("dmasim.pynq.overlay", exc) from exc

    folder = tempfile.TemporaryDirectory(prefix="dmasim-overlay-")
    design = target.design
    if design is None:
        design = Design.loopback(target.ip_dict["axi_dma_0"].get("parameters", {}))
    design, intc, inputs = _with_intc(design)
    bit = write_overlay(folder.name, name, design=design)
    device = SimulatedDevice(target, **device_options)
    if intc is not None:
        pynq.Device.active_device = device  # pynq's Interrupt looks pins up on the active device
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynq warns about the placeholder bitstream's header
        ol = pynq.Overlay(str(bit), download=False, device=device)
    weakref.finalize(ol, folder.cleanup)
    if intc is not None:
        from pynq.interrupt import _InterruptController

        limit = device._max_poll_ns or constants.IRQ_WAIT_TIMEOUT_NS
        ctrl = SimulatedIntc(device, intc, inputs, limit)
        registry = _InterruptController._controllers
        registry[:] = [c for c in registry if c.name != intc]
        registry.append(ctrl)
        _InterruptController._last_timestamp = device.timestamp
        ol.dmasim_intc = ctrl  # pynq keeps only a weak reference to its controllers
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
