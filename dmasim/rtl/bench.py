"""Figures for the rtl target: build and start times, register ops/s, DMA throughput.

``python -m dmasim.rtl.bench [--cold]`` prints one line per figure. ``--cold`` builds into
an empty temporary cache first, to time a cold build. Figures, not pass/fail: the machines
are shared and noisy, so each is the best of a few runs.

:func:`limit_figures` measures the simulator's limit: the same Verilated design clocked by a
bare C++ loop with a loopback streaming and no host commands (``dmasim_sim_top --bare``), in
clocks per second. :func:`goal_figures` sets the target's bulk loopback and register rate
against it and against the register goal; ``dmasim bench --target rtl`` prints both.
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

__all__ = ["REG_OPS_GOAL", "goal_figures", "limit_figures", "loopback_mb_per_s", "main",
           "reg_ops_per_s", "sg_loopback_mb_per_s"]

REG_OPS_GOAL = 250_000
"""Register operations per second the rtl target aims at."""
BULK_GOAL = 0.5
"""Bulk loopback payload as a share of the limit (at the bus width's bytes a clock)."""


def reg_ops_per_s(t: Target, n: int = 2000, repeat: int = 7) -> dict[str, float]:
    """Register reads/s, writes/s and alternating write+read/s through ``t.ip_mmio()``.

    Each the best of ``repeat`` runs of ``n`` operations (see :func:`goal_figures`).
    """
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


def limit_figures(t: Target, nbytes: int = 1 << 20, seconds: float = 1.0,
                  repeat: int = 3) -> dict[str, float]:
    """The simulator's limit for ``t``'s build: ``dmasim_sim_top --bare`` (see its header).

    Clocks per second of a loopback of ``nbytes`` streaming for about ``seconds`` of wall time,
    counted from the MM2S LENGTH write until both channels are Idle, and register reads per
    second with no host (each ``t.bus_access_ns`` after the one before, as the target's); the
    best of ``repeat`` runs, as every figure here (the machine is shared: a run that lost the
    CPU says nothing about the simulator).
    """
    from ..errors import TargetError
    from .target import RtlTarget

    if not isinstance(t, RtlTarget):
        raise TargetError(f"the simulator's limit needs the rtl target, not {t.name!r}")
    access_clocks = -(-t.bus_access_ns // t.clock_ns)
    cmd = [str(t.build.binary), "--bare", hex(t._base), str(nbytes), str(seconds),
           str(access_clocks)]
    runs = []
    for _ in range(max(1, repeat)):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True,
                                 timeout=60 + 20 * seconds, check=True).stdout.split()
        except (OSError, subprocess.SubprocessError) as exc:
            raise TargetError(f"{' '.join(cmd)} failed: {exc}") from None
        runs.append({k: float(v) for k, v in zip(out[::2], out[1::2], strict=False)})
    best = max(runs, key=lambda r: r["clocks_per_s"])
    reads = max(runs, key=lambda r: r["reads_per_s"])
    return {"limit_clocks_per_s": best["clocks_per_s"],
            "limit_bytes_per_clock": best["bytes_per_clock"],
            "limit_reads_per_s": reads["reads_per_s"],
            "limit_clocks_per_read": reads["clocks_per_read"],
            "limit_skipped_per_read": reads["skipped_per_read"]}


def goal_figures(t: Target, bulk_mb_per_s: float, reg_reads_per_s: float,
                 quick: bool = False) -> dict[str, float]:
    """Issue 11's rtl goals, measured now: the limit, and the target's figures against it.

    ``bulk_mb_per_s`` and ``reg_reads_per_s`` are the target's own figures (a driver level's
    1 MiB loopback and register reads), measured in the same run so machine noise weighs on
    both sides alike.
    """
    out = limit_figures(t, seconds=0.5 if quick else 1.0)
    beat = t.generated.data_width // 8 if hasattr(t, "generated") else 4
    out["beat_bytes"] = beat
    out["limit_mb_per_s"] = out["limit_clocks_per_s"] * beat / 1e6
    out["bulk_mb_per_s"] = bulk_mb_per_s
    out["bulk_vs_limit"] = bulk_mb_per_s / out["limit_mb_per_s"]
    # Best of several short runs (~7 ms each): on a shared machine a longer run seldom escapes
    # the moments when another process holds the host's or the simulator's CPU, and then both
    # sleep on the mailbox instead of polling it (about 13 us a command, not 3.5 us).
    n, repeat = (1000, 3) if quick else (2000, 7)
    ops = reg_ops_per_s(t, n=n, repeat=repeat)
    out.update({f"reg_{k}_per_s": v for k, v in ops.items()})
    out["reg_reads_per_s"] = max(reg_reads_per_s, ops["read"])
    out["reg_reads_vs_goal"] = out["reg_reads_per_s"] / REG_OPS_GOAL
    out["reg_writes_vs_goal"] = ops["write"] / REG_OPS_GOAL
    out["reg_reads_vs_limit"] = out["reg_reads_per_s"] / out["limit_reads_per_s"]
    # Each access also clocks the design for the bus access time (default 200 ns: 20 clocks,
    # several us of simulation); with a one-clock access the figure is the command path's.
    bus = t.bus_access_ns  # type: ignore[attr-defined]
    out["bus_access_ns"] = bus
    t.bus_access_ns = t.clock_ns  # type: ignore[attr-defined]
    try:
        fast = reg_ops_per_s(t, n=n, repeat=repeat)
    finally:
        t.bus_access_ns = bus  # type: ignore[attr-defined]
    out["fast_bus_ns"] = t.clock_ns  # type: ignore[attr-defined]
    out["reg_reads_fast_bus_per_s"] = fast["read"]
    out["reg_writes_fast_bus_per_s"] = fast["write"]
    out["reg_reads_fast_bus_vs_goal"] = fast["read"] / REG_OPS_GOAL
    return out


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
        bus_ns = t.bus_access_ns  # type: ignore[attr-defined]
        print("register ops/s: " + ", ".join(f"{k} {v:,.0f}" for k, v in ops.items())
              + f" ({ops['read'] / REG_OPS_GOAL:.0%} / {ops['write'] / REG_OPS_GOAL:.0%} of "
              f"the goal of {REG_OPS_GOAL:,}/s; {bus_ns} ns a bus access)")
        mb, sec = loopback_mb_per_s(t, 32 * 4)
        print(f"32-word loopback: {sec * 1e3:.2f} ms")
        mb, sec = loopback_mb_per_s(t)
        print(f"256 KiB loopback: {mb:.2f} MB/s of payload ({sec * 1e3:.0f} ms)")
        lim = limit_figures(t)
        print(f"limit (bare C++ loop, loopback streaming): {lim['limit_clocks_per_s']:,.0f} "
              f"clocks/s; the 256 KiB loopback above runs at "
              f"{mb * 1e6 / 4 / lim['limit_clocks_per_s']:.0%} of it")
        print(f"limit (bare C++ loop, register reads, no host): "
              f"{lim['limit_reads_per_s']:,.0f}/s at {lim['limit_clocks_per_read']:.0f} clocks "
              f"a read ({lim['limit_skipped_per_read']:.0f} skipped as idle); the reads above "
              f"run at {ops['read'] / lim['limit_reads_per_s']:.0%} of it")
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
