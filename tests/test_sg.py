"""Scatter-gather mode at register level, through raw ``mmio`` and BDs in memory, on every target.

The ``sg_target`` fixture is the loopback with ``c_include_sg=1``; targets that cannot realise
SG mode yet skip with their reason. Every BD ring and every data buffer is guarded by 0xAA
canaries: the engine may write nothing but a BD's STATUS word and its buffer's bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

from dmasim import constants, regmap
from dmasim.errors import DmaTimeoutError
from dmasim.pytest_plugin import fresh
from dmasim.regmap import BD, MM2S, S2MM, Channel
from dmasim.target import MMIO, Target

R = regmap
CANARY = 0xAA
CANARY_WORD = 0xAAAA_AAAA
PAD = 16
IRQEN = R.DMACR_IRQEN_ALL


def regs(t: Target) -> MMIO:
    """The DMA's register window."""
    return t.ip_mmio("axi_dma_0")


class Ring:
    """``n`` BDs in one buffer with a canary BD before and after; row ``i`` is BD ``i``."""

    def __init__(self, t: Target, n: int):
        self.n = n
        self.mem = t.allocate((n + 2, 16), "u4")
        self.mem[:] = CANARY_WORD
        self.base = self.mem.physical_address + BD.SIZE

    def addr(self, i: int) -> int:
        """Physical address of BD ``i``."""
        return self.base + i * BD.SIZE

    def set(self, i: int, buf: int, control: int, nxt: int | None = None) -> None:
        """Write BD ``i``: buffer, CONTROL, STATUS=0, NXTDESC (default: the next BD, a ring)."""
        row = self.mem[i + 1]
        row[:] = 0
        row[BD.NXTDESC // 4] = self.addr((i + 1) % self.n) if nxt is None else nxt
        row[BD.BUFFER_ADDRESS // 4] = buf
        row[BD.CONTROL // 4] = control
        row[BD.STATUS // 4] = 0

    def status(self, i: int) -> int:
        """STATUS word of BD ``i`` as the engine left it."""
        return int(self.mem[i + 1, BD.STATUS // 4])

    def words(self, i: int) -> list[int]:
        """All 16 words of BD ``i``."""
        return [int(w) for w in self.mem[i + 1]]

    def check_canaries(self, before: Sequence[Sequence[int]]) -> None:
        """Only STATUS words changed, and the canary BDs around the ring are untouched."""
        assert (np.asarray(self.mem[0]) == CANARY_WORD).all(), "canary BD before the ring hit"
        assert (np.asarray(self.mem[-1]) == CANARY_WORD).all(), "canary BD after the ring hit"
        for i in range(self.n):
            now = self.words(i)
            for w in range(16):
                if w != BD.STATUS // 4:
                    assert now[w] == before[i][w], f"BD {i} word {w} changed: {now[w]:#x}"


def guarded(t: Target, nbytes: int, offset: int = 0):
    """A byte buffer with PAD canaries around ``[PAD + offset, PAD + offset + nbytes)``."""
    buf = t.allocate((PAD + offset + nbytes + PAD,), "u1")
    buf[:] = CANARY
    return buf


def check_guarded(buf, start: int, nbytes: int) -> None:
    """Canaries around ``[start, start + nbytes)`` intact."""
    assert (np.asarray(buf[:start]) == CANARY).all(), "canary before a buffer overwritten"
    assert (np.asarray(buf[start + nbytes:]) == CANARY).all(), "canary after a buffer overwritten"


def wait_for(t: Target, cond: Callable[[], bool], what: str, timeout_ns: int = 20_000_000) -> int:
    """Let target time pass until ``cond()``; the target time it took. Fails after the timeout."""
    start = t.now_ns
    step = 100
    while not cond():
        if t.now_ns - start > timeout_ns:
            describe = getattr(t, "describe", None)
            pytest.fail(f"{what}: not after {timeout_ns} ns\n{describe() if describe else ''}")
        t.delay(step)
        step = min(step * 2, 20_000)
    return t.now_ns - start


def start(m: MMIO, ch: Channel, first: int, cr: int = IRQEN) -> None:
    """CURDESC while halted, then RS=1 (the order every driver uses)."""
    m.write(ch.CURDESC, first & 0xFFFF_FFFF)
    m.write(ch.CURDESC_MSB, first >> 32)
    m.write(ch.DMACR, cr | R.DMACR_RS)


def kick(m: MMIO, ch: Channel, tail: int) -> None:
    """TAILDESC low then high (the MSB write kicks when addresses are wider than 32 bits)."""
    m.write(ch.TAILDESC, tail & 0xFFFF_FFFF)
    m.write(ch.TAILDESC_MSB, tail >> 32)


def sr(m: MMIO, ch: Channel) -> int:
    """DMASR of ``ch``."""
    return m.read(ch.DMASR)


def idle(m: MMIO, ch: Channel) -> Callable[[], bool]:
    """Condition: ``ch`` reads Idle."""
    return lambda: bool(sr(m, ch) & R.DMASR_IDLE)


def delay_tick_ns(t: Target) -> int:
    """One delay-timer tick: c_dlytmr_resolution clocks (the IP's default when unset)."""
    params = t.ip_dict["axi_dma_0"]["parameters"]
    resolution = int(params.get("c_dlytmr_resolution", constants.SG_DLYTMR_RESOLUTION))
    return resolution * int(getattr(t, "clock_ns", 10))


def coalescing(delay: int, threshold: int = 10) -> int:
    """DMACR's interrupt enables with IRQThreshold and IRQDelay set."""
    return (IRQEN | R.DMACR.field("IRQThreshold").put(0, threshold)
            | R.DMACR.field("IRQDelay").put(0, delay))


def expected_rx(packets: Sequence[int], rx_lens: Sequence[int]) -> list[int]:
    """STATUS words S2MM must write: packets fill BDs in order, a packet end closes its BD.

    BDs the packets do not reach keep STATUS 0.
    """
    out = [0] * len(rx_lens)
    i = 0
    for size in packets:
        left, sof = size, True
        while left and i < len(rx_lens):
            take = min(left, rx_lens[i])
            left -= take
            eof = left == 0
            out[i] = (R.BD_CMPLT | take | (R.BD_RXSOF if sof else 0)
                      | (R.BD_RXEOF if eof else 0))
            sof = False
            i += 1
    return out


def run_chain(t: Target, tx_lens: Sequence[int], eofs: Sequence[bool],
              rx_lens: Sequence[int], offsets: Sequence[int] = ()) -> dict[str, object]:
    """Send one TX chain into one RX chain; check data, BD words and canaries; return counts."""
    m = regs(t)
    rng = np.random.default_rng(len(tx_lens) * 7919 + sum(tx_lens))
    offs = list(offsets) or [0] * len(tx_lens)
    srcs = []
    tx = Ring(t, len(tx_lens))
    sof = True
    for i, n in enumerate(tx_lens):
        b = guarded(t, n, offs[i])
        b[PAD + offs[i]:PAD + offs[i] + n] = rng.integers(0, 256, n, dtype=np.uint8)
        srcs.append((b, PAD + offs[i], n))
        ctl = n | (R.BD_TXSOF if sof else 0) | (R.BD_TXEOF if eofs[i] else 0)
        tx.set(i, b.physical_address + PAD + offs[i], ctl)
        sof = eofs[i]
    rx = Ring(t, len(rx_lens))
    dsts = []
    for i, n in enumerate(rx_lens):
        b = guarded(t, n)
        dsts.append(b)
        rx.set(i, b.physical_address + PAD, n)
    tx_before = [tx.words(i) for i in range(tx.n)]
    rx_before = [rx.words(i) for i in range(rx.n)]
    start(m, S2MM, rx.addr(0))
    kick(m, S2MM, rx.addr(rx.n - 1))
    start(m, MM2S, tx.addr(0))
    kick(m, MM2S, tx.addr(tx.n - 1))
    packets, size = [], 0
    for n, eof in zip(tx_lens, eofs, strict=True):
        size += n
        if eof:
            packets.append(size)
            size = 0
    want_rx = expected_rx(packets, rx_lens)
    last = max((i for i, s in enumerate(want_rx) if s), default=-1)
    wait_for(t, idle(m, MM2S), "MM2S Idle at the end of its chain")
    wait_for(t, lambda: last < 0 or rx.status(last) & R.BD_CMPLT, "S2MM's last BD complete")
    # MM2S: Cmplt and the CONTROL length, no other bit.
    assert [tx.status(i) for i in range(tx.n)] == [R.BD_CMPLT | n for n in tx_lens]
    assert [rx.status(i) for i in range(rx.n)] == want_rx
    assert m.read(MM2S.CURDESC) == tx.addr(tx.n - 1) & 0xFFFF_FFFF  # the tail BD
    data = np.concatenate([np.asarray(b[s:s + n]) for b, s, n in srcs])
    got, k = [], 0
    for i, s in enumerate(want_rx):
        n = s & R.BD_STATUS.field("TRANSFERRED").mask
        got.append(np.asarray(dsts[i][PAD:PAD + n]))
        check_guarded(dsts[i], PAD, n)
        k += n
    assert (np.concatenate(got) == data[:k]).all() if got else k == 0
    for b, s, n in srcs:
        check_guarded(b, s, n)
    tx.check_canaries(tx_before)
    rx.check_canaries(rx_before)
    s2mm_idle = bool(sr(m, S2MM) & R.DMASR_IDLE)
    assert s2mm_idle == (want_rx[-1] != 0), "S2MM Idle exactly when its whole chain was used"
    assert not (sr(m, MM2S) | sr(m, S2MM)) & R.DMASR_ALL_ERRORS
    return {"packets": len(packets), "rx": rx, "tx": tx, "m": m}


# --- registers ---------------------------------------------------------------------------


@pytest.mark.rule("SG-REGS")
def test_sg_register_map_and_reset_values(sg_target):
    m = regs(sg_target)
    for ch in R.CHANNELS:
        assert m.read(ch.DMACR) == 0x0001_0002
        assert m.read(ch.DMASR) == 0x0001_0009  # Halted, SGIncld, threshold counter 1
        for off in (ch.CURDESC, ch.CURDESC_MSB, ch.TAILDESC, ch.TAILDESC_MSB):
            assert m.read(off) == 0
        for off in (ch.ADDR, ch.ADDR_MSB, ch.LENGTH):  # simple-mode registers are reserved
            m.write(off, 0x1000)
            assert m.read(off) == 0
    assert m.read(MM2S.DMASR) == 0x0001_0009  # a LENGTH write started nothing


@pytest.mark.rule("SG-CURDESC")
def test_curdesc_drops_low_bits_and_is_written_only_while_halted(sg_target):
    m = regs(sg_target)
    ring = Ring(sg_target, 2)
    m.write(S2MM.CURDESC, ring.addr(1) + 0x3C)  # misaligned: bits 5:0 are not stored
    assert m.read(S2MM.CURDESC) == ring.addr(1)
    m.write(S2MM.DMACR, R.DMACR_RS)
    assert not sr(m, S2MM) & (R.DMASR_HALTED | R.DMASR_IDLE)
    m.write(S2MM.CURDESC, ring.addr(0))  # running: ignored
    assert m.read(S2MM.CURDESC) == ring.addr(1)
    m.write(S2MM.TAILDESC, ring.addr(0) + 0x11)
    assert m.read(S2MM.TAILDESC) == ring.addr(0)


@pytest.mark.rule("SG-TAIL-KICK")
def test_a_kick_while_halted_is_not_remembered(sg_target):
    t = sg_target
    m = regs(t)
    tx = Ring(t, 1)
    src = guarded(t, 64)
    tx.set(0, src.physical_address + PAD, 64 | R.BD_TXSOF | R.BD_TXEOF)
    m.write(MM2S.CURDESC, tx.addr(0))
    kick(m, MM2S, tx.addr(0))  # RS=0: stored, starts nothing
    m.write(MM2S.DMACR, R.DMACR_RS)
    t.delay(50_000)
    assert tx.status(0) == 0 and not sr(m, MM2S) & R.DMASR_IDLE
    assert m.read(MM2S.TAILDESC) == tx.addr(0)
    kick(m, MM2S, tx.addr(0))  # again after RS=1: now it runs
    wait_for(t, idle(m, MM2S), "MM2S Idle after the second kick")
    assert tx.status(0) == R.BD_CMPLT | 64


# --- chains ------------------------------------------------------------------------------


@pytest.mark.rule("SG-BD-STATUS", "SG-MM2S-PACKETS", "SG-S2MM-PACKETS", "SG-IDLE")
def test_one_packet_over_three_bds_into_two(sg_target):
    out = run_chain(sg_target, [256, 100, 156], [False, False, True], [300, 300])
    rx = out["rx"]
    assert isinstance(rx, Ring)
    assert rx.status(0) == R.BD_CMPLT | R.BD_RXSOF | 300
    assert rx.status(1) == R.BD_CMPLT | R.BD_RXEOF | 212


@pytest.mark.rule("SG-BD-STATUS", "SG-MM2S-PACKETS", "SG-S2MM-PACKETS", "SG-IDLE", "SG-IOC")
@settings(max_examples=25)
@given(data=st.data())
def test_chains_of_random_bds_and_packets(sg_target, data):
    t = fresh(sg_target)
    beat = 4
    n = data.draw(st.integers(1, 6), label="TX BDs")
    tx_lens = data.draw(st.lists(st.integers(1, 64).map(lambda k: k * beat), min_size=n,
                                 max_size=n), label="TX lengths")
    eofs = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="TXEOF")
    eofs[-1] = True
    offsets = data.draw(st.lists(st.integers(0, 7).map(lambda k: k * beat), min_size=n,
                                 max_size=n), label="source offsets")
    # Every packet ends its last RX BD (the rest of that buffer stays unused), so the receive
    # chain gets room per packet: BDs covering packet 1, then packet 2, ...
    packets: list[int] = [0]
    for length, eof in zip(tx_lens, eofs, strict=True):
        packets[-1] += length
        if eof:
            packets.append(0)
    rx_lens: list[int] = []
    for size in packets[:-1]:
        room = 0
        while room < size:
            rx_lens.append(data.draw(st.integers(1, 96).map(lambda k: k * beat),
                                     label="RX length"))
            room += rx_lens[-1]
    rx_lens += data.draw(st.lists(st.integers(1, 32).map(lambda k: k * beat), max_size=2),
                         label="spare RX BDs")
    m = regs(t)
    iocs_before = sr(m, S2MM) & R.DMASR_IOC_IRQ
    out = run_chain(t, tx_lens, eofs, rx_lens, offsets)
    assert not iocs_before
    # IOC events are per packet (threshold 1): both channels raise IOC_Irq.
    assert sr(m, MM2S) & R.DMASR_IOC_IRQ and sr(m, S2MM) & R.DMASR_IOC_IRQ
    assert out["packets"] == sum(eofs)


@pytest.mark.rule("SG-S2MM-PACKETS", "SG-IDLE", "SG-TAIL-KICK")
def test_packet_longer_than_the_rx_chain_waits_for_the_next_kick(sg_target):
    t = sg_target
    m = regs(t)
    src = guarded(t, 512)
    src[PAD:PAD + 512] = np.arange(512, dtype=np.uint32).astype(np.uint8)
    tx = Ring(t, 1)
    tx.set(0, src.physical_address + PAD, 512 | R.BD_TXSOF | R.BD_TXEOF)
    rx = Ring(t, 3)
    dst = guarded(t, 512)
    for i, (off, n) in enumerate([(0, 128), (128, 128), (256, 256)]):
        rx.set(i, dst.physical_address + PAD + off, n)
    start(m, S2MM, rx.addr(0))
    kick(m, S2MM, rx.addr(1))  # only 256 bytes of room
    start(m, MM2S, tx.addr(0))
    kick(m, MM2S, tx.addr(0))
    wait_for(t, idle(m, S2MM), "S2MM Idle with its two BDs full")
    assert [rx.status(i) for i in range(3)] == [R.BD_CMPLT | R.BD_RXSOF | 128,
                                                R.BD_CMPLT | 128, 0]
    assert not sr(m, S2MM) & R.DMASR_IOC_IRQ  # no packet end yet: no IOC event
    assert not (sr(m, MM2S) | sr(m, S2MM)) & R.DMASR_ALL_ERRORS
    kick(m, S2MM, rx.addr(2))  # extend: the rest continues, RXSOF=0
    wait_for(t, lambda: bool(rx.status(2) & R.BD_CMPLT), "the third BD")
    assert rx.status(2) == R.BD_CMPLT | R.BD_RXEOF | 256
    assert (np.asarray(dst[PAD:PAD + 512]) == np.asarray(src[PAD:PAD + 512])).all()
    check_guarded(dst, PAD, 512)
    assert m.read(S2MM.CURDESC) == rx.addr(2)


@pytest.mark.rule("SG-S2MM-PACKETS", "SG-IDLE")
def test_packet_shorter_than_the_rx_chain_leaves_s2mm_busy(sg_target):
    out = run_chain(sg_target, [64], [True], [128, 128])
    m, rx = out["m"], out["rx"]
    assert isinstance(m, MMIO) and isinstance(rx, Ring)
    assert rx.status(0) == R.BD_CMPLT | R.BD_RXSOF | R.BD_RXEOF | 64 and rx.status(1) == 0
    assert not sr(m, S2MM) & (R.DMASR_IDLE | R.DMASR_HALTED)  # waits for the next packet


@pytest.mark.rule("SG-TAIL-KICK", "SG-CURDESC")
def test_extending_the_tail_while_running(sg_target):
    t = sg_target
    m = regs(t)
    n = 6
    src = guarded(t, n * 1024)
    src[PAD:PAD + n * 1024] = np.arange(n * 1024, dtype=np.uint32).astype(np.uint8) ^ 0x5A
    dst = guarded(t, n * 1024)
    tx, rx = Ring(t, n), Ring(t, n)
    for i in range(n):
        tx.set(i, src.physical_address + PAD + i * 1024, 1024 | R.BD_TXSOF | R.BD_TXEOF)
        rx.set(i, dst.physical_address + PAD + i * 1024, 1024)
    start(m, S2MM, rx.addr(0))
    kick(m, S2MM, rx.addr(n - 1))
    start(m, MM2S, tx.addr(0))
    kick(m, MM2S, tx.addr(1))
    kick(m, MM2S, tx.addr(3))  # while the first BDs run: only the stop point moves
    wait_for(t, idle(m, MM2S), "MM2S Idle at BD 3")
    assert m.read(MM2S.CURDESC) == tx.addr(3)
    assert tx.status(4) == 0
    kick(m, MM2S, tx.addr(n - 1))  # resumes at BD 3's NXTDESC
    wait_for(t, idle(m, S2MM), "S2MM Idle")
    assert [tx.status(i) for i in range(n)] == [R.BD_CMPLT | 1024] * n
    assert (np.asarray(dst[PAD:PAD + n * 1024]) == np.asarray(src[PAD:PAD + n * 1024])).all()
    check_guarded(dst, PAD, n * 1024)


# --- errors ------------------------------------------------------------------------------


def _halted_with(m: MMIO, ch: Channel, bit: int) -> None:
    """``ch`` shows ``bit`` and Err_Irq; both channels halted, the other without errors."""
    other = S2MM if ch is MM2S else MM2S
    assert sr(m, ch) & (bit | R.DMASR_ERR_IRQ | R.DMASR_HALTED) == (
        bit | R.DMASR_ERR_IRQ | R.DMASR_HALTED), R.describe_status(sr(m, ch))
    assert not sr(m, ch) & R.DMASR_IOC_IRQ  # an SG error halt sets no IOC_Irq
    assert sr(m, other) & R.DMASR_HALTED and not sr(m, other) & R.DMASR_ALL_ERRORS
    assert not m.read(ch.DMACR) & R.DMACR_RS and not m.read(other.DMACR) & R.DMACR_RS


def _one_bd_run(t: Target, length: int = 64, status: int = 0, cr: int = IRQEN,
                buf: int | None = None) -> tuple[MMIO, Ring, object]:
    m = regs(t)
    src = guarded(t, max(length, 4))
    tx = Ring(t, 2)
    for i in range(2):
        tx.set(i, src.physical_address + PAD if buf is None else buf,
               length | R.BD_TXSOF | R.BD_TXEOF)
    tx.mem[1, BD.STATUS // 4] = status  # BD 0 (row 0 is the canary BD)
    m.write(S2MM.DMACR, R.DMACR_RS)
    start(m, MM2S, tx.addr(0), cr)
    kick(m, MM2S, tx.addr(1))
    return m, tx, src


@pytest.mark.rule("SG-ERR-STALE", "SG-ERR-LATCH")
def test_a_completed_bd_is_sgint_err(sg_target):
    m, tx, _ = _one_bd_run(sg_target, status=R.BD_CMPLT | 64)
    wait_for(sg_target, lambda: bool(sr(m, MM2S) & R.DMASR_HALTED), "the error halt")
    _halted_with(m, MM2S, R.DMASR_SG_INT_ERR)
    assert tx.status(0) == R.BD_CMPLT | 64  # the stale BD is not rewritten (software's word)
    assert tx.status(1) == 0  # never reached
    assert m.read(MM2S.CURDESC) == tx.addr(0)
    # Latched: CURDESC cannot be rewritten and RS cannot be set until a reset.
    m.write(MM2S.CURDESC, tx.addr(1))
    m.write(MM2S.DMACR, R.DMACR_RS)
    assert m.read(MM2S.CURDESC) == tx.addr(0) and not m.read(MM2S.DMACR) & R.DMACR_RS
    m.write(MM2S.DMACR, R.DMACR_RESET)
    wait_for(sg_target, lambda: not m.read(MM2S.DMACR) & R.DMACR_RESET, "soft reset")
    assert m.read(MM2S.DMASR) == 0x0001_0009 and m.read(MM2S.CURDESC) == 0


@pytest.mark.rule("SG-ERR-STALE", "SG-CYCLIC")
def test_cyclic_mode_ignores_cmplt(sg_target):
    t = sg_target
    m = regs(t)
    src = guarded(t, 64)
    tx = Ring(t, 2)
    for i in range(2):
        tx.set(i, src.physical_address + PAD, 64 | R.BD_TXSOF | R.BD_TXEOF)
        tx.mem[i + 1, BD.STATUS // 4] = R.BD_CMPLT | 0x123  # stale from an earlier lap
    rx = Ring(t, 8)
    dst = guarded(t, 8 * 64)
    for i in range(8):
        rx.set(i, dst.physical_address + PAD + 64 * i, 64)
    start(m, S2MM, rx.addr(0))
    kick(m, S2MM, rx.addr(7))
    start(m, MM2S, tx.addr(0), IRQEN | R.DMACR_CYCLIC)
    kick(m, MM2S, tx.addr(0) + 0x1000)  # a tail outside the ring: it cycles
    wait_for(t, idle(m, S2MM), "S2MM Idle after 8 packets (4 laps)")
    assert [rx.status(i) for i in range(8)] == [R.BD_CMPLT | R.BD_RXSOF | R.BD_RXEOF | 64] * 8
    assert [tx.status(i) for i in range(2)] == [R.BD_CMPLT | 64] * 2
    assert not sr(m, MM2S) & (R.DMASR_IDLE | R.DMASR_ALL_ERRORS)  # still cycling
    check_guarded(dst, PAD, 8 * 64)
    m.write(MM2S.DMACR, R.DMACR_RESET)  # how drivers stop a cyclic channel
    wait_for(t, lambda: not m.read(MM2S.DMACR) & R.DMACR_RESET, "soft reset")
    assert sr(m, MM2S) == 0x0001_0009 and m.read(MM2S.DMACR) & R.DMACR_CYCLIC == 0


@pytest.mark.rule("SG-ERR-ZERO")
def test_a_zero_length_bd_is_dmainterr_with_status(sg_target):
    m, tx, _ = _one_bd_run(sg_target, length=0)
    wait_for(sg_target, lambda: bool(sr(m, MM2S) & R.DMASR_HALTED), "the error halt")
    _halted_with(m, MM2S, R.DMASR_INT_ERR)
    assert tx.status(0) == R.BD_CMPLT | R.BD_STATUS.field("DMAIntErr").mask


@pytest.mark.needs("faults")
@pytest.mark.rule("SG-ERR-DATA")
@pytest.mark.parametrize("kind", ["slverr", "decerr"])
def test_a_data_fault_is_written_to_the_bd(sg_target, kind):
    t = sg_target
    src = guarded(t, 256)
    t.faults.add_fault(src.physical_address + PAD + 128, 4, kind)
    m, tx, _ = _one_bd_run(t, length=256, buf=src.physical_address + PAD)
    wait_for(t, lambda: bool(sr(m, MM2S) & R.DMASR_HALTED), "the error halt")
    bit = R.DMASR_SLV_ERR if kind == "slverr" else R.DMASR_DEC_ERR
    _halted_with(m, MM2S, bit)
    bd_bit = R.BD_STATUS.field("DMASlvErr" if kind == "slverr" else "DMADecErr").mask
    assert tx.status(0) & (R.BD_CMPLT | bd_bit) == R.BD_CMPLT | bd_bit
    assert tx.status(0) & R.BD_STATUS.field("TRANSFERRED").mask <= 256


@pytest.mark.needs("faults")
@pytest.mark.rule("SG-ERR-DATA")
@pytest.mark.parametrize("nbytes", [1, 4, 8, 100])
def test_a_packet_into_a_failing_buffer_is_an_error_however_short(sg_target, nbytes):
    """S2MM writing a packet over a word that answers SLVERR: DMASlvErr and the BD's STATUS
    say so even when the whole packet arrives at once (the model once let its end win; found
    by test_state_machine.py's SG machine)."""
    t = sg_target
    m = regs(t)
    src, dst = guarded(t, nbytes), guarded(t, nbytes)
    t.faults.add_fault(dst.physical_address + PAD, 1, "slverr")
    tx, rx = Ring(t, 1), Ring(t, 1)
    tx.set(0, src.physical_address + PAD, nbytes | R.BD_TXSOF | R.BD_TXEOF)
    rx.set(0, dst.physical_address + PAD, nbytes)
    start(m, S2MM, rx.addr(0))
    kick(m, S2MM, rx.addr(0))
    start(m, MM2S, tx.addr(0))
    kick(m, MM2S, tx.addr(0))
    wait_for(t, lambda: bool(sr(m, S2MM) & R.DMASR_HALTED), "the error halt")
    _halted_with(m, S2MM, R.DMASR_SLV_ERR)
    flag = R.BD_STATUS.field("DMASlvErr").mask
    assert rx.status(0) & (R.BD_CMPLT | flag) == R.BD_CMPLT | flag, hex(rx.status(0))
    check_guarded(dst, PAD, nbytes)


@pytest.mark.needs("faults")
@pytest.mark.rule("SG-ERR-FETCH")
@pytest.mark.parametrize("kind", ["slverr", "decerr"])
def test_a_bd_fetch_fault_is_sg_error(sg_target, kind):
    t = sg_target
    m = regs(t)
    tx = Ring(t, 2)
    src = guarded(t, 64)
    for i in range(2):
        tx.set(i, src.physical_address + PAD, 64 | R.BD_TXSOF | R.BD_TXEOF)
    t.faults.add_fault(tx.addr(1) + BD.CONTROL, 4, kind)
    m.write(S2MM.DMACR, R.DMACR_RS)
    start(m, MM2S, tx.addr(0))
    kick(m, MM2S, tx.addr(1))
    wait_for(t, lambda: bool(sr(m, MM2S) & R.DMASR_HALTED), "the error halt")
    _halted_with(m, MM2S, R.DMASR_SG_SLV_ERR if kind == "slverr" else R.DMASR_SG_DEC_ERR)
    assert m.read(MM2S.CURDESC) == tx.addr(1)  # the BD whose fetch failed
    assert tx.status(1) == 0


@pytest.mark.rule("SG-ERR-FETCH")
def test_curdesc_outside_ddr_is_sgdecerr(sg_target):
    m = regs(sg_target)
    m.write(S2MM.DMACR, R.DMACR_RS)
    start(m, MM2S, 0xF000_0000)
    kick(m, MM2S, 0xF000_0000)
    wait_for(sg_target, lambda: bool(sr(m, MM2S) & R.DMASR_HALTED), "the error halt")
    _halted_with(m, MM2S, R.DMASR_SG_DEC_ERR)
    assert m.read(MM2S.CURDESC) == 0xF000_0000


@pytest.mark.rule("SG-RS-STOP")
def test_rs0_halts_and_restart_from_curdesc(sg_target):
    t = sg_target
    m = regs(t)
    rx = Ring(t, 2)
    dst = guarded(t, 128)
    for i in range(2):
        rx.set(i, dst.physical_address + PAD + 64 * i, 64)
    start(m, S2MM, rx.addr(0))
    kick(m, S2MM, rx.addr(1))
    t.delay(10_000)
    assert m.read(S2MM.CURDESC) == rx.addr(0)
    m.write(S2MM.DMACR, 0)  # a command waits for stream data: Halted stays 0
    t.delay(10_000)
    assert not sr(m, S2MM) & R.DMASR_HALTED
    m.write(S2MM.DMACR, R.DMACR_RESET)
    wait_for(t, lambda: not m.read(S2MM.DMACR) & R.DMACR_RESET, "soft reset")
    assert sr(m, S2MM) == 0x0001_0009 and m.read(S2MM.TAILDESC) == 0


# --- interrupts --------------------------------------------------------------------------


@pytest.mark.rule("SG-COALESCE-THRESHOLD", "SG-IOC")
@settings(max_examples=10)
@given(threshold=st.integers(1, 5), packets=st.integers(1, 8))
def test_threshold_counts_packets(sg_target, threshold, packets):
    t = fresh(sg_target)
    m = regs(t)
    src = guarded(t, 64)
    dst = guarded(t, 64 * packets)
    tx, rx = Ring(t, packets), Ring(t, packets)
    for i in range(packets):
        tx.set(i, src.physical_address + PAD, 64 | R.BD_TXSOF | R.BD_TXEOF)
        rx.set(i, dst.physical_address + PAD + 64 * i, 64)
    start(m, S2MM, rx.addr(0), coalescing(0, threshold))
    assert R.DMASR.field("IRQThresholdSts").get(sr(m, S2MM)) == threshold
    kick(m, S2MM, rx.addr(packets - 1))
    start(m, MM2S, tx.addr(0), IRQEN)
    kick(m, MM2S, tx.addr(packets - 1))
    wait_for(t, idle(m, S2MM), "S2MM Idle")
    status = sr(m, S2MM)
    fired = packets >= threshold
    assert bool(status & R.DMASR_IOC_IRQ) == fired
    left = threshold - packets % threshold if packets % threshold else threshold
    assert R.DMASR.field("IRQThresholdSts").get(status) == left
    assert t.interrupts()["s2mm_introut"] == fired
    check_guarded(dst, PAD, 64 * packets)


@pytest.mark.rule("SG-COALESCE-DELAY")
@pytest.mark.parametrize("delay", [1, 3])
def test_delay_timer_fires_after_the_packet_end(sg_target, delay):
    t = sg_target
    m = regs(t)
    src, dst = guarded(t, 64), guarded(t, 64)
    tx, rx = Ring(t, 1), Ring(t, 1)
    tx.set(0, src.physical_address + PAD, 64 | R.BD_TXSOF | R.BD_TXEOF)
    rx.set(0, dst.physical_address + PAD, 64)
    start(m, S2MM, rx.addr(0), coalescing(delay))
    kick(m, S2MM, rx.addr(0))
    start(m, MM2S, tx.addr(0), IRQEN)
    kick(m, MM2S, tx.addr(0))
    tick = delay_tick_ns(t)
    step = 200
    deadline = t.now_ns + 1_000_000
    while not rx.status(0) & R.BD_CMPLT and t.now_ns < deadline:
        t.delay(step)
    ended = t.now_ns  # the packet ended within the last step
    assert not sr(m, S2MM) & R.DMASR_IOC_IRQ  # threshold 10: no IOC
    while not sr(m, S2MM) & R.DMASR_DLY_IRQ and t.now_ns < ended + (delay + 4) * tick:
        t.delay(step)
    waited = t.now_ns - ended
    assert sr(m, S2MM) & R.DMASR_DLY_IRQ, f"no Dly_Irq {waited} ns after the packet"
    # About (IRQDelay + 1) ticks after the packet's end (PG021 says IRQDelay ticks).
    assert delay * tick - 2 * step <= waited <= (delay + 1) * tick + 4 * step
    # Dly_Irq with Dly_IrqEn reloads the threshold counter and raises the line.
    assert R.DMASR.field("IRQThresholdSts").get(sr(m, S2MM)) == 10
    assert t.interrupts()["s2mm_introut"]


@pytest.mark.rule("SG-COALESCE-DELAY")
@pytest.mark.parametrize("delay", [1, 3])
def test_the_next_packets_first_beat_stops_the_delay_timer(sg_target, delay):
    """Two packets back to back, S2MM with one BD: the second packet's first beat enters
    S2MM's input skid (FLOW-SKID) right after the first packet's end and stops the timer, so
    Dly_Irq never sets (found by test_state_machine.py's SG machine in cyclic mode)."""
    t = sg_target
    m = regs(t)
    tick = delay_tick_ns(t)
    src, dst = guarded(t, 128), guarded(t, 64)
    src[PAD:PAD + 128] = np.arange(128, dtype=np.uint8)
    tx, rx = Ring(t, 2), Ring(t, 1)
    for i in range(2):
        tx.set(i, src.physical_address + PAD + 64 * i, 64 | R.BD_TXSOF | R.BD_TXEOF)
    rx.set(0, dst.physical_address + PAD, 64)
    start(m, S2MM, rx.addr(0), coalescing(delay))
    kick(m, S2MM, rx.addr(0))
    start(m, MM2S, tx.addr(0), IRQEN)
    kick(m, MM2S, tx.addr(1))
    wait_for(t, idle(m, S2MM), "S2MM Idle after the first packet")
    assert rx.status(0) == R.BD_CMPLT | R.BD_RXSOF | R.BD_RXEOF | 64
    t.delay((delay + 4) * tick)
    status = sr(m, S2MM)
    assert not status & R.DMASR_DLY_IRQ, R.describe_status(status)
    assert R.DMASR.field("IRQDelaySts").get(status) == 0  # stopped, not counting
    assert not t.interrupts()["s2mm_introut"]
    check_guarded(dst, PAD, 64)
    # the second packet still waits whole in the stream: a new BD takes it
    rx.set(0, dst.physical_address + PAD, 64)
    kick(m, S2MM, rx.addr(0))
    wait_for(t, lambda: bool(rx.status(0) & R.BD_CMPLT), "the second packet")
    assert (np.asarray(dst[PAD:PAD + 64]) == np.arange(64, 128, dtype=np.uint8)).all()
    # with no packet behind it, this packet's end lets the timer fire
    wait_for(t, lambda: bool(sr(m, S2MM) & R.DMASR_DLY_IRQ), "Dly_Irq after the last packet",
             timeout_ns=(delay + 4) * tick)


@pytest.mark.rule("SG-COALESCE-DELAY")
@pytest.mark.parametrize("nbytes", [16, 256])
def test_delay_timer_arms_when_tlast_passes_the_stream(sg_target, nbytes):
    """The delay timer arms when the TLAST beat is taken on the stream, not when MM2S has read
    it: with no RX BD, a 4-beat packet still passes into S2MM's skid buffer (both channels'
    timers arm), a 64-beat one stays in MM2S's FIFO (neither arms) until an RX BD takes it."""
    t = sg_target
    m = regs(t)
    tick = delay_tick_ns(t)
    src, dst = guarded(t, nbytes), guarded(t, nbytes)
    src[PAD:PAD + nbytes] = np.arange(nbytes) % 251
    tx, rx = Ring(t, 1), Ring(t, 1)
    tx.set(0, src.physical_address + PAD, nbytes | R.BD_TXSOF | R.BD_TXEOF)
    rx.set(0, dst.physical_address + PAD, nbytes)
    cr = coalescing(1)
    start(m, S2MM, rx.addr(0), cr)  # running, no BD kicked: only the skid takes beats
    start(m, MM2S, tx.addr(0), cr)
    kick(m, MM2S, tx.addr(0))
    wait_for(t, lambda: bool(tx.status(0) & R.BD_CMPLT), "the TX BD's status")
    t.delay(6 * tick)  # longer than IRQDelay + 1 ticks
    passed = nbytes <= 4 * 4  # S2MM's skid buffer: 4 beats of 4 bytes
    for ch in (MM2S, S2MM):
        got = bool(sr(m, ch) & R.DMASR_DLY_IRQ)
        assert got == passed, f"{ch.name}: Dly_Irq={got} with {nbytes} bytes held in the stream"
    kick(m, S2MM, rx.addr(0))
    wait_for(t, lambda: bool(rx.status(0) & R.BD_CMPLT), "the RX BD's status")
    if not passed:
        t.delay(6 * tick)
        for ch in (MM2S, S2MM):
            assert sr(m, ch) & R.DMASR_DLY_IRQ, f"{ch.name}: no Dly_Irq after the packet passed"
    assert (np.asarray(dst[PAD:PAD + nbytes]) == np.asarray(src[PAD:PAD + nbytes])).all()
    check_guarded(dst, PAD, nbytes)


@pytest.mark.needs("irq")
@pytest.mark.rule("SG-IOC", "IRQ-AWAIT")
def test_await_interrupt_and_its_timeout(sg_target):
    t = sg_target
    out = run_chain(t, [128], [True], [128])
    m = out["m"]
    assert isinstance(m, MMIO)
    asyncio.run(t.interrupt("axi_dma_0", "s2mm_introut", timeout_ns=1_000))
    m.write(S2MM.DMASR, R.DMASR_IRQS)  # W1C: the line falls
    before = t.now_ns
    with pytest.raises(DmaTimeoutError, match=r"S2MM_DMASR=0x[0-9a-f]{8} \(") as exc:
        asyncio.run(t.interrupt("axi_dma_0", "s2mm_introut", timeout_ns=200_000))
    assert 200_000 <= t.now_ns - before < 400_000
    assert "MM2S_DMASR" in str(exc.value)


@pytest.mark.rule("SG-TAIL-KICK", "SG-ERR-STALE")
def test_an_unreachable_tail_wraps_into_a_completed_bd(sg_target):
    """A tail outside the ring is never met: after one lap the engine meets Cmplt=1 BDs."""
    t = sg_target
    m = regs(t)
    src = guarded(t, 64)
    tx = Ring(t, 2)
    for i in range(2):
        tx.set(i, src.physical_address + PAD, 64 | R.BD_TXSOF | R.BD_TXEOF)
    rx = Ring(t, 4)
    dst = guarded(t, 256)
    for i in range(4):
        rx.set(i, dst.physical_address + PAD + 64 * i, 64)
    start(m, S2MM, rx.addr(0))
    kick(m, S2MM, rx.addr(3))
    start(m, MM2S, tx.addr(0))
    kick(m, MM2S, tx.addr(0) + 0x4000)  # not in the ring
    wait_for(t, lambda: bool(sr(m, MM2S) & R.DMASR_HALTED), "the SGIntErr halt")
    want = R.DMASR_SG_INT_ERR | R.DMASR_ERR_IRQ | R.DMASR_HALTED
    assert sr(m, MM2S) & want == want  # (IOC_Irq of the first lap's packets may be set)
    assert sr(m, S2MM) & R.DMASR_HALTED and not sr(m, S2MM) & R.DMASR_ALL_ERRORS
    assert m.read(MM2S.CURDESC) == tx.addr(0)
    assert tx.status(0) == R.BD_CMPLT | 64  # written on the first lap, not rewritten
    # whether S2MM's BD in flight still gets its STATUS before the engines freeze is timing
    # (SG-ERR-LATCH leaves it open): the model's slower BD fetch lets it finish, the RTL's
    # one-clock DDR does not; either way nothing but a whole, correct STATUS is written
    assert rx.status(0) in (0, R.BD_CMPLT | R.BD_RXSOF | R.BD_RXEOF | 64)
    check_guarded(dst, PAD, 256)


@pytest.mark.rule("SG-REGS", "SG-TAIL-KICK")
def test_wide_addresses_kick_on_the_msb_write(sg_target):
    """With c_addr_width > 32 the MSB halves exist and the TAILDESC_MSB write kicks."""
    from dmasim import open_target
    from dmasim.errors import DesignError

    try:
        t = open_target(sg_target.name, parameters={"c_include_sg": 1, "c_addr_width": 64})
    except DesignError as exc:
        pytest.skip(f"{sg_target.name}: {exc}")
    with t:
        m = regs(t)
        m.write(MM2S.CURDESC_MSB, 0xFFFF_FFFF)
        assert m.read(MM2S.CURDESC_MSB) == 0xFFFF_FFFF
        src, dst = guarded(t, 128), guarded(t, 128)
        src[PAD:PAD + 128] = np.arange(128, dtype=np.uint8)
        tx, rx = Ring(t, 1), Ring(t, 1)
        tx.set(0, src.physical_address + PAD, 128 | R.BD_TXSOF | R.BD_TXEOF)
        rx.set(0, dst.physical_address + PAD, 128)
        start(m, S2MM, rx.addr(0))
        kick(m, S2MM, rx.addr(0))
        start(m, MM2S, tx.addr(0))
        m.write(MM2S.TAILDESC, tx.addr(0))  # the low half alone starts nothing
        t.delay(20_000)
        assert tx.status(0) == 0
        m.write(MM2S.TAILDESC_MSB, 0)
        wait_for(t, idle(m, S2MM), "S2MM Idle after the MSB kick")
        assert rx.status(0) == R.BD_CMPLT | R.BD_RXSOF | R.BD_RXEOF | 128
        assert (np.asarray(dst[PAD:PAD + 128]) == np.arange(128, dtype=np.uint8)).all()
        check_guarded(dst, PAD, 128)


@pytest.mark.rule("SG-BD-STATUS", "SG-S2MM-PACKETS")
@settings(max_examples=10)
@given(tx_lens=st.lists(st.integers(1, 300).map(lambda k: k * 4), min_size=1, max_size=5),
       rx_len=st.integers(1, 200).map(lambda k: k * 4))
def test_model_fabric_agrees_with_its_loopback_fast_path(tx_lens, rx_len):
    """The model's general fabric and its loopback stepping write the same BDs and bytes."""
    from dmasim import open_target

    results = []
    for force in (False, True):
        with open_target("model", parameters={"c_include_sg": 1}, force_fabric=force) as t:
            total = sum(tx_lens)
            rx_lens = [rx_len] * -(-total // rx_len)
            out = run_chain(t, tx_lens, [False] * (len(tx_lens) - 1) + [True], rx_lens)
            rx = out["rx"]
            assert isinstance(rx, Ring)
            results.append(([rx.status(i) for i in range(rx.n)], t.now_ns))
    assert results[0][0] == results[1][0]


def test_the_sg_status_stream_is_refused_by_name():
    from dmasim.design import Design, check_design
    from dmasim.errors import DesignError

    design = Design.loopback(parameters={"c_include_sg": 1})
    check_design(design)
    design.instances["axi_dma_0"].parameters["c_sg_include_stscntrl_strm"] = "1"
    with pytest.raises(DesignError, match=r"axi_dma_0 .*c_sg_include_stscntrl_strm=1 is not "
                                          r"modelled by dmasim \(the SG status/control"):
        check_design(design)


@pytest.mark.rule("SG-TAIL-KICK", "SG-IDLE", "SG-BD-STATUS")
@settings(max_examples=15)
@given(data=st.data())
def test_tail_kicks_in_any_steps(sg_target, data):
    """However the tail advances (each kick before or after Idle), every BD runs exactly once."""
    t = fresh(sg_target)
    m = regs(t)
    n = data.draw(st.integers(2, 8), label="BDs")
    lens = data.draw(st.lists(st.integers(1, 128).map(lambda k: k * 4), min_size=n, max_size=n),
                     label="lengths")
    stops = sorted(set(data.draw(st.lists(st.integers(0, n - 2), max_size=4), label="kicks")))
    stops.append(n - 1)
    waits = data.draw(st.lists(st.booleans(), min_size=len(stops), max_size=len(stops)),
                      label="wait for Idle before the next kick")
    total = sum(lens)
    src, dst = guarded(t, total), guarded(t, total)
    src[PAD:PAD + total] = np.random.default_rng(total).integers(0, 256, total, dtype=np.uint8)
    tx, rx = Ring(t, n), Ring(t, n)
    off = 0
    for i, k in enumerate(lens):
        tx.set(i, src.physical_address + PAD + off, k | R.BD_TXSOF | R.BD_TXEOF)
        rx.set(i, dst.physical_address + PAD + off, k)
        off += k
    start(m, S2MM, rx.addr(0))
    kick(m, S2MM, rx.addr(n - 1))
    start(m, MM2S, tx.addr(0))
    for stop, wait in zip(stops, waits, strict=True):
        kick(m, MM2S, tx.addr(stop))
        if wait:
            wait_for(t, idle(m, MM2S), f"MM2S Idle at BD {stop}")
            assert m.read(MM2S.CURDESC) == tx.addr(stop)
            assert stop == n - 1 or tx.status(stop + 1) == 0  # nothing past the tail
    wait_for(t, idle(m, S2MM), "S2MM Idle")
    assert [tx.status(i) for i in range(n)] == [R.BD_CMPLT | k for k in lens]
    assert [rx.status(i) for i in range(n)] == [
        R.BD_CMPLT | R.BD_RXSOF | R.BD_RXEOF | k for k in lens]
    assert (np.asarray(dst[PAD:PAD + total]) == np.asarray(src[PAD:PAD + total])).all()
    check_guarded(dst, PAD, total)


@pytest.mark.rule("SG-CYCLIC", "SG-MM2S-PACKETS", "SG-IOC")
@settings(max_examples=12)
@given(ring=st.lists(st.integers(1, 64).map(lambda k: k * 4), min_size=1, max_size=4),
       laps=st.integers(1, 6), threshold=st.integers(1, 4))
def test_cyclic_laps_are_one_packet_each(sg_target, ring, laps, threshold):
    """A cyclic ring with TXSOF on its first and TXEOF on its last BD sends one packet a lap."""
    t = fresh(sg_target)
    m = regs(t)
    lap = sum(ring)
    src = guarded(t, lap)
    src[PAD:PAD + lap] = np.arange(lap, dtype=np.uint32).astype(np.uint8) ^ 0x3C
    tx = Ring(t, len(ring))
    off = 0
    for i, k in enumerate(ring):
        ctl = k | (R.BD_TXSOF if i == 0 else 0) | (R.BD_TXEOF if i == len(ring) - 1 else 0)
        tx.set(i, src.physical_address + PAD + off, ctl)
        off += k
    rx = Ring(t, laps)
    dst = guarded(t, lap * laps)
    for i in range(laps):
        rx.set(i, dst.physical_address + PAD + i * lap, lap)
    start(m, S2MM, rx.addr(0))
    kick(m, S2MM, rx.addr(laps - 1))
    start(m, MM2S, tx.addr(0), coalescing(0, threshold) | R.DMACR_CYCLIC)
    kick(m, MM2S, tx.addr(0) - BD.SIZE)  # the canary BD before the ring: never fetched
    wait_for(t, idle(m, S2MM), f"S2MM Idle after {laps} laps")
    assert [rx.status(i) for i in range(laps)] == [
        R.BD_CMPLT | R.BD_RXSOF | R.BD_RXEOF | lap] * laps
    assert [tx.status(i) for i in range(len(ring))] == [R.BD_CMPLT | k for k in ring]
    for i in range(laps):
        assert (np.asarray(dst[PAD + i * lap:PAD + (i + 1) * lap])
                == np.asarray(src[PAD:PAD + lap])).all()
    check_guarded(dst, PAD, lap * laps)
    assert not sr(m, MM2S) & (R.DMASR_IDLE | R.DMASR_ALL_ERRORS)
    # MM2S finished at least `laps` packets (more sit in the stream while S2MM has no BD): by
    # `threshold` packet ends its IOC fired.
    if laps >= threshold:
        assert sr(m, MM2S) & R.DMASR_IOC_IRQ


@pytest.mark.needs("faults")
@pytest.mark.rule("SG-ERR-FETCH")
def test_a_failed_status_write_is_sg_error(sg_target):
    """A fault placed on a BD after its fetch fails the STATUS write: SGSlvErr, BD unwritten."""
    t = sg_target
    m = regs(t)
    n = 64 * 1024
    src = guarded(t, n)
    tx = Ring(t, 1)
    tx.set(0, src.physical_address + PAD, n | R.BD_TXSOF | R.BD_TXEOF)
    rx = Ring(t, 1)
    dst = guarded(t, n)
    rx.set(0, dst.physical_address + PAD, n)
    start(m, S2MM, rx.addr(0))
    kick(m, S2MM, rx.addr(0))
    start(m, MM2S, tx.addr(0))
    kick(m, MM2S, tx.addr(0))
    t.delay(5_000)  # the BD is fetched; its 64 KiB take far longer
    assert not sr(m, MM2S) & (R.DMASR_IDLE | R.DMASR_HALTED)
    t.faults.add_fault(tx.addr(0) + BD.STATUS, 4, "slverr")
    wait_for(t, lambda: bool(sr(m, MM2S) & R.DMASR_HALTED), "the error halt")
    _halted_with(m, MM2S, R.DMASR_SG_SLV_ERR)
    assert tx.status(0) == 0


def _sg_snapshot(t: Target, bufs: Sequence[object]) -> tuple[object, ...]:
    """Everything software can see of the model after a delay: registers, lines, memory, time."""
    m = regs(t)
    registers = tuple(m.read(off) for off in range(0, 0x5C, 4))
    return (t.now_ns, registers, tuple(sorted(t.interrupts().items())),
            tuple(np.asarray(b).tobytes() for b in bufs))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_model_batched_sg_path_matches_the_step_by_step_path(data):
    """The model's batched SG path leaves registers, BD words, memory and time exactly as the
    step-by-step engine does, seen after every delay (any delay may end inside a BD)."""
    from dmasim import open_target

    n = data.draw(st.integers(1, 24), label="BD pairs")
    lens = data.draw(st.lists(st.one_of(st.integers(1, 100).map(lambda k: k * 4),
                                        st.integers(1, 400)), min_size=n, max_size=n),
                     label="TX lengths")
    if data.draw(st.booleans(), label="aligned lengths"):
        lens = [-(-k // 4) * 4 for k in lens]
    extra = data.draw(st.lists(st.sampled_from([0, 0, 0, 1, 4, 64]), min_size=n, max_size=n),
                      label="RX BD minus TX BD")
    eofs = data.draw(st.lists(st.sampled_from([True] * 7 + [False]), min_size=n,
                              max_size=n), label="TXEOF")
    eofs[-1] = True
    gaps = data.draw(st.lists(st.sampled_from([0, 0, 0, 0, 4, 3]), min_size=n, max_size=n),
                     label="gap before each buffer")
    cr = coalescing(0, data.draw(st.integers(0, 4), label="threshold"))
    if data.draw(st.sampled_from([False, False, False, True]), label="delay timer"):
        cr = R.DMACR.field("IRQDelay").put(cr, 1)
    kicks = data.draw(st.lists(st.integers(0, n - 1), max_size=2), label="early tails")
    delays = data.draw(st.lists(st.one_of(st.integers(1, 400).map(lambda k: k * 50),
                                          st.integers(1, 100).map(lambda k: k * 2_000)),
                                min_size=1, max_size=12), label="delays (ns)")
    seed = data.draw(st.integers(0, 1000), label="data seed")
    snapshots = []
    pairs = 0
    for batched in (False, True):
        with open_target("model", parameters={"c_include_sg": 1}) as t:
            sg = t.engine.sg
            assert sg is not None
            sg.batched = batched
            m = regs(t)
            total = sum(lens) + sum(gaps) + sum(extra)
            src, dst = guarded(t, total), guarded(t, total)
            src[PAD:PAD + total] = np.random.default_rng(seed).integers(0, 256, total,
                                                                        dtype=np.uint8)
            tx, rx = Ring(t, n), Ring(t, n)
            so = do = 0
            for i in range(n):
                so += gaps[i]
                do += gaps[i]
                tx.set(i, src.physical_address + PAD + so,
                       lens[i] | R.BD_TXSOF | (R.BD_TXEOF if eofs[i] else 0))
                rx.set(i, dst.physical_address + PAD + do, lens[i] + extra[i])
                so += lens[i]
                do += lens[i] + extra[i]
            start(m, S2MM, rx.addr(0), cr)
            start(m, MM2S, tx.addr(0), cr)
            seen = []
            for k in [*sorted(set(kicks)), n - 1]:
                kick(m, S2MM, rx.addr(k))
                kick(m, MM2S, tx.addr(k))
                for d in delays:
                    t.delay(d)
                    seen.append(_sg_snapshot(t, (src, dst, tx.mem, rx.mem)))
            t.delay(20 * total + 100_000)
            seen.append(_sg_snapshot(t, (src, dst, tx.mem, rx.mem)))
            snapshots.append(seen)
            pairs = sg.batched_pairs
    target(pairs, label="BD pairs the batched path took")
    step, batch = snapshots
    assert len(step) == len(batch)
    for i, (a, b) in enumerate(zip(step, batch, strict=True)):
        assert a == b, f"snapshot {i} differs"


_POKES = st.one_of(
    st.tuples(st.just("length"), st.integers(0, 23), st.integers(1, 400)),
    st.tuples(st.just("eof"), st.integers(0, 23), st.booleans()),
    st.tuples(st.just("cmplt"), st.integers(0, 23), st.just(0)),
    st.tuples(st.just("app"), st.integers(0, 23), st.integers(0, 0xFFFF_FFFF)),
    st.tuples(st.just("fault"), st.integers(0, 23), st.sampled_from([0, 1])),
    st.tuples(st.just("threshold"), st.integers(0, 4), st.just(0)),
    st.tuples(st.just("ack"), st.just(0), st.just(0)),
)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_model_sg_plan_matches_the_step_engine_while_software_acts(data):
    """The batched path (a steady chain's plan, kept from one poll to the next) against the
    step-by-step engine while software acts between polls: BD words changed before their
    fetch (length, TXEOF, Cmplt, an APP word), a fault injected on a buffer or a BD, a new
    IRQThreshold, IRQs acknowledged; and the same chain run a second time (the plan's
    schedule used again). Registers, lines, memory and time after every delay, and the
    engine's whole description (BDs in flight, fetcher, bytes moved) now and then."""
    from dmasim import open_target

    n = data.draw(st.integers(4, 24), label="BD pairs")
    # Mostly BDs long enough for the data, not the BD fetches, to set the pace (the steady
    # state a plan covers); now and then a short one that breaks it.
    lens = data.draw(st.lists(st.sampled_from([256, 400, 512, 1024, 2048] * 4 + [64]),
                              min_size=n, max_size=n), label="TX lengths")
    cr = coalescing(0, data.draw(st.integers(0, 3), label="threshold"))
    delays = data.draw(st.lists(st.one_of(st.integers(1, 60).map(lambda k: k * 50),
                                          st.integers(1, 100).map(lambda k: k * 1_000)),
                                min_size=1, max_size=14), label="delays (ns)")
    pokes = data.draw(st.dictionaries(st.integers(0, len(delays) - 1), _POKES, max_size=4),
                      label="software acts after delay i")
    described = data.draw(st.sets(st.integers(0, len(delays) - 1)),
                          label="delays after which the description is compared")
    laps = data.draw(st.integers(1, 2), label="runs of the chain")
    seed = data.draw(st.integers(0, 1000), label="data seed")
    runs = []
    for batched in (False, True):
        with open_target("model", parameters={"c_include_sg": 1}) as t:
            sg = t.engine.sg
            assert sg is not None
            sg.batched = batched
            m = regs(t)
            total = sum(lens)
            src, dst = guarded(t, total), guarded(t, total)
            src[PAD:PAD + total] = np.random.default_rng(seed).integers(0, 256, total,
                                                                        dtype=np.uint8)
            tx, rx = Ring(t, n), Ring(t, n)
            offsets = np.concatenate(([0], np.cumsum(lens)))
            for i in range(n):
                tx.set(i, src.physical_address + PAD + int(offsets[i]),
                       lens[i] | R.BD_TXSOF | R.BD_TXEOF)
                rx.set(i, dst.physical_address + PAD + int(offsets[i]), lens[i])
            start(m, S2MM, rx.addr(0), cr)
            start(m, MM2S, tx.addr(0), cr)
            seen: list[object] = []
            for _ in range(laps):
                for ring in (tx, rx):
                    ring.mem[1:-1, BD.STATUS // 4] = 0
                kick(m, S2MM, rx.addr(n - 1))
                kick(m, MM2S, tx.addr(n - 1))
                for i, d in enumerate(delays):
                    t.delay(d)
                    seen.append(_sg_snapshot(t, (src, dst, tx.mem, rx.mem)))
                    if i in described:
                        seen.append(t.describe())
                    what, k, v = pokes.get(i, ("", 0, 0))
                    k = n - 1 - (k % n) // 2  # the later half: BDs the fetcher has not read
                    ctl = tx.mem[k + 1, BD.CONTROL // 4]
                    if what == "length":
                        tx.mem[k + 1, BD.CONTROL // 4] = (int(ctl) & ~R.BD_LENGTH_MASK) | v
                    elif what == "eof":
                        tx.mem[k + 1, BD.CONTROL // 4] = (int(ctl) & ~R.BD_TXEOF) | (
                            R.BD_TXEOF if v else 0)
                    elif what == "cmplt":
                        rx.mem[k + 1, BD.STATUS // 4] = R.BD_CMPLT
                    elif what == "app":
                        rx.mem[k + 1, BD.APP0 // 4] = v
                    elif what == "fault":
                        at = rx.addr(k) if v else src.physical_address + PAD + int(offsets[k])
                        t.faults.add_fault(at, 4, "slverr")
                    elif what == "threshold":
                        for ch in (MM2S, S2MM):
                            m.write(ch.DMACR, coalescing(0, k) | R.DMACR_RS)
                    elif what == "ack":
                        for ch in (MM2S, S2MM):
                            m.write(ch.DMASR, R.DMASR_IRQS)
                t.delay(20 * total + 100_000)
                seen.append(_sg_snapshot(t, (src, dst, tx.mem, rx.mem)))
                seen.append(t.describe())
            runs.append(seen)
            pairs = sg.batched_pairs
    target(pairs, label="BD pairs the batched path took")
    step, batch = runs
    assert len(step) == len(batch)
    for i, (a, b) in enumerate(zip(step, batch, strict=True)):
        assert a == b, f"snapshot {i} differs"


def _steady_chain(t, batched, n, size, seed, cr=None):
    """``n`` one-BD packets of ``size`` bytes looped back on the model, started and kicked.

    ``batched`` turns the model's batched SG path on or off; returns (engine.sg, registers,
    source, destination, TX ring, RX ring).
    """
    sg = t.engine.sg
    assert sg is not None
    sg.batched = batched
    m = regs(t)
    src, dst = guarded(t, n * size), guarded(t, n * size)
    src[PAD:PAD + n * size] = np.random.default_rng(seed).integers(0, 256, n * size,
                                                                   dtype=np.uint8)
    tx, rx = Ring(t, n), Ring(t, n)
    for i in range(n):
        tx.set(i, src.physical_address + PAD + i * size, size | R.BD_TXSOF | R.BD_TXEOF)
        rx.set(i, dst.physical_address + PAD + i * size, size)
    cr = IRQEN if cr is None else cr
    start(m, S2MM, rx.addr(0), cr)
    start(m, MM2S, tx.addr(0), cr)
    kick(m, S2MM, rx.addr(n - 1))
    kick(m, MM2S, tx.addr(n - 1))
    return sg, m, src, dst, tx, rx


@pytest.mark.parametrize("change", ["length", "eof", "cmplt", "app", "nxtdesc", "none"])
def test_model_sg_plan_sees_a_bd_changed_before_its_fetch(change):
    """Software rewrites a BD far ahead while a plan covers the chain: the batched path
    notices at that BD's fetch and gives the same result as the step engine (the step
    engine reads the new words; a changed APP word changes nothing but ends the plan)."""
    from dmasim import open_target

    n, size = 48, 1024
    results = []
    for batched in (False, True):
        with open_target("model", parameters={"c_include_sg": 1}) as t:
            sg, _m, src, dst, tx, rx = _steady_chain(t, batched, n, size, seed=7)
            t.delay(30_000)  # about 10 BD pairs in: a plan covers the rest
            pairs_before = sg.batched_pairs
            k = 30
            if change == "length":
                tx.mem[k + 1, BD.CONTROL // 4] = 512 | R.BD_TXSOF | R.BD_TXEOF
            elif change == "eof":
                tx.mem[k + 1, BD.CONTROL // 4] = size | R.BD_TXSOF
            elif change == "cmplt":
                rx.mem[k + 1, BD.STATUS // 4] = R.BD_CMPLT
            elif change == "app":
                tx.mem[k + 1, BD.APP0 // 4] = 0x1234
            elif change == "nxtdesc":
                tx.mem[k + 1, BD.NXTDESC // 4] = tx.addr(k + 2)
            seen = []
            for _ in range(12):
                t.delay(15_000)
                seen.append(_sg_snapshot(t, (src, dst, tx.mem, rx.mem)))
            seen.append(t.describe())
            results.append((seen, pairs_before, sg.batched_pairs))
    (step, _, step_pairs), (batch, before, after) = results
    assert step_pairs == 0 and before > 0 and after > before
    assert step == batch


def test_model_batched_sg_path_takes_a_steady_chain():
    """A steady chain (one packet per BD, a poll now and then) goes through the batched path,
    with the same result as step by step: the property above compares them in general."""
    from dmasim import open_target

    n, size = 64, 512
    results = []
    for batched in (False, True):
        with open_target("model", parameters={"c_include_sg": 1}) as t:
            cr = coalescing(0, 3)  # the counter shows in DMASR
            sg, m, src, dst, tx, rx = _steady_chain(t, batched, n, size, seed=n, cr=cr)
            seen = []
            while not sr(m, S2MM) & R.DMASR_IDLE:
                t.delay(7_000)
                seen.append(_sg_snapshot(t, (src, dst, tx.mem, rx.mem)))
            data = slice(PAD, PAD + n * size)
            assert (np.asarray(dst[data]) == np.asarray(src[data])).all()
            check_guarded(dst, PAD, n * size)
            assert [rx.status(i) for i in range(n)] == [
                R.BD_CMPLT | R.BD_RXSOF | R.BD_RXEOF | size] * n
            results.append((seen, sg.batched_pairs))
    (step, step_pairs), (batch, batch_pairs) = results
    assert step_pairs == 0 and batch_pairs > n // 4
    assert step == batch


def test_describe_shows_the_sg_registers(sg_target):
    """A target's description of an SG-mode DMA decodes CURDESC/TAILDESC and the SG DMASR."""
    t = sg_target
    m = regs(t)
    ring = Ring(t, 1)
    start(m, S2MM, ring.addr(0))
    text = t.describe()
    for name in ("MM2S_CURDESC", "S2MM_CURDESC", "S2MM_TAILDESC", "SGIncld=1",
                 "IRQThresholdSts=1"):
        assert name in text, f"{name} missing from:\n{text}"
    assert f"S2MM_CURDESC   0x{ring.addr(0):08x}" in text
