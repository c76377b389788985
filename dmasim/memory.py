"""DDR, the CMA-like buffer allocator, the CPU cache and injected faults of a simulated board.

One :class:`Memory` serves both simulated targets: the model keeps DDR in an anonymous mmap
(the OS commits pages only when touched, so 512 MiB costs what is used), the RTL target in a
file mapping shared with the simulator process. Buffers are numpy views of DDR when coherent
(``cacheable=False``, pynq's default) and separate CPU copies when ``cacheable=True``, so a
missing ``flush()`` or ``invalidate()`` gives stale data exactly as on the board (where lines
are never evicted at a convenient moment: this is the worst case, deterministic).
"""

from __future__ import annotations

import bisect
import mmap
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .buffer import Buffer
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
    cpu: np.ndarray  # the bytes the CPU sees (a DDR view when coherent)
    root: Buffer | None = None


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

    # --- DMA-side access ---------------------------------------------------------------

    def first_fault(self, addr: int, nbytes: int) -> tuple[int, str] | None:
        """First byte offset in ``[addr, addr+nbytes)`` that faults, and its kind."""
        end = addr + nbytes
        if not self._faults and addr >= DDR_BASE and end <= DDR_BASE + self.size:
            return None
        best: tuple[int, str] | None = None
        if addr < DDR_BASE or end > DDR_BASE + self.size:
            at = 0 if addr < DDR_BASE or addr >= DDR_BASE + self.size else self.size - addr
            best = (at, "decerr")
        for lo, hi, kind in self._faults:
            if lo < end and addr < hi:
                at = max(lo - addr, 0)
                if best is None or at < best[0]:
                    best = (at, kind)
        return best

    def beat_fault(self, addr: int, nbytes: int) -> str | None:
        """What one bus beat over ``[addr, addr+nbytes)`` answers, None for OKAY.

        The worst of the faults it touches: ``"decerr"`` (also outside DDR) over ``"slverr"``.
        With :meth:`first_fault` this is the one precedence rule for overlapping regions: a
        channel reports the answer of its first failing beat.
        """
        end = addr + nbytes
        if addr < DDR_BASE or end > DDR_BASE + self.size:
            return "decerr"
        kinds = {kind for lo, hi, kind in self._faults if lo < end and addr < hi}
        return "decerr" if "decerr" in kinds else ("slverr" if kinds else None)

    def read(self, addr: int, nbytes: int) -> np.ndarray:
        """A copy of DDR bytes (the DMA's view; bypasses the CPU cache)."""
        return self.ddr[addr : addr + nbytes].copy()

    def write(self, addr: int, data: np.ndarray) -> None:
        """Store bytes into DDR (the DMA's view; bypasses the CPU cache)."""
        self.ddr[addr : addr + data.size] = data

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
        cpu = np.zeros(nbytes, dtype=np.uint8) if cacheable else self.ddr[phys : phys + nbytes]
        alloc = _Allocation(phys, nbytes, span, cacheable, cpu)
        buf = Buffer(cpu.view(dt).reshape(dims), owner=self, physical_address=phys,
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

    def flush(self, buffer: Buffer) -> None:
        """Write the CPU copy of ``buffer``'s bytes back to DDR (no-op when coherent)."""
        alloc, lo, hi = self._cpu_range(buffer, "flush")
        if alloc.cacheable:
            self.ddr[alloc.phys + lo : alloc.phys + hi] = alloc.cpu[lo:hi]

    def invalidate(self, buffer: Buffer) -> None:
        """Re-read ``buffer``'s bytes from DDR into the CPU copy (no-op when coherent)."""
        alloc, lo, hi = self._cpu_range(buffer, "invalidate")
        if alloc.cacheable:
            alloc.cpu[lo:hi] = self.ddr[alloc.phys + lo : alloc.phys + hi]

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
