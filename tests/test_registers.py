"""Register semantics of PG021 direct-register mode, through raw ``mmio`` on every target."""

from __future__ import annotations

import pytest
from helpers import dma_regs, start_both
from hypothesis import given
from hypothesis import strategies as st

from dmasim import DmasimValueError, regmap
from dmasim.pytest_plugin import fresh
from dmasim.regmap import MM2S, S2MM

R = regmap


@pytest.mark.rule("REG-RESET-VALUES", "SR-HALTED", "SR-SIMPLE-ZERO")
def test_reset_values(target):
    regs = dma_regs(target)
    for ch in regmap.CHANNELS:
        assert regs.read(ch.DMACR) == 0x0001_0002
        assert regs.read(ch.DMASR) == 0x0000_0001
        assert regs.read(ch.ADDR) == 0
        assert regs.read(ch.ADDR_MSB) == 0
        assert regs.read(ch.LENGTH) == 0


@pytest.mark.rule("CR-BIT1", "CR-RS-RUN", "SR-HALTED", "SR-IDLE")
def test_pynq_start_reads_back_0x10003(target):
    """Field evidence: PYNQ writes 0x0001, DMACR reads 0x0001_0003; Idle=0 until a transfer."""
    regs = dma_regs(target)
    start_both(regs)
    for ch in regmap.CHANNELS:
        assert regs.read(ch.DMACR) == 0x0001_0003
        assert regs.read(ch.DMASR) == 0  # running, not Idle before the first transfer


@pytest.mark.rule("REG-RESERVED")
@pytest.mark.parametrize("offset", [0x08, 0x0C, 0x10, 0x14, 0x20, 0x24, 0x2C, 0x38, 0x3C,
                                    0x40, 0x44, 0x50, 0x54, 0x5C, 0x60, 0xFFFC])
def test_reserved_offsets_read_zero_and_ignore_writes(target, offset):
    regs = dma_regs(target)
    regs.write(offset, 0xFFFF_FFFF)
    assert regs.read(offset) == 0
    assert regs.read(MM2S.DMACR) == 0x0001_0002
    assert regs.read(S2MM.DMASR) == 0x0000_0001


@pytest.mark.rule("REG-MSB-HARMLESS")
def test_msb_write_of_zero_is_harmless(target):
    regs = dma_regs(target)
    start_both(regs)
    regs.write(MM2S.ADDR_MSB, 0)
    regs.write(S2MM.ADDR_MSB, 0)
    assert regs.read(MM2S.ADDR_MSB) == 0
    assert regs.read(MM2S.DMASR) == 0


@pytest.mark.rule("CR-BIT1", "CR-FIELDS", "CR-RS-RUN", "CR-THRESHOLD-ZERO")
@given(value=st.integers(0, 0xFFFF_FFFF), chan=st.sampled_from(regmap.CHANNELS))
def test_dmacr_fields_read_back(target, value, chan):
    """Keyhole, Cyclic, IRQ enables, threshold and delay store; bits 11:5 and 15 read 0."""
    fresh(target)
    regs = dma_regs(target)
    value &= ~R.DMACR_RESET  # a reset is a different test
    regs.write(chan.DMACR, value)
    got = regs.read(chan.DMACR)
    expect = value & (0xFF_FF_70_19)  # RS, Keyhole, Cyclic, IRQ enables, threshold, delay
    if not (value >> 16) & 0xFF:
        expect |= 1 << 16  # an IRQThreshold write of 0 stores 1
    assert got == expect | 0x2, f"wrote {value:#x}, read {got:#x}"
    # RS=1 takes the channel out of Halted, RS=0 keeps it halted (nothing in flight).
    assert bool(regs.read(chan.DMASR) & R.DMASR_HALTED) == (not value & R.DMACR_RS)


@pytest.mark.rule("SR-READ-ONLY")
def test_only_irq_bits_of_dmasr_are_writable(target):
    regs = dma_regs(target)
    start_both(regs)
    regs.write(MM2S.DMASR, 0xFFFF_FFFF)
    assert regs.read(MM2S.DMASR) == 0  # Halted/Idle/errors untouched by software
    regs.write(S2MM.DMASR, 0x0000_0000)
    assert regs.read(S2MM.DMASR) == 0


def _complete_one(target, regs, nbytes=64):
    """A raw loopback of ``nbytes``; leaves IOC_Irq set on both channels."""
    src = target.allocate(nbytes, "u1")
    dst = target.allocate(nbytes, "u1")
    src[:] = 7
    start_both(regs)
    regs.write(S2MM.ADDR, dst.physical_address)
    regs.write(S2MM.LENGTH, nbytes)
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, nbytes)
    target.delay(10_000)
    return src, dst


