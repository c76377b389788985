"""The native levels in SG mode: the C core's ``dmasim_sg_*`` behind the SG channel API.

Ring bookkeeping, argument checks and exceptions are :class:`~dmasim.drivers.sg.SgChannelMixin`'s
(shared with the Python level); writing BDs, the CURDESC/RS/TAILDESC sequences, the chain walk
and the wait loop run in ``dmasim_dma.c``, which reaches the BDs through the ring's CPU address.
"""

from __future__ import annotations

from ..sg import BdRing, SgChannelMixin
from . import NativeChannel, status

__all__ = ["NativeSgChannel"]


class NativeSgChannel(SgChannelMixin, NativeChannel):
    """A channel of the ``pybind11`` / ``cffi`` level on a DMA with ``c_include_sg=1``."""

    def _sg_link(self, ring: BdRing) -> None:
        self._dev.sg_link(ring.cpu_address, ring.phys, ring.count)

    def _sg_fill(self, ring: BdRing, first: int, addr: int, nbytes: int, framing: bool) -> int:
        return self._dev.sg_fill(ring.cpu_address, ring.count, first % ring.count, addr, nbytes,
                                 self.bd_max, framing)

    def _sg_start(self, curdesc: int, dmacr_bits: int, timeout_ns: int) -> int | None:
        rc, sr = self._dev.sg_start(self._base, curdesc, dmacr_bits, self._msb, timeout_ns)
        return None if rc == status.TIMEOUT else sr

    def _sg_kick(self, tail: int) -> None:
        self._dev.sg_kick(self._base, tail, self._msb)

    def _sg_wait(self, ring: BdRing, first: int, n: int, nbytes: int,
                 timeout_ns: int) -> int | None:
        rc, sr = self._dev.sg_wait(self._base, ring.cpu_address, ring.count, first, n,
                                   self.len_mask, self._eof_mask, nbytes if timeout_ns else 0,
                                   timeout_ns)
        return None if rc == status.TIMEOUT else sr

    def _sg_result(self, ring: BdRing, first: int, n: int) -> tuple[bool, int, int]:
        return self._dev.sg_result(ring.cpu_address, ring.count, first, n, self.len_mask,
                                   self._eof_mask)
