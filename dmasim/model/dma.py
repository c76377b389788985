"""Register-level model of the AXI DMA (PG021, direct-register mode) with its loopback stream.

Time is counted in clock cycles and advanced lazily: state changes only when a register is
accessed or time is explicitly passed, and then jumps from event to event (a channel finishes,
the FIFO fills or empties, a packet ends, an error hits) moving whole numpy slices, never beat
by beat. Behaviour follows the project's specification, ``docs/axi-dma-behaviour.md``; rule
identifiers there (``ERR-HALT-BOTH``...) name what each piece implements.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import constants, regmap
from ..memory import Memory
from .sg import SgEngine
from .stream import Packet, StreamFifo

__all__ = ["AxiDmaModel", "ChannelModel", "Diagnostic"]

_R = regmap
DMACR_STORED = (
    _R.DMACR.field("Keyhole").mask
    | _R.DMACR_CYCLIC
    | _R.DMACR_IRQEN_ALL
    | _R.DMACR.field("IRQThreshold").mask
    | _R.DMACR.field("IRQDelay").mask
)
THRESHOLD = _R.DMACR.field("IRQThreshold")
KEYHOLE = _R.DMACR.field("Keyhole").mask
RESET_CYCLES = constants.SOFT_RESET_CLOCKS
"""A soft reset ignores register writes this long after the Reset write when nothing is in
flight (rule RST-WINDOW); registers take their reset values at ``RESET_FLUSH_CYCLES``."""
RESET_FLUSH_CYCLES = constants.SOFT_RESET_FLUSH_CLOCKS
SKID_BEATS = constants.S2MM_SKID_BEATS
"""Beats the stream holds outside MM2S's FIFO: S2MM's input skid buffer, which takes them even
before LENGTH is written (rule FLOW-SKID)."""


@dataclass(frozen=True)
class Diagnostic:
    """Something a driver did that the hardware tolerates silently but is almost surely a bug."""

    time_ns: int
    channel: str
    message: str


@dataclass
class ChannelModel:
    """One channel's registers and its transfer in flight."""

    name: str
    cr: int = 0  # stored DMACR fields other than RS/Reset
    rs: bool = False
    halted: bool = True
    idle: bool = False
    err: int = 0
    irq: int = 0
    addr: int = 0
    addr_msb: int = 0
    length: int = 0  # LENGTH register as read back
    busy: bool = False
    stopping: bool = False  # RS=0 written while busy: halt when the transfer is done
    xaddr: int = 0  # sampled address (aligned for the data path)
    xlen: int = 0  # sampled length
    done: int = 0  # bytes read (MM2S) / written (S2MM)
    low: int = 0  # S2MM: first address it may write (unaligned DA without DRE)
    fault_at: int = -1  # byte offset where memory faults, -1 for none
    fault_kind: str = ""
    keyhole: bool = False  # FIXED bursts: every beat at the same address
    moved: int = 0  # bytes moved since power-on (statistics)
    transfers: int = 0
    sg_dmasr: Callable[[ChannelModel], int] | None = None
    """SG mode: DMASR comes from the SG engine (SGIncld and the coalescing counters)."""

    def reset(self) -> None:
        """Back to reset values (registers and transfer state)."""
        moved, transfers, name, sg_dmasr = self.moved, self.transfers, self.name, self.sg_dmasr
        self.__init__(name)  # type: ignore[misc]
        self.cr = THRESHOLD.put(0, 1)
        self.moved, self.transfers, self.sg_dmasr = moved, transfers, sg_dmasr

    @property
    def dmacr(self) -> int:
        """DMACR as read."""
        return self.cr | (_R.DMACR_RS if self.rs else 0) | _R.DMACR.field("RSVD1").mask

    @property
    def dmasr(self) -> int:
        """DMASR as read."""
        if self.sg_dmasr is not None:
            return self.sg_dmasr(self)
        return (
            (_R.DMASR_HALTED if self.halted else 0)
            | (_R.DMASR_IDLE if self.idle else 0)
            | self.err
            | self.irq
        )


