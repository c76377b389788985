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
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .. import constants, regmap
from .stream import Packet

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
        self._word = np.zeros(1, "<u4")
        self._word_bytes = self._word.view(np.uint8)

    def reset(self) -> None:
        """Power-on / soft reset: pointers 0, prefetched BDs dropped, counters to reset."""
        self.mm2s = SgChannel("MM2S")
        self.s2mm = SgChannel("S2MM")
        self.fetch_free = 0

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
            if tx is None or tx.complete:  # a new packet: its first beat stops the timer
                sc.dly_start = -1
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
        """An IOC event (threshold counter) and the delay timer arming at a packet's end."""
        if sc.thr <= 1:
            ch.irq |= _R.DMASR_IOC_IRQ
            sc.thr = (ch.cr >> _THRESHOLD.lsb) & 0xFF  # IRQThreshold (inlined: per packet)
        else:
            sc.thr -= 1
        if ch.cr & _DELAY.mask and ch.rs and not ch.irq & _R.DMASR_DLY_IRQ:
            sc.dly_start = self.e.cycle

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
        status = _R.BD_CMPLT | _BD_FAULT_BIT[kind] | (ch.done & self.e.length_mask)
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

    def mm2s_events(self) -> bool:
        """MM2S's BD ends or faults; True if a fault halted the engine."""
        m = self.e.mm2s
        if m.busy:
            if m.fault_at >= 0 and m.done >= m.fault_at:
                self.data_fault(m)
                return True
            if m.done >= m.xlen:
                self.bd_done(m, True)
        return False

    def s2mm_events(self) -> None:
        """S2MM's BD ends at TLAST (RXEOF) or full (no error in SG mode), or faults."""
        e = self.e
        s = e.s2mm
        if not s.busy:
            return
        sc = self.s2mm
        packets = e.in_link.packets
        if s.done and sc.dly_start >= 0 and sc.bd is not None and sc.bd.sof:
            sc.dly_start = -1  # the next packet's first beat stops the delay timer
        if packets:
            head = packets[0]
            if head.complete and head.available == 0:
                packets.popleft()
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
        if e.reset_until >= 0:
            if cycle < e.reset_until:
                e.cycle = cycle
                return
            e.cycle = e.reset_until
            e._finish_soft_reset()
        while e.cycle < cycle:
            nxt = self.timed(e.cycle)
            stop = cycle if nxt < 0 else min(cycle, nxt)
            if stop > e.cycle and (e.mm2s.busy or e.s2mm.busy) and e._step(stop - e.cycle):
                continue
            e.cycle = stop  # nothing moves before the next timed event
        self.timed(e.cycle)

    def describe(self) -> list[str]:
        """Fetcher state and the BD in flight per channel, as lines of a target description."""
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
