"""The FIR's Python model for dmasim's model target: what ``hdl/fir.v`` does, per packet.

``Fir`` is a :class:`dmasim.ip.HlsControl`: the helper implements the ap_ctrl_hs block
protocol (AP_CTRL at 0x00, GIE, IER, ISR, interrupt) and takes one packet per start, and this
class adds only what is the FIR's own: the 16 taps at ``0x10 + 8*i`` and the arithmetic,
which is :func:`fir_reference` (the same function the RTL testbench checks ``fir.v`` against).

    open_target("model", design=fir_design(), models={"fir_0": Fir()})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from dmasim.ip import HlsControl

from .fir_reference import TAPS, fir_reference, signed_taps

__all__ = ["COEF_BASE", "COEF_STRIDE", "Fir", "TAPS", "coef_offset", "fir_reference"]

COEF_BASE = 0x10
"""Offset of tap 0 (the first HLS argument)."""
COEF_STRIDE = 8
"""Bytes between taps (HLS gives each 32-bit argument 8 bytes)."""
WINDOW_END = 0x100
"""The RTL decodes 8 address bits: its register map repeats every 256 bytes of the window."""


def coef_offset(i: int) -> int:
    """Register offset of tap ``i`` (0..15)."""
    if not 0 <= i < TAPS:
        raise ValueError(f"tap index {i} out of range 0..{TAPS - 1}")
    return COEF_BASE + COEF_STRIDE * i


def _tap_index(offset: int) -> int | None:
    """The tap at ``offset``, or None if ``offset`` is not a tap register."""
    i, rem = divmod(offset - COEF_BASE, COEF_STRIDE)
    return i if offset >= COEF_BASE and rem == 0 and i < TAPS else None


class Fir(HlsControl):
    """16-tap FIR on 32-bit words: y[n] = sum c[k] x[n-k] mod 2**32, zero history per packet.

    Registers beyond the HLS control block (0x00..0x0C): tap ``i`` at ``0x10 + 8*i`` holds a
    signed 16-bit value in bits [15:0] (a read returns those 16 bits, upper bits 0); every
    other offset from 0x10 reads 0 and ignores writes, as in ``fir.v``. Full throughput; the
    RTL's pipeline is two clocks deep.
    """

    throughput = 1.0
    latency_cycles = 2
    streams: ClassVar[Mapping[str, Literal["in", "out"]] | None] = {
        "S_AXIS": "in", "M_AXIS": "out"}

    def __init__(self) -> None:
        # before super().__init__(), which may reset() and so touch the taps
        self.taps = np.zeros(TAPS, dtype=np.uint16)
        super().__init__()

    @property
    def coeffs(self) -> npt.NDArray[np.int64]:
        """The taps as signed integers."""
        return signed_taps(self.taps)

    def reset(self) -> None:
        """Power-on reset: the control block's, and every tap 0 (as the RTL's reset does)."""
        super().reset()
        self.taps[:] = 0

    def read(self, offset: int) -> int:
        """A tap, a hole (0) or the HLS control block (the map repeats every 256 bytes)."""
        offset %= WINDOW_END
        i = _tap_index(offset)
        if i is not None:
            return int(self.taps[i])
        if offset >= COEF_BASE:
            return 0
        return int(super().read(offset))

    def write(self, offset: int, value: int) -> None:
        """A tap keeps the low 16 bits of ``value``; holes ignore writes."""
        offset %= WINDOW_END
        i = _tap_index(offset)
        if i is not None:
            self.taps[i] = value & 0xFFFF
        elif offset < COEF_BASE:
            super().write(offset, value)

    def process(self, port: str, data: np.ndarray) -> dict[str, np.ndarray]:
        """One packet from ``S_AXIS`` -> its filtered words on ``M_AXIS``."""
        if port != "S_AXIS":
            raise ValueError(f"the FIR has one input stream, S_AXIS; got a packet on {port!r}")
        return {"M_AXIS": fir_reference(self.taps, data)}
