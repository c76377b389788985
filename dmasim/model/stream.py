"""The loopback AXI-Stream: MM2S's store-and-forward FIFO plus the skid buffers, as packets.

Data is held as numpy chunks snapshotted when MM2S read them (so later CPU writes to the
source do not leak into data already in flight), and leaves in whole slices.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

__all__ = ["Packet", "StreamFifo"]


class Packet:
    """One stream packet (one MM2S transfer): bytes in flight and whether TLAST has entered."""

    __slots__ = ("chunks", "complete", "consumed", "marks", "read")

    def __init__(self) -> None:
        self.chunks: deque[np.ndarray] = deque()
        self.read = 0  # bytes that entered the FIFO
        self.consumed = 0  # bytes S2MM took
        self.complete = False  # the TLAST beat has entered the FIFO
        self.marks = 0  # which stream handshakes its first beat and TLAST passed (SG timers)

    @property
    def available(self) -> int:
        """Bytes in the FIFO, ready for S2MM."""
        return self.read - self.consumed

    def push(self, data: np.ndarray) -> None:
        """Append bytes MM2S read."""
        if data.size:
            self.chunks.append(data)
            self.read += data.size

    def pop(self, nbytes: int) -> np.ndarray:
        """Remove and return the next ``nbytes`` (<= available)."""
        self.consumed += nbytes
        first = self.chunks[0]
        if first.size == nbytes:
            return self.chunks.popleft()
        if first.size > nbytes:
            self.chunks[0] = first[nbytes:]
            return first[:nbytes]
        parts = []
        need = nbytes
        while need:
            c = self.chunks[0]
            if c.size <= need:
                parts.append(self.chunks.popleft())
                need -= c.size
            else:
                parts.append(c[:need])
                self.chunks[0] = c[need:]
                need = 0
        return np.concatenate(parts)


def _never() -> bool:
    return False


class StreamFifo:
    """A stream link: packets from a producer to a consumer, counted in beats.

    The capacity is the buffering along the link (MM2S's FIFO, stream FIFOs, skid buffers).

    ``packet_mode``: the consumer sees a packet only once its TLAST beat is in (a packet-mode
    ``axis_data_fifo`` on the way). ``producer_busy()`` says whether more beats of the newest
    packet are on their way. ``source`` names the producing interface for messages.
    """

    def __init__(self, beat: int, capacity_beats: int, *, name: str = "",
                 packet_mode: bool = False, source: str = ""):
        self.beat = beat
        self.capacity_beats = capacity_beats
        self.packets: deque[Packet] = deque()
        self.name = name
        self.packet_mode = packet_mode
        self.source = source
        self.note_short = False  # S2MM completing short on this link is worth a diagnostic
        self.producer_busy: Callable[[], bool] = _never

    def beats(self) -> int:
        """Beats held (a packet's last beat may be partial but takes a whole slot)."""
        b = self.beat
        return sum(-(-p.read // b) - (-(-p.consumed // b)) for p in self.packets)

    def clear(self) -> None:
        """Drop everything in flight (soft or power-on reset)."""
        self.packets.clear()

    @property
    def nbytes(self) -> int:
        """Bytes in flight."""
        return sum(p.available for p in self.packets)
