"""The stream side of a whole design on the model: DMA engines, IP models and links, one clock.

Each stream link (:class:`~dmasim.model.stream.StreamFifo`) runs from one producer (a DMA's
MM2S or an IP model's output) through any built-in FIFOs and register slices, which only add
buffering, to one consumer (a DMA's S2MM or an IP model's input). IP models buffer whole
packets, so links are independent of each other within a step, and each step moves whole numpy
slices over every link up to the next event (a transfer ends, a link fills, a packet ends, an IP
releases output, a soft reset completes): time stays lazy, never per beat.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..design import Instance
from ..errors import DmasimValueError
from ..ip.base import StreamIP, word_dtype
from .dma import AxiDmaModel
from .stream import Packet, StreamFifo

__all__ = ["Fabric", "IpNode", "Route"]

_UNLIMITED = 1 << 62
IP_SKID_BEATS = 2
"""Beats an IP model's stream port holds (its input register or output skid buffer)."""


class IpNode:
    """A user IP model attached to the fabric: its links, packets in assembly, output queue."""

    def __init__(self, fabric: Fabric, inst: Instance, model: StreamIP):
        self.fabric = fabric
        self.inst = inst
        self.model = model
        self.name = inst.name
        self.in_links: dict[str, StreamFifo] = {}
        self.out_links: dict[str, StreamFifo] = {}
        self.assembling: dict[str, list[np.ndarray]] = {}
        self.pending: deque[tuple[int, str, np.ndarray, bool]] = deque()
        self.irq: dict[str, bool] = dict.fromkeys(inst.interrupts, False)
        self.dropped = 0
        model._attach(inst.name, self)

    # --- IpHost ---------------------------------------------------------------------------

    @property
    def now_ns(self) -> int:
        """The target's time."""
        return self.fabric.cycle * self.fabric.clock_ns

    def emit(self, port: str, data: np.ndarray, last: bool) -> None:
        """Queue a packet (or part of one) for output ``port`` after the model's latency."""
        iface = self.inst.streams.get(port)
        if iface is None or iface.direction != "out":
            outs = [n for n, s in self.inst.streams.items() if s.direction == "out"]
            raise DmasimValueError(
                f"{self.name} emitted on {port!r}, which is not an output stream of "
                f"{self.name} ({self.inst.vlnv}): its outputs are {', '.join(outs) or 'none'}")
        wd = word_dtype(iface.tdata_bytes)
        words = data.ravel()
        # The queue keeps its own copy: the model may reuse its array after emit returns.
        words = words.astype(wd) if words.dtype != wd else words.copy()
        raw = words.view(np.uint8)
        if not raw.size:
            if last:
                raise DmasimValueError(
                    f"{self.name}.emit({port!r}): an empty packet cannot carry TLAST")
            return
        release = self.fabric.cycle + max(0, int(self.model.latency_cycles))
        self.pending.append((release, port, raw, last))

    def set_interrupt(self, port: str, level: bool) -> None:
        """Drive interrupt output ``port``."""
        if port not in self.irq:
            raise DmasimValueError(
                f"{self.name} drove interrupt {port!r}, which is not an interrupt output of "
                f"{self.name}: it has {', '.join(self.irq) or 'none'}")
        self.irq[port] = bool(level)

    # --- fabric side ----------------------------------------------------------------------

    def accepting(self, port: str) -> bool:
        """TREADY on input ``port``: the model takes data and its outputs are not backed up."""
        if not self.model.accepting(port):
            return False
        return all(link.beats() < link.capacity_beats for link in self.out_links.values())

    def stall_reason(self, port: str) -> str:
        """Why input ``port`` does not take data, in words."""
        reason = self.model.stall_reason(port)
        if reason:
            return reason
        if not self.model.accepting(port):
            return f"{type(self.model).__name__}.accepting({port!r}) is False"
        full = [link.name for link in self.out_links.values()
                if link.beats() >= link.capacity_beats]
        if full:
            return f"its output is backed up ({'; '.join(full)}): nobody takes its data"
        return "it is taking data"

    def take(self, port: str, data: np.ndarray) -> None:
        """Beats arrived on input ``port``."""
        self.assembling.setdefault(port, []).append(data)

    def beats_assembling(self, port: str) -> int:
        """Beats received on ``port`` of a packet whose TLAST has not come."""
        tb = self.inst.streams[port].tdata_bytes
        return -(-sum(c.size for c in self.assembling.get(port, [])) // tb)

    def packet_end(self, port: str) -> None:
        """TLAST arrived on input ``port``: hand the packet to the model."""
        parts = self.assembling.pop(port, [])
        raw = np.concatenate(parts) if len(parts) != 1 else parts[0]
        tb = self.inst.streams[port].tdata_bytes
        data = raw.view(word_dtype(tb)) if raw.size % tb == 0 else raw
        self.model.on_packet(port, data)

    def release(self, cycle: int) -> None:
        """Put output whose latency has passed onto its links."""
        while self.pending and self.pending[0][0] <= cycle:
            _, port, raw, last = self.pending.popleft()
            link = self.out_links.get(port)
            if link is None:
                self.dropped += raw.size  # an unconnected output: the data goes nowhere
                continue
            packets = link.packets
            if not packets or packets[-1].complete:
                packets.append(Packet())
            packets[-1].push(raw)
            if last:
                packets[-1].complete = True

    def next_release(self) -> int:
        """Cycle of the next queued output, or -1."""
        return self.pending[0][0] if self.pending else -1

    def sending(self, port: str) -> bool:
        """More beats of ``port``'s newest packet are queued."""
        return any(p[1] == port for p in self.pending)

    def reset(self) -> None:
        """Power-on reset: drop packets in assembly and queued output, reset the model."""
        self.assembling.clear()
        self.pending.clear()
        for port in self.irq:
            self.irq[port] = False
        self.model.reset()


@dataclass(eq=False)
class Route:
    """A link with its producer and consumer."""

    link: StreamFifo
    prod_engine: AxiDmaModel | None = None
    prod_node: IpNode | None = None
    prod_port: str = ""
    cons_engine: AxiDmaModel | None = None
    cons_node: IpNode | None = None
    cons_port: str = ""
    credit: float = 0.0
    hops: list[str] = field(default_factory=list)

    @property
    def consumer(self) -> str:
        """The consuming interface, ``instance.interface``."""
        return self.hops[-1] if self.hops else ""


class Fabric:
    """Every engine, IP model and link of a design, advanced together on one clock."""

    def __init__(self, clock_ns: int):
        self.clock_ns = clock_ns
        self.cycle = 0
        self.engines: dict[str, AxiDmaModel] = {}
        self.nodes: dict[str, IpNode] = {}
        self.routes: list[Route] = []

    def reset(self) -> None:
        """Power-on reset of every part."""
        for e in self.engines.values():
            e.power_on_reset()
        for r in self.routes:
            r.link.clear()
            r.credit = 0.0
        for n in self.nodes.values():
            n.reset()

    def run_until(self, cycle: int) -> None:
        """Advance everything to ``cycle``."""
        while self.cycle < cycle:
            if not self._step(cycle - self.cycle):
                break
        if self.cycle < cycle:
            self.cycle = cycle
        for e in self.engines.values():
            e.cycle = self.cycle

    def _timed(self) -> int:
        """Handle what is due now; return the cycle of the next timed event (or -1)."""
        c = self.cycle
        nxt = -1
        for e in self.engines.values():
            if e.reset_until >= 0:
                if e.reset_until <= c:
                    e.cycle = c
                    e._finish_soft_reset()
                elif nxt < 0 or e.reset_until < nxt:
                    nxt = e.reset_until
            if e.sg is not None and e.reset_until < 0:
                e.cycle = c
                t = e.sg.timed(c)
                if t >= 0 and (nxt < 0 or t < nxt):
                    nxt = t
        for n in self.nodes.values():
            if n.pending:
                n.release(c)
                r = n.next_release()
                if r >= 0 and (nxt < 0 or r < nxt):
                    nxt = r
        return nxt

    def _events(self) -> None:
        halted = set()
        for e in self.engines.values():  # every packet's end is known before any S2MM looks
            e.cycle = self.cycle
            if e._mm2s_events():
                halted.add(e)
        for e in self.engines.values():
            if e not in halted:
                e._s2mm_events()
        for r in self.routes:
            node = r.cons_node
            if node is None:
                continue
            packets = r.link.packets
            while packets and packets[0].complete and packets[0].available == 0:
                packets.popleft()
                node.packet_end(r.cons_port)

    def _step(self, budget: int) -> bool:
        """Advance up to ``budget`` cycles to the next event; False if nothing can happen."""
        nxt = self._timed()
        self._events()
        k = budget if nxt < 0 else min(budget, nxt - self.cycle)
        plans = []
        for r in self.routes:
            plan = self._plan(r)
            if plan is not None:
                plans.append(plan)
                k = min(k, plan[-1])
        if not plans:
            if 0 <= nxt <= self.cycle + budget:
                self.cycle = nxt
                return True
            return False
        k = max(1, k)
        for plan in plans:
            self._apply(plan, k)
        self.cycle += k
        self._events()
        return True

    def _plan(self, r: Route) -> tuple[Route, int, int, int, int, float, bool, bool, int] | None:
        """What can move on ``r``'s link now, or None when nothing can.

        (route, producer bytes left, producer beat, consumer room, consumer beat, rate, tail
        filling, draining, cycles to this link's next event).
        """
        link = r.link
        packets = link.packets
        head = packets[0] if packets else None
        p_left = r.prod_engine.mm2s_left() if r.prod_engine is not None else 0
        pb = r.prod_engine.beat if r.prod_engine is not None else link.beat
        c_room, cb, rate = 0, link.beat, 1.0
        if r.cons_engine is not None:
            c_room, cb = r.cons_engine.s2mm_room(), r.cons_engine.s2mm_beat
        elif r.cons_node is not None and r.cons_node.accepting(r.cons_port):
            c_room, rate = _UNLIMITED, float(r.cons_node.model.throughput)
        tail = (p_left > 0 and head is not None and r.prod_engine is not None
                and head is r.prod_engine.tx_packet and not link.packet_mode)
        drain = False
        if c_room > 0 and head is not None and rate > 0:
            if link.packet_mode:  # held until TLAST is in, or until the FIFO is full
                drain = head.available > 0 and (
                    head.complete or link.beats() >= link.capacity_beats)
            else:
                drain = head.available > 0 or tail
        room = max(0, link.capacity_beats - link.beats()) * link.beat
        fill = p_left > 0 and (room > 0 or drain)
        if not fill and not drain:
            return None
        rb = rate * cb
        bound = _UNLIMITED
        if fill:
            bound = -(-p_left // pb)
            if not drain:
                bound = min(bound, -(-room // pb))
            elif rb < pb and room > 0:
                bound = min(bound, math.ceil(room / (pb - rb)))
        if drain:
            assert head is not None
            if not (tail and fill):
                bound = min(bound, math.ceil(head.available / rb))
            if c_room < _UNLIMITED:
                bound = min(bound, math.ceil(c_room / rb))
        return r, p_left if fill else 0, pb, c_room, cb, rate, tail, drain, bound

    def _apply(self, plan: tuple[Route, int, int, int, int, float, bool, bool, int],
               k: int) -> None:
        r, p_left, pb, c_room, cb, rate, tail, drain, _ = plan
        link = r.link
        room = max(0, link.capacity_beats - link.beats()) * link.beat
        fmax = min(k * pb, p_left)
        if not drain:
            if fmax and room:
                assert r.prod_engine is not None
                r.prod_engine.mm2s_push(min(fmax, room))
            return
        total = k * rate + r.credit
        beats = int(total)
        r.credit = total - beats
        dcap = min(beats * cb, c_room)
        head = link.packets[0]
        if tail and fmax:
            f = min(fmax, room + dcap)
            assert r.prod_engine is not None
            r.prod_engine.mm2s_push(f)
            d = min(dcap, head.available)
        else:
            d = min(dcap, head.available)
            f = min(fmax, room + d)
            if f:
                assert r.prod_engine is not None
                r.prod_engine.mm2s_push(f)
        if d <= 0:
            return
        data = head.pop(d)
        if r.cons_engine is not None:
            r.cons_engine.s2mm_store(data)
        elif r.cons_node is not None:
            r.cons_node.take(r.cons_port, data)
