"""The driver levels in SG mode (c_include_sg=1): the simple-mode API over a BD ring.

Every test runs on each ``--target`` through ``sg_target`` (the loopback with c_include_sg=1)
and, where it says so, on a narrow variant (c_sg_length_width=10: at most 1020 bytes per BD) so
that transfers split into chains of many BDs.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from helpers import PAD, check_canaries, guarded, loopback
from hypothesis import given, settings
from hypothesis import strategies as st
from test_loopback import test_back_to_back_transfers_reuse_channels as _back_to_back
from test_loopback import test_loopback_any_length_offset_and_data as _loopback_property
from test_loopback import test_short_packet_reports_bytes_written as _short_packet

from dmasim import DmasimValueError, open_target, regmap
from dmasim.drivers import sg
from dmasim.errors import (
    DesignError,
    DmaBusyError,
    DmaDecodeError,
    DmaInternalError,
    DmaSlaveError,
    DmaTimeoutError,
    DriverUnavailableError,
)
from dmasim.pytest_plugin import fresh

LEVELS = ["python", "pybind11", "cffi"]
ALL_LEVELS = [*LEVELS, "pynq"]
"""With the ``pynq`` level: PYNQ's own ``_SGDMAChannel`` behind the same channel API."""
NARROW = 10  # c_sg_length_width of the narrow variant
W = {name: off // 4 for name, off in regmap.BD.words().items()}


def _pynq3_offsets(level="pynq"):
    """pynq 3.x's ``_SGDMAChannel`` ignores ``start`` (PYNQ #1401/#1522): the pynq level's
    tests with offsets into buffers cannot pass there (test_sg_pynq catches that bug)."""
    if level == "pynq":
        pynq = pytest.importorskip("pynq")
        if str(getattr(pynq, "__version__", "")).startswith("3."):
            pytest.skip("pynq 3.x ignores start in SG mode: test_pynq3_start_bug_is_caught")


def _driver(t, level):
    try:
        return t.driver(level)
    except DriverUnavailableError as exc:
        pytest.skip(f"driver level {level!r} unavailable: {exc}")


@pytest.fixture(scope="module")
def _narrow_targets():
    opened = {}
    yield opened
    for t in opened.values():
        t.close()


@pytest.fixture
def narrow(sg_target, _narrow_targets):
    """The sg_target's kind with c_sg_length_width=10, reset (simulated targets only)."""
    if not sg_target.simulated:
        pytest.skip(f"{sg_target.name}: a narrow length field needs another bitstream")
    t = _narrow_targets.get(sg_target.name)
    if t is None:
        try:
            t = open_target(sg_target.name,
                            parameters={"c_include_sg": 1, "c_sg_length_width": NARROW})
        except DesignError as exc:
            pytest.skip(f"{sg_target.name}: {exc}")
        _narrow_targets[sg_target.name] = t
    return fresh(t)


# --- the simple-mode properties, in SG mode --------------------------------------------------


@pytest.mark.rule("DRV-SG-RING")
@pytest.mark.parametrize("level", ALL_LEVELS)
def test_loopback_property_in_sg_mode(sg_target, level):
    """test_loopback's property (any length, offsets, data; canaries; transferred) in SG mode."""
    _pynq3_offsets(level)
    dma = _driver(sg_target, level)
    assert dma.sendchannel.sg and dma.recvchannel.sg
    _loopback_property(target=sg_target, dma=dma)


@pytest.mark.rule("DRV-SG-RING")
@pytest.mark.parametrize("level", ALL_LEVELS)
def test_loopback_property_split_into_chains(narrow, level):
    """The same property where every transfer over 1020 bytes is a chain of BDs."""
    _pynq3_offsets(level)
    dma = _driver(narrow, level)
    assert dma.sendchannel.bd_max == (1 << NARROW) - 4
    _loopback_property(target=narrow, dma=dma)


@pytest.mark.rule("DRV-SG-RING")
@pytest.mark.parametrize("level", ALL_LEVELS)
def test_back_to_back_and_short_packet_in_sg_mode(sg_target, level):
    dma = _driver(sg_target, level)
    _back_to_back(target=sg_target, dma=dma)
    if level == "pynq":
        return  # pynq waits for every BD: test_pynq_level_short_packet_is_a_timeout
    fresh(sg_target)
    _short_packet(target=sg_target, dma=dma)


# --- chains, the ring and its canaries -------------------------------------------------------


def _check_ring(ch, before):
    """Only STATUS words of the chain's BDs changed; the canary BDs are intact."""
    ring = ch.ring
    assert ring.guards_intact(), "a canary BD around the ring was written"
    after = ring.bds.copy()
    changed = np.argwhere(after != before)
    assert all(col == W["STATUS"] for _, col in changed), (
        f"the engine wrote BD words other than STATUS: {changed.tolist()}")


@pytest.mark.rule("DRV-SG-RING")
@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=15)
@given(data=st.data())
def test_chains_of_random_lengths_and_offsets_wrap_the_ring(narrow, level, data):
    """Many transfers in a row (the ring wraps), extending the ring or as separate chains:
    data, canaries, BD words and transferred."""
    fresh(narrow)
    dma = _driver(narrow, level)
    count = data.draw(st.integers(1, 6), label="transfers")
    mode = data.draw(st.sampled_from(["ring", "chain"]), label="mode")
    dma.sendchannel.mode = dma.recvchannel.mode = mode
    for k in range(count):
        n = data.draw(st.integers(1, 12 * 1020), label=f"nbytes{k}")
        src_off = data.draw(st.integers(0, 8), label=f"src_off{k}") * 4
        dst_off = data.draw(st.integers(0, 8), label=f"dst_off{k}") * 4
        payload = np.random.default_rng(k * 7919 + n).integers(0, 256, n, dtype=np.uint8)
        src = guarded(narrow, n, src_off)
        src[PAD + src_off:PAD + src_off + n] = payload
        dst = guarded(narrow, n, dst_off)
        dma.recvchannel.transfer(dst, start=PAD + dst_off, nbytes=n)
        dma.sendchannel.transfer(src, start=PAD + src_off, nbytes=n)
        rings = [(ch, ch.ring.bds.copy()) for ch in (dma.sendchannel, dma.recvchannel)]
        dma.sendchannel.wait()
        dma.recvchannel.wait()
        assert np.array_equal(dst[PAD + dst_off:PAD + dst_off + n], payload)
        check_canaries(dst, PAD + dst_off, n)
        check_canaries(src, PAD + src_off, n)  # MM2S never writes
        for ch, before in rings:
            _check_ring(ch, before)
        assert dma.recvchannel.transferred == n == dma.sendchannel.transferred
        assert len(dma.sendchannel.bds) == -(-n // dma.sendchannel.bd_max)


@pytest.mark.rule("DRV-SG-RING")
@pytest.mark.parametrize("level", LEVELS)
def test_per_bd_status_after_wait(narrow, level):
    dma = _driver(narrow, level)
    n = 3 * 1020 + 100
    src = narrow.allocate(n, "u1")
    dst = narrow.allocate(n, "u1")
    src[:] = np.arange(n) % 251
    loopback(dma, src, dst)
    tx, rx = dma.sendchannel.bds, dma.recvchannel.bds
    assert [b.length for b in tx] == [1020, 1020, 1020, 100]
    assert [b.transferred for b in tx] == [1020, 1020, 1020, 100]
    assert [b.transferred for b in rx] == [1020, 1020, 1020, 100]
    assert all(b.complete and not b.errors for b in tx + rx)
    assert "TXSOF" in tx[0].flags and "TXEOF" in tx[-1].flags
    assert not {"TXSOF", "TXEOF"} & set(tx[1].flags)
    assert "RXSOF" in rx[0].flags and "RXEOF" in rx[-1].flags
    assert "RXEOF" not in rx[0].flags
    assert [b.buffer_address for b in rx] == [dst.physical_address + i * 1020 for i in range(4)]
    assert "Cmplt" in str(rx[0]) and f"0x{rx[0].address:x}" in str(rx[0])
    assert np.array_equal(src, dst)


@pytest.mark.rule("DRV-SG-RING")
@pytest.mark.parametrize("level", LEVELS)
def test_short_packet_into_a_chain_ends_at_rxeof_and_the_next_transfer_works(narrow, level):
    """A packet ending in BD 1 of a 4-BD receive: wait returns, the rest is dropped safely."""
    dma = _driver(narrow, level)
    n = 1500
    src = narrow.allocate(n, "u1")
    src[:] = 0x3C
    dst = guarded(narrow, 4000)
    dma.recvchannel.transfer(dst, start=PAD, nbytes=4000)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait()
    dma.recvchannel.wait()
    assert dma.recvchannel.transferred == n
    assert [b.complete for b in dma.recvchannel.bds[:2]] == [True, True]
    assert "RXEOF" in dma.recvchannel.bds[1].flags
    assert (dst[PAD:PAD + n] == 0x3C).all()
    check_canaries(dst, PAD, n)
    # The leftover BDs must not catch the next packet: it lands in the next buffer.
    src[:] = 0x5A
    dst2 = guarded(narrow, n)
    loopback(dma, src, dst2, dst_start=PAD, nbytes=n)
    assert (dst2[PAD:PAD + n] == 0x5A).all()
    check_canaries(dst2, PAD, n)
    check_canaries(dst, PAD, n)


# --- cyclic ----------------------------------------------------------------------------------


def _cyclic_laps(sg_target, dma, laps):
    """Start a cyclic send of 256 bytes, check it refuses wait/transfer, receive ``laps`` laps."""
    src = sg_target.allocate(256, "u1")
    src[:] = np.arange(256, dtype=np.uint8)
    dma.sendchannel.transfer(src, cyclic=True)
    with pytest.raises(DmasimValueError, match="cyclic transfer never completes"):
        dma.sendchannel.wait()
    with pytest.raises(DmaBusyError, match="cyclic"):
        dma.sendchannel.transfer(src)
    for lap in range(laps):
        dst = guarded(sg_target, 256)
        dma.recvchannel.transfer(dst, start=PAD, nbytes=256)
        dma.recvchannel.wait()
        assert np.array_equal(dst[PAD:PAD + 256], src), f"lap {lap}"
        check_canaries(dst, PAD, 256)
    return src


@pytest.mark.rule("DRV-SG-CYCLIC")
@pytest.mark.parametrize("level", LEVELS)
def test_cyclic_send_repeats_until_stopped_by_reset(sg_target, level):
    dma = _driver(sg_target, level)
    src = _cyclic_laps(sg_target, dma, 3)
    assert all(b.complete for b in dma.sendchannel.bds)
    dma.sendchannel.stop()  # RS=0 and a soft reset of the engine, as drivers do
    regs = dma.mmio
    assert regs.read(regmap.MM2S.DMACR) & (regmap.DMACR_CYCLIC | regmap.DMACR_RS) == 0
    assert regs.read(regmap.MM2S.DMASR) & regmap.DMASR_HALTED
    b = sg_target.allocate(64, "u1")
    loopback(dma, src[:64], b)  # both channels work again (restarted on use)
    assert np.array_equal(b, src[:64])


# --- interrupts ------------------------------------------------------------------------------


@pytest.mark.rule("DRV-SG-IRQ-WAIT")
@pytest.mark.needs("irq")
@pytest.mark.parametrize("level", ALL_LEVELS)
def test_wait_on_the_interrupt_line(sg_target, level):
    dma = _driver(sg_target, level)
    src = sg_target.allocate(4096, "u1")
    dst = sg_target.allocate(4096, "u1")
    src[:] = 9
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait(interrupt=True)
    dma.recvchannel.wait(interrupt=True)
    assert (dst == 9).all() and dma.recvchannel.transferred == 4096
    for ch in regmap.CHANNELS:  # the wait cleared what it slept on (W1C)
        assert not dma.mmio.read(ch.DMASR) & regmap.DMASR_IOC_IRQ

    async def both():
        dma.recvchannel.transfer(dst)
        dma.sendchannel.transfer(src)
        await asyncio.gather(dma.sendchannel.wait_async(), dma.recvchannel.wait_async())

    src[:] = 4
    asyncio.run(both())
    assert (dst == 4).all()


@pytest.mark.rule("DRV-SG-IRQ-WAIT")
@pytest.mark.needs("irq")
@pytest.mark.parametrize("level", LEVELS)
def test_an_interrupt_held_back_by_coalescing_is_named(sg_target, level):
    """IRQThreshold=3 and no delay interrupt: the packet completes but the line stays low, so
    the interrupt wait times out saying why (it used to say the BD had not completed)."""
    dma = _driver(sg_target, level)
    src = sg_target.allocate(2048, "u1")
    dst = sg_target.allocate(2048, "u1")
    src[:] = 0x21
    dma.recvchannel.transfer(dst)  # starts the channels
    cr = dma.mmio.read(regmap.S2MM.DMACR)
    dma.mmio.write(regmap.S2MM.DMACR, regmap.DMACR.field("IRQThreshold").put(cr, 3))
    dma.sendchannel.transfer(src)
    with pytest.raises(DmaTimeoutError, match=(
            r"S2MM: wait timed out .*S2MM_DMASR=.*the chain completed \(its BDs show Cmplt\) "
            r"but s2mm_introut stayed low: interrupt coalescing held it back "
            r"\(IRQThresholdSts=2: IOC_Irq comes 2 packet\(s\) later; no delay interrupt")):
        dma.recvchannel.wait(timeout=0.0003, interrupt=True)
    assert not sg_target.interrupts()["s2mm_introut"]
    dma.recvchannel.wait()  # polling sees what completed
    dma.sendchannel.wait()
    assert (dst == 0x21).all() and dma.recvchannel.transferred == 2048


@pytest.mark.rule("POLL-TIMEOUT")
@pytest.mark.needs("irq")
def test_interrupt_wait_times_out_with_both_channels_decoded(sg_target):
    dma = sg_target.driver("python")
    dst = sg_target.allocate(256, "u1")
    dma.recvchannel.transfer(dst)
    with pytest.raises(DmaTimeoutError, match=r"MM2S_DMASR=0x[0-9a-f]{8}.*S2MM_DMASR="):
        dma.recvchannel.wait(timeout=0.0005, interrupt=True)


# --- errors and bad input ----------------------------------------------------------------------


@pytest.mark.rule("POLL-TIMEOUT")
@pytest.mark.parametrize("level", ALL_LEVELS)
def test_timeout_decodes_both_channels_and_never_hangs(sg_target, level):
    dma = _driver(sg_target, level)
    dst = sg_target.allocate(1024, "u1")
    dma.recvchannel.transfer(dst)  # no send: S2MM waits for a packet forever
    with pytest.raises(DmaTimeoutError) as err:
        dma.recvchannel.wait(timeout=0.001)
    text = str(err.value)
    assert "S2MM" in text and "MM2S_DMASR=0x" in text and "S2MM_DMASR=0x" in text
    assert "Likely cause" in text


@pytest.mark.rule("DRV-ERRORS")
@pytest.mark.needs("faults")
@pytest.mark.parametrize("level", LEVELS)
def test_error_halts_and_the_next_transfer_says_so_until_reset(sg_target, level):
    dma = _driver(sg_target, level)
    src = sg_target.allocate(256, "u1")
    dst = sg_target.allocate(256, "u1")
    sg_target.faults.add_fault(dst.physical_address, 256, "decerr")
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)
    with pytest.raises(DmaDecodeError, match="DMADecErr"):
        dma.recvchannel.wait()
    assert any("DMADecErr" in b.errors for b in dma.recvchannel.bds)
    sg_target.faults.clear_faults()
    with pytest.raises(DmaDecodeError, match=r"transfer failed: DMADecErr.*reset"):
        dma.recvchannel.transfer(dst)
    dma.reset()
    loopback(dma, src, dst)  # usable again after the reset


