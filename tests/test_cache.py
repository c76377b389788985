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


@pytest.mark.rule("CACHE-STALE")
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


@pytest.mark.rule("CACHE-STALE")
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


@pytest.mark.rule("CACHE-FLUSH-DIRTY", "CACHE-INVALIDATE-LOSES")
@pytest.mark.needs("cache-model")
def test_flush_and_invalidate_cover_only_the_view(target):
    a = target.allocate(1024, "u1", cacheable=True)
    a[:] = 1
    a[256:512].flush()
    a[:] = 2
    a.invalidate()
    assert (a[:256] == 0).all() and (a[256:512] == 1).all() and (a[512:] == 0).all()


@pytest.mark.rule("DRV-CACHE-MAINT")
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


# --- the Cortex-A9 cache, line by line -----------------------------------------------------

LINE = 32


class ExpectedCache:
    """An independent, byte-list expectation of one cacheable buffer: per 32-byte line, the CPU
    bytes, the bytes it was last filled or cleaned with (dirty when they differ), and DDR."""

    def __init__(self, span: int):
        self.ddr = [0] * span
        self.cpu = [0] * span
        self.fill = [0] * span

    def lines(self, lo, hi):
        return range(lo // LINE, -(-hi // LINE))

    def _clean(self, line):
        s = slice(line * LINE, (line + 1) * LINE)
        if self.cpu[s] != self.fill[s]:
            self.ddr[s] = self.cpu[s]
            self.fill[s] = self.cpu[s]

    def _drop(self, line):
        s = slice(line * LINE, (line + 1) * LINE)
        self.cpu[s] = self.ddr[s]
        self.fill[s] = self.ddr[s]

    def dma_write(self, lo, hi, value):
        """DDR takes the DMA's bytes, then every dirty line under them is evicted over them
        (the worst moment) and stays dirty."""
        self.ddr[lo:hi] = [value] * (hi - lo)
        for line in self.lines(lo, hi):
            s = slice(line * LINE, min((line + 1) * LINE, NBYTES))
            if self.cpu[s] != self.fill[s]:
                self.ddr[s] = self.cpu[s]

    def flush(self, lo, hi):  # pynq's flush(): clean
        for line in self.lines(lo, hi):
            self._clean(line)

    def invalidate(self, lo, hi):  # Linux / Xil_DCacheInvalidateRange: edges cleaned first
        for line in self.lines(lo, hi):
            partial = line * LINE < lo or (line + 1) * LINE > hi
            if partial:
                self._clean(line)
            self._drop(line)

    def flush_invalidate(self, lo, hi):  # Xil_DCacheFlushRange
        for line in self.lines(lo, hi):
            self._clean(line)
            self._drop(line)


NBYTES = 200  # not a whole number of lines
RANGES = st.tuples(st.integers(0, NBYTES - 1), st.integers(1, NBYTES)).map(
    lambda t: (t[0], min(NBYTES, t[0] + t[1])))
CACHE_OPS = st.lists(st.one_of(
    st.tuples(st.just("cpu_write"), RANGES, st.integers(0, 255)),
    st.tuples(st.just("dma_write"), RANGES, st.integers(0, 255)),
    st.tuples(st.just("flush"), RANGES),
    st.tuples(st.just("invalidate"), RANGES),
    st.tuples(st.just("xil_flush"), RANGES),
    st.tuples(st.just("xil_invalidate"), RANGES),
), max_size=20)


@pytest.mark.rule("CACHE-EDGE-CLEAN", "CACHE-FLUSH-DIRTY", "CACHE-INVALIDATE-LOSES", "CACHE-LINES")
@given(ops=CACHE_OPS)
def test_cache_lines_follow_an_independent_expectation(ops):
    """CACHE-LINES, CACHE-FLUSH-DIRTY, CACHE-INVALIDATE-LOSES, CACHE-EDGE-CLEAN: write, flush,
    invalidate and DMA sequences on a cacheable buffer against a per-line byte model."""
    from dmasim.memory import Memory

    mem = Memory(size=1 << 20, cma_base=0, cma_size=1 << 20)
    buf = mem.allocate(NBYTES, "u1", cacheable=True)
    span = 4096
    want = ExpectedCache(span)
    for op in ops:
        kind, (lo, hi) = op[0], op[1]
        if kind == "cpu_write":
            buf[lo:hi] = op[2]
            want.cpu[lo:hi] = [op[2]] * (hi - lo)
        elif kind == "dma_write":
            mem.write(buf.physical_address + lo, np.full(hi - lo, op[2], np.uint8))
            want.dma_write(lo, hi, op[2])
        elif kind == "flush":
            buf[lo:hi].flush()
            want.flush(lo, hi)
        elif kind == "invalidate":
            buf[lo:hi].invalidate()
            want.invalidate(lo, hi)
        elif kind == "xil_flush":
            mem.dcache_flush_range(buf.cpu_address + lo, hi - lo)
            want.flush_invalidate(lo, hi)
        else:
            mem.dcache_invalidate_range(buf.cpu_address + lo, hi - lo)
            want.invalidate(lo, hi)
        assert list(np.asarray(buf)) == want.cpu[:NBYTES], op
        assert list(mem.read(buf.physical_address, span)) == want.ddr, op


@pytest.mark.rule("CACHE-PAGE-ALIGN")
@pytest.mark.needs("cache-model")
def test_cacheable_cpu_address_agrees_with_physical_modulo_page(target):
    for cacheable in (False, True):
        for n in (1, 100, 5000):
            b = target.allocate(n, "u1", cacheable=cacheable)
            assert b.cpu_address % 4096 == b.physical_address % 4096
            view = b[37:]
            assert view.cpu_address % 4096 == view.physical_address % 4096


@pytest.mark.rule("CACHE-FLUSH-DIRTY")
@pytest.mark.needs("cache-model")
def test_flush_writes_back_only_lines_the_cpu_wrote(target):
    """The DMA wrote a cacheable buffer the CPU never touched: a flush must not put the CPU's
    stale lines over it (the XAxiDma example flushes its receive buffer)."""
    src = target.allocate(64, "u4")
    dst = target.allocate(64, "u4", cacheable=True)
    src[:] = 5
    _raw_loopback(target, src, dst, 256)
    dst.flush()  # nothing dirty: DDR keeps what the DMA wrote
    dst.invalidate()
    assert (dst == 5).all()


@pytest.mark.rule("CACHE-INVALIDATE-LOSES")
@pytest.mark.needs("cache-model")
def test_invalidating_a_dirty_line_loses_the_cpu_write(target):
    a = target.allocate(64, "u1", cacheable=True)
    a[:] = 3
    a[:32].flush()
    a[:] = 4
    a.invalidate()  # whole lines: the second write is gone, the flushed one survives
    assert (a[:32] == 3).all() and (a[32:] == 0).all()


@pytest.mark.rule("CACHE-EDGE-CLEAN")
@pytest.mark.needs("cache-model")
@given(n=st.integers(1, 300).filter(lambda n: n % 32), seed=st.integers(0, 2**32 - 1))
def test_packets_that_are_not_whole_lines(target, n, seed):
    """Flush the source, DMA, invalidate the destination: exact data for any length."""
    fresh(target)
    src = target.allocate(n, "u1", cacheable=True)
    dst = target.allocate(n, "u1", cacheable=True)
    payload = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
    src[:] = payload
    src.flush()
    _raw_loopback(target, src, dst, n)
    dst.invalidate()
    assert np.array_equal(dst, payload)


@pytest.mark.rule("CACHE-EDGE-CLEAN")
@pytest.mark.needs("cache-model")
@pytest.mark.parametrize("flushed_first", [True, False])
def test_partial_edge_line_is_cleaned_on_invalidate(target, flushed_first):
    """The destination starts 8 bytes into a line whose first bytes the CPU wrote: invalidating
    the destination cleans that edge line. Flushed before the DMA (as the XAxiDma example does),
    the line is clean and both the CPU's bytes and the DMA's survive; left dirty, the write-back
    puts the CPU's stale copy over the DMA's bytes in that line, as on the board."""
    src = target.allocate(256, "u1")
    dst = target.allocate(256, "u1", cacheable=True)
    src[:] = 0x5A
    dst[:8] = 0x11  # CPU data next to the DMA destination, same line
    if flushed_first:
        dst.flush()
    view = dst[8:8 + 64]
    regs = dma_regs(target)
    start_both(regs)
    regs.write(S2MM.ADDR, view.physical_address)
    regs.write(S2MM.LENGTH, 64)
    regs.write(MM2S.ADDR, src.physical_address)
    regs.write(MM2S.LENGTH, 64)
    target.delay(20_000)
    assert regs.read(S2MM.DMASR) & 0x2
    target.memory.dcache_invalidate_range(view.cpu_address, 64)
    assert (dst[:8] == 0x11).all(), "the CPU's bytes of the edge line were written back"
    if flushed_first:
        assert (dst[8:72] == 0x5A).all()
    else:
        assert (dst[8:32] == 0).all(), "a dirty edge line's write-back covers the DMA's bytes"
        assert (dst[32:72] == 0x5A).all()
