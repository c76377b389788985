"""Benchmarks behind ``dmasim bench``: figures, not pass/fail (these machines are noisy).

Every ratio is measured within one run so that machine noise affects both sides alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .drivers import LEVELS
from .errors import DmasimError
from .target import Target

__all__ = ["LevelFigures", "best_of", "level_figures", "model_figures"]


def best_of(fn: Callable[[], Any], repeat: int = 5, number: int = 1) -> float:
    """Seconds per call of ``fn``: the best of ``repeat`` runs of ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def _loopback(dma: Any, a: Any, b: Any, timeout: float = 10.0) -> None:
    dma.recvchannel.transfer(b)
    dma.sendchannel.transfer(a)
    dma.sendchannel.wait(timeout=timeout)
    dma.recvchannel.wait(timeout=timeout)


@dataclass
class LevelFigures:
    """One driver level on one target."""

    target: str
    level: str
    loopback_32w_us: float | None = None
    reg_reads_per_s: float | None = None
    big_bytes: int = 0
    big_mb_per_s: float | None = None
    error: str = ""


def level_figures(t: Target, level: str, big: int = 1 << 20, quick: bool = False) -> LevelFigures:
    """32-word loopback time, register reads/s and bulk throughput of ``level`` on ``t``."""
    out = LevelFigures(t.name, level)
    try:
        dma = t.driver(level)
    except DmasimError as exc:
        out.error = str(exc).splitlines()[0]
        return out
    t.reset()
    a = t.allocate(32, "u4")
    b = t.allocate(32, "u4")
    a[:] = np.arange(32)
    n_small = 20 if quick or t.name != "model" else 1000
    out.loopback_32w_us = best_of(lambda: _loopback(dma, a, b), repeat=5, number=n_small) * 1e6
    if not np.array_equal(a, b):
        out.error = "32-word loopback data mismatch"
    reads = 200 if quick or t.name != "model" else 20_000
    read = dma.read
    offset = 0x04
    out.reg_reads_per_s = 1.0 / best_of(lambda: read(offset), repeat=3, number=reads)
    size = min(big, dma.sendchannel.max_size & ~3)
    out.big_bytes = size
    src = t.allocate(size, "u1")
    dst = t.allocate(size, "u1")
    src[:] = np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8)
    secs = best_of(lambda: _loopback(dma, src, dst, timeout=60.0), repeat=1 if quick else 3)
    out.big_mb_per_s = size / secs / 1e6
    if not np.array_equal(src, dst):
        out.error = "bulk loopback data mismatch"
    for buf in (a, b, src, dst):
        buf.freebuffer()
    return out


def model_figures(quick: bool = False) -> dict[str, float]:
    """The core issue's model goals: reads/s vs a bare call, 32 words, 1 MiB vs np.copyto."""
    from .target import open_target

    class _Bare:
        def read(self, offset: int) -> int:
            return offset

    out: dict[str, float] = {}
    n = 20_000 if quick else 200_000
    with open_target("model") as t:
        ip = t.ip_dict["axi_dma_0"]
        regs = t.mmio(ip["phys_addr"], ip["addr_range"])
        bare = _Bare()
        out["model_reads_per_s"] = 1.0 / best_of(lambda: regs.read(4), number=n)
        out["bare_calls_per_s"] = 1.0 / best_of(lambda: bare.read(4), number=n)
        out["read_cost_vs_bare_call"] = out["bare_calls_per_s"] / out["model_reads_per_s"]
        dma = t.driver("python")
        a = t.allocate(32, "u4")
        b = t.allocate(32, "u4")
        out["loopback_32w_python_us"] = best_of(
            lambda: _loopback(dma, a, b), number=200 if quick else 2000) * 1e6
        size = 1 << 20
        src = t.allocate(size, "u1")
        dst = t.allocate(size, "u1")
        src[:] = np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8)
        plain_src = np.array(src)
        plain_dst = np.empty_like(plain_src)
        np.copyto(plain_dst, plain_src)  # fault the pages in before timing
        _loopback(dma, src, dst)
        out["loopback_1mib_us"] = best_of(lambda: _loopback(dma, src, dst)) * 1e6
        out["copyto_1mib_us"] = best_of(lambda: np.copyto(plain_dst, plain_src)) * 1e6
        out["loopback_1mib_vs_copyto"] = out["loopback_1mib_us"] / out["copyto_1mib_us"]
    return out


def all_levels(t: Target, quick: bool = False) -> list[LevelFigures]:
    """:func:`level_figures` for every level, in the notebook's order."""
    return [level_figures(t, level, quick=quick) for level in LEVELS]


def as_dict(figures: list[LevelFigures]) -> list[dict[str, Any]]:
    """JSON-ready rows."""
    return [asdict(f) for f in figures]
