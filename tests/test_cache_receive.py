"""A cacheable receive buffer must be cleaned before S2MM starts.

The CPU writes a receive buffer (a canary, a previous result), the lines stay dirty in its
write-back cache, the DMA writes DDR, and the cache evicts the dirty lines over the DMA's data:
``invalidate()`` after the transfer then reads the CPU's old bytes. The model evicts at the
worst moment (right after the DMA's write), so a driver that skips the clean always shows it.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmasim.drivers.base import ChannelBase


def _loop(target, level, n, start, monkeypatch=None):
    dma = target.driver(level)
    src = target.allocate(n, "u1", cacheable=True)
    dst = target.allocate(n + 64, "u1", cacheable=True)
    src[:] = np.arange(n) % 251 + 1
    dst[:] = 0xAA  # canaries, and dirty lines over the whole receive buffer
    dma.recvchannel.transfer(dst, start, n)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait()
    dma.recvchannel.wait()
    return src, dst


@pytest.mark.targets("model")
@pytest.mark.parametrize("level", ["python", "cffi"])
def test_without_the_clean_the_dma_data_is_lost(target, level, monkeypatch):
    """Remove the driver's clean step: the dirty canary lines come back instead of the data."""
    target.reset()
    monkeypatch.setattr(ChannelBase, "_clean_for_dma",
                        lambda self, buf: buf.flush() if self.name == "MM2S" else None)
    src, dst = _loop(target, level, 256, 32)
    assert (dst[32:288] == 0xAA).all(), "the model did not evict the dirty lines over the DMA"
    assert not np.array_equal(dst[32:288], src)


@pytest.mark.targets("model")
@given(n=st.integers(1, 2048), start=st.sampled_from([0, 4, 32, 60]))
def test_with_the_clean_the_data_arrives_and_canaries_stay(target, n, start):
    target.reset()
    src, dst = _loop(target, "python", n, start)
    assert np.array_equal(dst[start:start + n], src)
    assert (dst[:start] == 0xAA).all() and (dst[start + n:] == 0xAA).all()


@pytest.mark.targets("model")
def test_eviction_is_per_32_byte_line(target):
    """Only lines the CPU dirtied are written back, each whole; clean lines keep DMA data."""
    target.reset()
    buf = target.allocate(128, "u1", cacheable=True)
    buf[40] = 7  # dirties the line 32..63 only
    target.memory.write(buf.physical_address, np.full(128, 0x55, np.uint8))  # the DMA's write
    buf.invalidate()
    assert (buf[:32] == 0x55).all() and (buf[64:] == 0x55).all()
    assert buf[40] == 7 and (buf[32:40] == 0).all() and (buf[41:64] == 0).all()
