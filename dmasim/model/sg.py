"""The AXI DMA's scatter-gather engine (``c_include_sg=1``) on top of the model's data path.

Each fetched buffer descriptor (BD) becomes one command of the channel's data path (the same
``xaddr``/``xlen``/``done`` state simple mode uses), so data moves exactly as in simple mode;
this module adds what SG mode changes: CURDESC/TAILDESC, the fetcher that stops at the tail,
BD STATUS write-back, packets spanning BDs, SG Idle, the SG errors, cyclic mode and interrupt
coalescing (threshold counter and delay timer). Rules ``SG-*`` of ``docs/axi-dma-behaviour.md``
name what each piece implements.

Timing: a BD fetch costs :data:`~dmasim.constants.SG_BD_FETCH_CYCLES` on one fetcher shared by
both channels, and the fetcher runs up to :data:`~dmasim.constants.SG_PREFETCH_BDS` BDs ahead,
so a BD's data starts no earlier than its fetch ended. The status write is modelled as taking
no time, but it always lands before the IOC event and Idle it causes.

Speed: step by step, every BD costs a few Python calls. A steady chain (each MM2S BD one packet
into an S2MM BD at least as long, data paced by the data path, not by the fetcher; no faults,
delay timer, cyclic or keyhole) is instead worked out once as a schedule (:meth:`SgEngine._plan`)
and each later catch-up (a driver's poll) jumps to its cycle in closed form: the data and STATUS
words of every BD pair done since the last one in a few copies, CURDESC and the coalescing
counters set, the rest of the engine brought up to date only when something needs it
(:meth:`SgEngine.settle`). Software changing a BD before its fetch ends the jump there. A chain
that runs again from the same state uses its schedule again. ``batched = False`` switches this
off; tests compare both paths snapshot by snapshot.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import constants, regmap
from .stream import Packet, StreamFifo

if TYPE_CHECKING:
    from .dma import AxiDmaModel, ChannelModel

__all__ = ["Bd", "SgChannel", "SgEngine"]

_R = regmap
_BD = regmap.BD
_THRESHOLD = _R.DMACR.field("IRQThreshold")
_DELAY = _R.DMACR.field("IRQDelay")
_FETCH_BYTES = _BD.FETCH_WORDS * 4
_KEYHOLE = _R.DMACR.field("Keyhole").mask
_STATUS_WORD = _BD.STATUS // 4
_CONTROL_WORD = _BD.CONTROL // 4
_BUFFER_WORD = _BD.BUFFER_ADDRESS // 4
_FAULT_BIT = {"slverr": _R.DMASR_SLV_ERR, "decerr": _R.DMASR_DEC_ERR}
_SG_FAULT_BIT = {"slverr": _R.DMASR_SG_SLV_ERR, "decerr": _R.DMASR_SG_DEC_ERR}
_BD_FAULT_BIT = {"slverr": _R.BD_STATUS.field("DMASlvErr").mask,
                 "decerr": _R.BD_STATUS.field("DMADecErr").mask}
_BATCH_MIN_PAIRS = 4  # a plan costs about as much as a few step-by-step BD pairs
_PLAN_MIN_BDS = 32  # BDs a plan reads ahead at least (later polls use them)
_FEW_WORDS = 16  # STATUS words a plan writes one by one rather than with one numpy call
# Packet.marks: its first beat / TLAST beat passed MM2S's (out) or S2MM's (in) handshake
_OUT_FIRST, _OUT_LAST, _IN_FIRST, _IN_LAST = 1, 2, 4, 8
_BD_INT_ERR = _R.BD_STATUS.field("DMAIntErr").mask


@dataclass(slots=True)
class Bd:
    """A fetched BD: the words the engine read, snapshotted at fetch time."""

    addr: int
    nxt: int
    buf: int
    control: int
    ready_at: int  # cycle the fetch completed: its data may not start before
    sof: bool = False  # S2MM: the BD started at a packet boundary (RXSOF when written)


@dataclass
class SgChannel:
    """One channel's SG state: descriptor pointers, fetcher, BD in flight, coalescing."""

    name: str
    cur_lo: int = 0
    cur_hi: int = 0
    tail_lo: int = 0
    tail_hi: int = 0
    latched: bool = False  # an error latched CURDESC: CPU writes ignored until reset
    fetch_addr: int = 0
    fetching: bool = False  # kicked and not yet stopped at the tail
    last_fetched: int = 0
    queue: deque[Bd] = field(default_factory=deque)
    bd: Bd | None = None  # the BD handed to the data mover (started or waiting for its fetch)
    sof_next: bool = True  # the next S2MM BD starts a packet
    thr: int = 1  # IRQThresholdSts
    dly_start: int = -1  # cycle the delay timer armed, -1 when stopped
    bds_done: int = 0

    @property
    def cur(self) -> int:
        """CURDESC as one address."""
        return (self.cur_hi << 32) | self.cur_lo

    @property
    def tail(self) -> int:
        """TAILDESC as one address."""
        return (self.tail_hi << 32) | self.tail_lo

    def set_cur(self, addr: int) -> None:
        """The engine updates CURDESC (both halves)."""
        self.cur_lo, self.cur_hi = addr & 0xFFFF_FFFF, addr >> 32


@dataclass(slots=True)
class _Side:
    """One channel's BDs in a :class:`_Schedule`.

    The ones fetched already, then the walked ones; times relative to the schedule's start.
    """

    rows: np.ndarray  # (addr, nxt, buf, control) of BD k (k = 0: the BD in flight)
    ready: np.ndarray  # cycle BD k's fetch completes
    first: int  # BDs fetched before the schedule (in flight + prefetched)
    count: int  # BDs the schedule knows
    tail: bool  # the last of them is the tail
    fetching: bool  # the fetcher ran when the schedule was made
    slots: list[tuple[int, int, int, bytes]]
    """Runs of adjacent BDs fetched later: ``(k0, k1, address of k0, bytes as read)``."""
    addrs: list[int]  # BD k's address
    a0: int = 0  # the first run of ``slots``, for a quick look at the common single run
    snap: bytes = b""

    def changed(self, ddr: np.ndarray, lo: int, hi: int) -> int:
        """The first BD in ``lo..hi-1`` whose slot in ``ddr`` differs from the one read, or hi.

        A changed APP word counts too: that only ends the schedule sooner.
        """
        for k0, k1, a0, snap in self.slots:
            x, y = max(lo, k0), min(hi, k1)
            if x >= y:
                continue
            a, b = a0 + (x - k0) * _BD.SIZE, a0 + (y - k0) * _BD.SIZE
            if ddr[a:b].tobytes() == snap[a - a0:b - a0]:
                continue
            for k in range(x, y):
                a = a0 + (k - k0) * _BD.SIZE
                if ddr[a:a + _BD.SIZE].tobytes() != snap[a - a0:a - a0 + _BD.SIZE]:
                    return k
        return hi