@pytest.mark.rule("SR-W1C")
def test_ioc_irq_write_one_to_clear(target):
    regs = dma_regs(target)
    _, dst = _complete_one(target, regs)
    assert (dst == 7).all()
    for ch in regmap.CHANNELS:
        sr = regs.read(ch.DMASR)
        assert sr == R.DMASR_IDLE | R.DMASR_IOC_IRQ, hex(sr)
        regs.write(ch.DMASR, 0)  # writing 0 keeps it
        assert regs.read(ch.DMASR) == sr
        regs.write(ch.DMASR, R.DMASR_IOC_IRQ)  # W1C, and Idle stays
        assert regs.read(ch.DMASR) == R.DMASR_IDLE


@pytest.mark.rule("IRQ-LINE")
@pytest.mark.needs("irq")
def test_interrupt_lines_follow_enables(target):
    regs = dma_regs(target)
    _complete_one(target, regs)
    assert target.interrupts() == {"mm2s_introut": False, "s2mm_introut": False}
    regs.write(MM2S.DMACR, R.DMACR_RS | R.DMACR_IOC_IRQEN)
    target.delay(100)
    assert target.interrupts() == {"mm2s_introut": True, "s2mm_introut": False}
    regs.write(MM2S.DMASR, R.DMASR_IOC_IRQ)
    target.delay(100)
    assert target.interrupts()["mm2s_introut"] is False
    regs.write(S2MM.DMACR, R.DMACR_RS | R.DMACR_IOC_IRQEN)
    target.delay(100)
    assert target.interrupts()["s2mm_introut"] is True


@pytest.mark.rule("XFER-HALTED-LENGTH")
def test_length_written_while_halted_does_not_start(target):
    regs = dma_regs(target)
    buf = target.allocate(64, "u1")
    regs.write(MM2S.ADDR, buf.physical_address)
    regs.write(MM2S.LENGTH, 64)
    assert regs.read(MM2S.LENGTH) == 64  # stored
    regs.write(MM2S.DMACR, R.DMACR_RS)
    target.delay(10_000)
    assert regs.read(MM2S.DMASR) == 0  # running, not Idle: setting RS later starts nothing
    regs.write(MM2S.LENGTH, 64)  # written again after RS=1: now it runs
    target.delay(10_000)
    assert regs.read(MM2S.DMASR) & R.DMASR_IDLE


@pytest.mark.rule("XFER-LENGTH-MASK")
def test_length_is_masked_to_the_width(target):
    regs = dma_regs(target)
    w = int(target.ip_dict["axi_dma_0"]["parameters"]["c_sg_length_width"])
    start_both(regs)
    regs.write(MM2S.LENGTH, 1 << w)  # masks to 0: nothing starts, nothing raised
    assert regs.read(MM2S.LENGTH) == 0
    target.delay(1_000)
    assert regs.read(MM2S.DMASR) == 0
    regs.write(S2MM.LENGTH, 0xFFFF_FFFF)  # stored masked (and starts a receive)
    assert regs.read(S2MM.LENGTH) == (1 << w) - 1


@pytest.mark.rule("XFER-ZERO")
def test_zero_length_starts_nothing(target):
    regs = dma_regs(target)
    start_both(regs)
    regs.write(MM2S.LENGTH, 0)
    regs.write(S2MM.LENGTH, 0)
    target.delay(1_000)
    assert regs.read(MM2S.DMASR) == 0
    assert regs.read(S2MM.DMASR) == 0


@pytest.mark.rule("XFER-ADDR-READBACK")
def test_sa_da_read_back_unmasked(target):
    regs = dma_regs(target)
    regs.write(MM2S.ADDR, 0xDEAD_BEEF)
    regs.write(S2MM.ADDR, 0x1234_5679)
    assert regs.read(MM2S.ADDR) == 0xDEAD_BEEF
    assert regs.read(S2MM.ADDR) == 0x1234_5679


@pytest.mark.rule("RST-BOTH")
@pytest.mark.parametrize("first", [MM2S, S2MM], ids=["from-mm2s", "from-s2mm"])
def test_soft_reset_from_either_channel_resets_both(target, first):
    regs = dma_regs(target)
    regs.write(MM2S.DMACR, R.DMACR_RS | R.DMACR_IOC_IRQEN | (5 << 16))
    regs.write(S2MM.DMACR, R.DMACR_RS | R.DMACR_ERR_IRQEN)
    regs.write(MM2S.ADDR, 0x1000)
    regs.write(S2MM.ADDR, 0x2000)
    regs.write(first.DMACR, R.DMACR_RESET)
    target.delay(1_000)
    for ch in regmap.CHANNELS:
        assert regs.read(ch.DMACR) == 0x0001_0002
        assert regs.read(ch.DMASR) == 0x0000_0001
        assert regs.read(ch.ADDR) == 0


