"""Figures for the FIR design (printed, not asserted: these machines are noisy).

    python -m examples.fir.bench_fir            # model: 1 MiB through the FIR vs np.convolve
    python -m examples.fir.bench_fir --rtl      # also: rtl cold build, payload MB/s

- model: seconds to move 1 MiB MM2S -> ``Fir`` -> S2MM on the model target, against
  ``np.convolve`` of the same words, and their ratio (goal: at most 20).
- rtl: a cold build of the FIR design into an empty cache (goal: at most 60 s) and the
  payload rate of one transfer through ``fir.v`` (goal: at least 2 MB/s).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

import numpy as np

from dmasim import open_target
from dmasim.bench import best_of
from dmasim.target import Target
from examples.fir.design import fir_design, fir_rtl
from examples.fir.fir_model import Fir, coef_offset
from examples.fir.fir_reference import TAPS, fir_reference, signed_taps

COEFFS = [(-1) ** i * (100 * i + 1) for i in range(TAPS)]


def _through_fir(t: Target, src: Any, dst: Any) -> None:
    regs = t.ip_mmio("fir_0")
    regs.write(0x00, 0x01)
    dma = t.dma("axi_dma_0")
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait(timeout=60.0)
    dma.recvchannel.wait(timeout=60.0)


def _prepare(t: Target, nbytes: int) -> tuple[Any, Any, np.ndarray]:
    regs = t.ip_mmio("fir_0")
    for i, c in enumerate(COEFFS):
        regs.write(coef_offset(i), c & 0xFFFF)
    x = np.random.default_rng(0).integers(0, 2**32, nbytes // 4, dtype=np.uint32)
    src = t.allocate(shape=(x.size,), dtype="u4")
    dst = t.allocate(shape=(x.size,), dtype="u4")
    src[:] = x
    return src, dst, x


def model_figures(nbytes: int = 1 << 20) -> dict[str, float]:
    """Model-target seconds for ``nbytes`` through the FIR, np.convolve's, and the ratio."""
    with open_target("model", design=fir_design(), models={"fir_0": Fir()}) as t:
        src, dst, x = _prepare(t, nbytes)
        model_s = best_of(lambda: _through_fir(t, src, dst), repeat=3)
        if not np.array_equal(np.asarray(dst), fir_reference(COEFFS, x)):
            raise AssertionError("the model's output differs from fir_reference")
    c = signed_taps(COEFFS)
    x64 = x.astype(np.int64)
    numpy_s = best_of(lambda: np.convolve(x64, c)[: x.size], repeat=5)
    return {"model_s": model_s, "np_convolve_s": numpy_s, "ratio": model_s / numpy_s}


def rtl_figures(nbytes: int = 1 << 16) -> dict[str, float]:
    """Cold build seconds of the FIR design (empty cache) and payload MB/s through fir.v."""
    old = os.environ.get("DMASIM_CACHE")
    with tempfile.TemporaryDirectory(prefix="dmasim-bench-cache-") as cache:
        os.environ["DMASIM_CACHE"] = cache
        try:
            t0 = time.perf_counter()
            t = open_target("rtl", design=fir_design(), rtl={"fir_0": fir_rtl()})
            build_s = time.perf_counter() - t0
        finally:
            if old is None:
                os.environ.pop("DMASIM_CACHE", None)
            else:
                os.environ["DMASIM_CACHE"] = old
        with t:
            src, dst, x = _prepare(t, nbytes)
            secs = best_of(lambda: _through_fir(t, src, dst), repeat=3)
            if not np.array_equal(np.asarray(dst), fir_reference(COEFFS, x)):
                raise AssertionError("the RTL's output differs from fir_reference")
    return {"cold_build_s": build_s, "payload_mb_per_s": nbytes / secs / 1e6}


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser(description="Figures for the FIR design.")
    ap.add_argument("--rtl", action="store_true", help="also build and time the rtl target")
    args = ap.parse_args()
    m = model_figures()
    print(f"model: 1 MiB through the FIR {m['model_s'] * 1e3:.1f} ms, np.convolve "
          f"{m['np_convolve_s'] * 1e3:.1f} ms: {m['ratio']:.1f}x (goal <= 20x)")
    if args.rtl:
        r = rtl_figures()
        print(f"rtl: cold build {r['cold_build_s']:.1f} s (goal <= 60 s), payload "
              f"{r['payload_mb_per_s']:.2f} MB/s through fir.v (goal >= 2 MB/s)")


if __name__ == "__main__":
    main()