@dataclass(slots=True)
class _Schedule:
    """A steady chain from the BD pair in flight on (see :meth:`SgEngine._plan`).

    BD pair j of both channels starts ``start[j]`` cycles after the schedule's start (pair 0
    is in flight: its start is virtual) and moves ``ml[j]`` bytes; completion j (1..n) ends
    pair j-1 and starts pair j. Nothing in it is absolute time, so a chain that runs again
    from the same state (a driver repeating a transfer) uses it again.
    """

    key: tuple[object, ...]  # the engine state it starts from (times relative)
    n: int  # completions it holds
    done: int  # bytes of pair 0 moved at its start
    start: list[int]
    ml: list[int]
    cum: list[int]  # bytes of pairs before pair j
    run_cum: list[int]  # contiguous data runs: first byte (as in ``cum``), then the end
    run_src: list[int]
    run_dst: list[int]
    ff: list[int]  # the fetcher is free from this cycle after completion j (index j-1)
    status: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # STATUS word index, value
    status_items: tuple[list[int], list[int], list[int], list[int]]  # the same, as lists
    sides: tuple[_Side, _Side]  # MM2S, S2MM
    final: bool  # pair n is the tail of both chains: its end (completion n+1) idles both


@dataclass(slots=True)
class _Plan:
    """A :class:`_Schedule` in use: where it last left the engine."""

    s: _Schedule
    base: int  # the cycle the schedule's times count from
    n: int  # completions it may still apply (fewer when software changed a BD)
    pos: int  # the pair in flight
    cycle: int  # the engine's cycle (it must still be there when the plan goes on)
    done: int  # bytes of that pair moved
    mat: int  # the pair in flight as the engine's inner state has it (see settle)
    bds: tuple[dict[int, Bd], dict[int, Bd]]  # each side's BD k once it exists
    fresh: bool = True  # made in this catch-up: every BD it holds was checked just now
    until: int = 0  # before this cycle a catch-up only moves pair ``pos``'s data on...
    src_at: int = 0  # ...from here to here (the rest of the pair lies in one run)
    dst_at: int = 0

    def bd(self, side: int, k: int) -> Bd:
        """BD ``k`` of ``side``, made when first needed (the step loop makes it at its fetch)."""
        bd = self.bds[side].get(k)
        if bd is None:
            sd = self.s.sides[side]
            a, nxt, buf, control = sd.rows[k].tolist()
            bd = self.bds[side][k] = Bd(a, nxt, buf, control, self.base + int(sd.ready[k]))
        return bd


def _coalesce(thr: int, reload: int, events: int) -> tuple[int, bool]:
    """The threshold counter after ``events`` IOC events, and whether one set IOC_Irq."""
    first = max(thr, 1)  # the event that reaches 1 sets IOC_Irq and reloads
    if events < first:
        return thr - events, False
    rest = events - first
    return reload - rest % max(reload, 1), True


