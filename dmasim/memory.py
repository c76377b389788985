"""DDR, the CMA-like buffer allocator, the CPU cache and injected faults of a simulated board.

One :class:`Memory` serves both simulated targets: the model keeps DDR in an anonymous mmap
(the OS commits pages only when touched, so 512 MiB costs what is used), the RTL target in a
file mapping shared with the simulator process. Buffers are numpy views of DDR when coherent
(``cacheable=False``, pynq's default) and separate CPU copies when ``cacheable=True``.

The CPU copy is a Cortex-A9 data cache holding every line of the buffer (rules ``CACHE-*`` of
``docs/axi-dma-behaviour.md``): 32-byte lines, each clean or dirty (dirty: its bytes differ
from what the cache last filled or cleaned it with, i.e. the CPU wrote it). Cleaning writes
back only dirty lines, whole; invalidating refills a line from DDR and loses a dirty line's
CPU writes. Lines are never evicted on their own, so a missing ``flush()`` or
``invalidate()`` always gives stale data (the board's worst case, made deterministic). The
CPU copy is page aligned, so a buffer's CPU address agrees with its physical address modulo
4 KiB and code that rounds to cache lines on the CPU pointer hits the right bytes.
"""

from __future__ import annotations

import bisect
import mmap
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .buffer import Buffer
from .constants import CACHE_LINE
from .errors import BufferStateError, DmasimValueError, OutOfMemoryError

__all__ = ["CMA_BASE", "CMA_SIZE", "DDR_BASE", "DDR_SIZE", "Memory"]

DDR_BASE = 0x0000_0000
DDR_SIZE = 512 << 20
"""The PYNQ-Z2's 512 MiB of DDR at physical 0."""
CMA_BASE = 0x1000_0000
CMA_SIZE = 256 << 20
"""Where buffers come from, as the kernel's contiguous memory area does on the board."""
PAGE = 4096
FAULT_KINDS = ("slverr", "decerr")
_DTYPE_KINDS = "biufc"


@dataclass
class _Allocation:
    phys: int
    nbytes: int
    span: int
    cacheable: bool
    cpu: np.ndarray  # the bytes the CPU sees (a DDR view when coherent; span bytes if not)
    clean: np.ndarray | None = None  # cacheable: each line as last filled or cleaned
    root: Buffer | None = None

    @property
    def cpu_address(self) -> int:
        """CPU address of the allocation's first byte."""
        return int(self.cpu.ctypes.data)


def _byte_range(view: np.ndarray) -> tuple[int, int]:
    """Lowest and one-past-highest CPU address a (possibly strided) view touches."""
    low = high = view.cpu_address if isinstance(view, Buffer) else int(view.ctypes.data)
    if view.flags.c_contiguous:
        return low, low + view.nbytes
    if view.size == 0:
        return low, low
    for extent, stride in zip(view.shape, view.strides, strict=True):
        if stride < 0:
            low += (extent - 1) * stride
        else:
            high += (extent - 1) * stride
    return low, high + view.itemsize