@pytest.mark.rule("DRV-ERRORS")
@pytest.mark.parametrize("level", LEVELS)
def test_stale_bd_is_sg_int_err_with_the_bd_decoded(sg_target, level):
    """A BD handed over with Cmplt=1 (raw registers, past the driver's checks): SGIntErr."""
    dma = _driver(sg_target, level)
    ring = sg.BdRing(sg_target, 2)
    ring.link()
    buf = sg_target.allocate(64, "u1")
    ring.set_bd(0, buf.physical_address, 64)
    ring.bds[0, W["STATUS"]] = regmap.BD_CMPLT
    regs = dma.mmio
    sr = sg.start_sg(regs, regmap.S2MM, ring.address(0), sg_target.clock)
    assert sr is not None and not sr & regmap.DMASR_HALTED
    sg.kick(regs, regmap.S2MM, ring.address(0))
    sg_target.delay(5_000)
    assert regs.read(regmap.S2MM.DMASR) & regmap.DMASR_SG_INT_ERR
    # the state API counts the SG error bits (it once looked at DMASR[6:4] only)
    assert dma.recvchannel.error and not dma.sendchannel.error
    with pytest.raises(DmaInternalError, match=rf"SGIntErr.*CURDESC=0x{ring.address(0):08x}"):
        dma.recvchannel.transfer(buf)


