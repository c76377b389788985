"""Buffers as ``pynq.allocate`` hands them out: numpy arrays with a physical address."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .errors import BufferStateError

__all__ = ["Buffer", "BufferOwner"]


class BufferOwner(Protocol):
    """What a buffer calls back into: the allocator that made it."""

    def flush(self, buffer: Buffer) -> None:
        """Write the CPU's view of ``buffer`` back to memory."""
        ...

    def invalidate(self, buffer: Buffer) -> None:
        """Drop the CPU's view of ``buffer`` and re-read memory."""
        ...

    def free(self, buffer: Buffer) -> None:
        """Return ``buffer``'s memory to the allocator."""
        ...


class Buffer(np.ndarray):
    """A numpy array backed by physically contiguous memory (mirrors ``PynqBuffer``).

    Views (slices) keep working: ``physical_address`` follows the view's first byte.
    ``flush()`` / ``invalidate()`` act on the bytes of this view only.
    """

    _owner: BufferOwner | None
    _phys_base: int
    _virt_base: int
    _root: Buffer | None
    cacheable: bool
    _freed: bool
    _ptr: int  # this view's CPU address, cached: numpy's ctypes lookup costs microseconds

    def __new__(  # noqa: D102 - the class docstring says it
        cls,
        array: np.ndarray,
        *,
        owner: BufferOwner,
        physical_address: int,
        cacheable: bool,
    ) -> Buffer:
        obj = array.view(cls)
        obj._owner = owner
        obj._phys_base = physical_address
        obj._virt_base = obj._ptr = int(array.ctypes.data)
        obj._root = None
        obj.cacheable = cacheable
        obj._freed = False
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        if obj is None or not isinstance(obj, Buffer):
            self._owner = None
            self._phys_base = 0
            self._virt_base = 0
            self._root = None
            self.cacheable = False
            self._freed = False
            self._ptr = -1
            return
        self._owner = obj._owner
        self._phys_base = obj._phys_base
        self._virt_base = obj._virt_base
        self._root = obj if obj._root is None else obj._root
        self.cacheable = obj.cacheable
        self._freed = False
        self._ptr = -1

    @property
    def coherent(self) -> bool:
        """Pynq's name for ``not cacheable``."""
        return not self.cacheable

    @property
    def root(self) -> Buffer:
        """The buffer as allocated (views point back to it)."""
        return self if self._root is None else self._root

    @property
    def freed(self) -> bool:
        """True once ``freebuffer()`` was called on the allocation."""
        return self.root._freed

    @property
    def cpu_address(self) -> int:
        """The CPU address of this view's first byte (cached per view)."""
        if self._ptr < 0:
            self._ptr = int(self.ctypes.data)
        return self._ptr

    @property
    def physical_address(self) -> int:
        """Physical address of this view's first byte."""
        if self._root is None:
            return self._phys_base
        return self._phys_base + (self.cpu_address - self._virt_base)

    @property
    def device_address(self) -> int:
        """Alias of ``physical_address`` (pynq's name)."""
        return self.physical_address

    @property
    def virtual_address(self) -> int:
        """Pynq's name for :attr:`cpu_address`."""
        return self.cpu_address

    def _live_owner(self, what: str) -> BufferOwner:
        if self._owner is None:
            raise BufferStateError(f"cannot {what}: this array is not a dmasim buffer")
        if self.freed:
            raise BufferStateError(
                f"cannot {what}: buffer at 0x{self.physical_address:08x} was freed"
            )
        return self._owner

    def flush(self) -> None:
        """Write the CPU cache back to memory (before MM2S reads it)."""
        self._live_owner("flush").flush(self)

    def invalidate(self) -> None:
        """Drop stale CPU cache lines (after S2MM wrote memory)."""
        self._live_owner("invalidate").invalidate(self)

    def sync_to_device(self) -> None:
        """Pynq's name for :meth:`flush`."""
        self.flush()

    def sync_from_device(self) -> None:
        """Pynq's name for :meth:`invalidate`."""
        self.invalidate()

    def freebuffer(self) -> None:
        """Return the memory; a second call raises (double free)."""
        if self._owner is None:
            raise BufferStateError("cannot free: this array is not a dmasim buffer")
        if self.freed:
            raise BufferStateError(
                f"double free: buffer at 0x{self._phys_base:08x} was already freed"
            )
        self._owner.free(self.root)

    def close(self) -> None:
        """Free unless already freed (for ``with`` blocks)."""
        if self._owner is not None and not self.freed:
            self.freebuffer()

    def __enter__(self) -> Buffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
