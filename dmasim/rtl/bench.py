"""Figures for the rtl target: build and start times, register ops/s, DMA throughput.

``python -m dmasim.rtl.bench [--cold]`` prints one line per figure. ``--cold`` builds into
an empty temporary cache first, to time a cold build. Figures, not pass/fail: the machines
are shared and noisy, so each is the best of a few runs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from ..bench import best_of
from ..target import Target, open_target

__all__ = ["main", "reg_ops_per_s", "loopback_mb_per_s"]


def reg_ops_per_s(t: Target, n: int = 5000, repeat: int = 3) -> dict[str, float]:
    """Register reads/s, writes/s and alternating write+read/s through ``t.mmio``."""
    regs = t.ip_mmio()
    values = itertools.count()

    def mixed() -> None:
        regs.write(0x18, next(values) & 0xFFFF_FFFF)
        regs.read(0x18)

    return {
        "read": 1.0 / best_of(lambda: regs.read(0x04), repeat, n),
        "write": 1.0 / best_of(lambda: regs.write(0x18, next(values) & 0xFFFF_FFFF), repeat, n),
        "mixed": 2.0 / best_of(mixed, repeat, n // 2),  # a write and a read per call
    }


def loopback_mb_per_s(t: Target, nbytes: int = 256 << 10, repeat: int = 3) -> tuple[float,
                                                                                     float]:
    """(MB of payload per wall second, wall seconds) of the best of ``repeat`` loopbacks."""
    n = nbytes // 4
    a = t.allocate(shape=(n,), dtype="u4")
    b = t.allocate(shape=(n,), dtype="u4")
    a[:] = np.arange(n, dtype=np.uint32) * 2654435761
    dma = t.axi_dma_0

    def loopback() -> None:
        dma.recvchannel.transfer(b)
        dma.sendchannel.transfer(a)
        dma.sendchannel.wait(timeout=30.0)
        dma.recvchannel.wait(timeout=30.0)

    def clear() -> None:
        b[:] = 0

    best = best_of(loopback, repeat, setup=clear)
    if not np.array_equal(a, b):
        raise AssertionError("loopback data differs")
    a.freebuffer()
    b.freebuffer()
    return nbytes / best / 1e6, best


def _time_cold_build() -> float:
    from ..design import Design
    from .build import ensure_build
    from .generate import generate

    old = os.environ.get("DMASIM_CACHE")
    with tempfile.TemporaryDirectory(prefix="dmasim-cold-") as tmp:
        os.environ["DMASIM_CACHE"] = tmp
        try:
            t0 = time.perf_counter()
            ensure_build(generate(Design.loopback(), {}))
            return time.perf_counter() - t0
        finally:
            if old is None:
                os.environ.pop("DMASIM_CACHE", None)
            else:
                os.environ["DMASIM_CACHE"] = old


def _time_warm_start() -> float:
    """Seconds for a fresh Python process to import dmasim and open the rtl target."""
    code = ("import time; t0 = time.perf_counter(); import dmasim; "
            "t = dmasim.open_target('rtl'); print(time.perf_counter() - t0); t.close()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, check=True)
    return float(out.stdout.split()[-1])


def main(argv: list[str] | None = None) -> int:
    """Print the rtl target's figures."""
    ap = argparse.ArgumentParser(prog="python -m dmasim.rtl.bench", description=__doc__)
    ap.add_argument("--cold", action="store_true", help="also time a build into an empty cache")
    args = ap.parse_args(argv)
    if args.cold:
        print(f"cold build: {_time_cold_build():.1f} s")
    t = open_target("rtl")  # builds into the cache if needed, so the next start is warm
    try:
        print(f"warm start (new process, import + open): "
              f"{min(_time_warm_start() for _ in range(3)):.2f} s")
        ops = reg_ops_per_s(t)
        print("register ops/s: " + ", ".join(f"{k} {v:,.0f}" for k, v in ops.items()))
        mb, sec = loopback_mb_per_s(t, 32 * 4)
        print(f"32-word loopback: {sec * 1e3:.2f} ms")
        mb, sec = loopback_mb_per_s(t)
        print(f"256 KiB loopback: {mb:.2f} MB/s of payload ({sec * 1e3:.0f} ms)")
    finally:
        t.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
