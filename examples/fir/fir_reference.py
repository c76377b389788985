"""The FIR's arithmetic as one numpy function: the golden reference of the RTL and the model.

It depends on numpy only, so the RTL's own testbench (``examples/fir/tests``) and the model
(``fir_model.Fir``) use the very same definition.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_TAPS", "TAPS", "fir_reference", "signed_taps"]

TAPS = 16
"""Number of taps of the example FIR (``hdl/fir.v``)."""
MAX_TAPS = 1 << 15
"""Most taps :func:`fir_reference` sums exactly in int64."""


def signed_taps(coeffs: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The taps as signed 16-bit values: the low 16 bits of each, two's complement.

    So a register value ``0xFFFF`` and ``-1`` mean the same tap, as in the RTL.
    """
    c = np.asarray(coeffs)
    if c.ndim != 1 or c.size == 0 or not np.issubdtype(c.dtype, np.integer):
        raise ValueError(
            f"coeffs must be a non-empty 1-D sequence of integers, got shape {c.shape} "
            f"dtype {c.dtype}"
        )
    c64 = c.astype(np.int64) & 0xFFFF
    return c64 - ((c64 & 0x8000) << 1)


def fir_reference(coeffs: npt.ArrayLike, x: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """``y[n] = sum_k c[k] * x[n-k]`` over one packet, wrapped to 32 bits.

    Args:
        coeffs: the taps ``c[0..K-1]``; each is taken as a signed 16-bit value
            (see :func:`signed_taps`).
        x: the packet's samples, signed 32-bit (any integer dtype; only the low 32 bits
            count, and since the result is taken modulo 2**32 reading them as unsigned
            gives the same words).

    Returns:
        One ``uint32`` word per input word: the exact sum modulo 2**32 (two's-complement
        wrap-around, no saturation), with zero history before the packet's first sample.
        View it as ``int32`` for the signed values.

    """
    c = signed_taps(coeffs)
    if c.size > MAX_TAPS:
        raise ValueError(f"at most {MAX_TAPS} taps (int64 sums), got {c.size}")
    xs = np.asarray(x)
    if xs.ndim != 1 or not np.issubdtype(xs.dtype, np.integer):
        raise ValueError(
            f"x must be a 1-D sequence of integers, got shape {xs.shape} dtype {xs.dtype}"
        )
    if xs.size == 0:
        return np.zeros(0, dtype=np.uint32)
    # |x| < 2**32, |c| <= 2**15: each product < 2**47, a sum of <= 2**15 of them fits int64
    x64 = xs.astype(np.int64) & 0xFFFF_FFFF
    y = np.convolve(x64, c)[: xs.size]
    return (y & 0xFFFF_FFFF).astype(np.uint32)
