"""Figures for a design with user RTL on the rtl target: cold build, payload through the IP.

``python tests/rtl/bench_user_ip.py [--cold]`` prints one line per figure (the best of a few
runs; machines are shared and noisy, so these are figures, not pass/fail). The design is the
tests' ``axi_dma_0 -> adder_0 (SystemVerilog) -> axi_dma_0``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rtl_designs import adder_design, adder_rtl

import dmasim


def cold_build_s() -> float:
    """Seconds to build the adder design into an empty cache."""
    from dmasim.rtl.build import ensure_build
    from dmasim.rtl.generate import generate

    old = os.environ.get("DMASIM_CACHE")
    with tempfile.TemporaryDirectory(prefix="dmasim-cold-") as tmp:
        os.environ["DMASIM_CACHE"] = tmp
        try:
            t0 = time.perf_counter()
            ensure_build(generate(adder_design(), {"adder_0": adder_rtl()}), (adder_rtl(),))
            return time.perf_counter() - t0
        finally:
            if old is None:
                os.environ.pop("DMASIM_CACHE", None)
            else:
                os.environ["DMASIM_CACHE"] = old


def payload_mb_per_s(t: dmasim.Target, nbytes: int, repeat: int = 3) -> float:
    """MB of payload per wall second through the IP (best of ``repeat``), checked."""
    n = nbytes // 4
    a = t.allocate(shape=(n,), dtype="u4")
    b = t.allocate(shape=(n,), dtype="u4")
    a[:] = np.arange(n, dtype=np.uint32) * 2654435761
    t.ip_mmio("adder_0").write(0x10, 5)
    dma = t.axi_dma_0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        dma.recvchannel.transfer(b)
        dma.sendchannel.transfer(a)
        dma.sendchannel.wait(timeout=60.0)
        dma.recvchannel.wait(timeout=60.0)
        best = min(best, time.perf_counter() - t0)
        if not np.array_equal(b, a + np.uint32(5)):
            raise AssertionError("payload through the IP differs")
    return nbytes / best / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cold", action="store_true", help="also time a build into an empty cache")
    args = ap.parse_args()
    if args.cold:
        print(f"cold build of the user-IP design: {cold_build_s():.1f} s")
    with dmasim.open_target("rtl", design=adder_design(), rtl={"adder_0": adder_rtl()}) as t:
        for nbytes in (256 << 10, 1 << 20):
            print(f"{nbytes >> 10} KiB through the user IP: "
                  f"{payload_mb_per_s(t, nbytes):.2f} MB/s of payload")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
