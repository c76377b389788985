"""Every error: what the hardware does, what the driver raises, and recovery by reset."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import PAD, check_canaries, dma_regs, guarded, loopback, start_both
from hypothesis import given
from hypothesis import strategies as st

from dmasim import (
    BufferStateError,
    DmaDecodeError,
    DmaInternalError,
    DmaNotRunningError,
    DmasimValueError,
    DmaSlaveError,
    DmaTimeoutError,
    OutOfMemoryError,
    regmap,
)
from dmasim.pytest_plugin import fresh
from dmasim.regmap import MM2S, S2MM

R = regmap
DDR_END = 512 << 20


def _overflow(target, dma, send: int, recv: int):
    src = target.allocate(send, "u1")
    src[:] = 0x11
    dst = guarded(target, recv)
    dma.recvchannel.transfer(dst, start=PAD, nbytes=recv)
    dma.sendchannel.transfer(src)
    return src, dst


@pytest.mark.rule("ERR-HALT-BOTH", "XFER-S2MM-OVERFLOW")
@given(recv=st.integers(1, 200).map(lambda x: x * 4), extra=st.integers(1, 300))
def test_s2mm_overflow_writes_exactly_length_then_int_err(target, dma, recv, extra):
    fresh(target)
    _, dst = _overflow(target, dma, recv + extra, recv)
    with pytest.raises(DmaInternalError, match="longer than S2MM's LENGTH") as info:
        dma.recvchannel.wait()
    assert info.value.state is not None
    assert info.value.state.s2mm_dmasr & R.DMASR_INT_ERR
    assert (dst[PAD:PAD + recv] == 0x11).all()
    check_canaries(dst, PAD, recv)  # exactly LENGTH bytes, nothing past the buffer
    regs = dma_regs(target)
    assert regs.read(S2MM.LENGTH) == recv
    target.delay(5_000)  # MM2S halts once the read bursts it already issued have finished
    s2mm, mm2s = regs.read(S2MM.DMASR), regs.read(MM2S.DMASR)
    assert s2mm & R.DMASR_HALTED and s2mm & R.DMASR_ERR_IRQ
    assert mm2s & R.DMASR_HALTED and not mm2s & R.DMASR_ERRORS  # both halt, errors stay put


@pytest.mark.rule("CR-RS-HOLD", "ERR-IRQ-EDGE", "ERR-STICKY", "SR-W1C")
def test_error_holds_rs_until_reset_and_is_sticky(target, dma):
    _overflow(target, dma, 256, 64)
    with pytest.raises(DmaInternalError):
        dma.recvchannel.wait()
    regs = dma_regs(target)
    start_both(regs)  # RS held at 0 while any error bit is set
    assert regs.read(MM2S.DMACR) & R.DMACR_RS == 0
    assert regs.read(S2MM.DMACR) & R.DMACR_RS == 0
    regs.write(S2MM.DMASR, 0xFFFF_FFFF)  # Err_Irq clears, the error bit does not
    sr = regs.read(S2MM.DMASR)
    assert sr & R.DMASR_INT_ERR and not sr & R.DMASR_ERR_IRQ
    target.delay(10_000)
    assert not regs.read(S2MM.DMASR) & R.DMASR_ERR_IRQ  # does not come back while it persists
    # PYNQ would say "DMA channel not started"; dmasim names the real error.
    with pytest.raises(DmaInternalError):
        dma.sendchannel.transfer(target.allocate(16, "u1"))
    dma.reset()
    assert regs.read(S2MM.DMASR) & R.DMASR_ERRORS == 0
    a = target.allocate(64, "u1")
    b = target.allocate(64, "u1")
    a[:] = 9
    loopback(dma, a, b)
    assert (b == 9).all()


@pytest.mark.rule("DRV-ERRORS", "ERR-DECERR", "ERR-SLVERR")
@pytest.mark.needs("faults")
@pytest.mark.parametrize("kind,exc,bit", [("slverr", DmaSlaveError, R.DMASR_SLV_ERR),
                                          ("decerr", DmaDecodeError, R.DMASR_DEC_ERR)])
@pytest.mark.parametrize("side", ["MM2S", "S2MM"])
def test_memory_faults_raise_the_matching_error(target, dma, kind, exc, bit, side):
    a = target.allocate(4096, "u1")
    b = target.allocate(4096, "u1")
    bad = a if side == "MM2S" else b
    target.faults.add_fault(bad.physical_address + 1024, 64, kind)
    with pytest.raises(exc):
        loopback(dma, a, b)
    sr = dma_regs(target).read((MM2S if side == "MM2S" else S2MM).DMASR)
    assert sr & bit and sr & R.DMASR_HALTED
    target.faults.clear_faults()
    dma.reset()
    loopback(dma, a, b)


@pytest.mark.needs("faults")
@pytest.mark.parametrize("side", [MM2S, S2MM], ids=["mm2s", "s2mm"])
@pytest.mark.parametrize("regions,bit", [
    # the same first word in both regions: DECERR is worse, whatever the order added
    ([(0, 64, "slverr"), (0, 8, "decerr")], R.DMASR_DEC_ERR),
    ([(0, 8, "decerr"), (0, 64, "slverr")], R.DMASR_DEC_ERR),
    # different kinds further on, in bursts issued before the halt: only the first counts
    ([(0, 8, "slverr"), (8, 64, "decerr")], R.DMASR_SLV_ERR),
    ([(4, 64, "slverr"), (0, 8, "decerr")], R.DMASR_DEC_ERR),
], ids=["same-word", "same-word-reversed", "slverr-first", "decerr-first"])
def test_overlapping_faults_report_the_first_failing_beat(target, side, regions, bit):
    """Fault precedence: a beat answers the worst region it touches, a channel its first."""
    regs = dma_regs(target)
    start_both(regs)
    src, dst = target.allocate(1024, "u1"), target.allocate(1024, "u1")
    bad = src if side is MM2S else dst
    for off, n, kind in regions:
        target.faults.add_fault(bad.physical_address + 512 + off, n, kind)
    regs.write(S2MM.ADDR, dst.physical_address)
    regs.write(S2MM.LENGTH, 1024)
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, 1024)
    target.delay(40_000)
    sr = regs.read(side.DMASR)
    assert sr & R.DMASR_ERRORS == bit and sr & R.DMASR_HALTED, hex(sr)


def test_overflow_into_a_failing_write_reports_the_write_error_only(target):
    """A packet longer than LENGTH whose writes fail: the failed write response comes first
    and is the one error S2MM reports (DMADecErr, no DMAIntErr)."""
    regs = dma_regs(target)
    start_both(regs)
    src = target.allocate(64, "u1")
    regs.write(S2MM.ADDR, DDR_END)
    regs.write(S2MM.LENGTH, 4)
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, 8)
    target.delay(20_000)
    sr = regs.read(S2MM.DMASR)
    assert sr & R.DMASR_ERRORS == R.DMASR_DEC_ERR and sr & R.DMASR_HALTED, hex(sr)


@pytest.mark.parametrize("failing", ["s2mm-overflow", "mm2s-last-beat"])
def test_channel_stopped_in_flight_gets_ioc_when_its_own_error_halts_it(target, failing):
    """RS=0 written while the transfer is in flight, then that transfer fails at its very end:
    the channel was still running, so the error halt also raises IOC_Irq (and its line)."""
    if failing == "mm2s-last-beat" and "faults" not in target.capabilities:
        pytest.skip("needs memory fault injection")
    regs = dma_regs(target)
    for ch in R.CHANNELS:
        regs.write(ch.DMACR, R.DMACR_RS | R.DMACR_IOC_IRQEN)
    src, dst = target.allocate(4096, "u1"), target.allocate(4096, "u1")
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(S2MM.ADDR, dst.physical_address)
    if failing == "s2mm-overflow":
        stopped = S2MM
        regs.write(S2MM.LENGTH, 40)  # waits for stream data
        regs.write(S2MM.DMACR, R.DMACR_IOC_IRQEN)  # RS=0 with the transfer in flight
        regs.write(MM2S.LENGTH, 64)
    else:
        stopped = MM2S
        target.faults.add_fault(src.physical_address + 3996, 4, "slverr")
        regs.write(MM2S.LENGTH, 4000)  # stalls: longer than the read-ahead, S2MM not started
        regs.write(MM2S.DMACR, R.DMACR_IOC_IRQEN)
        regs.write(S2MM.LENGTH, 4096)
    target.delay(60_000)
    sr = regs.read(stopped.DMASR)
    assert sr & R.DMASR_ERRORS and sr & R.DMASR_HALTED, hex(sr)
    assert sr & R.DMASR_IOC_IRQ, f"{stopped.name} DMASR {sr:#x}: no IOC_Irq on its error halt"
    assert target.interrupts()[f"{stopped.name.lower()}_introut"]


OVERLAPS = {  # regions (offset, size, kind) around one spot; every failing beat is DECERR
    "nested": [(0, 256, "decerr"), (64, 32, "slverr")],
    "same-start": [(0, 32, "slverr"), (0, 256, "decerr")],
    "shared-beat": [(0, 2, "slverr"), (2, 4, "decerr")],
}


@pytest.mark.rule("FAULT-PRECEDENCE")
@pytest.mark.needs("faults")
@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
@pytest.mark.parametrize("case", list(OVERLAPS))
@pytest.mark.parametrize("side", [MM2S, S2MM], ids=["mm2s", "s2mm"])
def test_overlapping_faults_decerr_wins_in_any_order(target, side, case, reverse):
    """Rule FAULT-PRECEDENCE: a beat answers DECERR if any of its bytes is in a DECERR region
    (or outside DDR), else SLVERR; the order regions were injected in does not matter."""
    regs = dma_regs(target)
    src = target.allocate(4096, "u1")
    dst = target.allocate(4096, "u1")
    spot = (src if side is MM2S else dst).physical_address + 1024
    nbytes, start = 2048, spot - 1024
    regions = OVERLAPS[case][::-1] if reverse else OVERLAPS[case]
    for off, size, kind in regions:
        target.faults.add_fault(spot + off, size, kind)
    start_both(regs)
    if side is S2MM:
        regs.write(S2MM.ADDR, start)
        regs.write(S2MM.LENGTH, nbytes)
        regs.write(MM2S.ADDR, src.physical_address)
        regs.write(MM2S.LENGTH, nbytes)
    else:
        regs.write(S2MM.ADDR, dst.physical_address)
        regs.write(S2MM.LENGTH, 4096)
        regs.write(MM2S.ADDR, start)
        regs.write(MM2S.LENGTH, nbytes)
    target.delay(100_000)
    sr = regs.read(side.DMASR)
    target.faults.clear_faults()
    assert sr & (R.DMASR_SLV_ERR | R.DMASR_DEC_ERR) == R.DMASR_DEC_ERR, R.describe_status(sr)
    assert sr & R.DMASR_HALTED


@pytest.mark.rule("FAULT-PRECEDENCE")
@pytest.mark.needs("faults")
@pytest.mark.parametrize("side", [MM2S, S2MM], ids=["mm2s", "s2mm"])
def test_first_failing_beat_names_the_error(target, side):
    """Rule FAULT-PRECEDENCE: the transfer reports its first failing beat's kind; a DECERR
    region far beyond it (after the engine halted) adds nothing."""
    regs = dma_regs(target)
    src = target.allocate(16384, "u1")
    dst = target.allocate(16384, "u1")
    spot = (src if side is MM2S else dst).physical_address
    target.faults.add_fault(spot + 8192, 4096, "decerr")
    target.faults.add_fault(spot + 1024, 64, "slverr")
    start_both(regs)
    regs.write(S2MM.ADDR, dst.physical_address)
    regs.write(S2MM.LENGTH, 16384)
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, 16384)
    target.delay(200_000)
    sr = regs.read(side.DMASR)
    target.faults.clear_faults()
    assert sr & (R.DMASR_SLV_ERR | R.DMASR_DEC_ERR) == R.DMASR_SLV_ERR, R.describe_status(sr)


@pytest.mark.rule("ERR-DECERR", "ERR-HALT-BOTH")
@pytest.mark.parametrize("side", [MM2S, S2MM], ids=["mm2s", "s2mm"])
def test_address_outside_ddr_is_a_decode_error(target, side):
    """Raw registers: an address that decodes to no memory sets DMADecErr and halts both."""
    regs = dma_regs(target)
    start_both(regs)
    if side is S2MM:
        src = target.allocate(64, "u1")
        regs.write(S2MM.ADDR, DDR_END + 0x1000)
        regs.write(S2MM.LENGTH, 64)
        regs.write(MM2S.ADDR, src.physical_address)
        regs.write(MM2S.LENGTH, 64)
    else:
        regs.write(MM2S.ADDR, DDR_END + 0x1000)
        regs.write(MM2S.LENGTH, 64)
    target.delay(20_000)
    sr = regs.read(side.DMASR)
    assert sr & R.DMASR_DEC_ERR and sr & R.DMASR_HALTED and sr & R.DMASR_ERR_IRQ, hex(sr)
    other = S2MM if side is MM2S else MM2S
    assert regs.read(other.DMASR) & R.DMASR_HALTED
    assert regs.read(other.DMASR) & R.DMASR_ERRORS == 0


@pytest.mark.rule("FLOW-STALL", "POLL-TIMEOUT")
def test_stall_ends_in_a_timeout_not_a_hang(target, dma):
    """MM2S larger than the loopback buffer with S2MM never started: a clear timeout."""
    a = target.allocate(64 * 1024, "u1")
    dma.sendchannel.transfer(a)
    with pytest.raises(DmaTimeoutError, match="S2MM has no LENGTH programmed") as info:
        dma.sendchannel.wait(timeout=0.001)
    assert "MM2S_DMASR=0x00000000" in str(info.value)  # running, not idle: decoded state


@pytest.mark.rule("POLL-TIMEOUT")
def test_s2mm_without_sender_times_out(target, dma):
    b = target.allocate(256, "u1")
    dma.recvchannel.transfer(b)
    with pytest.raises(DmaTimeoutError, match="MM2S was not given a transfer"):
        dma.recvchannel.wait(timeout=0.001)


@pytest.mark.rule("DRV-BAD-INPUT", "XFER-UNALIGNED")
def test_bad_transfer_arguments(target, dma):
    a = target.allocate(64, "u4")
    other = np.zeros(64, dtype="u4")
    max_size = dma.sendchannel.max_size
    with pytest.raises(BufferStateError, match="not allocated by this target"):
        dma.sendchannel.transfer(other)
    with pytest.raises(DmasimValueError, match="past the end"):
        dma.sendchannel.transfer(a, start=0, nbytes=257)
    with pytest.raises(DmasimValueError, match="past the end"):
        dma.sendchannel.transfer(a, start=200, nbytes=100)
    with pytest.raises(DmasimValueError, match="zero-length transfer"):
        dma.sendchannel.transfer(a, start=256)
    with pytest.raises(DmasimValueError, match="outside the buffer"):
        dma.sendchannel.transfer(a, start=260, nbytes=4)
    with pytest.raises(DmasimValueError, match="not aligned to 4 bytes"):
        dma.sendchannel.transfer(a, start=2, nbytes=16)
    with pytest.raises(DmasimValueError, match="must be C-contiguous"):
        dma.sendchannel.transfer(a[::2])
    if max_size < (256 << 20) - 4096:
        big = target.allocate(max_size + 1, "u1")
        with pytest.raises(DmasimValueError, match=f"maximum of {max_size} bytes"):
            dma.sendchannel.transfer(big)
    a.freebuffer()
    with pytest.raises(BufferStateError, match="freed"):
        dma.sendchannel.transfer(a)
    b = target.allocate(16, "u4")  # the target stays usable
    c = target.allocate(16, "u4")
    b[:] = 5
    loopback(dma, b, c)
    assert (c == 5).all()


@pytest.mark.rule("XFER-LENGTH-MASK")
def test_too_long_for_the_length_width_is_rejected(target):
    """A 14-bit design (a common PYNQ setting): 16,384 bytes would silently start nothing."""
    if not target.simulated:
        pytest.skip("the board's length width is fixed by its bitstream")
    from dmasim import open_target

    with open_target(target.name, parameters={"c_sg_length_width": 14}) as t:
        dma = t.driver("python")
        a = t.allocate(16384, "u1")
        b = t.allocate(16384, "u1")
        with pytest.raises(DmasimValueError, match="exceeds the maximum of 16383 bytes"):
            dma.sendchannel.transfer(a)
        a[:] = 1
        loopback(dma, a, b, nbytes=16380)
        assert (b[:16380] == 1).all() and (b[16380:] == 0).all()


@pytest.mark.rule("DRV-STATE-CHECKS")
def test_transfer_on_stopped_channel(target, dma):
    a = target.allocate(64, "u1")
    dma.sendchannel.stop()
    assert not dma.sendchannel.running
    with pytest.raises(DmaNotRunningError, match="not started"):
        dma.sendchannel.transfer(a)
    dma.sendchannel.start()
    assert dma.sendchannel.running


@pytest.mark.rule("CR-RS-STOP")
def test_stop_of_waiting_s2mm_times_out_with_reason(target, dma):
    b = target.allocate(64, "u1")
    dma.recvchannel.transfer(b)
    with pytest.raises(DmaTimeoutError):
        dma.recvchannel.stop(timeout=0.0001)


@pytest.mark.rule("DRV-BAD-INPUT")
def test_allocate_bad_input(target):
    with pytest.raises(DmasimValueError, match="every dimension >= 1"):
        target.allocate(0)
    with pytest.raises(DmasimValueError, match="every dimension >= 1"):
        target.allocate((4, -1))
    with pytest.raises(DmasimValueError, match="not supported"):
        target.allocate(4, dtype=object)
    with pytest.raises(DmasimValueError, match="not a numpy dtype"):
        target.allocate(4, dtype="nonsense")
    with pytest.raises(OutOfMemoryError, match="cannot allocate"):
        target.allocate(1 << 30, dtype="u1")
    a = target.allocate(4)
    a.freebuffer()
    with pytest.raises(BufferStateError, match="double free"):
        a.freebuffer()
    with pytest.raises(BufferStateError, match="freed"):
        a.flush()
    with pytest.raises(ValueError):
        a[0] = 1  # use after free: the array is read-only


@pytest.mark.rule("MEM-CMA")
def test_allocations_are_aligned_disjoint_and_reused(target):
    bufs = [target.allocate(n, "u1") for n in (1, 4095, 4096, 10000, 3)]
    spans = sorted((b.physical_address, b.physical_address + b.nbytes) for b in bufs)
    for (_, hi), (lo2, _) in itertools.pairwise(spans):
        assert hi <= lo2
    assert all(b.physical_address % 4096 == 0 for b in bufs)
    addr = bufs[3].physical_address
    bufs[3].freebuffer()
    again = target.allocate(10000, "u1")
    assert again.physical_address == addr


@pytest.mark.rule("DRV-BAD-INPUT")
def test_bad_delay_and_timeout(target, dma):
    for bad in (-1, 1.5, "10", True):
        with pytest.raises(DmasimValueError, match="delay"):
            target.delay(bad)
    a = target.allocate(16, "u1")
    b = target.allocate(16, "u1")
    dma.recvchannel.transfer(b)
    dma.sendchannel.transfer(a)
    with pytest.raises(DmasimValueError, match="timeout"):
        dma.sendchannel.wait(timeout=-1)
    dma.sendchannel.wait()
    dma.recvchannel.wait()


def test_unknown_target_and_level(target):
    from dmasim import open_target

    with pytest.raises(DmasimValueError, match="unknown target 'nope'"):
        open_target("nope")
    with pytest.raises(DmasimValueError, match="unknown driver level 'asm'"):
        target.driver("asm")


@pytest.mark.rule("FAULT-PRECEDENCE")
@given(regions=st.lists(st.tuples(st.integers(0, 96), st.integers(1, 40),
                                  st.sampled_from(["slverr", "decerr"])), max_size=5),
       addr=st.integers(0, 64), nbytes=st.integers(1, 64), beat=st.sampled_from([1, 4, 8]),
       read=st.booleans(), order=st.randoms(use_true_random=False))
def test_memory_fault_precedence_matches_a_per_byte_expectation(regions, addr, nbytes, beat,
                                                                read, order):
    """Rule FAULT-PRECEDENCE on the model's memory, against a byte-by-byte expectation: the
    first beat with a faulting byte fails, DECERR if any of its bytes is DECERR; any order."""
    from dmasim.memory import Memory

    mem = Memory(size=1 << 20, cma_base=0, cma_size=1 << 20)
    shuffled = list(regions)
    order.shuffle(shuffled)
    for lo, size, kind in shuffled:
        mem.add_fault(lo, size, kind)
    kinds: dict[int, set[str]] = {}
    for lo, size, kind in regions:
        for a in range(lo, lo + size):
            kinds.setdefault(a, set()).add(kind)
    want = None
    first_word = addr - addr % beat
    for word in range(first_word, addr + nbytes, beat):
        span = range(word, word + beat) if read else range(max(word, addr),
                                                             min(word + beat, addr + nbytes))
        hit = set().union(*(kinds.get(a, set()) for a in span))
        if hit:
            want = (max(word - addr, 0), "decerr" if "decerr" in hit else "slverr")
            break
    assert mem.first_fault(addr, nbytes, beat, read=read) == want
