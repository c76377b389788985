"""The register sequences of the SG drivers people run, through raw ``t.mmio`` on every target.

Reproduced in our own words from how the drivers behave (see docs/axi-dma-behaviour.md):

- Linux ``xilinx_dma`` (AXI DMA): a pre-linked ring, interrupt enables set while halted, per
  start a read-modify-write of DMACR with IRQThreshold = the number of pending transactions,
  CURDESC written even when the channel already runs, RS by read-modify-write and a poll of
  Halted, TAILDESC = the last new BD; the interrupt handler clears DMASR[14:12] by W1C and
  completes transactions whose last BD shows Cmplt; residue = sum(CONTROL - STATUS) & max_len;
  terminate_all = RS=0, poll Halted, soft reset polled until Reset reads 0, enables back.
- XAxiDma's BdRing API: BdRingCreate (BDs at a fixed separation linked into a ring, driver
  words at 0x34-0x3C), BdRingClone (a template, Cmplt cleared), SetCoalesce (RMW DMACR),
  BdRingToHw (clear Cmplt, TAILDESC when running), BdRingStart (CURDESC while halted, RS by
  RMW, TAILDESC), BdRingFromHw (BDs with Cmplt from HwHead, withholding an unfinished packet),
  GetActualLength = STATUS & (2^w - 1).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import PAD, check_canaries, dma_regs, guarded

from dmasim import regmap
from dmasim.drivers import sg

R = regmap
MM2S, S2MM = R.MM2S, R.S2MM
W = {name: off // 4 for name, off in R.BD.words().items()}
THRESHOLD = R.DMACR.field("IRQThreshold")
DELAY = R.DMACR.field("IRQDelay")
THRESHOLD_STS = R.DMASR.field("IRQThresholdSts")
IRQ_BITS = R.DMASR_IRQS  # DMASR[14:12]


def _width(t) -> int:
    return int(t.ip_dict["axi_dma_0"]["parameters"]["c_sg_length_width"])


def _poll(t, regs, offset, mask, want_set, limit_ns=200_000):
    """Read until the bits are set / clear, as the drivers' bounded polls do."""
    waited = 0
    while True:
        value = regs.read(offset)
        if bool(value & mask) == want_set:
            return value
        assert waited < limit_ns, f"register 0x{offset:02x}=0x{value:08x} never changed"
        t.delay(500)
        waited += 500


# --- Linux xilinx_dma -----------------------------------------------------------------------


class LinuxChan:
    """One channel as xilinx_dma drives it (the register side only)."""

    def __init__(self, t, regs, ch, ring: sg.BdRing):
        self.t, self.regs, self.ch, self.ring = t, regs, ch, ring
        self.next = 0  # the ring's first free BD
        self.idle = True  # the driver's own flag: set after its interrupt handler ran
        self.active: list[tuple[int, int]] = []  # (first BD, BDs) of submitted transactions
        # Channel probe: interrupt enables while halted (DMACR[14:12]).
        regs.write(ch.DMACR, regs.read(ch.DMACR) | R.DMACR_IRQEN_ALL)

    def prep(self, segments, framing):
        """One transaction per list of (addr, len); returns (first, count)."""
        first = self.next
        for i, (addr, n) in enumerate(segments):
            ctl = 0
            if framing and i == 0:
                ctl |= R.BD_TXSOF
            if framing and i == len(segments) - 1:
                ctl |= R.BD_TXEOF
            self.ring.set_bd(first + i, addr, n, ctl)
        self.next = (first + len(segments)) % self.ring.count
        return first, len(segments)

    def start_transfer(self, pending):
        """xilinx_dma_start_transfer for ``pending`` transactions."""
        regs, ch = self.regs, self.ch
        cr = regs.read(ch.DMACR)
        cr = THRESHOLD.put(cr, min(len(pending), 255))
        cr = DELAY.put(cr, 0)
        regs.write(ch.DMACR, cr)
        regs.write(ch.CURDESC, self.ring.address(pending[0][0]))  # even when running
        regs.write(ch.DMACR, regs.read(ch.DMACR) | R.DMACR_RS)
        _poll(self.t, regs, ch.DMASR, R.DMASR_HALTED, want_set=False)
        last_first, last_n = pending[-1]
        regs.write(ch.TAILDESC, self.ring.address(last_first + last_n - 1))
        self.active += pending
        self.idle = False

    def irq(self):
        """The interrupt handler: W1C of DMASR[14:12], complete what shows Cmplt."""
        sr = self.regs.read(self.ch.DMASR)
        self.regs.write(self.ch.DMASR, sr & IRQ_BITS)
        assert not sr & R.DMASR_ERR_IRQ, f"Err_Irq: {R.describe_status(sr)}"
        done = []
        for first, n in list(self.active):
            last = self.ring.words(first + n - 1)
            if not int(last[W["STATUS"]]) & R.BD_CMPLT:
                break
            done.append((first, n))
            self.active.remove((first, n))
        if not self.active:
            self.idle = True
        return sr, done

    def residue(self, first, n, max_len):
        total = 0
        for i in range(n):
            w = self.ring.words(first + i)
            total += (int(w[W["CONTROL"]]) - int(w[W["STATUS"]])) & max_len
        return total


