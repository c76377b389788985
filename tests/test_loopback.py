"""Loopback properties: B == A for any length, offset and data, on every target and level."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import PAD, check_canaries, dma_regs, guarded, loopback
from hypothesis import given
from hypothesis import strategies as st

from dmasim import regmap
from dmasim.pytest_plugin import fresh

# Lengths a simulated run can afford per example; the exact maximum has its own test.
SIZE_CAP = {"model": 1 << 20, "rtl": 1 << 14, "board": 1 << 20}


def _sizes(target, lo: int = 1):
    """Lengths from ``lo`` (the level's ``min_size``; pynq's SG driver needs two words)."""
    return st.one_of(
        st.integers(lo, 64),
        st.integers(65, 1024),
        st.integers(lo, SIZE_CAP.get(target.name, 1 << 14)),
    )


@pytest.mark.rule("XFER-START")
@given(data=st.data())
def test_loopback_any_length_offset_and_data(target, dma, data):
    fresh(target)
    n = data.draw(_sizes(target, dma.sendchannel.min_size), label="nbytes")
    src_off = data.draw(st.integers(0, 16), label="src_off") * 4
    dst_off = data.draw(st.integers(0, 16), label="dst_off") * 4
    if n <= 256:
        payload = np.frombuffer(data.draw(st.binary(min_size=n, max_size=n), label="payload"),
                                dtype=np.uint8)
    else:
        seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
        payload = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
    src = target.allocate(shape=(src_off + n,), dtype="u1")
    src[src_off:] = payload
    dst = guarded(target, n, dst_off)
    start = PAD + dst_off
    loopback(dma, src, dst, src_start=src_off, dst_start=start, nbytes=n)
    assert np.array_equal(dst[start:start + n], payload)
    check_canaries(dst, start, n)
    assert dma.recvchannel.transferred == n


@pytest.mark.rule("XFER-MM2S-PACKET")
def test_notebook_32_words(target, dma):
    """The notebook: A random below 100000, B cleared, loop back, compare."""
    a = target.allocate(shape=(32,), dtype=np.uint32)
    b = target.allocate(shape=(32,), dtype=np.uint32)
    a[:] = np.random.default_rng(1).integers(0, 100000, 32)
    b[:] = 0
    loopback(dma, a, b)
    assert np.array_equal(a, b)


@pytest.mark.rule("FLOW-STALL", "XFER-MM2S-PACKET")
def test_notebook_order_send_first_small_packet(target, dma):
    """MM2S first and waited on before S2MM starts: fine for 128 bytes (fits the FIFO)."""
    a = target.allocate(shape=(32,), dtype=np.uint32)
    b = target.allocate(shape=(32,), dtype=np.uint32)
    a[:] = np.arange(32) * 3
    dma.sendchannel.transfer(a)
    dma.sendchannel.wait()
    dma.recvchannel.transfer(b)
    dma.recvchannel.wait()
    assert np.array_equal(a, b)


@pytest.mark.rule("XFER-S2MM-TLAST")
def test_back_to_back_transfers_reuse_channels(target, dma):
    bufs = [target.allocate(shape=(64,), dtype="u4") for _ in range(2)]
    for i in range(5):
        bufs[0][:] = i
        loopback(dma, bufs[0], bufs[1])
        assert (bufs[1] == i).all()


@pytest.mark.rule("XFER-S2MM-TLAST")
def test_short_packet_reports_bytes_written(target, dma):
    """S2MM LENGTH larger than the packet: completes at TLAST, LENGTH reads bytes written."""
    n, room = 100, 256
    src = target.allocate(n, "u1")
    src[:] = np.arange(n, dtype=np.uint8)
    dst = guarded(target, room)
    dma.recvchannel.transfer(dst, start=PAD, nbytes=room)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait()
    dma.recvchannel.wait()
    assert dma.recvchannel.transferred == n
    assert np.array_equal(dst[PAD:PAD + n], src)
    check_canaries(dst, PAD, n)  # the rest of the buffer is untouched


@pytest.mark.rule("XFER-MM2S-PACKET")
def test_two_dimensional_and_float_buffers(target, dma):
    a = target.allocate(shape=(8, 16), dtype=np.float32)
    b = target.allocate(shape=(8, 16), dtype=np.float32)
    a[:] = np.linspace(-1, 1, 128, dtype=np.float32).reshape(8, 16)
    loopback(dma, a, b)
    assert np.array_equal(a, b)


@pytest.mark.rule("XFER-MAX-LENGTH")
@pytest.mark.targets("model")
def test_exact_maximum_length(target):
    """The largest transfer the length register allows (2**26 - 1 bytes by default)."""
    dma = target.driver("python")
    n = dma.sendchannel.max_size
    src = target.allocate(n, "u1")
    dst = target.allocate(n + 1, "u1")
    src[::4096] = 0x5A
    src[-1] = 0xC3
    dst[-1] = 0xAA
    loopback(dma, src, dst, nbytes=n, timeout=5.0)
    assert dst[n - 1] == 0xC3 and dst[-1] == 0xAA
    assert np.array_equal(dst[:n:4096], src[::4096])
    src.freebuffer()
    dst.freebuffer()


@pytest.mark.rule("FLOW-SF-DEPTH", "FLOW-STALL")
def test_mm2s_reads_ahead_about_512_bytes_without_s2mm(target):
    """Small MM2S transfers complete into the FIFO with S2MM idle; large ones stall."""
    regs = dma_regs(target)
    regs.write(regmap.MM2S.DMACR, regmap.DMACR_RS)
    small = target.allocate(512, "u1")
    regs.write(regmap.MM2S.ADDR, small.physical_address)
    regs.write(regmap.MM2S.LENGTH, 512)
    target.delay(20_000)
    assert regs.read(regmap.MM2S.DMASR) & regmap.DMASR_IDLE
    target.reset()
    regs.write(regmap.MM2S.DMACR, regmap.DMACR_RS)
    big = target.allocate(2048, "u1")
    regs.write(regmap.MM2S.ADDR, big.physical_address)
    regs.write(regmap.MM2S.LENGTH, 2048)
    target.delay(100_000)
    assert regs.read(regmap.MM2S.DMASR) == 0  # running, not Idle: stalled on the stream


@pytest.mark.rule("DRV-API")
def test_level_ii_register_functions(target):
    """The notebook's level (ii) as plain functions over t.mmio: reset, start, program, poll."""
    from dmasim.drivers import registers

    regs = dma_regs(target)
    a = target.allocate(shape=(64,), dtype=np.uint32)
    b = target.allocate(shape=(64,), dtype=np.uint32)
    a[:] = np.arange(64) ** 2
    assert registers.reset_dma(regs, target.clock)
    for ch in regmap.CHANNELS:
        sr = registers.start_channel(regs, ch, target.clock)
        assert sr is not None and not sr & regmap.DMASR_HALTED
    registers.program_transfer(regs, regmap.S2MM, b.physical_address, 256)
    registers.program_transfer(regs, regmap.MM2S, a.physical_address, 256)
    for ch in regmap.CHANNELS:
        sr = registers.wait_idle(regs, ch, target.clock, timeout_ns=1_000_000, nbytes=256)
        assert sr is not None and sr & regmap.DMASR_IDLE, sr
    assert np.array_equal(a, b)
    assert registers.wait_idle(regs, regmap.S2MM, target.clock, 1_000_000) is not None
    registers.program_transfer(regs, regmap.S2MM, b.physical_address, 256)
    assert registers.wait_idle(regs, regmap.S2MM, target.clock, timeout_ns=50_000) is None


@pytest.mark.rule("FLOW-SF-DEPTH", "FLOW-SKID")
def test_mm2s_read_ahead_is_its_fifo_plus_the_s2mm_skid(target):
    """With S2MM not started, MM2S completes exactly when the transfer fits its FIFO plus the
    skid beats (dmasim.constants, the same numbers the RTL is built with); one more burst's
    worth stalls."""
    from dmasim import constants

    fits = constants.readahead_bytes(target.ip_dict["axi_dma_0"]["parameters"])
    for nbytes, completes in ((fits, True), (fits + 8, False)):
        fresh(target)
        regs = dma_regs(target)
        regs.write(regmap.MM2S.DMACR, regmap.DMACR_RS)
        src = target.allocate(nbytes, "u1")
        regs.write(regmap.MM2S.ADDR, src.physical_address)
        regs.write(regmap.MM2S.LENGTH, nbytes)
        target.delay(50_000)
        idle = bool(regs.read(regmap.MM2S.DMASR) & regmap.DMASR_IDLE)
        assert idle == completes, f"{nbytes} bytes: Idle={idle}, read-ahead {fits}"
