"""Figures for the rtl target: build and start times, register ops/s, DMA throughput.

``python -m dmasim.rtl.bench [--cold]`` prints one line per figure. ``--cold`` builds into
an empty temporary cache first, to time a cold build. Figures, not pass/fail: the machines
are shared and noisy, so each is the best of a few runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from ..target import Target, open_target

__all__ = ["main", "reg_ops_per_s", "loopback_mb_per_s", "sg_loopback_mb_per_s"]


def reg_ops_per_s(t: Target, n: int = 5000, repeat: int = 3) -> dict[str, float]:
    """Register reads/s, writes/s and alternating write+read/s through ``t.mmio``."""
    regs = t.ip_mmio()
    best = {"read": 0.0, "write": 0.0, "mixed": 0.0}
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            regs.read(0x04)
        best["read"] = max(best["read"], n / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for i in range(n):
            regs.write(0x18, i)
        best["write"] = max(best["write"], n / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for i in range(n // 2):
            regs.write(0x18, i)
            regs.read(0x18)
        best["mixed"] = max(best["mixed"], n / (time.perf_counter() - t0))
    return best


def loopback_mb_per_s(t: Target, nbytes: int = 256 << 10, repeat: int = 3) -> tuple[float,
                                                                                     float]:
    """(MB of payload per wall second, wall seconds) of the best of ``repeat`` loopbacks."""
    n = nbytes // 4
    a = t.allocate(shape=(n,), dtype="u4")
    b = t.allocate(shape=(n,), dtype="u4")
    a[:] = np.arange(n, dtype=np.uint32) * 2654435761
    dma = t.axi_dma_0
    best = float("inf")
    for _ in range(repeat):
        b[:] = 0
        t0 = time.perf_counter()
        dma.recvchannel.transfer(b)
        dma.sendchannel.transfer(a)
        dma.sendchannel.wait(timeout=30.0)
        dma.recvchannel.wait(timeout=30.0)
        best = min(best, time.perf_counter() - t0)
        if not np.array_equal(a, b):
            raise AssertionError("loopback data differs")
    a.freebuffer()
    b.freebuffer()
    return nbytes / best / 1e6, best


def sg_loopback_mb_per_s(t: Target, nbytes: int = 256 << 10, bd_bytes: int = 16 << 10,
                         repeat: int = 3) -> tuple[float, float, int]:
    """(MB/s of payload, wall seconds, simulated ns): best of ``repeat`` SG loopbacks.

    ``nbytes`` move in BDs of ``bd_bytes``, programmed at register level. ``t`` is a target
    whose DMA has ``c_include_sg=1``. Each run builds both BD chains (STATUS cleared), starts
    S2MM then MM2S (CURDESC, RS, TAILDESC) and polls S2MM's Idle.
    """
    from .. import regmap as rm
    from ..drivers.registers import wait_idle

    n = nbytes // 4
    nbd = -(-nbytes // bd_bytes)
    a = t.allocate(shape=(n,), dtype="u4")
    b = t.allocate(shape=(n,), dtype="u4")
    bds = {ch.name: t.allocate(shape=(nbd, rm.BD_SIZE // 4), dtype="u4") for ch in rm.CHANNELS}
    a[:] = np.arange(n, dtype=np.uint32) * 2654435761
    regs = t.ip_mmio()
    best, best_ns = float("inf"), 0
    for _ in range(repeat):
        b[:] = 0
        t0 = time.perf_counter()
        ns0 = t.now_ns
        for ch, buf in ((rm.S2MM, b), (rm.MM2S, a)):
            ring = bds[ch.name]
            for i in range(nbd):
                size = min(bd_bytes, nbytes - i * bd_bytes)
                ring[i, :] = 0
                ring[i, rm.BD.NXTDESC // 4] = ring.physical_address + (i + 1) % nbd * rm.BD_SIZE
                ring[i, rm.BD.BUFFER_ADDRESS // 4] = buf.physical_address + i * bd_bytes
                ring[i, rm.BD.CONTROL // 4] = size | (
                    (rm.BD_TXSOF if i == 0 else 0) | (rm.BD_TXEOF if i == nbd - 1 else 0)
                    if ch is rm.MM2S else 0)
            regs.write(ch.CURDESC, ring.physical_address)
            regs.write(ch.DMACR, rm.DMACR_RS)
            regs.write(ch.TAILDESC, ring.physical_address + (nbd - 1) * rm.BD_SIZE)
        # the drivers' wait: sleep for the bytes at 500 MB/s, then poll with back-off
        sr = wait_idle(regs, rm.S2MM, t, 1_000_000_000, nbytes, ns0)
        if sr is None or not sr & rm.DMASR_IDLE:
            raise AssertionError(f"SG loopback did not finish: S2MM DMASR "
                                 f"{regs.read(rm.S2MM.DMASR):#010x}")
        sec = time.perf_counter() - t0
        if sec < best:
            best, best_ns = sec, t.now_ns - ns0
        for ch in rm.CHANNELS:
            regs.write(ch.DMACR, 0)
        if not np.array_equal(a, b):
            raise AssertionError("SG loopback data differs")
    for buf in (a, b, *bds.values()):
        buf.freebuffer()
    return nbytes / best / 1e6, best, best_ns


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
    sg_figures(mb)
    return 0


def sg_figures(simple_mb: float | None = None) -> None:
    """Print the scatter-gather loopback figures (``c_include_sg=1``), against simple mode."""
    t = open_target("rtl", parameters={"c_include_sg": 1})
    try:
        for bd_bytes in (256 << 10, 16 << 10, 4 << 10):
            mb, sec, ns = sg_loopback_mb_per_s(t, bd_bytes=bd_bytes)
            rel = f", {mb / simple_mb:.0%} of simple mode" if simple_mb else ""
            print(f"256 KiB SG loopback, {bd_bytes >> 10} KiB BDs: {mb:.2f} MB/s of payload "
                  f"({sec * 1e3:.0f} ms; simulated {ns / 1e3:.0f} us, "
                  f"{(256 << 10) / ns * 1e3:.0f} MB/s simulated{rel})")
    finally:
        t.close()


if __name__ == "__main__":
    sys.exit(main())