@pytest.mark.rule("DRV-BAD-INPUT")
@pytest.mark.parametrize("level", LEVELS)
def test_submit_checks_the_chain_first(sg_target, level):
    dma = _driver(sg_target, level)
    ch = dma.recvchannel
    ring = sg.BdRing(sg_target, 4)
    ring.link()
    buf = sg_target.allocate(256, "u1")
    for i in range(4):
        ring.set_bd(i, buf.physical_address + 64 * i, 64)
    ring.set_bd(2, buf.physical_address, 0)
    with pytest.raises(DmasimValueError, match=r"BD 2 at 0x[0-9a-f]+ has length 0.*allowed 1\.\."):
        ch.submit(ring, 0, 3)
    ring.set_bd(2, buf.physical_address + 128, 64)
    ring.bds[1, W["NXTDESC"]] = ring.address(3) + 8
    with pytest.raises(DmasimValueError, match=r"NXTDESC of BD 1 0x[0-9a-f]+ is not aligned to "
                                               r"0x40 bytes: allowed multiples of 0x40"):
        ch.submit(ring, 0, 3)
    ring.bds[1, W["NXTDESC"]] = ring.address(0)  # 0 -> 1 -> 0: BD 3 is never reached
    with pytest.raises(DmasimValueError, match=r"tail BD 3 .* is not reachable from BD 0"):
        ch.submit(ring, 0, 3)
    with pytest.raises(DmasimValueError, match=r"last=4 is not a BD of the ring: allowed 0\.\.3"):
        ch.submit(ring, 0, 4)
    with pytest.raises(DmasimValueError, match=r"SG mode 'linux': allowed ring, chain"):
        ch.mode = "linux"
    ring.link()
    for i in range(4):
        ring.set_bd(i, buf.physical_address + 64 * i, 64)
    src = sg_target.allocate(256, "u1")
    src[:] = 0x77
    ch.submit(ring, 0, 3)  # a valid chain of four 64-byte receive buffers
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait()
    ch.wait()
    assert (buf == 0x77).all() and ch.transferred == 256 and ring.guards_intact()
    b = sg_target.allocate(64, "u1")
    loopback(dma, src[:64], b)  # the ring transfers resume after the user chain
    assert (b == 0x77).all()