@pytest.mark.rule("DRV-SG-VENDOR")
def test_linux_xilinx_dma_sequence(sg_target):
    t = sg_target
    regs = dma_regs(t)
    max_len = (1 << _width(t)) - 1
    rx = LinuxChan(t, regs, S2MM, sg.BdRing(t, 16))
    tx = LinuxChan(t, regs, MM2S, sg.BdRing(t, 16))
    for c in (rx, tx):
        c.ring.link()  # the pre-linked ring
    src = t.allocate(1024, "u1")
    src[:] = np.arange(1024) % 253
    dst = [guarded(t, 512) for _ in range(2)]
    # Two receive transactions of one BD each (512 bytes room), then one 3-BD send of 2 packets.
    rx_pending = [rx.prep([(d.physical_address + PAD, 512)], framing=False) for d in dst]
    rx.start_transfer(rx_pending)
    assert THRESHOLD.get(regs.read(S2MM.DMACR)) == 2  # IRQThreshold = pending count
    pkt = [tx.prep([(src.physical_address, 200), (src.physical_address + 200, 100)], True),
           tx.prep([(src.physical_address + 300, 212)], True)]
    tx.start_transfer(pkt)
    t.delay(50_000)
    # S2MM: 2 packets -> threshold 2 reached once -> one IOC_Irq.
    sr_rx, done_rx = rx.irq()
    assert sr_rx & R.DMASR_IOC_IRQ and done_rx == rx_pending and rx.idle
    assert not regs.read(S2MM.DMASR) & IRQ_BITS  # W1C cleared them
    sr_tx, done_tx = tx.irq()
    assert sr_tx & R.DMASR_IOC_IRQ and done_tx == pkt
    assert np.array_equal(dst[0][PAD:PAD + 300], src[:300])
    assert np.array_equal(dst[1][PAD:PAD + 212], src[300:512])
    for d, n in zip(dst, (300, 212), strict=True):
        check_canaries(d, PAD, n)
    # Residue: MM2S reports the full length, S2MM the room left.
    assert tx.residue(*pkt[0], max_len) == 0 and tx.residue(*pkt[1], max_len) == 0
    assert rx.residue(*rx_pending[0], max_len) == 512 - 300
    assert rx.residue(*rx_pending[1], max_len) == 512 - 212
    assert regs.read(S2MM.CURDESC) == rx.ring.address(1)  # the tail after a chain
    # Second round while running: CURDESC is written (ignored), the engine resumes at the old
    # tail's NXTDESC, which the pre-linked ring makes the same BD.
    again = guarded(t, 512)
    p2 = [rx.prep([(again.physical_address + PAD, 512)], framing=False)]
    rx.start_transfer(p2)
    tp = [tx.prep([(src.physical_address + 512, 512)], True)]
    tx.start_transfer(tp)
    t.delay(50_000)
    assert rx.irq()[1] == p2 and tx.irq()[1] == tp
    assert np.array_equal(again[PAD:PAD + 512], src[512:])
    check_canaries(again, PAD, 512)
    assert THRESHOLD_STS.get(regs.read(S2MM.DMASR)) == 1  # reloaded with the new threshold 1
    for c in (rx, tx):
        assert c.ring.guards_intact()
    # terminate_all: RS=0, poll Halted, soft reset polled to 0, enables back, Cyclic clear.
    for ch in (MM2S, S2MM):
        regs.write(ch.DMACR, regs.read(ch.DMACR) & ~R.DMACR_RS)
        _poll(t, regs, ch.DMASR, R.DMASR_HALTED, want_set=True)
    regs.write(MM2S.DMACR, regs.read(MM2S.DMACR) | R.DMACR_RESET)
    _poll(t, regs, MM2S.DMACR, R.DMACR_RESET, want_set=False)
    for ch in (MM2S, S2MM):
        regs.write(ch.DMACR, (regs.read(ch.DMACR) | R.DMACR_IRQEN_ALL) & ~R.DMACR_CYCLIC)
        assert regs.read(ch.CURDESC) == 0 and regs.read(ch.TAILDESC) == 0
        assert regs.read(ch.DMASR) & R.DMASR_HALTED