class Memory:
    """Sparse DDR plus allocator, cache and fault map; implements the ``Allocator`` role."""

    def __init__(
        self,
        backing: np.ndarray | None = None,
        *,
        size: int = DDR_SIZE,
        cma_base: int = CMA_BASE,
        cma_size: int = CMA_SIZE,
    ):
        if backing is None:
            self._mmap: mmap.mmap | None = mmap.mmap(-1, size)
            backing = np.frombuffer(self._mmap, dtype=np.uint8)
        else:
            self._mmap = None
        if backing.dtype != np.uint8 or backing.ndim != 1 or backing.size < size:
            raise DmasimValueError(f"DDR backing must be a uint8 vector of >= {size} bytes")
        if not (cma_base >= 0 and cma_base + cma_size <= size and cma_base % PAGE == 0):
            raise DmasimValueError(
                f"buffer region 0x{cma_base:x}+0x{cma_size:x} must be page aligned inside DDR"
            )
        self.ddr = backing[:size]
        self.size = size
        self.cma_base = cma_base
        self.cma_size = cma_size
        self._free: list[tuple[int, int]] = [(cma_base, cma_size)]  # sorted (start, size)
        self._allocs: dict[int, _Allocation] = {}
        self._faults: list[tuple[int, int, str]] = []
        self._cacheable = 0  # live cacheable allocations (the DMA write path checks them)

    # --- DMA-side access ---------------------------------------------------------------

    def response(self, addr: int, nbytes: int) -> str | None:
        """The response to an access of the bytes ``[addr, addr+nbytes)``: None for OKAY.

        Rule FAULT-PRECEDENCE: ``"decerr"`` if any byte lies outside DDR or in an injected
        DECERR region, else ``"slverr"`` if any lies in an injected SLVERR region. The order
        in which regions were injected never matters.
        """
        end = addr + nbytes
        if addr < DDR_BASE or end > DDR_BASE + self.size:
            return "decerr"
        worst: str | None = None
        for lo, hi, kind in self._faults:
            if lo < end and addr < hi:
                if kind == "decerr":
                    return kind
                worst = kind
        return worst

    def first_fault(self, addr: int, nbytes: int, beat: int = 1,
                    *, read: bool = False) -> tuple[int, str] | None:
        """The first failing beat of a DMA access of ``[addr, addr+nbytes)``, and its kind.

        Returns ``(offset, kind)`` with ``offset`` the beat's first byte relative to ``addr``
        (at least 0), or None when every beat answers OKAY. Beats are ``beat``-byte words at
        aligned addresses: a read covers the whole word, a write only its bytes inside the
        range (its strobes). The beat's kind follows :meth:`response`.
        """
        end = addr + nbytes
        lo_scan = addr - addr % beat if read else addr
        hi_scan = end + (-end % beat) if read else end
        if not self._faults and lo_scan >= DDR_BASE and hi_scan <= DDR_BASE + self.size:
            return None
        first: int | None = None  # lowest faulting byte, absolute
        if lo_scan < DDR_BASE or hi_scan > DDR_BASE + self.size:
            first = lo_scan if lo_scan < DDR_BASE or lo_scan >= DDR_BASE + self.size \
                else DDR_BASE + self.size
        for lo, hi, _kind in self._faults:
            if lo < hi_scan and lo_scan < hi:
                at = max(lo, lo_scan)
                if first is None or at < first:
                    first = at
        if first is None:
            return None
        word = first - first % beat
        b_lo, b_hi = (word, word + beat) if read else (max(word, addr), min(word + beat, end))
        kind = self.response(b_lo, b_hi - b_lo)
        assert kind is not None
        return max(word - addr, 0), kind

    def read(self, addr: int, nbytes: int) -> np.ndarray:
        """A copy of DDR bytes (the DMA's view; bypasses the CPU cache)."""
        return self.ddr[addr : addr + nbytes].copy()

    def write(self, addr: int, data: np.ndarray) -> None:
        """Store bytes into DDR (the DMA's view; bypasses the CPU cache).

        Worst case for a cacheable buffer whose lines the CPU dirtied and did not clean: the
        cache evicts those lines right after the DMA wrote, over the DMA's data (which is why
        drivers clean a receive buffer before starting S2MM).
        """
        self.ddr[addr : addr + data.size] = data
        if self._cacheable:
            self._evict_dirty(addr, addr + data.size)

    def copy(self, dst: int, src: int, nbytes: int) -> None:
        """DDR to DDR (both DMA channels streaming at once): :meth:`write` of a :meth:`read`."""
        self.ddr[dst : dst + nbytes] = self.ddr[src : src + nbytes]
        if self._cacheable:
            self._evict_dirty(dst, dst + nbytes)

    def _evict_dirty(self, lo: int, hi: int) -> None:
        for alloc in self._allocs.values():
            if alloc.clean is None or hi <= alloc.phys or alloc.phys + alloc.nbytes <= lo:
                continue
            first = (max(lo, alloc.phys) - alloc.phys) // CACHE_LINE * CACHE_LINE
            end = min(hi, alloc.phys + alloc.nbytes) - alloc.phys
            last = min(-(-end // CACHE_LINE) * CACHE_LINE, alloc.nbytes)
            cpu, clean = alloc.cpu[first:last], alloc.clean[first:last]
            dirty = cpu != clean
            if not dirty.any():
                continue
            for line in np.unique(np.flatnonzero(dirty) // CACHE_LINE):
                s = first + int(line) * CACHE_LINE
                e = min(s + CACHE_LINE, alloc.nbytes)
                # Stays dirty until flushed or invalidated: evicted again after each later
                # DMA write into it, i.e. at the worst moment, after the DMA's last write.
                self.ddr[alloc.phys + s : alloc.phys + e] = alloc.cpu[s:e]

    # --- fault injection ---------------------------------------------------------------

    def add_fault(self, addr: int, nbytes: int, kind: str = "slverr") -> None:
        """Make ``[addr, addr + nbytes)`` answer ``kind`` to the DMA.

        Regions may overlap: a beat touching several answers the worst (DECERR over SLVERR),
        whatever the order they were added in.
        """
        if kind not in FAULT_KINDS:
            raise DmasimValueError(f"fault kind {kind!r} is not one of {FAULT_KINDS}")
        if nbytes <= 0 or addr < 0:
            raise DmasimValueError(f"fault region 0x{addr:x}+{nbytes} must be non-empty")
        self._faults.append((addr, addr + nbytes, kind))

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.clear()

    @property
    def faults(self) -> list[tuple[int, int, str]]:
        """Injected faults as ``(start, end, kind)``."""
        return list(self._faults)

    # --- allocator ---------------------------------------------------------------------

    def allocate(self, shape: Any, dtype: Any = "u4", cacheable: bool = False) -> Buffer:
        """A zeroed, page-aligned, physically contiguous buffer from the CMA region."""
        try:
            dt = np.dtype(dtype)
        except TypeError as exc:
            raise DmasimValueError(f"dtype {dtype!r} is not a numpy dtype") from exc
        if dt.kind not in _DTYPE_KINDS or dt.hasobject or dt.itemsize == 0:
            raise DmasimValueError(
                f"dtype {dt} is not supported: allowed bool, int, uint, float, complex"
            )
        dims = (shape,) if not isinstance(shape, (tuple, list)) else tuple(shape)
        try:
            dims = tuple(operator.index(d) for d in dims)
        except TypeError as exc:
            raise DmasimValueError(f"shape {shape!r} is not a tuple of integers") from exc
        count = 1
        for d in dims:
            count *= d
        if not dims or any(d <= 0 for d in dims):
            raise DmasimValueError(f"shape {shape!r} must have every dimension >= 1")
        nbytes = count * dt.itemsize
        span = -(-nbytes // PAGE) * PAGE
        phys = self._take(span, nbytes)
        self.ddr[phys : phys + nbytes] = 0
        clean = None
        if cacheable:  # a page-aligned CPU copy: CPU address = physical address mod 4 KiB
            self.ddr[phys + nbytes : phys + span] = 0
            cpu = np.frombuffer(mmap.mmap(-1, span), dtype=np.uint8)
            clean = np.zeros(span, dtype=np.uint8)
        else:
            cpu = self.ddr[phys : phys + span]
        alloc = _Allocation(phys, nbytes, span, cacheable, cpu, clean)
        self._cacheable += cacheable
        buf = Buffer(cpu[:nbytes].view(dt).reshape(dims), owner=self, physical_address=phys,
                     cacheable=cacheable)
        alloc.root = buf
        self._allocs[phys] = alloc
        return buf

    def _take(self, span: int, nbytes: int) -> int:
        for i, (start, size) in enumerate(self._free):
            if size >= span:
                if size == span:
                    del self._free[i]
                else:
                    self._free[i] = (start + span, size - span)
                return start
        largest = max((s for _, s in self._free), default=0)
        raise OutOfMemoryError(
            f"cannot allocate {nbytes} bytes: the largest free block of the "
            f"{self.cma_size >> 20} MiB buffer region is {largest} bytes"
        )

    def _alloc_of(self, buffer: object) -> _Allocation | None:
        if not isinstance(buffer, Buffer) or buffer._owner is not self:
            return None
        root = buffer.root
        alloc = self._allocs.get(root._phys_base)
        if alloc is None or alloc.root is not root:
            return None
        if buffer is root:
            return alloc
        lo, hi = _byte_range(buffer)
        base = root._virt_base
        if lo < base or hi > base + alloc.nbytes:
            return None
        return alloc

    def owns(self, buffer: object) -> bool:
        """True if ``buffer`` is (a view of) a live allocation of this memory."""
        if type(buffer) is Buffer and buffer._root is None and buffer._owner is self:
            alloc = self._allocs.get(buffer._phys_base)  # a whole buffer: the common case
            return alloc is not None and alloc.root is buffer
        return self._alloc_of(buffer) is not None

    def _live(self, buffer: Buffer, what: str) -> _Allocation:
        alloc = self._alloc_of(buffer)
        if alloc is None:
            raise BufferStateError(f"cannot {what}: buffer was not allocated here or was freed")
        return alloc

    def free(self, buffer: Buffer) -> None:
        """Return a buffer's pages; its array becomes read-only to catch use after free."""
        alloc = self._live(buffer, "free")
        del self._allocs[alloc.phys]
        self._cacheable -= alloc.cacheable
        if alloc.root is not None:
            alloc.root._freed = True
            alloc.root.flags.writeable = False
        i = bisect.bisect(self._free, (alloc.phys, 0))
        self._free.insert(i, (alloc.phys, alloc.span))
        # Coalesce with the neighbours so freed space is reused for larger requests.
        merged: list[tuple[int, int]] = []
        for start, size in self._free:
            if merged and merged[-1][0] + merged[-1][1] == start:
                merged[-1] = (merged[-1][0], merged[-1][1] + size)
            else:
                merged.append((start, size))
        self._free = merged

    def _cpu_range(self, buffer: Buffer, what: str) -> tuple[_Allocation, int, int]:
        alloc = self._live(buffer, what)
        if buffer is alloc.root:
            return alloc, 0, alloc.nbytes
        lo, hi = _byte_range(buffer)
        base = buffer.root._virt_base
        return alloc, lo - base, hi - base

    # --- CPU cache (rules CACHE-*) -------------------------------------------------------

    def _clean_lines(self, alloc: _Allocation, first: int, end: int) -> None:
        """Write back the dirty ones of lines ``[first, end)``, whole; they become clean."""
        assert alloc.clean is not None
        lo, hi = first * CACHE_LINE, end * CACHE_LINE
        cpu = alloc.cpu[lo:hi].reshape(-1, CACHE_LINE)
        clean = alloc.clean[lo:hi].reshape(-1, CACHE_LINE)
        dirty = (cpu != clean).any(axis=1)
        if dirty.any():
            ddr = self.ddr[alloc.phys + lo : alloc.phys + hi].reshape(-1, CACHE_LINE)
            ddr[dirty] = cpu[dirty]
            clean[dirty] = cpu[dirty]

    def _invalidate_lines(self, alloc: _Allocation, first: int, end: int) -> None:
        """Drop lines ``[first, end)`` (dirty data lost) and refill them from DDR."""
        assert alloc.clean is not None
        lo, hi = first * CACHE_LINE, end * CACHE_LINE
        alloc.cpu[lo:hi] = alloc.clean[lo:hi] = self.ddr[alloc.phys + lo : alloc.phys + hi]

    @staticmethod
    def _line_span(lo: int, hi: int) -> tuple[int, int]:
        """Indices of the first and one past the last line touching bytes ``[lo, hi)``."""
        return lo // CACHE_LINE, -(-hi // CACHE_LINE)

    def _clean(self, alloc: _Allocation, lo: int, hi: int, invalidate: bool) -> None:
        """Clean (and optionally invalidate) every line touching ``[lo, hi)``."""
        if hi <= lo or alloc.clean is None:
            return
        first, end = self._line_span(lo, hi)
        self._clean_lines(alloc, first, end)
        if invalidate:
            self._invalidate_lines(alloc, first, end)

    def _invalidate(self, alloc: _Allocation, lo: int, hi: int) -> None:
        """Invalidate ``[lo, hi)`` as the A9 BSP and Linux do.

        Partial edge lines are cleaned and invalidated (their other bytes survive), whole
        lines inside are just dropped.
        """
        if hi <= lo or alloc.clean is None:
            return
        first, end = self._line_span(lo, hi)
        if lo % CACHE_LINE:
            self._clean_lines(alloc, first, first + 1)
        if hi % CACHE_LINE:
            self._clean_lines(alloc, end - 1, end)
        self._invalidate_lines(alloc, first, end)

    def flush(self, buffer: Buffer) -> None:
        """Clean the lines of ``buffer``'s bytes: dirty ones go to DDR (no-op when coherent).

        As pynq's ``flush()`` on the board (a DMA_TO_DEVICE sync): lines stay valid.
        """
        alloc, lo, hi = self._cpu_range(buffer, "flush")
        self._clean(alloc, lo, hi, invalidate=False)

    def invalidate(self, buffer: Buffer) -> None:
        """Invalidate the lines of ``buffer``'s bytes, refilling from DDR (no-op when coherent).

        A dirty line wholly inside the view loses the CPU's writes (the real hazard); a line
        only partly inside is cleaned first, as Linux and the A9 BSP do.
        """
        alloc, lo, hi = self._cpu_range(buffer, "invalidate")
        self._invalidate(alloc, lo, hi)

    def _cached(self, cpu_addr: int, nbytes: int) -> list[tuple[_Allocation, int, int]]:
        """Cacheable allocations overlapping CPU addresses ``[cpu_addr, cpu_addr+nbytes)``."""
        if nbytes < 0:
            raise DmasimValueError(f"cache range length {nbytes} must be >= 0")
        out = []
        for alloc in self._allocs.values():
            if alloc.clean is None:
                continue
            base = alloc.cpu_address
            lo, hi = max(cpu_addr - base, 0), min(cpu_addr + nbytes - base, alloc.span)
            if lo < hi:
                out.append((alloc, lo, hi))
        return out

    def dcache_flush_range(self, cpu_addr: int, nbytes: int) -> None:
        """``Xil_DCacheFlushRange``: clean and invalidate every line touching the range.

        Addresses are CPU addresses (a buffer's ``cpu_address``); memory no cacheable buffer
        covers is coherent and needs nothing.
        """
        for alloc, lo, hi in self._cached(cpu_addr, nbytes):
            self._clean(alloc, lo, hi, invalidate=True)

    def dcache_invalidate_range(self, cpu_addr: int, nbytes: int) -> None:
        """``Xil_DCacheInvalidateRange`` of the Cortex-A9 BSP.

        Partial edge lines are cleaned and invalidated, whole lines invalidated (their CPU
        writes lost). Addresses are CPU addresses.
        """
        for alloc, lo, hi in self._cached(cpu_addr, nbytes):
            self._invalidate(alloc, lo, hi)  # clipped edges fall on page (line) boundaries

    @property
    def allocations(self) -> int:
        """Number of live buffers."""
        return len(self._allocs)

    def free_all(self) -> None:
        """Free every live buffer (closing a target)."""
        for alloc in list(self._allocs.values()):
            if alloc.root is not None:
                self.free(alloc.root)

    def close(self) -> None:
        """Free everything and drop the DDR mapping."""
        self.free_all()
        self._allocs.clear()