@pytest.mark.rule("DRV-SG-RING")
@pytest.mark.parametrize("binding", ["pybind11", "cffi"])
def test_native_levels_make_the_python_levels_bus_trace(binding):
    """The C core's SG sequences and polls mirror the Python level's, access for access."""
    traces = {}
    for level in ("python", binding):
        with open_target("model", parameters={"c_include_sg": 1,
                                               "c_sg_length_width": NARROW}) as t:
            dma = _driver(t, level)
            src = t.allocate(3000, "u1")
            dst = t.allocate(4000, "u1")
            src[:] = 1
            loopback(dma, src, dst, nbytes=2500)
            dma.recvchannel.mode = dma.sendchannel.mode = "chain"
            loopback(dma, src, dst, nbytes=3000)
            dma.sendchannel.transfer(src, nbytes=256, cyclic=True)
            dma.sendchannel.stop()
            traces[level] = list(t.trace)
            assert (dst[:3000] == 1).all()
    assert len(traces["python"]) > 40
    assert traces[binding] == traces["python"]


# --- the pynq level in SG mode: PYNQ's _SGDMAChannel behind the channel API -------------------


@pytest.mark.rule("DRV-PYNQ-SG")
def test_pynq_level_runs_pynqs_sg_channel_on_halted_channels(sg_target):
    """pynq's transfer needs a halted channel: the level leaves them halted, even after a
    start() by hand or a completed transfer that was not waited on."""
    _pynq3_offsets()
    dma = _driver(sg_target, "pynq")
    assert type(dma.dma.sendchannel).__name__ == "_SGDMAChannel"
    assert dma.sendchannel.sg and dma.recvchannel.min_size == 8
    regs = dma.mmio
    assert all(regs.read(ch.DMASR) & regmap.DMASR_HALTED for ch in regmap.CHANNELS)
    dma.recvchannel.start()  # RS=1 by hand: the next transfer halts it first for pynq
    src = sg_target.allocate(600, "u1")
    src[:] = np.arange(600) % 253
    dst = guarded(sg_target, 600)
    loopback(dma, src, dst, dst_start=PAD, nbytes=600)
    assert np.array_equal(dst[PAD:PAD + 600], src) and dma.recvchannel.transferred == 600
    check_canaries(dst, PAD, 600)
    assert all(regs.read(ch.DMASR) & regmap.DMASR_HALTED for ch in regmap.CHANNELS)
    dma.recvchannel.wait()  # nothing in flight: returns at once, as on the other levels
    # A send that completed without its wait: the next transfer lets pynq finish it first.
    for k in range(3):
        src[:] = k
        dst2 = guarded(sg_target, 600)
        dma.recvchannel.transfer(dst2, start=PAD, nbytes=600)
        dma.sendchannel.transfer(src)
        dma.recvchannel.wait()
        assert (dst2[PAD:PAD + 600] == k).all()
        check_canaries(dst2, PAD, 600)
    dma.sendchannel.wait()
    assert dma.sendchannel.transferred == 600