@pytest.mark.rule("DRV-SG-VENDOR")
def test_linux_cyclic_with_a_separate_tail_bd(sg_target):
    """Cyclic prep: Cyclic by RMW while halted, TXSOF/TXEOF on the ring's ends, TAILDESC a BD
    outside the ring; stopped by terminate_all's soft reset."""
    t = sg_target
    regs = dma_regs(t)
    ring = sg.BdRing(t, 2)  # two period BDs; ring.outside is the separate tail BD
    ring.link()
    src = t.allocate(128, "u1")
    src[:] = np.arange(128)
    ring.set_bd(0, src.physical_address, 64, R.BD_TXSOF)
    ring.set_bd(1, src.physical_address + 64, 64, R.BD_TXEOF)
    regs.write(MM2S.DMACR, regs.read(MM2S.DMACR) | R.DMACR_CYCLIC | R.DMACR_IRQEN_ALL)
    regs.write(MM2S.CURDESC, ring.address(0))
    regs.write(MM2S.DMACR, regs.read(MM2S.DMACR) | R.DMACR_RS)
    _poll(t, regs, MM2S.DMASR, R.DMASR_HALTED, want_set=False)
    regs.write(MM2S.TAILDESC, ring.outside)
    rx = sg.BdRing(t, 4)
    rx.link()
    laps = [t.allocate(128, "u1") for _ in range(3)]
    for i, b in enumerate(laps):
        rx.set_bd(i, b.physical_address, 128)
    regs.write(S2MM.CURDESC, rx.address(0))
    regs.write(S2MM.DMACR, R.DMACR_RS)
    regs.write(S2MM.TAILDESC, rx.address(2))
    t.delay(100_000)
    for b in laps:  # three laps of the same 128-byte packet, one IOC per lap (threshold 1)
        assert np.array_equal(b, src)
    assert regs.read(MM2S.DMASR) & R.DMASR_IOC_IRQ
    assert not regs.read(MM2S.DMASR) & R.DMASR_IDLE  # never Idle while cycling
    assert ring.guards_intact() and rx.guards_intact()  # the tail BD was never fetched/written
    regs.write(MM2S.DMACR, regs.read(MM2S.DMACR) | R.DMACR_RESET)
    _poll(t, regs, MM2S.DMACR, R.DMACR_RESET, want_set=False)
    assert regs.read(MM2S.DMACR) & R.DMACR_CYCLIC == 0


# --- XAxiDma BdRing ---------------------------------------------------------------------------


