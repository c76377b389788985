"""Why a stream between DMA channels stopped, naming the IP at fault: one wording for all.

Targets that can count beats on their stream links (the rtl target's monitors,
``t.stream_state()``) hand the counters to :func:`stream_cause`; the model, which sees its
links' contents instead, words its findings with the same phrases (:func:`never_ended`,
:func:`stopped_taking`), so a hang reads the same on every target.
A link's counters are ``beats``, ``packets`` (TLAST beats), ``open_packet_beats`` (beats since
the last TLAST) and ``stalled_cycles`` (clocks the current beat has waited for TREADY).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..design import Design, Endpoint

__all__ = ["STALL_CLOCKS", "never_ended", "stopped_taking", "stream_cause"]

STALL_CLOCKS = 1000
"""Clocks a beat must wait for TREADY before its receiver counts as having stopped."""


def never_ended(src: str, beats: int, beat_bytes: int, programmed: int = 0) -> str:
    """An IP output ``src`` that has sent ``beats`` without TLAST (S2MM waits for the end)."""
    extra = f"; S2MM was programmed for {programmed} bytes" if programmed else ""
    return (f"{src} has sent {beats} beats without TLAST ({beats * beat_bytes} bytes){extra}: "
            "S2MM completes only at TLAST, so the IP never ended its packet")


def stopped_taking(ip: str, end: str, why: str) -> str:
    """IP ``ip`` refuses data on its input ``end`` (``instance.interface``), and ``why``."""
    return f"{ip} stopped taking data on {end}: {why}"


def _links(design: Design) -> dict[str, tuple[Endpoint, Endpoint]]:
    return {str(c): (c.src, c.dst) for c in design.connections}


def _upstream(design: Design, end: Endpoint) -> list[str]:
    """Links feeding ``end``, nearest first, through dmasim's FIFOs and register slices."""
    out: list[str] = []
    while True:
        link = next((c for c in design.connections if c.dst == end), None)
        if link is None or str(link) in out:
            return out
        out.append(str(link))
        src = design.instance(link.src.instance)
        if src.kind != "builtin":
            return out
        end = Endpoint(src.name, "S_AXIS")


def _downstream(design: Design, end: Endpoint) -> list[str]:
    """Links leaving ``end``, nearest first, through dmasim's FIFOs and register slices."""
    out: list[str] = []
    while True:
        link = next((c for c in design.connections if c.src == end), None)
        if link is None or str(link) in out:
            return out
        out.append(str(link))
        dst = design.instance(link.dst.instance)
        if dst.kind != "builtin":
            return out
        end = Endpoint(dst.name, "M_AXIS")


def stream_cause(design: Design, counters: Mapping[str, Mapping[str, int]], dma: str,
                 channel: str, *, programmed: int = 0, transferred: int | None = None,
                 s2mm_idle: bool = False, beat_bytes: int = 4) -> str | None:
    """The likely reason ``dma``'s ``channel`` did not finish, naming the IP, or None.

    ``programmed`` is S2MM's LENGTH as written, ``transferred`` its readback when S2MM went
    idle (``s2mm_idle``). Checked in order: an IP that stopped taking data (a stalled link
    whose receiver is not the DMA), S2MM completed short (TLAST early), an IP that has not
    ended its packet (beats without TLAST). Only user IPs are blamed: a loopback or a path
    of dmasim's own FIFOs gets None (the driver's own explanation stands).
    """
    links = _links(design)
    inst = design.instance(dma)
    into_s2mm = _upstream(design, Endpoint(dma, "S_AXIS_S2MM")) if "S_AXIS_S2MM" in inst.streams \
        else []
    from_mm2s = _downstream(design, Endpoint(dma, "M_AXIS_MM2S")) \
        if "M_AXIS_MM2S" in inst.streams else []
    nearest_src: Endpoint | None = None
    nearest_counters: Mapping[str, int] | None = None
    # only a user IP's output is blamed: DMAs, FIFOs and slices end packets where they came
    nearest = next((link for link in into_s2mm
                    if design.instance(links[link][0].instance).kind == "user"), None)
    if nearest is not None:
        src = links[nearest][0]
        c = counters.get(nearest)
        nearest_src, nearest_counters = src, c
        short = (s2mm_idle and transferred is not None and bool(programmed)
                 and transferred < programmed)
        if c is not None and short:
            return (f"S2MM completed short: transferred {transferred} of {programmed} bytes "
                    f"programmed; {src} sent TLAST early ({c['packets']} packets in "
                    f"{c['beats']} beats so far), so the rest of the stream has nowhere to go")
    for link in [*from_mm2s, *reversed(into_s2mm)]:
        c = counters.get(link)
        src, dst = links[link]
        if c is None or (dst.instance == dma and dst.interface == "S_AXIS_S2MM"):
            continue
        if c["stalled_cycles"] >= STALL_CLOCKS and design.instance(dst.instance).kind == "user":
            return stopped_taking(
                dst.instance, str(dst),
                f"TREADY has been low for {c['stalled_cycles']} clocks with a beat waiting from "
                f"{src}, after {c['beats']} beats; check {dst.instance}'s input handshake (or "
                "what blocks its output)")
    c = nearest_counters
    if c is not None and c["open_packet_beats"] and not s2mm_idle:
        return never_ended(str(nearest_src), c["open_packet_beats"], beat_bytes, programmed)
    return None
