"""Simple-mode rules checked against the IP's own RTL, on every target: the soft-reset write
window and the bus access time, memory errors posted at the end of the command, IOC on an
error halt, S2MM's 4-beat skid and the one-spare-beat S2MM erratum."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from helpers import CANARY, PAD, check_canaries, dma_regs, guarded, start_both
from hypothesis import given, settings
from hypothesis import strategies as st

from dmasim import constants, regmap
from dmasim.pytest_plugin import fresh
from dmasim.regmap import MM2S, S2MM
from dmasim.target import Target

R = regmap
CLOCK_NS = 10  # the loopback's 100 MHz clock


@contextmanager
def bus_access(target: Target, ns: int) -> Iterator[None]:
    """Register accesses of ``target`` take ``ns`` while inside (a faster or slower CPU)."""
    before = target.bus_access_ns  # type: ignore[attr-defined]
    target.bus_access_ns = ns  # type: ignore[attr-defined]
    try:
        yield
    finally:
        target.bus_access_ns = before  # type: ignore[attr-defined]


def _words(target: Target, nbytes: int, seed: int) -> np.ndarray:
    buf = target.allocate(nbytes, "u1")
    buf[:] = np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8)
    return buf


# --- soft reset: the write window and the bus access time --------------------------------


@pytest.mark.rule("BUS-ACCESS")
def test_default_bus_access_is_a_cortex_a9_access(target):
    """Both simulated targets space register accesses by about 0.2 us by default."""
    assert target.bus_access_ns == constants.BUS_ACCESS_NS == 200


@pytest.mark.rule("RST-WINDOW")
@settings(max_examples=12, deadline=None)
@given(clocks=st.one_of(st.sampled_from([constants.SOFT_RESET_CLOCKS - 1,
                                          constants.SOFT_RESET_CLOCKS]),
                        st.integers(1, 2 * constants.SOFT_RESET_CLOCKS)))
def test_writes_inside_the_reset_window_are_ignored(target, clocks):
    """A write whose data handshake comes fewer than SOFT_RESET_CLOCKS after the Reset write's
    response is ignored, at exactly that many it takes effect; registers take reset values."""
    fresh(target)
    regs = dma_regs(target)
    regs.write(MM2S.DMACR, R.DMACR_IOC_IRQEN)
    with bus_access(target, clocks * CLOCK_NS):
        regs.write(S2MM.DMACR, R.DMACR_RESET)
        regs.write(MM2S.ADDR, 0x1234_5678)
    target.delay(2_000)
    took = clocks >= constants.SOFT_RESET_CLOCKS
    assert regs.read(MM2S.ADDR) == (0x1234_5678 if took else 0), f"{clocks} clocks"
    assert regs.read(MM2S.DMACR) == R.DMACR.reset  # IOC_IrqEn is gone, Reset reads 0


@pytest.mark.rule("BUS-ACCESS", "RST-WINDOW")
@settings(max_examples=8, deadline=None)
@given(clocks=st.integers(5, constants.SOFT_RESET_CLOCKS + 2), seed=st.integers(0, 2**16))
def test_accesses_are_one_bus_access_time_apart(target, clocks, seed):
    """Reads and writes after a Reset each take the bus access time, handshake to handshake:
    the first write at or after SOFT_RESET_CLOCKS takes effect, the one before does not."""
    rng = np.random.default_rng(seed)
    first = -(-constants.SOFT_RESET_CLOCKS // clocks)  # accesses until the window is over
    for position, took in ((first - 1, False), (first, True)):
        if position < 1:
            continue
        fresh(target)
        regs = dma_regs(target)
        with bus_access(target, clocks * CLOCK_NS):
            regs.write(MM2S.DMACR, R.DMACR_RESET)
            for _ in range(position - 1):
                if rng.integers(2):
                    regs.read(S2MM.LENGTH)
                else:
                    regs.write(S2MM.LENGTH, 0)
            regs.write(MM2S.ADDR, 0xAB0)
        target.delay(1_000)
        assert (regs.read(MM2S.ADDR) == 0xAB0) == took, f"{clocks} clocks, access {position}"


@pytest.mark.rule("BUS-ACCESS", "RST-NO-POLL", "RST-WINDOW")
@pytest.mark.parametrize("poll", [False, True])
def test_a_fast_master_must_poll_dmacr_reset(target, poll):
    """At 10 ns per access the no-poll sequence loses its RS writes, as on silicon; polling
    DMACR.Reset first (XAxiDma, Linux) works at any speed."""
    regs = dma_regs(target)
    with bus_access(target, CLOCK_NS):
        regs.write(MM2S.DMACR, R.DMACR_RESET)
        regs.write(S2MM.DMACR, R.DMACR_RESET)
        if poll:
            for _ in range(100):
                if not regs.read(MM2S.DMACR) & R.DMACR_RESET:
                    break
            assert not regs.read(MM2S.DMACR) & R.DMACR_RESET
        start_both(regs)
    target.delay(1_000)
    for ch in regmap.CHANNELS:
        running = not regs.read(ch.DMASR) & R.DMASR_HALTED
        assert running == poll, f"{ch.name}: {R.describe_status(regs.read(ch.DMASR))}"
        assert regs.read(ch.DMACR) == (0x0001_0003 if poll else R.DMACR.reset)


# --- memory errors posted at the end of the command --------------------------------------


@pytest.mark.rule("ERR-POSTED-AT-END", "FLOW-STALL")
@pytest.mark.needs("faults")
@settings(max_examples=6, deadline=None)
@given(fault_words=st.integers(0, 511), kind=st.sampled_from(["slverr", "decerr"]))
def test_long_failing_read_without_consumer_stalls_without_error(target, fault_words, kind):
    """A failing MM2S read longer than the read-ahead, S2MM not started: no error bit
    anywhere (Halted=0, Idle=0) until S2MM drains it; then the error, and the S2MM transfer
    halted by it never completes (LENGTH keeps the programmed value)."""
    fresh(target)
    regs = dma_regs(target)
    n = 2048
    src = _words(target, n, fault_words)
    dst = guarded(target, n)
    target.faults.add_fault(src.physical_address + 4 * fault_words, 4, kind)
    start_both(regs)
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, n)
    target.delay(50_000)
    assert regs.read(MM2S.DMASR) == 0, R.describe_status(regs.read(MM2S.DMASR))
    assert regs.read(S2MM.DMASR) == 0
    regs.write(S2MM.ADDR, dst.physical_address + PAD)
    regs.write(S2MM.LENGTH, n)
    target.delay(50_000)
    bit = R.DMASR_SLV_ERR if kind == "slverr" else R.DMASR_DEC_ERR
    mm2s = regs.read(MM2S.DMASR)
    assert mm2s == R.DMASR_HALTED | bit | R.DMASR_ERR_IRQ | R.DMASR_IOC_IRQ, \
        R.describe_status(mm2s)
    # S2MM was running: halted by the error, IOC through the halt, no error bit, no Idle
    assert regs.read(S2MM.DMASR) == R.DMASR_HALTED | R.DMASR_IOC_IRQ
    assert regs.read(S2MM.LENGTH) == n
    first_burst = 64  # the first S2MM burst is written long before MM2S's last beat
    if fault_words * 4 >= first_burst:
        assert np.array_equal(dst[PAD:PAD + first_burst], src[:first_burst])
    check_canaries(dst, PAD, n)


@pytest.mark.rule("ERR-POSTED-AT-END", "FAULT-PRECEDENCE")
@pytest.mark.needs("faults")
@settings(max_examples=6, deadline=None)
@given(at_words=st.integers(0, 250), words=st.integers(1, 6),
       kind=st.sampled_from(["slverr", "decerr"]))
def test_s2mm_write_error_shows_after_the_whole_packet(target, at_words, words, kind):
    """All of S2MM's bursts are issued: every beat outside the failing region is written,
    also after it; a failing beat stores nothing. MM2S completes first (Idle, IOC), then
    both halt; S2MM reports the error."""
    fresh(target)
    regs = dma_regs(target)
    n = 1024
    src = _words(target, n, at_words)
    dst = guarded(target, n)
    lo, hi = 4 * at_words, min(4 * (at_words + words), n)
    target.faults.add_fault(dst.physical_address + PAD + lo, hi - lo, kind)
    start_both(regs)
    regs.write(S2MM.ADDR, dst.physical_address + PAD)
    regs.write(S2MM.LENGTH, n)
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, n)
    target.delay(50_000)
    bit = R.DMASR_SLV_ERR if kind == "slverr" else R.DMASR_DEC_ERR
    assert regs.read(S2MM.DMASR) == R.DMASR_HALTED | bit | R.DMASR_ERR_IRQ | R.DMASR_IOC_IRQ
    assert regs.read(MM2S.DMASR) == R.DMASR_HALTED | R.DMASR_IOC_IRQ  # completed, then halted
    got = np.asarray(dst[PAD:PAD + n])
    assert np.array_equal(got[:lo], src[:lo])
    assert np.array_equal(got[hi:], src[hi:])
    assert (got[lo:hi] == CANARY).all()
    check_canaries(dst, PAD, n)


@pytest.mark.rule("ERR-IOC-ON-HALT")
@pytest.mark.needs("faults")
@pytest.mark.parametrize("s2mm_running", [False, True])
def test_error_halt_gives_ioc_only_to_a_running_channel(target, s2mm_running):
    """MM2S fails; S2MM, halted all along, stays exactly 0x0000_0001; running (RS=1, no
    transfer) it halts with IOC_Irq."""
    regs = dma_regs(target)
    src = target.allocate(256, "u1")
    target.faults.add_fault(src.physical_address + 128, 4, "decerr")
    regs.write(MM2S.DMACR, R.DMACR_RS)
    if s2mm_running:
        regs.write(S2MM.DMACR, R.DMACR_RS)
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, 256)
    target.delay(20_000)
    assert regs.read(MM2S.DMASR) == (R.DMASR_HALTED | R.DMASR_DEC_ERR | R.DMASR_ERR_IRQ
                                     | R.DMASR_IOC_IRQ)
    expect = R.DMASR_HALTED | (R.DMASR_IOC_IRQ if s2mm_running else 0)
    assert regs.read(S2MM.DMASR) == expect, R.describe_status(regs.read(S2MM.DMASR))


# --- S2MM's skid ------------------------------------------------------------------------


@pytest.mark.rule("FLOW-SKID")
@pytest.mark.parametrize("s2mm", ["halted", "running"])
def test_s2mm_skid_takes_four_beats_even_while_halted(target, s2mm):
    """With S2MM halted, or running without LENGTH, MM2S moves exactly its FIFO plus 4 beats
    (the readahead the drivers' diagnosis quotes); 4 bytes more stall it."""
    fits = constants.readahead_bytes(target.ip_dict["axi_dma_0"]["parameters"])
    assert constants.S2MM_SKID_BEATS == 4 and fits == 528
    for nbytes, completes in ((fits, True), (fits + 4, False)):
        fresh(target)
        regs = dma_regs(target)
        regs.write(MM2S.DMACR, R.DMACR_RS)
        if s2mm == "running":
            regs.write(S2MM.DMACR, R.DMACR_RS)
        src = target.allocate(nbytes, "u1")
        regs.write(MM2S.ADDR, src.physical_address)
        regs.write(MM2S.LENGTH, nbytes)
        target.delay(50_000)
        idle = bool(regs.read(MM2S.DMASR) & R.DMASR_IDLE)
        assert idle == completes, f"{nbytes} bytes, S2MM {s2mm}: Idle={idle}"


# --- the one-spare-beat S2MM erratum -----------------------------------------------------


def _queue_packets(target: Target, regs, sizes: list[int], seed: int) -> list[np.ndarray]:
    """MM2S sends one packet per size, each complete in the FIFO before the next starts."""
    out = []
    for i, n in enumerate(sizes):
        src = _words(target, n, seed + i)
        regs.write(MM2S.ADDR, src.physical_address)
        regs.write(MM2S.LENGTH, n)
        target.delay(5_000)
        assert regs.read(MM2S.DMASR) & R.DMASR_IDLE
        out.append(np.asarray(src).copy())
    return out


def _receive(target: Target, regs, dst, length: int) -> int:
    """One S2MM transfer of ``length`` into ``dst`` (after PAD); its DMASR afterwards."""
    regs.write(S2MM.DMASR, R.DMASR_IOC_IRQ)
    regs.write(S2MM.ADDR, dst.physical_address + PAD)
    regs.write(S2MM.LENGTH, length)
    target.delay(10_000)
    return regs.read(S2MM.DMASR)


@pytest.mark.rule("XFER-S2MM-SPARE-BEAT")
@pytest.mark.parametrize("spare", [0, 1, 2])
@settings(max_examples=4, deadline=None)
@given(n1=st.integers(1, 120), n2=st.integers(1, 120), n3=st.integers(1, 120),
       extra=st.integers(0, 3), seed=st.integers(0, 99))
def test_one_spare_beat_discards_the_next_queued_packet(target, n1, n2, n3, spare, extra,
                                                        seed):
    """Three packets queued; S2MM LENGTH = the first packet plus ``spare`` beats. With exactly
    one spare beat the first completes normally and the second is swallowed (no write, no
    error, no IOC): the next transfer gets the third. Exact, or two spare beats: nothing lost."""
    fresh(target)
    regs = dma_regs(target)
    start_both(regs)
    p1, p2, p3 = _queue_packets(target, regs, [n1, n2, n3], seed)
    beats1 = -(-n1 // 4)
    length = n1 if spare == 0 else 4 * (beats1 + spare - 1) + 1 + extra
    assert -(-length // 4) == beats1 + spare
    dsts = [guarded(target, 128) for _ in range(2)]
    sr = _receive(target, regs, dsts[0], length)
    assert sr == R.DMASR_IDLE | R.DMASR_IOC_IRQ, R.describe_status(sr)
    assert regs.read(S2MM.LENGTH) == n1
    assert np.array_equal(dsts[0][PAD:PAD + n1], p1)
    check_canaries(dsts[0], PAD, n1)
    swallowed = spare == 1
    second = p3 if swallowed else p2
    sr = _receive(target, regs, dsts[1], 128)
    assert sr == R.DMASR_IDLE | R.DMASR_IOC_IRQ, R.describe_status(sr)
    assert regs.read(S2MM.LENGTH) == second.size, f"spare {spare}: got the wrong packet"
    assert np.array_equal(dsts[1][PAD:PAD + second.size], second)
    check_canaries(dsts[1], PAD, second.size)
    for ch in regmap.CHANNELS:
        assert not regs.read(ch.DMASR) & R.DMASR_ERRORS


@pytest.mark.rule("XFER-S2MM-SPARE-BEAT", "DIAG-MISTAKES")
@pytest.mark.needs("diagnostics")
def test_erratum_is_named_where_the_user_looks(target):
    """The model records the swallowed packet, and a wait for it times out naming the
    erratum instead of a generic 'no data arrived'."""
    from dmasim import DmaTimeoutError

    dma = target.dma()
    regs = dma_regs(target)
    p = [target.allocate(40, "u1") for _ in range(2)]
    dst = [target.allocate(64, "u1") for _ in range(2)]
    for buf in p:
        dma.sendchannel.transfer(buf)
        dma.sendchannel.wait()
    dma.recvchannel.transfer(dst[0], nbytes=44)  # 40 bytes + one spare beat
    dma.recvchannel.wait()
    assert regs.read(S2MM.LENGTH) == 40
    assert any("one-spare-beat erratum" in d.message for d in target.engine.diagnostics)
    assert "one-spare-beat erratum" in target.describe()
    dma.recvchannel.transfer(dst[1], nbytes=40)
    with pytest.raises(DmaTimeoutError, match="one-spare-beat erratum"):
        dma.recvchannel.wait(timeout=0.001)