class SgEngine:
    """The SG half of one :class:`~dmasim.model.dma.AxiDmaModel` (both channels)."""

    def __init__(self, engine: AxiDmaModel, params: dict[str, int]):
        self.e = engine
        self.resolution = int(params.get("c_dlytmr_resolution", constants.SG_DLYTMR_RESOLUTION))
        self.msb_mask = (1 << (engine.addr_width - 32)) - 1 if engine.addr_width > 32 else 0
        self.mm2s = SgChannel("MM2S")
        self.s2mm = SgChannel("S2MM")
        self.fetch_free = 0  # cycle the shared fetcher is free again
        self._ddr32 = engine.memory.ddr[:engine.memory.ddr.size & ~3].view("<u4")
        self._ddr32_items = memoryview(self._ddr32)  # type: ignore[arg-type]  # word by word
        self._word = np.zeros(1, "<u4")
        self._word_bytes = self._word.view(np.uint8)
        self.batched = True  # tests switch it off to compare with the step-by-step path
        self.plan: _Plan | None = None  # a steady chain's schedule in use (the batched path)
        self._schedule: _Schedule | None = None  # the last schedule made (used again if it fits)
        self._backoff = 0  # step iterations before the next plan attempt
        self._backoff_next = 0
        self.batched_pairs = 0  # BD pairs the batched path completed (statistics, tests)

    def reset(self) -> None:
        """Power-on / soft reset: pointers 0, prefetched BDs dropped, counters to reset."""
        self.mm2s = SgChannel("MM2S")
        self.s2mm = SgChannel("S2MM")
        self.fetch_free = 0
        self.plan = None  # dropped, not settled: everything it would set is reset

    def forget_schedule(self) -> None:
        """Forget the last steady chain's schedule (benchmarks: a chain never run before)."""
        self._schedule = None

    def sc(self, ch: ChannelModel) -> SgChannel:
        """The SG state of data-path channel ``ch``."""
        return self.mm2s if ch is self.e.mm2s else self.s2mm

    # --- registers ----------------------------------------------------------------------

    def dmasr(self, ch: ChannelModel) -> int:
        """DMASR as read in SG mode."""
        sc = self.sc(ch)
        value = (ch.err | ch.irq | (_R.DMASR_HALTED if ch.halted else 0)
                 | (_R.DMASR_IDLE if ch.idle else 0) | _R.DMASR_SG_INCLD | (sc.thr << 16))
        if sc.dly_start >= 0:
            ticks = (self.e.cycle - sc.dly_start) // self.resolution
            value |= min(ticks, _DELAY.get(ch.cr)) << 24
        return value

    def read(self, ch: ChannelModel, rel: int) -> int:
        """SG registers at channel offset ``rel`` (0x08..0x14); others read 0."""
        sc = self.sc(ch)
        if rel == 0x08:
            return sc.cur_lo
        if rel == 0x0C:
            return sc.cur_hi
        if rel == 0x10:
            return sc.tail_lo
        if rel == 0x14:
            return sc.tail_hi
        return 0

    def write(self, ch: ChannelModel, rel: int, value: int) -> None:
        """A CPU write to CURDESC/TAILDESC (+MSB); SA/DA/LENGTH are reserved in SG mode."""
        sc = self.sc(ch)
        wide = self.msb_mask != 0
        if rel in (0x08, 0x0C):
            if not ch.halted or sc.latched:
                self.e._diag(ch, "CURDESC written while running (or after an error): ignored")
                return
            if rel == 0x08:
                sc.cur_lo = value & _R.DESC_ADDR_MASK
            elif wide:
                sc.cur_hi = value & self.msb_mask
        elif rel == 0x10:
            sc.tail_lo = value & _R.DESC_ADDR_MASK
            if not wide:
                self._kick(ch, sc)
        elif rel == 0x14 and wide:
            sc.tail_hi = value & self.msb_mask
            self._kick(ch, sc)

    def dmacr_written(self, ch: ChannelModel, old_cr: int, value: int, was_rs: bool) -> None:
        """Coalescing side effects of a DMACR write and the RS edges (after the write)."""
        sc = self.sc(ch)
        if _THRESHOLD.get(value) != _THRESHOLD.get(old_cr):
            sc.thr = _THRESHOLD.get(ch.cr)
        if _DELAY.get(value) != _DELAY.get(old_cr):
            sc.dly_start = -1
            e = self.e
            if ch is e.mm2s:  # what passed before this write does not arm the timer
                self._handshakes(e.out_link, e.out_link.capacity_beats - e.fifo_beats, ch, sc,
                                 _OUT_FIRST, _OUT_LAST, arm=False)
            else:
                self._handshakes(e.in_link, constants.S2MM_SKID_BEATS, ch, sc, _IN_FIRST,
                                 _IN_LAST, arm=False)
        if ch.rs and not was_rs:  # RS 0->1: CURDESC is the first fetch address
            sc.fetch_addr = sc.cur
            sc.fetching = False
            ch.idle = False
        elif was_rs and not ch.rs:  # RS 1->0: stop fetching, drop unstarted BDs
            sc.fetching = False
            sc.queue.clear()
            sc.dly_start = -1
            if sc.bd is not None and not ch.busy:
                sc.bd = None

    def _kick(self, ch: ChannelModel, sc: SgChannel) -> None:
        if not ch.rs:
            self.e._diag(ch, "TAILDESC written while RS=0: stored but it starts nothing; "
                             "write it again after RS=1")
            return
        if not sc.fetching:
            sc.fetching = True
            ch.idle = False
        self._backoff = self._backoff_next = 0  # a new chain: plan it as soon as it is steady
        self.advance(ch)

    # --- fetch and start ----------------------------------------------------------------

    def _fetch(self, ch: ChannelModel, sc: SgChannel) -> bool:
        """Fetch BDs up to the prefetch depth; False when an SG error halted the engine."""
        mem = self.e.memory
        while sc.fetching and len(sc.queue) < constants.SG_PREFETCH_BDS:
            addr = sc.fetch_addr & ~(_BD.ALIGN - 1)
            sc.last_fetched = addr
            kind = mem.response(addr, _FETCH_BYTES)
            if kind is not None:
                self._sg_error(ch, _SG_FAULT_BIT[kind], addr)
                return False
            i = addr >> 2
            w = self._ddr32[i:i + _BD.FETCH_WORDS].tolist()  # Python ints: numpy scalars are slow
            if w[_STATUS_WORD] & _R.BD_CMPLT and not ch.cr & _R.DMACR_CYCLIC:
                self._sg_error(ch, _R.DMASR_SG_INT_ERR, addr)
                return False
            nxt = w[0] & _R.DESC_ADDR_MASK
            buf = w[_BUFFER_WORD]
            if self.msb_mask:
                nxt |= (w[1] & self.msb_mask) << 32
                buf |= (w[_BUFFER_WORD + 1] & self.msb_mask) << 32
            done = max(self.e.cycle, self.fetch_free) + constants.SG_BD_FETCH_CYCLES
            self.fetch_free = done
            sc.queue.append(Bd(addr, nxt, buf, w[_CONTROL_WORD], done))
            sc.fetch_addr = nxt
            if addr == sc.tail & ~(_BD.ALIGN - 1):
                sc.fetching = False  # stopped at the tail; resumes at its NXTDESC on a kick
        return True

    def advance(self, ch: ChannelModel) -> None:
        """Hand the next fetched BD to the data mover if it is free, then fetch ahead."""
        sc = self.sc(ch)
        if ch.err or (not ch.rs and sc.bd is None):
            return
        if sc.bd is None and sc.queue and ch.rs:  # the next BD was prefetched
            sc.bd = sc.queue.popleft()
            sc.set_cur(sc.bd.addr)
        if not self._fetch(ch, sc):
            return
        if sc.bd is None and sc.queue and ch.rs:  # the first BD after a kick
            sc.bd = sc.queue.popleft()
            sc.set_cur(sc.bd.addr)
            if not self._fetch(ch, sc):
                return
        bd = sc.bd
        if bd is not None and not ch.busy and bd.ready_at <= self.e.cycle:
            self._start(ch, sc, bd)
        self._check_idle(ch, sc)

    def _start(self, ch: ChannelModel, sc: SgChannel, bd: Bd) -> None:
        e = self.e
        nbytes = bd.control & e.length_mask
        is_mm2s = ch is e.mm2s
        if not nbytes:  # DMAIntErr: the data mover refuses a zero-length command
            e._diag(ch, f"BD at 0x{bd.addr:x} has length 0 (CONTROL=0x{bd.control:08x} masked "
                        f"to c_sg_length_width={e.length_width}): DMAIntErr")
            if self._write_status(ch, sc, bd, _R.BD_CMPLT | _BD_INT_ERR):
                e._error(ch, _R.DMASR_INT_ERR)
                sc.set_cur(sc.last_fetched)
                sc.latched = True
            return
        beat = e.beat if is_mm2s else e.s2mm_beat
        addr = bd.buf
        ch.low = addr
        dre = e.mm2s_dre if is_mm2s else e.s2mm_dre
        if addr % beat and not dre:
            e._diag(ch, f"BD at 0x{bd.addr:x}: buffer 0x{addr:x} is not aligned to {beat} "
                        "bytes and the design has no DRE: data lands in the wrong byte lanes")
            addr -= addr % beat
        ch.xaddr, ch.xlen, ch.done = addr, nbytes, 0
        ch.keyhole = bool(ch.cr & _KEYHOLE)
        fault = e.memory.first_fault(addr, min(nbytes, beat) if ch.keyhole else nbytes, beat,
                                     read=is_mm2s)
        ch.fault_at, ch.fault_kind = fault if fault else (-1, "")
        ch.busy = True
        ch.transfers += 1
        if is_mm2s:
            tx = e.tx_packet
            if tx is None or tx.complete:  # a new packet
                e.tx_packet = Packet()
                e.out_link.packets.append(e.tx_packet)
        else:
            bd.sof = sc.sof_next
            sc.sof_next = False

    # --- completion ---------------------------------------------------------------------

    def _write_status(self, ch: ChannelModel, sc: SgChannel, bd: Bd, status: int) -> bool:
        """The one 4-byte STATUS write; False when it failed (SG update error, engine halted)."""
        at = bd.addr + _BD.STATUS
        kind = self.e.memory.response(at, 4)
        if kind is not None:
            self._sg_error(ch, _SG_FAULT_BIT[kind], sc.last_fetched)
            return False
        self._word[0] = status
        self.e.memory.write(at, self._word_bytes)
        sc.bds_done += 1
        return True

    def bd_done(self, ch: ChannelModel, eof: bool) -> None:
        """The BD in the data mover finished its data: STATUS, IOC event, next BD, Idle."""
        e, sc = self.e, self.sc(ch)
        bd = sc.bd
        assert bd is not None
        is_mm2s = ch is e.mm2s
        if is_mm2s:
            eof = bool(bd.control & _R.BD_TXEOF)
            status = _R.BD_CMPLT | (bd.control & _R.BD_LENGTH_MASK)
            if eof and e.tx_packet is not None:
                e.tx_packet.complete = True
        else:
            status = (_R.BD_CMPLT | (ch.done & e.length_mask)
                      | (_R.BD_RXSOF if bd.sof else 0) | (_R.BD_RXEOF if eof else 0))
            sc.sof_next = eof
        ch.busy = False
        ch.moved += ch.done
        if not self._write_status(ch, sc, bd, status):
            return
        sc.bd = None
        if eof:
            self._packet_end(ch, sc)
        if ch.stopping and not ch.rs:
            sc.queue.clear()
            e._halt(ch)
            return
        self.advance(ch)

    def _packet_end(self, ch: ChannelModel, sc: SgChannel) -> None:
        """An IOC event at a packet's end (its EOF BD's STATUS written): the threshold counter."""
        if sc.thr <= 1:
            ch.irq |= _R.DMASR_IOC_IRQ
            sc.thr = (ch.cr >> _THRESHOLD.lsb) & 0xFF  # IRQThreshold (inlined: per packet)
        else:
            sc.thr -= 1

    def _check_idle(self, ch: ChannelModel, sc: SgChannel) -> None:
        if ch.rs and not sc.fetching and not sc.queue and sc.bd is None and not ch.busy:
            ch.idle = True

    def data_fault(self, ch: ChannelModel) -> None:
        """The BD's buffer answered SLVERR/DECERR: STATUS with the error, then the halt."""
        sc = self.sc(ch)
        bd = sc.bd
        assert bd is not None
        kind = ch.fault_kind
        ch.busy = False
        if ch is self.e.mm2s:
            # MM2S reports the CONTROL length as fetched, and a TXEOF BD still ends the
            # packet: the error is posted with the command's last beat
            done = bd.control & _R.BD_LENGTH_MASK
            tx = self.e.tx_packet
            if bd.control & _R.BD_TXEOF and tx is not None:
                tx.complete = True
        else:
            done = ch.done & self.e.length_mask
        status = _R.BD_CMPLT | _BD_FAULT_BIT[kind] | done
        if self._write_status(ch, sc, bd, status):
            self.e._error(ch, _FAULT_BIT[kind])
            sc.set_cur(sc.last_fetched)
            sc.latched = True

    def _sg_error(self, ch: ChannelModel, bit: int, curdesc: int) -> None:
        sc = self.sc(ch)
        self.e._error(ch, bit)
        sc.set_cur(curdesc)
        sc.latched = True

    def halt_all(self) -> None:
        """An error halted the engine: both fetchers freeze, BDs in flight are dropped."""
        for sc in (self.mm2s, self.s2mm):
            sc.fetching = False
            sc.queue.clear()
            sc.bd = None
            sc.dly_start = -1

    # --- the data path's events ---------------------------------------------------------

    def _handshakes(self, link: StreamFifo, room: int, ch: ChannelModel, sc: SgChannel,
                    first_bit: int, last_bit: int, arm: bool = True) -> None:
        """First beats and TLAST beats that passed ``ch``'s stream handshake since the last look.

        Rule SG-COALESCE-DELAY: a packet's first beat stops the delay timer, its TLAST beat
        arms it. The last ``room`` beats of ``link`` lie past the handshake (S2MM's skid
        buffer, and for MM2S whatever buffers the link has after MM2S's FIFO); a beat passes
        once it is read and fewer beats than that are ahead of it. ``arm=False`` only notes
        what passed (IRQDelay changed: what passed before does not arm the new timer).
        """
        b = link.beat
        ahead = 0
        for p in link.packets:
            held = -(-p.read // b) + (-p.consumed // b)
            marks = p.marks
            if not marks & first_bit and (p.consumed or (held and ahead < room)):
                p.marks = marks = marks | first_bit
                if arm:
                    sc.dly_start = -1
            if not marks & last_bit and p.complete and ahead + held <= room:
                p.marks = marks | last_bit
                if arm and ch.cr & _DELAY.mask and ch.rs and not ch.irq & _R.DMASR_DLY_IRQ:
                    sc.dly_start = self.e.cycle
            ahead += held
            if ahead >= room:
                break

    def mm2s_events(self) -> bool:
        """MM2S's BD ends or faults; True if a fault halted the engine."""
        e = self.e
        m = e.mm2s
        if m.busy and m.done >= m.xlen:
            if m.fault_at >= 0:  # rule ERR-POSTED-AT-END: failing beats stream as data
                self.data_fault(m)
                return True
            self.bd_done(m, True)
        self._handshakes(e.out_link, e.out_link.capacity_beats - e.fifo_beats, m, self.mm2s,
                         _OUT_FIRST, _OUT_LAST)
        return False

    def s2mm_events(self) -> None:
        """S2MM's BD ends at TLAST (RXEOF) or full (no error in SG mode), or faults."""
        e = self.e
        s = e.s2mm
        sc = self.s2mm
        self._handshakes(e.in_link, constants.S2MM_SKID_BEATS, s, sc, _IN_FIRST, _IN_LAST)
        if not s.busy:
            return
        packets = e.in_link.packets
        if packets:
            head = packets[0]
            if head.complete and head.available == 0:
                packets.popleft()
                if 0 <= s.fault_at < s.done:  # a failing beat was written: SG-ERR-DATA wins
                    self.data_fault(s)  # over the packet's end (a packet in one step hid it)
                    return
                self.bd_done(s, True)
                return
        if s.fault_at >= 0 and s.done >= s.fault_at:
            self.data_fault(s)
        elif s.done >= s.xlen:
            self.bd_done(s, False)

    # --- time ---------------------------------------------------------------------------

    def timed(self, cycle: int) -> int:
        """Handle what is due at ``cycle`` (BD starts, delay timeouts); next such cycle or -1."""
        nxt = -1
        for ch in (self.e.mm2s, self.e.s2mm):
            sc = self.sc(ch)
            bd = sc.bd
            if bd is not None and not ch.busy and ch.rs:
                if bd.ready_at <= cycle:
                    self.advance(ch)
                elif nxt < 0 or bd.ready_at < nxt:
                    nxt = bd.ready_at
            if sc.dly_start >= 0:
                delay = _DELAY.get(ch.cr)
                fire = sc.dly_start + (delay + constants.SG_DELAY_EXTRA_TICKS) * self.resolution
                if fire <= cycle:
                    sc.dly_start = -1
                    ch.irq |= _R.DMASR_DLY_IRQ
                    if ch.cr & _R.DMACR_DLY_IRQEN:
                        sc.thr = _THRESHOLD.get(ch.cr)
                elif nxt < 0 or fire < nxt:
                    nxt = fire
        return nxt

    def run_until(self, cycle: int) -> None:
        """The loopback's time loop in SG mode: data steps bounded by the timed events."""
        e = self.e
        plan = self.plan
        if plan is not None:  # (no reset can be in progress: its write settled the plan)
            mem = e.memory
            if (self.batched and plan.cycle == e.cycle and not mem._faults
                    and not mem._cacheable):
                if cycle < plan.until:  # within the pair in flight: only its data moves
                    n = (cycle - e.cycle) * e.beat
                    mem.copy(plan.dst_at, plan.src_at, n)
                    plan.src_at += n
                    plan.dst_at += n
                    plan.done += n
                    e.cycle = plan.cycle = cycle
                    return
                if self._apply(plan, cycle) and e.cycle >= cycle:
                    return  # a steady chain's plan took it there (nothing timed is due in one)
            self.settle()
        if e.reset_until >= 0:
            if cycle < e.reset_until:
                e.cycle = cycle
                return
            e.cycle = e.reset_until
            e._finish_soft_reset()
        msc, ssc = self.mm2s, self.s2mm
        if (msc.bd is None and ssc.bd is None and msc.dly_start < 0 and ssc.dly_start < 0
                and not (e.mm2s.busy or e.s2mm.busy or e.s2mm_discarding)):
            e.cycle = cycle  # no BD to start or move, no delay timer: time changes nothing
            return
        while e.cycle < cycle:
            nxt = self.timed(e.cycle)  # first: a BD it starts may complete a steady state
            if self.batched:
                if self._backoff:
                    self._backoff -= 1
                elif self._jump(cycle):
                    if e.cycle >= cycle:
                        return  # a plan took it there (it stays in use for the next catch-up)
                    continue
            stop = cycle if nxt < 0 else min(cycle, nxt)
            if stop > e.cycle and (e.mm2s.busy or e.s2mm.busy) and e._step(stop - e.cycle):
                continue
            e.cycle = stop  # nothing moves before the next timed event
        self.timed(e.cycle)

    # --- the batched path -----------------------------------------------------------------

    def _walk(self, sc: SgChannel, limit: int, seen: np.ndarray) -> tuple[np.ndarray, bool]:
        """The BDs ``sc``'s fetcher reads next, as rows ``(addr, nxt, buf, control)``, read now.

        Returns them and whether the walk reached the tail. It stops early, before a BD the
        batch cannot take (outside DDR, Cmplt already set, in ``seen``) or at ``limit`` BDs.
        Contiguous runs of BDs are read with one numpy slice each.
        """
        parts: list[np.ndarray] = []
        if not sc.fetching:
            return np.zeros((0, 4), np.int64), True
        ddr32 = self._ddr32
        size = ddr32.size * 4
        tail = sc.tail & ~(_BD.ALIGN - 1)
        msb = self.msb_mask
        addr = sc.fetch_addr & ~(_BD.ALIGN - 1)
        seen_at = seen.tolist()
        total = 0
        while total < limit:
            rows = limit - total
            if tail >= addr:
                rows = min(rows, (tail - addr) // _BD.SIZE + 1)
            for s in seen_at:  # stop before a BD already taken
                if addr <= s < addr + rows * _BD.SIZE and not (s - addr) % _BD.SIZE:
                    rows = (s - addr) // _BD.SIZE
            if not rows:
                break
            i = addr >> 2
            if (size - addr) // _BD.SIZE >= rows:
                blk = ddr32[i:i + rows * 16].reshape(rows, 16)
            elif addr + _FETCH_BYTES <= size:
                rows = 1
                blk = ddr32[i:i + _BD.FETCH_WORDS].reshape(1, _BD.FETCH_WORDS)
            else:
                break
            out = np.empty((rows, 4), np.int64)
            out[:, 0] = np.arange(addr, addr + rows * _BD.SIZE, _BD.SIZE)
            out[:, 1] = blk[:, 0] & _R.DESC_ADDR_MASK
            out[:, 2] = blk[:, _BUFFER_WORD]
            out[:, 3] = blk[:, _CONTROL_WORD]
            if msb:
                out[:, 1] |= (blk[:, 1] & msb).astype(np.int64) << 32
                out[:, 2] |= (blk[:, _BUFFER_WORD + 1] & msb).astype(np.int64) << 32
            # Stop before a BD with Cmplt set, after one whose NXTDESC is not the next slot.
            bad = blk[:, _STATUS_WORD] >= _R.BD_CMPLT
            first_bad = int(bad.argmax())
            if not bad[first_bad]:
                first_bad = rows
            brk = out[:rows - 1, 1] != out[1:, 0]
            first_brk = int(brk.argmax()) if rows > 1 else 0
            if rows > 1 and not brk[first_brk]:
                first_brk = rows - 1
            take = min(first_bad, first_brk + 1)
            parts.append(out[:take])
            total += take
            if take < rows or take == 0:
                if first_bad < first_brk + 1 or take == 0:
                    break
                if int(out[take - 1, 0]) == tail:
                    return np.concatenate(parts), True
                addr = int(out[take - 1, 1])
                seen_at.extend(out[:take, 0].tolist())
                continue
            last_at = int(out[rows - 1, 0])
            if last_at == tail:
                return np.concatenate(parts), True
            addr = int(out[rows - 1, 1])
            seen_at.extend(out[:, 0].tolist())
        out = np.concatenate(parts) if parts else np.zeros((0, 4), np.int64)
        return out, False

    def _jump(self, cycle: int) -> bool:
        """Advance a steady chain towards ``cycle`` in closed form; True if it advanced.

        The chain's schedule (:meth:`_plan`) is worked out when the step loop reaches a
        steady state and then serves every later catch-up (each poll of a driver) with a few
        copies and assignments, until it runs out, software writes a register, or a BD it
        relies on changes.
        """
        plan = self.plan
        e = self.e
        if plan is not None and not (plan.cycle == e.cycle and not e.memory._faults
                                     and not e.memory._cacheable):
            self.settle()  # a fault or a cached buffer appeared: step by step from here
            plan = None
        if plan is None:
            plan = self._plan(cycle)
            if plan is None:
                return False
            self.plan = plan
        return self._apply(plan, cycle)

    def _plan(self, cycle: int) -> _Plan | None:
        """A plan for a steady loopback chain from the BD pair in flight; None if none.

        It applies where every step-by-step iteration would be the memory-to-memory copy of
        one MM2S BD (TXEOF) into one S2MM BD at least as long, followed by both channels
        starting their next BD at once: no faults, no CPU cache model, no delay timer, no
        cyclic or keyhole, data that overlaps no BD and no source. Then the fetch times, BD
        starts and ends, STATUS words and the threshold counters follow from integer arrays,
        and :meth:`_apply` can put the engine where the step loop would have it at any cycle.
        """
        e = self.e
        m, s = e.mm2s, e.s2mm
        msc, ssc = self.mm2s, self.s2mm
        mbd, ssbd = msc.bd, ssc.bd
        mem = e.memory
        tx = e.tx_packet
        packets = e.stream.packets
        beat = e.beat
        if (mbd is None or ssbd is None or tx is None or not (m.busy and s.busy)
                or m.done != s.done or m.done % beat or m.done >= m.xlen
                or tx.read != m.done or tx.consumed != m.done
                or not e.loopback or e.s2mm_discarding
                or beat != e.s2mm_beat or m.fault_at >= 0 or s.fault_at >= 0
                or m.keyhole or s.keyhole or m.stopping or s.stopping or not (m.rs and s.rs)
                or m.err or s.err or msc.dly_start >= 0 or ssc.dly_start >= 0
                or (m.cr | s.cr) & (_DELAY.mask | _R.DMACR_CYCLIC | _KEYHOLE)
                or mem._faults or mem._cacheable or len(packets) != 1 or packets[0] is not tx
                or tx.complete or not mbd.control & _R.BD_TXEOF
                or m.xlen > s.xlen or s.xaddr != s.low):
            return None
        prefetch = constants.SG_PREFETCH_BDS
        if ((msc.fetching and len(msc.queue) != prefetch)
                or (ssc.fetching and len(ssc.queue) != prefetch)):
            return None  # not the steady state (the fetcher still fills a queue)
        if not (msc.fetching or ssc.fetching) and min(len(msc.queue), len(ssc.queue)) < 1:
            self._plan_failed()  # the last pair: nothing to plan
            return None
        c = e.cycle
        mq, sq = [mbd, *msc.queue], [ssbd, *ssc.queue]
        key = (m.done, m.xaddr, s.xaddr, s.xlen, ssbd.sof, self.fetch_free - c,
               msc.fetching, msc.fetch_addr, msc.tail, ssc.fetching, ssc.fetch_addr, ssc.tail,
               *[(b.addr, b.nxt, b.buf, b.control, b.ready_at - c) for b in mq], None,
               *[(b.addr, b.nxt, b.buf, b.control, b.ready_at - c) for b in sq])
        sched = self._schedule
        if sched is None or sched.key != key or any(
                side.changed(mem.ddr, side.first, side.count) < side.count
                for side in sched.sides):
            sched = self._make_schedule(cycle, key, mq, sq)
            if sched is None:
                self._plan_failed()
                return None
            self._schedule = sched
        self._backoff_next = 0
        return _Plan(sched, c, sched.n, 0, c, m.done, 0, (dict(enumerate(mq)), dict(enumerate(sq))))

    def _make_schedule(self, cycle: int, key: tuple[object, ...], mq: list[Bd],
                       sq: list[Bd]) -> _Schedule | None:
        """Walk both chains and work out the schedule (see :meth:`_plan`); None if too short."""
        e = self.e
        m, s = e.mm2s, e.s2mm
        msc, ssc = self.mm2s, self.s2mm
        mem = e.memory
        beat = e.beat
        c = e.cycle
        prefetch = constants.SG_PREFETCH_BDS
        # Enough BDs for the pairs that can end by ``cycle`` if they are like the first, and
        # at least a few dozen for the polls that follow (a walk cut short only makes the
        # schedule run out sooner; the step loop then carries on and plans again).
        pair_cycles = -(-m.xlen // beat)
        limit = min(max(2 * (cycle - c) // pair_cycles, _PLAN_MIN_BDS), 4096) + prefetch + 2
        mrows = np.array([(b.addr, b.nxt, b.buf, b.control) for b in mq], np.int64)
        srows = np.array([(b.addr, b.nxt, b.buf, b.control) for b in sq], np.int64)
        mw, m_tail = self._walk(msc, limit, mrows[:, 0])
        sw, s_tail = self._walk(ssc, limit, srows[:, 0])
        mall, sall = np.concatenate((mrows, mw)), np.concatenate((srows, sw))
        m_addr, s_addr = mall[:, 0], sall[:, 0]
        if (not (m_addr.max() < s_addr.min() or s_addr.max() < m_addr.min())
                and not set(m_addr.tolist()).isdisjoint(s_addr.tolist())):  # a BD on both
            return None
        lmask = e.length_mask
        mb, sb = mall[:, 2].copy(), sall[:, 2].copy()
        mb[0], sb[0] = m.xaddr, s.xaddr
        m_ctl = mall[:, 3]
        ml, sl = m_ctl & lmask, sall[:, 3] & lmask
        # Data written must overlap no BD and no source: then order does not matter. (The
        # data path reads and writes exactly a BD's bytes: beats past its ends do not count.)
        dlo, dhi = int(sb.min()), int((sb + sl).max())
        slots = np.concatenate((m_addr, s_addr))
        if (((slots < dhi) & (slots + _BD.SIZE > dlo)).any()
                or ((mb < dhi) & (mb + ml > dlo)).any()):
            return None
        size = mem.size
        fetch = constants.SG_BD_FETCH_CYCLES
        n_m, n_s = len(m_addr), len(s_addr)
        last = min(n_m, n_s) - 1  # completions that could start a next pair
        if last < _BATCH_MIN_PAIRS:
            return None
        # Completion j (1..last) ends pair j-1 at ce[j-1] and starts pair j, in cycles from
        # now. Pair 0 has moved m.done bytes (whole beats): it started m.done // beat ago.
        start0 = -(m.done // beat)
        ce = start0 + np.cumsum(-(-ml[:last] // beat))
        jj = np.arange(1, last + 1)
        fm = jj + prefetch < n_m  # MM2S fetches BD j+prefetch at completion j
        fs = jj + prefetch < n_s
        ff_after = ce + fetch * (fm.astype(np.int64) + fs)
        ff_before = np.concatenate(([self.fetch_free - c], ff_after[:-1]))
        m_ready = np.zeros(n_m, np.int64)
        m_ready[:len(mq)] = [b.ready_at - c for b in mq]
        m_ready[jj[fm] + prefetch] = ce[fm] + fetch
        s_ready = np.zeros(n_s, np.int64)
        s_ready[:len(sq)] = [b.ready_at - c for b in sq]
        s_ready[jj[fs] + prefetch] = ce[fs] + fetch * (1 + fm[fs])
        mbj, mlj = mb[1:last + 1], ml[1:last + 1]
        sbj, slj = sb[1:last + 1], sl[1:last + 1]
        mend = mbj + mlj
        ok = ((ff_before <= ce)
              & (m_ready[1:last + 1] <= ce) & (s_ready[1:last + 1] <= ce)
              & (mlj > 0) & (m_ctl[1:last + 1] & _R.BD_TXEOF != 0)
              & (mbj - mbj % beat >= 0) & (mend + (-mend % beat) <= size)
              & (slj >= mlj) & (sbj >= 0) & (sbj + slj <= size))
        if not e.mm2s_dre:
            ok &= mbj % beat == 0
        if not e.s2mm_dre:
            ok &= sbj % beat == 0
        if msc.fetching and not m_tail:  # the walk stopped short of the tail
            ok &= jj + prefetch < n_m
        if ssc.fetching and not s_tail:
            ok &= jj + prefetch < n_s
        n = last if ok.all() else int(np.argmin(ok))
        if n < _BATCH_MIN_PAIRS:
            return None
        # The data: pairs 0..n as runs that continue each other (one copy per run).
        cum = np.zeros(n + 2, np.int64)
        np.cumsum(ml[:n + 1], out=cum[1:])
        new_run = np.ones(n + 1, bool)
        new_run[1:] = (mb[1:n + 1] != mb[:n] + ml[:n]) | (sb[1:n + 1] != sb[:n] + ml[:n])
        starts = np.flatnonzero(new_run)
        # The STATUS words of pairs 0..n-1.
        final = n == last and m_tail and s_tail and n_m == n_s
        k = n + final  # STATUS words the schedule writes
        mstat = (_R.BD_CMPLT | (m_ctl[:k] & _R.BD_LENGTH_MASK)).astype(np.uint32)
        sstat = (_R.BD_CMPLT | _R.BD_RXEOF | _R.BD_RXSOF | ml[:k]).astype(np.uint32)
        if not sq[0].sof:
            sstat[0] &= ~_R.BD_RXSOF & 0xFFFF_FFFF
        status = ((m_addr[:k] + _BD.STATUS) >> 2, mstat, (s_addr[:k] + _BD.STATUS) >> 2, sstat)
        items = (status[0].tolist(), mstat.tolist(), status[2].tolist(), sstat.tolist())
        start = [start0, *ce[:n].tolist()]
        lists = (ml[:n + 1].tolist(), cum.tolist(), [*cum[starts].tolist(), int(cum[n + 1])],
                 mb[starts].tolist(), sb[starts].tolist(), ff_after[:n].tolist())
        mside = self._side(mall, len(mq), m_ready, m_tail, msc.fetching)
        sside = self._side(sall, len(sq), s_ready, s_tail, ssc.fetching)
        return _Schedule(key, n, m.done, start, *lists, status, items, (mside, sside), final)

    def _side(self, rows: np.ndarray, first: int, ready: np.ndarray, tail: bool,
              fetching: bool) -> _Side:
        """A channel's part of a schedule, with its later BDs' slots as read now."""
        ddr = self.e.memory.ddr
        count = len(rows)
        slots = []
        if count > first:
            at = rows[first:, 0]
            brk = np.flatnonzero(at[1:] != at[:-1] + _BD.SIZE) + 1
            for k0, k1 in zip([0, *brk.tolist()], [*brk.tolist(), count - first], strict=True):
                a0 = int(at[k0])
                snap = ddr[a0:a0 + (k1 - k0) * _BD.SIZE].tobytes()
                slots.append((first + k0, first + k1, a0, snap))  # clipped at the end of DDR
        a0, snap = (slots[0][2], slots[0][3]) if slots else (0, b"")
        return _Side(rows, ready, first, count, tail, fetching, slots, rows[:, 0].tolist(),
                     a0, snap)

    def _apply(self, plan: _Plan, cycle: int) -> bool:
        """Take ``plan`` to ``cycle``; True if time advanced.

        What software can see changes at once: data, STATUS words, CURDESC, the coalescing
        counters and IOC, the time. The rest of the engine (BDs in flight and prefetched, the
        fetcher, the stream) is brought up to date by :meth:`settle` when something needs it.
        If ``plan`` runs out before ``cycle``, the engine stops where it ends and the plan is
        settled and dropped.
        """
        e = self.e
        sched = plan.s
        beat = e.beat
        p = plan.pos
        start, ml = sched.start, sched.ml
        prefetch = constants.SG_PREFETCH_BDS
        rel = cycle - plan.base
        q = bisect.bisect_right(start, rel, p + 1, plan.n + 1) - 1  # the pair at ``cycle``
        if plan.fresh:  # its BDs were read or compared with memory in this catch-up
            plan.fresh = False
        elif q > p:  # completions p+1..q fetch BDs: are they still what the schedule read?
            ddr = e.memory.ddr
            for side in sched.sides:
                lo, hi = max(p + 1 + prefetch, side.first), min(q + 1 + prefetch, side.count)
                if lo < hi:
                    x, y = (lo - side.first) * _BD.SIZE, (hi - side.first) * _BD.SIZE
                    if len(side.slots) > 1 or (ddr[side.a0 + x:side.a0 + y].tobytes()
                                               != side.snap[x:y]):  # (one run: at once)
                        k = side.changed(ddr, lo, hi)
                        if k < hi:  # software changed a BD: stop before its fetch
                            plan.n = min(plan.n, k - prefetch - 1)
            q = min(q, plan.n)
        exhausted = q == plan.n
        final = False
        if exhausted:  # the plan knows pair q's data but not what follows its end...
            end = start[q] + -(-ml[q] // beat)
            if sched.final and plan.n == sched.n and rel >= end:
                rel, final = end, True  # ...unless that end idles the engine
            else:
                rel = min(rel, end - 1)
        if rel + plan.base <= e.cycle:
            self.settle()
            return False
        d = ml[q] if final else (rel - start[q]) * beat  # bytes of pair q moved by then
        # Data of pairs p..q up to then, one copy per contiguous run.
        mem = e.memory
        cum, run_cum = sched.cum, sched.run_cum
        g, g_end = cum[p] + plan.done, cum[q] + d
        r = bisect.bisect_right(run_cum, g) - 1
        while g < g_end:
            upto = min(g_end, run_cum[r + 1])
            off = g - run_cum[r]
            mem.copy(sched.run_dst[r] + off, sched.run_src[r] + off, upto - g)
            g = upto
            r += 1
        if q > p:  # completions p+1..q: STATUS words, CURDESC, coalescing
            events = q - p
            if events <= _FEW_WORDS:  # a few words: item by item beats a numpy call
                words = self._ddr32_items
                m_idx, m_val, s_idx, s_val = sched.status_items
                for k in range(p, q):
                    words[m_idx[k]] = m_val[k]
                    words[s_idx[k]] = s_val[k]
            else:
                ddr32 = self._ddr32
                m_idx_a, m_val_a, s_idx_a, s_val_a = sched.status
                ddr32[m_idx_a[p:q]] = m_val_a[p:q]
                ddr32[s_idx_a[p:q]] = s_val_a[p:q]
            m, s = e.mm2s, e.s2mm
            msc, ssc = self.mm2s, self.s2mm
            addr = sched.sides[0].addrs[q]
            msc.cur_lo, msc.cur_hi = addr & 0xFFFF_FFFF, addr >> 32
            addr = sched.sides[1].addrs[q]
            ssc.cur_lo, ssc.cur_hi = addr & 0xFFFF_FFFF, addr >> 32
            msc.thr, ioc = _coalesce(msc.thr, (m.cr >> _THRESHOLD.lsb) & 0xFF, events)
            if ioc:
                m.irq |= _R.DMASR_IOC_IRQ
            ssc.thr, ioc = _coalesce(ssc.thr, (s.cr >> _THRESHOLD.lsb) & 0xFF, events)
            if ioc:
                s.irq |= _R.DMASR_IOC_IRQ
            self.batched_pairs += events
        e.cycle = plan.cycle = rel + plan.base
        plan.pos, plan.done = q, d
        plan.until = 0
        if not exhausted:  # q < plan.n: the next catch-up before pair q ends only moves data
            g = cum[q] + d
            r = bisect.bisect_right(run_cum, g) - 1
            if cum[q] + ml[q] <= run_cum[r + 1]:
                off = g - run_cum[r]
                plan.until = plan.base + start[q + 1]
                plan.src_at, plan.dst_at = sched.run_src[r] + off, sched.run_dst[r] + off
        if final:
            self.settle()
            self._end_chain(plan, q)
        elif exhausted:
            self.settle()
        return True

    def settle(self) -> None:
        """Bring the engine's inner state up to the plan in use and drop the plan.

        Called before anything but the plan reads that state: a register write, the step
        loop, a description of the engine.
        """
        plan = self.plan
        if plan is None:
            return
        self.plan = None
        e = self.e
        q, p = plan.pos, plan.mat
        if q > p:  # pair q started: the BDs, the fetcher and the stream as the step loop has them
            sched = plan.s
            events = q - p
            moved = sched.cum[q] - sched.cum[p]
            lmask = e.length_mask
            for i, ch, sc in ((0, e.mm2s, self.mm2s), (1, e.s2mm, self.s2mm)):
                side = sched.sides[i]
                fetched = min(side.first + q, side.count)
                bd = plan.bd(i, q)
                sc.bd = bd
                sc.queue = deque([plan.bd(i, k) for k in range(q + 1, fetched)])
                if fetched > side.first:
                    newest = plan.bd(i, fetched - 1)
                    sc.fetch_addr, sc.last_fetched = newest.nxt, newest.addr
                sc.fetching = side.fetching and not (side.tail and fetched == side.count)
                sc.bds_done += events
                ch.xaddr = ch.low = bd.buf
                ch.xlen = bd.control & lmask
                ch.moved += moved
                ch.transfers += events
            sbd = self.s2mm.bd
            assert sbd is not None
            sbd.sof = True
            self.s2mm.sof_next = False
            self.fetch_free = plan.base + sched.ff[q - 1]
            packets = e.stream.packets
            packets.clear()
            e.tx_packet = Packet()
            packets.append(e.tx_packet)
        tx = e.tx_packet
        assert tx is not None
        e.mm2s.done = e.s2mm.done = tx.read = tx.consumed = plan.done

    def _end_chain(self, plan: _Plan, q: int) -> None:
        """The tail pair ``q`` of ``plan`` ended (engine settled): STATUS words, both idle."""
        e = self.e
        m_idx, m_val, s_idx, s_val = plan.s.status
        self._ddr32[m_idx[q]] = m_val[q]
        self._ddr32[s_idx[q]] = s_val[q]
        tx = e.tx_packet
        assert tx is not None
        tx.complete = True
        e.stream.packets.clear()  # S2MM took the packet
        for ch, sc in ((e.mm2s, self.mm2s), (e.s2mm, self.s2mm)):
            ch.busy = False
            ch.moved += ch.done
            sc.bds_done += 1
            sc.bd = None
            sc.thr, ioc = _coalesce(sc.thr, (ch.cr >> _THRESHOLD.lsb) & 0xFF, 1)
            if ioc:
                ch.irq |= _R.DMASR_IOC_IRQ
            ch.idle = True
        self.s2mm.sof_next = True
        self.batched_pairs += 1

    def _plan_failed(self) -> None:
        """Back off (1, 3, 7, ... up to 63 step iterations) after a plan that could not be made."""
        self._backoff_next = min(2 * self._backoff_next + 1, 63)
        self._backoff = self._backoff_next

    def describe(self) -> list[str]:
        """Fetcher state and the BD in flight per channel, as lines of a target description."""
        self.settle()
        out = []
        for ch in (self.e.mm2s, self.e.s2mm):
            sc = self.sc(ch)
            state = ("fetching" if sc.fetching else "stopped at the tail" if ch.rs
                     else "halted")
            bd = sc.bd
            moving = "no BD in flight" if bd is None else (
                f"BD 0x{bd.addr:x} {ch.done}/{bd.control & self.e.length_mask} B")
            out.append(f"{ch.name} SG: fetcher {state} (next 0x{sc.fetch_addr:x}), "
                       f"{len(sc.queue)} prefetched, {moving}, {sc.bds_done} BDs written")
        return out
