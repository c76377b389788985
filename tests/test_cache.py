"""CPU cache coherency: cacheable buffers need flush() before MM2S and invalidate() after S2MM."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import dma_regs, loopback, start_both
from hypothesis import given
from hypothesis import strategies as st

from dmasim.pytest_plugin import fresh
from dmasim.regmap import MM2S, S2MM


def _raw_loopback(target, src, dst, n):
    """Register-level loopback that does no cache maintenance (the classic bug)."""
    regs = dma_regs(target)
    start_both(regs)
    regs.write(S2MM.ADDR, dst.physical_address)
    regs.write(S2MM.LENGTH, n)
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, n)
    target.delay(20 * n + 10_000)
    assert regs.read(S2MM.DMASR) & 0x2, "raw loopback did not complete"


@pytest.mark.needs("cache-model")
def test_missing_flush_sends_stale_memory(target):
    src = target.allocate(64, "u4", cacheable=True)
    dst = target.allocate(64, "u4")
    src[:] = 7  # sits in the CPU cache only
    _raw_loopback(target, src, dst, 256)
    assert (dst == 0).all(), "MM2S must read DDR, not the CPU's dirty lines"
    src.flush()
    _raw_loopback(target, src, dst, 256)
    assert (dst == 7).all()


@pytest.mark.needs("cache-model")
def test_missing_invalidate_reads_stale_cache(target):
    src = target.allocate(64, "u4")
    dst = target.allocate(64, "u4", cacheable=True)
    src[:] = 9
    _ = int(dst[0])  # the CPU has the old lines
    _raw_loopback(target, src, dst, 256)
    assert (dst == 0).all(), "without invalidate the CPU keeps its stale view"
    dst.invalidate()
    assert (dst == 9).all()


@pytest.mark.needs("cache-model")
def test_flush_and_invalidate_cover_only_the_view(target):
    a = target.allocate(1024, "u1", cacheable=True)
    a[:] = 1
    a[256:512].flush()
    a[:] = 2
    a.invalidate()
    assert (a[:256] == 0).all() and (a[256:512] == 1).all() and (a[512:] == 0).all()


@given(n=st.integers(1, 4096), seed=st.integers(0, 2**32 - 1))
def test_driver_keeps_cacheable_buffers_coherent(target, dma, n, seed):
    """The drivers flush before MM2S and invalidate after S2MM, as pynq's does."""
    fresh(target)
    src = target.allocate(n, "u1", cacheable=True)
    dst = target.allocate(n, "u1", cacheable=True)
    payload = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
    src[:] = payload
    loopback(dma, src, dst)
    assert np.array_equal(dst, payload)