@dataclass
class _Stats:
    diagnostics: deque[Diagnostic] = field(default_factory=lambda: deque(maxlen=256))


class AxiDmaModel:
    """The DMA engine, its loopback FIFO and its view of DDR."""

    def __init__(
        self,
        memory: Memory,
        params: dict[str, int],
        *,
        clock_ns: int = 10,
        out_link: StreamFifo | None = None,
        in_link: StreamFifo | None = None,
    ):
        self.memory = memory
        self.clock_ns = clock_ns
        self.length_width = params["c_sg_length_width"]
        self.length_mask = (1 << self.length_width) - 1
        self.beat = params["c_m_axi_mm2s_data_width"] // 8
        self.s2mm_beat = params["c_m_axi_s2mm_data_width"] // 8
        self.mm2s_dre = bool(params["c_include_mm2s_dre"])
        self.s2mm_dre = bool(params["c_include_s2mm_dre"])
        self.addr_width = params["c_addr_width"]
        burst = params["c_mm2s_burst_size"]
        self.burst_beats = burst
        self.fifo_beats = constants.mm2s_fifo_beats(burst)
        if out_link is None and in_link is None:
            # The loopback: MM2S's FIFO and S2MM's skid buffer as one link, stepped here.
            out_link = in_link = StreamFifo(self.beat, self.fifo_beats + SKID_BEATS)
            out_link.producer_busy = self._mm2s_busy
        self.out_link = out_link if out_link is not None else StreamFifo(self.beat, self.fifo_beats)
        self.in_link = in_link if in_link is not None else StreamFifo(self.s2mm_beat, SKID_BEATS)
        self.loopback = self.out_link is self.in_link
        self.stream = self.out_link
        """MM2S's outgoing link (in the loopback also S2MM's incoming one)."""
        self.mm2s = ChannelModel("MM2S")
        self.s2mm = ChannelModel("S2MM")
        self.cycle = 0
        self.reset_until = -1  # cycle at which a soft reset completes, -1 when none
        self.reset_flush = -1  # cycle at which its registers take reset values, -1 when done
        self.s2mm_discarding = False
        """S2MM is swallowing the next packet (rule XFER-S2MM-SPARE-BEAT, the erratum)."""
        self.discarded = 0  # bytes the erratum swallowed since power-on
        self.stats = _Stats()
        self.fabric: Any = None
        """The design's stream fabric when this engine is one part of a larger design."""
        self.tx_packet: Packet | None = None
        """The packet MM2S is sending (the newest in its outgoing link while it is busy)."""
        self.sg: SgEngine | None = SgEngine(self, params) if params.get("c_include_sg") else None
        """The scatter-gather engine (rules SG-*), None in simple mode."""
        if self.sg is not None:
            self.mm2s.sg_dmasr = self.s2mm.sg_dmasr = self.sg.dmasr
        self.power_on_reset()

    # --- state --------------------------------------------------------------------------

    @property
    def resetting(self) -> bool:
        """A soft reset is in progress (DMACR.Reset reads 1)."""
        return self.reset_until >= 0

    @property
    def active(self) -> bool:
        """Anything that time can change: a transfer in flight or a reset in progress."""
        return (self.mm2s.busy or self.s2mm.busy or self.reset_until >= 0
                or self.s2mm_discarding or self.sg is not None)

    def _mm2s_busy(self) -> bool:
        return self.mm2s.busy

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Recorded driver mistakes, oldest first."""
        return list(self.stats.diagnostics)

    def _diag(self, ch: ChannelModel, message: str) -> None:
        self.stats.diagnostics.append(Diagnostic(self.cycle * self.clock_ns, ch.name, message))

    def power_on_reset(self) -> None:
        """Everything to reset values; data in flight dropped."""
        self.reset_at_ns = self.cycle * self.clock_ns  # diagnostics before it explain no stall
        self.s2mm_discarding = False
        self.mm2s.reset()
        self.s2mm.reset()
        if self.fabric is None:
            self.out_link.clear()
            self.in_link.clear()
        else:
            # Only the packets this engine was sending or receiving are lost; data of other
            # IPs' packets stays in the links (and FIFOs) around it.
            tx = self.tx_packet
            if tx is not None and not tx.complete and tx in self.out_link.packets:
                self.out_link.packets.remove(tx)
            rx = self.in_link.packets
            if rx and rx[0].consumed > 0:
                rx.popleft()
        self.tx_packet = None
        self.reset_until = self.reset_flush = -1
        if self.sg is not None:
            self.sg.reset()

    def interrupts(self) -> tuple[bool, bool]:
        """(mm2s_introut, s2mm_introut): registered levels, 0 during a soft reset."""
        if self.resetting:
            return False, False
        return self._irq_line(self.mm2s), self._irq_line(self.s2mm)

    @staticmethod
    def _irq_line(ch: ChannelModel) -> bool:
        # Interrupt enables sit at the same bit positions as the interrupt bits (12..14).
        return bool(ch.irq & ch.cr & _R.DMASR_IRQS)

    # --- register access ----------------------------------------------------------------

    def read(self, offset: int) -> int:
        """Value of the register at window ``offset`` (reserved offsets read 0)."""
        ch = self.mm2s if offset < _R.S2MM.base else self.s2mm
        rel = offset - (0 if ch is self.mm2s else _R.S2MM.base)
        if self.sg is not None and rel != 0x00:
            return ch.dmasr if rel == 0x04 else self.sg.read(ch, rel)
        if rel == 0x04:
            return ch.dmasr
        if rel == 0x00:
            return ch.dmacr | (_R.DMACR_RESET if self.resetting else 0)
        if rel == 0x18:
            return ch.addr
        if rel == 0x28:
            return ch.length
        if rel == 0x1C:
            return ch.addr_msb
        return 0

    def write(self, offset: int, value: int) -> None:
        """A register write at window ``offset``."""
        ch = self.mm2s if offset < _R.S2MM.base else self.s2mm
        rel = offset - (0 if ch is self.mm2s else _R.S2MM.base)
        if self.sg is not None:
            self.sg.settle()  # software acts: the SG engine's plan may no longer hold
        if self.reset_until >= 0:
            return  # rule RST-WINDOW: every write is ignored while Reset reads 1
        if rel == 0x00:
            self._write_dmacr(ch, value)
        elif rel == 0x04:
            ch.irq &= ~(value & _R.DMASR_IRQS)
        elif self.sg is not None:
            self.sg.write(ch, rel, value)  # SA/DA/LENGTH are reserved in SG mode
        elif rel == 0x18:
            ch.addr = value
        elif rel == 0x1C:
            if self.addr_width > 32:
                ch.addr_msb = value & ((1 << (self.addr_width - 32)) - 1)
        elif rel == 0x28:
            self._write_length(ch, value)

    def _write_dmacr(self, ch: ChannelModel, value: int) -> None:
        if value & _R.DMACR_RESET:
            self._begin_soft_reset()
            return
        stored = value & DMACR_STORED
        if not THRESHOLD.get(stored):
            stored = THRESHOLD.put(stored, 1)
        old_cr, was_rs = ch.cr, ch.rs
        ch.cr = stored
        if value & _R.DMACR_RS:
            if self.mm2s.err or self.s2mm.err:
                if self.sg is not None:
                    self.sg.dmacr_written(ch, old_cr, value, was_rs)
                return  # RS is held at 0 while any error bit is set
            ch.rs = True
            ch.stopping = False
            ch.halted = False
        elif ch.rs or not ch.halted:
            ch.rs = False
            if self.sg is not None:
                self.sg.dmacr_written(ch, old_cr, value, was_rs)
            if ch.busy:
                ch.stopping = True
            else:
                self._halt(ch)
            return
        if self.sg is not None:
            self.sg.dmacr_written(ch, old_cr, value, was_rs)

    def _halt(self, ch: ChannelModel) -> None:
        ch.halted = True
        ch.idle = False
        ch.stopping = False

    def _write_length(self, ch: ChannelModel, value: int) -> None:
        masked = value & self.length_mask
        ch.length = masked
        if masked != value:
            self._diag(
                ch,
                f"LENGTH write of {value} was masked to {masked} by c_sg_length_width="
                f"{self.length_width}" + (": nothing starts" if not masked else ""),
            )
        if not masked:
            return
        if ch.halted or not ch.rs:
            self._diag(ch, "LENGTH written while halted: stored, not started; write it "
                           "again after RS=1")
            return
        if ch.busy:
            self._diag(ch, "LENGTH written while a transfer is in flight: stored, not "
                           "queued, not started")
            return
        self._start(ch, masked)

    def _start(self, ch: ChannelModel, nbytes: int) -> None:
        addr = (ch.addr_msb << 32) | ch.addr
        is_mm2s = ch is self.mm2s
        beat = self.beat if is_mm2s else self.s2mm_beat
        dre = self.mm2s_dre if is_mm2s else self.s2mm_dre
        ch.low = addr
        if addr % beat and not dre:
            self._diag(ch, f"address 0x{addr:x} is not aligned to {beat} bytes and the design "
                           "has no DRE: data lands in the wrong byte lanes")
            addr -= addr % beat
        ch.xaddr, ch.xlen, ch.done = addr, nbytes, 0
        ch.keyhole = bool(ch.cr & KEYHOLE)
        fault = self.memory.first_fault(addr, min(nbytes, beat) if ch.keyhole else nbytes,
                                        beat, read=is_mm2s)
        ch.fault_at, ch.fault_kind = fault if fault else (-1, "")
        ch.busy, ch.idle = True, False
        ch.transfers += 1
        if is_mm2s:
            self.tx_packet = Packet()
            self.out_link.packets.append(self.tx_packet)

    # --- soft reset and errors ----------------------------------------------------------

    def _begin_soft_reset(self) -> None:
        # Bursts already issued finish first: model that as one burst's worth of cycles. A
        # channel that waits (S2MM for stream data, MM2S for FIFO room) has none in flight.
        m, s = self.mm2s, self.s2mm
        moving = (m.busy and m.done < m.xlen
                  and self.out_link.beats() < self.out_link.capacity_beats) or (
                      s.busy and self.in_link.nbytes > 0)
        start = self.cycle + (self.burst_beats if moving else 0)
        self.reset_flush = start + RESET_FLUSH_CYCLES
        self.reset_until = start + RESET_CYCLES
        for ch in (self.mm2s, self.s2mm):
            ch.rs = False

    def soft_reset_due(self, cycle: int) -> int:
        """Do what a soft reset has due by ``cycle``; the cycle of its next step, or -1.

        Rule RST-WINDOW: registers (and data in flight) take reset values at the flush point;
        Reset reads 1, and writes are ignored, until ``reset_until``.
        """
        if self.reset_flush >= 0 and cycle >= self.reset_flush:
            until = self.reset_until
            self.cycle = max(self.cycle, self.reset_flush)
            self.power_on_reset()
            self.reset_until = until
        if self.reset_until >= 0 and cycle >= self.reset_until:
            self.cycle = max(self.cycle, self.reset_until)
            self.reset_until = -1
        if self.reset_flush >= 0:
            return self.reset_flush
        return self.reset_until

    def _finish_soft_reset(self) -> None:
        self.soft_reset_due(max(self.reset_until, self.reset_flush))

    def _error(self, ch: ChannelModel, bit: int) -> None:
        """Set ``ch``'s error bit and halt the whole engine."""
        if not ch.err:
            ch.irq |= _R.DMASR_ERR_IRQ
        ch.err |= bit
        for c in (self.mm2s, self.s2mm):
            was_running = not c.halted
            c.rs = False
            c.busy = False
            if was_running:
                self._halt(c)
                if self.sg is None:  # SG mode: an error halt sets no IOC_Irq (SG-ERR-HALT)
                    c.irq |= _R.DMASR_IOC_IRQ  # (inferred) the halt reports through completion
        if self.sg is not None:
            self.sg.halt_all()

    def _complete(self, ch: ChannelModel) -> None:
        ch.busy = False
        ch.idle = True
        ch.irq |= _R.DMASR_IOC_IRQ
        ch.moved += ch.done
        if ch is self.s2mm and ch.done < ch.xlen and self.in_link.note_short:
            self._diag(ch, f"completed short: {ch.done} of {ch.xlen} programmed bytes; the "
                           f"packet from {self.in_link.source} ended (TLAST) early")
        if ch.stopping:
            self._halt(ch)

    # --- time ---------------------------------------------------------------------------

    def run_until(self, cycle: int) -> None:
        """Advance the engine to ``cycle`` (no-op when nothing is in flight)."""
        if cycle <= self.cycle:
            return
        if self.fabric is not None:
            self.fabric.run_until(cycle)
            return
        if self.sg is not None:
            self.sg.run_until(cycle)
            return
        if self.reset_until >= 0:
            self.soft_reset_due(cycle)
            if self.reset_until >= 0:
                self.cycle = cycle
                return
        m, s = self.mm2s, self.s2mm
        if not m.busy:
            packets = self.stream.packets
            if not packets or packets[0].read == packets[0].consumed:
                self.cycle = cycle  # at most S2MM waiting for data: nothing can change
                return
        while self.cycle < cycle and (m.busy or s.busy or self.s2mm_discarding):
            if not self._step(cycle - self.cycle):
                break  # nothing can move until software acts
        self.cycle = cycle

    def _step(self, budget: int) -> bool:
        """Advance up to ``budget`` cycles during which nothing changes rate.

        Returns False, without advancing, when neither channel can move a beat.
        """
        m, s, fifo = self.mm2s, self.s2mm, self.stream
        packets = fifo.packets
        head = packets[0] if packets else None
        if not m.busy and (head is None or head.read == head.consumed):
            return False  # S2MM waits for stream data that nobody is sending
        beat, sbeat = self.beat, self.s2mm_beat
        if (m.busy and s.busy and not self.s2mm_discarding and head is packets[-1]
                and head.read == head.consumed
                and beat == sbeat and m.fault_at < 0 and s.fault_at < 0
                and not (m.keyhole or s.keyhole) and s.xaddr + s.done >= s.low):
            # Both streaming through an empty FIFO: memory to memory, one copy per step.
            k = min(budget, -(-(m.xlen - m.done) // beat), -(-(s.xlen - s.done) // beat))
            n = min(k * beat, m.xlen - m.done)
            if 0 < n <= s.xlen - s.done:
                src, dst = m.xaddr + m.done, s.xaddr + s.done
                self.memory.copy(dst, src, n)
                head.read += n
                head.consumed += n
                m.done += n
                s.done += n
                self.cycle += k
                self._events()
                return True
        tail_filling = m.busy and packets[-1] is head

        # MM2S: bytes it may still read before its end or a faulting address.
        m_left = self.mm2s_left()
        # S2MM: can it take a beat? It needs a packet with data, and room under LENGTH.
        s_room = self.s2mm_room()
        drain = s_room > 0 and head is not None and (
            head.available > 0 or (tail_filling and m_left > 0))
        room_beats = 0
        if m_left > 0 and not drain:
            room_beats = fifo.capacity_beats - fifo.beats()
        fill = m_left > 0 and (drain or room_beats > 0)
        if not fill and not drain:
            self._events()  # a fault right at the boundary fires without moving data
            return False

        k = budget
        if fill:
            k = min(k, -(-m_left // beat))
            if not drain:
                k = min(k, room_beats)
        if drain:
            assert head is not None
            if not (tail_filling and fill):
                k = min(k, -(-head.available // sbeat))
            k = min(k, -(-s_room // sbeat))
        if k < 1:
            k = 1

        if fill:
            self.mm2s_push(min(k * beat, m_left))
        if drain:
            assert head is not None
            n = min(k * sbeat, head.available, s_room)
            if n:
                self.s2mm_store(head.pop(n))
        self.cycle += k
        self._events()
        return True

    # --- the data path, one side at a time (the loopback's _step and the fabric use these) ---

    def mm2s_left(self) -> int:
        """Bytes MM2S may still read (0 when idle).

        Failing beats are read too (rule ERR-POSTED-AT-END): the error shows at the end.
        """
        m = self.mm2s
        if not m.busy or self.reset_until >= 0:
            return 0
        return m.xlen - m.done

    def s2mm_room(self) -> int:
        """Bytes S2MM may still take before its LENGTH (0 when idle).

        While the erratum swallows a packet (rule XFER-S2MM-SPARE-BEAT) S2MM takes all of it.
        """
        s = self.s2mm
        if self.reset_until >= 0:
            return 0
        if self.s2mm_discarding:
            return 1 << 62
        if not s.busy:
            return 0
        return s.xlen - s.done

    def mm2s_push(self, n: int) -> None:
        """MM2S reads its next ``n`` bytes into the packet it is sending."""
        m = self.mm2s
        tx = self.tx_packet
        assert tx is not None
        if m.keyhole:  # FIXED bursts: every beat reads the same word
            tx.push(np.resize(self._read(m.xaddr, self.beat), n))
        else:
            tx.push(self._read(m.xaddr + m.done, n))
        m.done += n

    def _read(self, addr: int, n: int) -> np.ndarray:
        """``n`` bytes as MM2S streams them: failing beats outside DDR carry zeros.

        What a failing beat carries is undefined on the IP (rule ERR-POSTED-AT-END).
        """
        size = self.memory.size
        if addr >= 0 and addr + n <= size:
            return self.memory.read(addr, n)
        out = np.zeros(n, np.uint8)
        lo, hi = max(addr, 0), min(addr + n, size)
        if lo < hi:
            out[lo - addr:hi - addr] = self.memory.read(lo, hi - lo)
        return out

    def s2mm_store(self, data: np.ndarray) -> None:
        """S2MM writes ``data``, the next bytes of the packet it receives, to memory."""
        s = self.s2mm
        n = data.size
        if self.s2mm_discarding:
            self.discarded += n  # the erratum: accepted and dropped
            return
        if s.keyhole:
            if s.fault_at < 0:  # a failing keyhole word fails every beat: nothing stored
                self._write_keyhole(s, data)
        else:
            dst = s.xaddr + s.done
            if dst < s.low:  # unaligned DA without DRE: strobes mask bytes before DA
                skip = s.low - dst
                data, dst = data[skip:], s.low
            if s.fault_at >= 0 and s.done + n > s.fault_at:
                self._write_failing(dst, data)
            else:
                self.memory.write(dst, data)
        s.done += n

    def _write_failing(self, dst: int, data: np.ndarray) -> None:
        """Write ``data`` beat by beat: a beat answered SLVERR/DECERR stores nothing.

        Rule ERR-POSTED-AT-END: every burst of the command is still issued.
        """
        sbeat = self.s2mm_beat
        pos = 0
        while pos < data.size:
            addr = dst + pos
            end = min(addr - addr % sbeat + sbeat, dst + data.size)
            if self.memory.response(addr, end - addr) is None:
                self.memory.write(addr, data[pos:end - dst])
            pos = end - dst

    def _write_keyhole(self, s: ChannelModel, data: np.ndarray) -> None:
        """FIXED write bursts: each byte lane keeps the last byte the stream put in it."""
        sbeat = self.s2mm_beat
        for lane in range(sbeat):
            first = (lane - s.done) % sbeat
            if first < data.size:
                last = first + (data.size - 1 - first) // sbeat * sbeat
                addr = s.xaddr + lane
                if addr >= s.low:
                    self.memory.write(addr, data[last:last + 1])

    def _events(self) -> None:
        if not self._mm2s_events():
            self._s2mm_events()

    def _mm2s_events(self) -> bool:
        """MM2S ends or faults; True if a fault halted the engine."""
        if self.sg is not None:
            return self.sg.mm2s_events()
        m = self.mm2s
        if m.busy and m.done >= m.xlen:
            if self.tx_packet is not None:
                self.tx_packet.complete = True  # error beats stream too, TLAST as usual
            if m.fault_at >= 0:  # rule ERR-POSTED-AT-END: the status comes with the last beat
                self._error(m, _R.DMASR_DEC_ERR if m.fault_kind == "decerr" else _R.DMASR_SLV_ERR)
                return True
            self._complete(m)
        return False

    def _s2mm_events(self) -> None:
        """S2MM completes at TLAST, overflows its LENGTH, or faults."""
        if self.sg is not None:
            self.sg.s2mm_events()
            return
        s = self.s2mm
        link = self.in_link
        packets = link.packets
        if self.s2mm_discarding:
            if packets and packets[0].complete and packets[0].available == 0:
                packets.popleft()
                self.s2mm_discarding = False
            else:
                return
        if s.busy and packets:
            head = packets[0]
            failed = 0 <= s.fault_at < s.done
            fault_bit = _R.DMASR_DEC_ERR if s.fault_kind == "decerr" else _R.DMASR_SLV_ERR
            if head.complete and head.available == 0:
                packets.popleft()
                if failed:  # rule ERR-POSTED-AT-END: after the command's last response
                    self._error(s, fault_bit)
                    return
                s.length = s.done
                self._complete(s)
                self._spare_beat_erratum(s, packets)
            elif s.done >= s.xlen and (head.available > 0 or (
                    not head.complete and link.producer_busy())):
                # a failed write response is the one error reported (as on the IP)
                self._error(s, fault_bit if failed else _R.DMASR_INT_ERR)

    def _spare_beat_erratum(self, s: ChannelModel, packets: deque[Packet]) -> None:
        """Rule XFER-S2MM-SPARE-BEAT: the erratum that swallows the next packet.

        LENGTH one beat longer than the packet just written, and the next packet already
        waiting: the IP takes that packet up to its TLAST and drops it silently.
        """
        sbeat = self.s2mm_beat
        if not packets or packets[0].read <= packets[0].consumed:
            return
        if -(-s.xlen // sbeat) != -(-s.done // sbeat) + 1:
            return
        self.s2mm_discarding = True
        self._diag(s, f"one-spare-beat erratum: LENGTH {s.xlen} was exactly one beat longer "
                      f"than the {s.done}-byte packet and the next packet was already waiting "
                      "in the stream: the IP accepts that next packet and discards it (no "
                      "write, no error, no IOC); the next S2MM transfer gets the packet after "
                      "it. Program LENGTH as the exact packet size or at least two beats more")

    def erratum_cause(self) -> str | None:
        """Why an S2MM transfer may wait for data that already went by: the erratum."""
        for d in reversed(self.stats.diagnostics):
            if d.time_ns < self.reset_at_ns:
                break  # a packet swallowed before the last reset is not what S2MM waits for
            if d.channel == "S2MM" and d.message.startswith("one-spare-beat erratum"):
                return (f"the S2MM one-spare-beat erratum discarded a packet at {d.time_ns} "
                        f"ns: {d.message}")
        return None