class XRing:
    """XAxiDma's BdRing bookkeeping over a BdRing (software words at 0x34..0x3C)."""

    SW_WORDS = (0x34 // 4, 0x38 // 4, 0x3C // 4)

    def __init__(self, t, regs, ch, count):
        self.t, self.regs, self.ch = t, regs, ch
        self.ring = sg.BdRing(t, count)  # BdRingCreate: fixed 0x40 separation, linked
        self.ring.link()
        for i in range(count):
            for k, w in enumerate(self.SW_WORDS):
                self.ring.bds[i, w] = 0x5157_0000 | (i << 4) | k  # the driver's own words
        self.free_head = 0
        self.hw_head = 0
        self.hw_count = 0
        self.pre_head = 0
        self.pre_count = 0

    def clone(self, template_control):
        """BdRingClone: every BD gets the template CONTROL, Cmplt cleared."""
        self.ring.bds[:, W["CONTROL"]] = template_control
        self.ring.bds[:, W["STATUS"]] &= ~np.uint32(R.BD_CMPLT)

    def alloc(self, n):
        first = self.free_head
        self.free_head = (first + n) % self.ring.count
        self.pre_count += n
        return first

    def to_hw(self, first, n, framing):
        """BdRingToHw: checks, clear Cmplt, TAILDESC if the channel runs."""
        for i in range(n):
            w = self.ring.words(first + i)
            assert int(w[W["CONTROL"]]) & R.BD_LENGTH_MASK, "zero-length BD rejected"
            if framing:
                assert bool(int(w[W["CONTROL"]]) & R.BD_TXSOF) == (i == 0)
                assert bool(int(w[W["CONTROL"]]) & R.BD_TXEOF) == (i == n - 1)
            self.ring.bds[(first + i) % self.ring.count, W["STATUS"]] &= ~np.uint32(R.BD_CMPLT)
        self.pre_count -= n
        self.hw_count += n
        self.hw_tail = (first + n - 1) % self.ring.count
        if not self.regs.read(self.ch.DMASR) & R.DMASR_HALTED:
            self.regs.write(self.ch.TAILDESC, self.ring.address(self.hw_tail))

    def start(self):
        """BdRingStart: CURDESC while halted, RS by RMW, TAILDESC if BDs wait with Cmplt=0."""
        regs, ch = self.regs, self.ch
        assert regs.read(ch.DMASR) & R.DMASR_HALTED
        regs.write(ch.CURDESC, self.ring.address(self.hw_head))
        regs.write(ch.DMACR, regs.read(ch.DMACR) | R.DMACR_RS)
        _poll(self.t, regs, ch.DMASR, R.DMASR_HALTED, want_set=False)
        if self.hw_count and not int(self.ring.words(self.hw_tail)[W["STATUS"]]) & R.BD_CMPLT:
            regs.write(ch.TAILDESC, self.ring.address(self.hw_tail))

    def from_hw(self, rx):
        """BdRingFromHw: BDs with Cmplt from HwHead, withholding an unfinished packet."""
        got, pending = [], []
        i = self.hw_head
        for _ in range(self.hw_count):
            w = self.ring.words(i)
            if not int(w[W["STATUS"]]) & R.BD_CMPLT:
                break
            pending.append(i)
            ends = (int(w[W["STATUS"]]) & R.BD_RXEOF) if rx else \
                (int(w[W["CONTROL"]]) & R.BD_TXEOF)
            if ends:
                got += pending
                pending = []
            i = (i + 1) % self.ring.count
        self.hw_head = (self.hw_head + len(got)) % self.ring.count
        self.hw_count -= len(got)
        return got


def set_coalesce(regs, ch, count, timer):
    """XAxiDma_BdRingSetCoalesce: count 1..255, timer 0..255, by read-modify-write."""
    assert 1 <= count <= 255 and 0 <= timer <= 255
    cr = regs.read(ch.DMACR)
    regs.write(ch.DMACR, DELAY.put(THRESHOLD.put(cr, count), timer))


@pytest.mark.rule("DRV-SG-VENDOR")
def test_xaxidma_bdring_sequence(sg_target):
    t = sg_target
    regs = dma_regs(t)
    mask = (1 << _width(t)) - 1
    tx, rx = XRing(t, regs, MM2S, 8), XRing(t, regs, S2MM, 8)
    rx.clone(0)
    tx.clone(0)
    set_coalesce(regs, S2MM, 2, 0)
    set_coalesce(regs, MM2S, 1, 0)
    assert THRESHOLD.get(regs.read(S2MM.DMACR)) == 2
    for ch in (MM2S, S2MM):  # interrupt enables, as the interrupt examples set them
        regs.write(ch.DMACR, regs.read(ch.DMACR) | R.DMACR_IRQEN_ALL)
    src = t.allocate(600, "u1")
    src[:] = np.arange(600) % 241
    dst = guarded(t, 1024)
    # RX: 4 BDs of 256 bytes; TX: a 2-BD packet (400 bytes) and a 1-BD packet (200 bytes).
    first = rx.alloc(4)
    for i in range(4):
        rx.ring.set_bd(first + i, dst.physical_address + PAD + 256 * i, 256)
    rx.to_hw(first, 4, framing=False)
    rx.start()
    first = tx.alloc(3)
    tx.ring.set_bd(first, src.physical_address, 300, R.BD_TXSOF)
    tx.ring.set_bd(first + 1, src.physical_address + 300, 100, R.BD_TXEOF)
    tx.ring.set_bd(first + 2, src.physical_address + 400, 200, R.BD_TXSOF | R.BD_TXEOF)
    tx.start()  # nothing queued yet: CURDESC + RS only
    tx.to_hw(first, 3, framing=False)  # running now: ToHw writes TAILDESC
    t.delay(50_000)
    # Interrupt handler: W1C DMASR[14:12].
    for ch in (MM2S, S2MM):
        sr = regs.read(ch.DMASR)
        assert sr & R.DMASR_IOC_IRQ and not sr & R.DMASR_ERR_IRQ, R.describe_status(sr)
        regs.write(ch.DMASR, sr & IRQ_BITS)
    done_tx = tx.from_hw(rx=False)
    assert done_tx == [0, 1, 2]
    done_rx = rx.from_hw(rx=True)
    # Packet 1 (400 bytes) fills BD 0 and ends in BD 1; packet 2 (200 bytes) lands in BD 2.
    assert done_rx == [0, 1, 2] and rx.hw_count == 1  # BD 3 still waits for a packet
    lengths = [int(rx.ring.words(i)[W["STATUS"]]) & mask for i in done_rx]  # GetActualLength
    assert lengths == [256, 144, 200]
    assert np.array_equal(dst[PAD:PAD + 400], src[:400])
    assert np.array_equal(dst[PAD + 512:PAD + 712], src[400:])
    assert (dst[PAD + 400:PAD + 512] == 0xAA).all()  # the rest of BD 1's buffer is untouched
    assert (dst[:PAD] == 0xAA).all() and (dst[PAD + 712:] == 0xAA).all()
    for r in (tx, rx):  # the engine writes STATUS only: the driver's words survive
        for i in range(8):
            for k, w in enumerate(XRing.SW_WORDS):
                assert int(r.ring.bds[i, w]) == 0x5157_0000 | (i << 4) | k
        assert r.ring.guards_intact()
    # Error path of the interrupt examples: on Err_Irq reset and poll for completion. Here a
    # stale BD (Cmplt=1, not cyclic) is handed to TX: SGIntErr, Err_Irq.
    first = tx.alloc(1)
    tx.ring.set_bd(first, src.physical_address, 64, R.BD_TXSOF | R.BD_TXEOF)
    tx.ring.bds[first, W["STATUS"]] = R.BD_CMPLT
    regs.write(MM2S.TAILDESC, tx.ring.address(first))
    t.delay(10_000)
    sr = regs.read(MM2S.DMASR)
    assert sr & R.DMASR_SG_INT_ERR and sr & R.DMASR_ERR_IRQ, R.describe_status(sr)
    regs.write(MM2S.DMACR, R.DMACR_RESET)
    _poll(t, regs, MM2S.DMACR, R.DMACR_RESET, want_set=False)
    assert regs.read(MM2S.DMASR) == 0x0001_0009  # Halted, SGIncld, threshold counter 1