@pytest.mark.rule("DRV-PYNQ-SG", "DRV-BAD-INPUT")
def test_pynq_level_refuses_what_pynqs_sg_channel_cannot_do(sg_target):
    dma = _driver(sg_target, "pynq")
    buf = sg_target.allocate(64, "u1")
    with pytest.raises(DmasimValueError, match=r"4 bytes is below this level's minimum of 8 bytes "
                                               r"\(pynq's _SGDMAChannel.*allowed 8\.\."):
        dma.sendchannel.transfer(buf, nbytes=4)
    with pytest.raises(DmasimValueError, match="sendchannel"):
        dma.recvchannel.transfer(buf, cyclic=True)
    with pytest.raises(DmasimValueError, match="without a transfer to wait for"):
        dma.recvchannel.wait()
    b = sg_target.allocate(64, "u1")
    buf[:] = 3
    loopback(dma, buf, b)  # the refusals left it usable
    assert (b == 3).all()


@pytest.mark.rule("DRV-PYNQ-SG", "DRV-ERRORS")
@pytest.mark.needs("faults")
@pytest.mark.parametrize("kind", ["decerr", "slverr"])
def test_pynq_level_error_is_specific_with_both_channels_decoded(sg_target, kind):
    dma = _driver(sg_target, "pynq")
    src = sg_target.allocate(256, "u1")
    dst = sg_target.allocate(256, "u1")
    sg_target.faults.add_fault(dst.physical_address, 256, kind)
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)
    exc = DmaDecodeError if kind == "decerr" else DmaSlaveError
    name = "DMADecErr" if kind == "decerr" else "DMASlvErr"
    with pytest.raises(exc, match=rf"wait failed: {name}.*CURDESC=0x[0-9a-f]{{8}}") as err:
        dma.recvchannel.wait()
    assert "MM2S_DMASR=0x" in str(err.value) and "S2MM_DMASR=0x" in str(err.value)
    sg_target.faults.clear_faults()
    with pytest.raises(exc, match=rf"transfer failed: {name}.*reset"):
        dma.recvchannel.transfer(dst)
    dma.reset()
    src[:] = 0x61
    loopback(dma, src, dst)  # usable again after the reset
    assert (dst == 0x61).all() and dma.recvchannel.transferred == 256


