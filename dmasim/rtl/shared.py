"""DDR shared between the host process and the rtl simulator: one memfd, mapped by both.

The simulator's AXI slaves read and write this memory through C (``rtl_tb/hdl/
dmasim_sim_mem.cpp``) while the host's :class:`~dmasim.memory.Memory` hands out numpy views
of it, so a host buffer *is* simulated DDR: no copy and no message per word. The mapping is
an anonymous ``memfd`` (sparse: pages cost memory only once touched) that the child inherits
by file descriptor, so nothing is left in the file system whatever way a process ends.

Layout (kept in step with the C side)::

    [0, ddr_size)                DDR, physical address = offset
    [ddr_size, ddr_size + 4096)  control page: magic, fault count, fault regions
"""

from __future__ import annotations

import mmap
import os
import struct
from contextlib import suppress

import numpy as np

from ..errors import DmasimValueError, TargetError
from ..memory import DDR_SIZE

__all__ = ["CONTROL_SIZE", "MAX_FAULTS", "SharedDdr"]

CONTROL_SIZE = 4096
MAX_FAULTS = 128
_MAGIC = 0x444D_4153  # "DMAS"
_HEADER = struct.Struct("<IIQ")  # magic, fault count, pad
_FAULT = struct.Struct("<QQII")  # first byte, one past last, AXI response, pad
_RESP = {"slverr": 2, "decerr": 3}


class SharedDdr:
    """The simulated DDR plus the fault table, as a memfd both processes map."""

    def __init__(self, size: int = DDR_SIZE):
        if not hasattr(os, "memfd_create"):
            raise TargetError("the rtl target needs Linux (os.memfd_create) for shared DDR")
        self.size = size
        self.fd = os.memfd_create("dmasim-ddr", 0)  # not inheritable; passed explicitly
        try:
            os.ftruncate(self.fd, size + CONTROL_SIZE)
            self._map = mmap.mmap(self.fd, size + CONTROL_SIZE, mmap.MAP_SHARED)
        except OSError as exc:
            os.close(self.fd)
            raise TargetError(f"cannot create {size >> 20} MiB of shared DDR: {exc}") from exc
        self.array = np.frombuffer(self._map, dtype=np.uint8)
        """Every byte: DDR followed by the control page (``Memory`` takes the first part)."""
        self.set_faults([])

    def set_faults(self, faults: list[tuple[int, int, str]]) -> None:
        """Publish ``(start, end, kind)`` regions to the simulator's AXI slaves."""
        if len(faults) > MAX_FAULTS:
            raise DmasimValueError(
                f"{len(faults)} fault regions: the rtl target holds at most {MAX_FAULTS}"
            )
        page = bytearray(CONTROL_SIZE)
        _HEADER.pack_into(page, 0, _MAGIC, len(faults), 0)
        for i, (lo, hi, kind) in enumerate(faults):
            _FAULT.pack_into(page, _HEADER.size + i * _FAULT.size, lo, hi, _RESP[kind], 0)
        self._map[self.size : self.size + CONTROL_SIZE] = bytes(page)

    def release_pages(self) -> None:
        """Give DDR pages back to the OS (contents become zero); cheap way to start clean."""
        with suppress(OSError, ValueError, AttributeError):
            self._map.madvise(mmap.MADV_REMOVE, 0, self.size)

    def close(self) -> None:
        """Drop the mapping and the descriptor (views still held elsewhere keep it alive)."""
        with suppress(BufferError):
            self._map.close()
        with suppress(OSError):
            os.close(self.fd)