@pytest.mark.rule("RST-NO-POLL")
def test_no_poll_reset_then_start_sequence(target):
    """Reset both then RS at once, no polling: works on a PYNQ-Z2 when nothing is in flight."""
    regs = dma_regs(target)
    regs.write(MM2S.DMACR, R.DMACR_RESET)
    regs.write(S2MM.DMACR, R.DMACR_RESET)
    regs.write(MM2S.DMACR, R.DMACR_RS)
    regs.write(S2MM.DMACR, R.DMACR_RS)
    for ch in regmap.CHANNELS:
        assert regs.read(ch.DMACR) == 0x0001_0003
        assert regs.read(ch.DMASR) & R.DMASR_HALTED == 0


@pytest.mark.rule("RST-DROPS-DATA")
def test_soft_reset_drops_data_in_flight(target):
    """MM2S reads ahead into the stream; a reset drops it, so S2MM later receives nothing."""
    regs = dma_regs(target)
    src = target.allocate(64, "u1")
    dst = target.allocate(64, "u1")
    src[:] = 0x55
    start_both(regs)
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, 64)
    target.delay(5_000)
    assert regs.read(MM2S.DMASR) & R.DMASR_IDLE  # completed into the FIFO
    regs.write(S2MM.DMACR, R.DMACR_RESET)
    target.delay(5_000)
    start_both(regs)
    regs.write(S2MM.ADDR, dst.physical_address)
    regs.write(S2MM.LENGTH, 64)
    target.delay(5_000)
    assert regs.read(S2MM.DMASR) == 0  # still waiting: the old packet is gone
    assert (dst == 0).all()


@pytest.mark.rule("CR-RS-STOP")
def test_stop_waits_for_transfer_in_flight(target):
    """RS=0 with a transfer in flight: Halted only once that transfer is done."""
    regs = dma_regs(target)
    n = 4096
    src = target.allocate(n, "u1")
    dst = target.allocate(n, "u1")
    src[:] = 3
    start_both(regs)
    regs.write(S2MM.ADDR, dst.physical_address)
    regs.write(S2MM.LENGTH, n)
    regs.write(S2MM.DMACR, 0)  # RS=0 while S2MM waits for data: it keeps running
    assert regs.read(S2MM.DMACR) & R.DMACR_RS == 0
    assert regs.read(S2MM.DMASR) & R.DMASR_HALTED == 0
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, n)
    target.delay(50_000)
    sr = regs.read(S2MM.DMASR)
    assert sr & R.DMASR_HALTED and sr & R.DMASR_IOC_IRQ, hex(sr)
    assert (dst == 3).all()


@pytest.mark.rule("DRV-BAD-INPUT")
def test_mmio_rejects_bad_offsets_and_values(target):
    regs = dma_regs(target)
    for bad in (2, -4, 0x1_0000, 0x2_0000):
        with pytest.raises(DmasimValueError, match="offset"):
            regs.read(bad)
        with pytest.raises(DmasimValueError, match="offset"):
            regs.write(bad, 0)
    for value in (-1, 1 << 32):
        with pytest.raises(DmasimValueError, match="32 bits"):
            regs.write(0x18, value)
    with pytest.raises(DmasimValueError, match="not inside"):
        target.mmio(0x1000_0000, 0x100)
    regs.write(MM2S.ADDR, 0x40)  # the target stays usable
    assert regs.read(MM2S.ADDR) == 0x40


@pytest.mark.rule("REG-MSB-HARMLESS", "SR-IDLE", "XFER-START")
@pytest.mark.parametrize("order", ["xaxidma", "linux"])
def test_vendor_driver_register_orders(target, order):
    """XAxiDma: address, RS read-modify-write, LENGTH. Linux: DMACR, RS, poll, address, length."""
    regs = dma_regs(target)
    a = target.allocate(256, "u1")
    b = target.allocate(256, "u1")
    a[:] = range(256)
    for ch, buf in ((S2MM, b), (MM2S, a)):
        if order == "xaxidma":
            regs.write(ch.ADDR, buf.physical_address)  # written while halted: stored
            regs.write(ch.ADDR_MSB, 0)
            regs.write(ch.DMACR, regs.read(ch.DMACR) | R.DMACR_RS)
        else:
            regs.write(ch.DMACR, R.DMACR_IOC_IRQEN | R.DMACR_ERR_IRQEN)
            regs.write(ch.DMACR, regs.read(ch.DMACR) | R.DMACR_RS)
            for _ in range(100):
                if not regs.read(ch.DMASR) & R.DMASR_HALTED:
                    break
            regs.write(ch.ADDR, buf.physical_address)
        regs.write(ch.LENGTH, 256 & ((1 << 26) - 1))
    target.delay(20_000)
    assert (b == a).all()
    for ch in regmap.CHANNELS:
        assert regs.read(ch.DMASR) & (R.DMASR_IDLE | R.DMASR_IOC_IRQ) == 0x1002
