"""Checks a target runs before it realises a design: what dmasim can model, what is missing.

Each failure is one :class:`~dmasim.errors.DesignError` naming the instance, its VLNV, the
offending parameter or interface and what to do, raised before anything is built or opened.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection

from ..errors import DesignError, DmasimValueError
from .params import check_parameters
from .types import Connection, Design, Endpoint, Instance, StreamInterface, Window, vlnv_name

__all__ = ["SUPPORTED_DMA", "DesignWarning", "check_design"]


class DesignWarning(UserWarning):
    """Something in a design that works but may surprise: the message says when and why."""

SUPPORTED_DMA: dict[str, tuple[str, ...]] = {
    "c_include_sg": ("0", "1"),
    "c_micro_dma": ("0",),
    "c_enable_multi_channel": ("0",),
    "c_sg_include_stscntrl_strm": ("0",),
}
"""DMA parameters whose other values dmasim does not model yet (value as in the .hwh)."""

TARGET_UNSUPPORTED_DMA: dict[str, dict[str, tuple[str, str]]] = {}
"""Per target: DMA parameter values that target cannot realise yet, with the reason."""

_WHY = {
    "c_sg_include_stscntrl_strm": " (the SG status/control streams and BD APP words; PYNQ "
                                  "designs set it to 0)",
}


def _check_dma(inst: Instance, target: str) -> None:
    for name, allowed in SUPPORTED_DMA.items():
        value = str(inst.parameters.get(name, inst.parameters.get(name.upper(), allowed[0])))
        if value not in allowed:
            raise DesignError(
                f"{inst.name} ({inst.vlnv}): {name}={value} is not modelled by dmasim"
                f"{_WHY.get(name, '')} (supported: {', '.join(allowed)})"
            )
    for name, (bad, why) in TARGET_UNSUPPORTED_DMA.get(target, {}).items():
        if str(inst.parameters.get(name, inst.parameters.get(name.upper(), ""))) == bad:
            raise DesignError(f"{inst.name} ({inst.vlnv}): {name}={bad} is not supported by the "
                              f"{target} target yet: {why}")
    known = {k: v for k, v in inst.parameters.items() if k.lower() in _DMA_CHECKED}
    try:
        check_parameters({k.lower(): v for k, v in known.items()})
    except ValueError as exc:
        raise DesignError(f"{inst.name} ({inst.vlnv}): {exc}") from None


_DMA_CHECKED = frozenset({
    "c_sg_length_width", "c_m_axi_mm2s_data_width", "c_m_axis_mm2s_tdata_width",
    "c_m_axi_s2mm_data_width", "c_s_axis_s2mm_tdata_width", "c_mm2s_burst_size",
    "c_s2mm_burst_size", "c_addr_width",
})


def check_design(
    design: Design, supplied: Collection[str] | None = None, *, target: str = "model"
) -> None:
    """Raise :class:`DesignError` if ``design`` cannot be realised on ``target``.

    ``supplied`` names the user IPs the caller has a model (or RTL) for; None skips that check
    (a board runs the real IP). Checked: at least one AXI DMA; every DMA's configuration is
    modelled; stream links join an ``out`` to an ``in`` of equal TDATA width, each interface
    in one link, and an input that needs TLAST gets it; interrupt lines name an ``axi_intc``;
    register windows do not overlap; user IPs have no AXI memory master of their own. An
    output with TKEEP into an input without it works (Vivado does the same) but gets a
    :class:`DesignWarning`: partial last beats reach the input as whole words.
    """
    if not design.dmas:
        raise DesignError(f"design {design.name!r} has no AXI DMA (xilinx.com:ip:axi_dma)")
    for inst in design.dmas:
        _check_dma(inst, target)
    seen: list[tuple[Instance, Window]] = []
    for inst, win in design.windows():
        for other, owin in seen:
            if win.overlaps(owin):
                raise DesignError(
                    f"register windows overlap: {inst.name}.{win.interface} "
                    f"0x{win.base:08x}+0x{win.range:x} and {other.name}."
                    f"{owin.interface} 0x{owin.base:08x}+0x{owin.range:x}"
                )
        seen.append((inst, win))
    linked: dict[str, str] = {}
    for c in design.connections:
        src, dst = _end(design, c.src, "out", c), _end(design, c.dst, "in", c)
        for end in (str(c.src), str(c.dst)):
            if end in linked:
                raise DesignError(f"stream link {c}: {end} is already linked ({linked[end]}); "
                                  "AXI-Stream links are point to point")
            linked[end] = str(c)
        if src.tdata_bytes != dst.tdata_bytes:
            raise DesignError(
                f"stream link {c}: TDATA widths differ ({src.tdata_bytes * 8} bits into "
                f"{dst.tdata_bytes * 8} bits); insert an axis_dwidth_converter or match the widths"
            )
        if not src.has_tlast and dst.has_tlast:
            raise DesignError(
                f"stream link {c}: {c.src} has no TLAST but {c.dst} needs it to end packets "
                "(an S2MM channel never completes without TLAST); add TLAST to the output")
        if src.has_tkeep and not dst.has_tkeep:
            warnings.warn(DesignWarning(
                f"stream link {c}: {c.src} has TKEEP but {c.dst} has none, so a partial last "
                f"beat (a transfer that is not a multiple of {src.tdata_bytes} bytes) reaches "
                "it as a whole word"), stacklevel=2)
    for line in design.interrupt_lines:
        if line.controller is None:
            continue
        ctrl = design.instances.get(line.controller)
        if ctrl is None or vlnv_name(ctrl.vlnv) != "axi_intc":
            raise DesignError(f"interrupt {line.source} goes to {line.controller!r}, which is "
                              "not an axi_intc of the design")
    for inst in design.of_kind("user"):
        if inst.masters:
            raise DesignError(
                f"{inst.name} ({inst.vlnv}) has an AXI memory master {inst.masters[0]!r}: user "
                "IPs that master memory are not supported yet"
            )
        if supplied is not None and inst.name not in supplied:
            what = "models={...: a dmasim.ip.StreamIP}" if target == "model" else (
                "rtl={...: dmasim.RtlSources([...], top=...)}")
            raise DesignError(
                f"{inst.name} ({inst.vlnv}) is not modelled by dmasim: supply it with "
                f"open_target({target!r}, design=..., {what.replace('...', repr(inst.name), 1)})"
            )


def _end(design: Design, end: Endpoint, want: str, link: Connection) -> StreamInterface:
    """The stream interface at one end of ``link``, checked to have direction ``want``."""
    try:
        stream = design.instance(end.instance).stream(end.interface)
    except DmasimValueError as exc:
        raise DesignError(f"stream link {link}: {exc}") from None
    if stream.direction != want:
        raise DesignError(f"stream link {link}: must go from an output to an input interface "
                          f"({end} is an {'input' if stream.direction == 'in' else 'output'})")
    return stream