@pytest.mark.rule("DRV-PYNQ-SG", "POLL-TIMEOUT")
def test_pynq_level_short_packet_is_a_timeout(sg_target):
    """pynq's SG wait needs every BD done: a shorter packet is a timeout, not a hang."""
    _pynq3_offsets()
    dma = _driver(sg_target, "pynq")
    src = sg_target.allocate(100, "u1")
    dst = guarded(sg_target, 256)
    dma.recvchannel.transfer(dst, start=PAD, nbytes=256)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait()
    with pytest.raises(DmaTimeoutError, match=r"S2MM.*MM2S_DMASR=0x.*S2MM_DMASR=0x"):
        dma.recvchannel.wait(timeout=0.001)
    check_canaries(dst, PAD, 100)
    with pytest.raises(DmaBusyError, match="not idle"):
        dma.recvchannel.transfer(dst)
    dma.reset()
    loopback(dma, src, dst, dst_start=PAD, nbytes=100)
    assert np.array_equal(dst[PAD:PAD + 100], src)


@pytest.mark.rule("DRV-PYNQ-SG", "DRV-SG-CYCLIC")
def test_pynq_level_cyclic_send_until_stopped(sg_target):
    _pynq3_offsets()
    dma = _driver(sg_target, "pynq")
    src = _cyclic_laps(sg_target, dma, 2)
    dma.sendchannel.stop()  # pynq: RS=0 and a soft reset of the engine
    assert dma.mmio.read(regmap.MM2S.DMACR) & regmap.DMACR_CYCLIC == 0
    b = sg_target.allocate(64, "u1")
    loopback(dma, src[:64], b)
    assert np.array_equal(b, src[:64])
