"""Register-access microbenchmark over a file-backed mapping (``dmasim bench`` uses it).

A temporary sparse file stands in for ``/dev/mem``: the C core maps it exactly as it maps
``/dev/mem`` on the board (page-aligned, ``O_RDWR | O_SYNC``), and the Python level reads it
through :class:`dmasim.board.devmem.DevMem` (an ``mmap`` + ``memoryview.cast("I")``), so the
figures compare the register paths, not the hardware. For each binding two numbers:

- ``loop_per_s``: reads per second of a tight loop of ``loop_reads`` reads done inside C
  (:c:func:`dmasim_read_loop`), which is how the core polls;
- ``call_per_s``: reads per second when each read is one call from Python through the binding
  (``Device.read``), Python loop overhead included, as for the Python level.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ... import regmap
from ...design import DMA_BASE

__all__ = ["BenchResult", "RegisterBench", "bench_registers", "make_devmem_file"]

LENGTH = regmap.ADDR_RANGE
PROBE = regmap.S2MM.DMASR
"""The register read in the loops (any offset in the window does; this one is polled most)."""


@dataclass
class BenchResult:
    """Reads per second of one register path (``loop_per_s`` is 0 where there is no C loop)."""

    level: str
    call_per_s: float
    loop_per_s: float = 0.0
    note: str = ""

    @property
    def call_ns(self) -> float:
        """Cost of one read called from Python, in ns."""
        return 1e9 / self.call_per_s if self.call_per_s else float("inf")


@dataclass
class RegisterBench:
    """All levels' results over the same file, and the speed-ups over the Python level."""

    results: dict[str, BenchResult] = field(default_factory=dict)

    def speedup(self, level: str, kind: str = "loop") -> float:
        """Accesses/s of ``level`` (its C loop, or ``kind="call"``) over the Python level's."""
        py = self.results["python"].call_per_s
        r = self.results[level]
        return (r.loop_per_s if kind == "loop" else r.call_per_s) / py

    def format(self) -> str:
        """A small table, one level a line."""
        lines = [f"{'level':<9} {'C loop reads/s':>15} {'per-call reads/s':>17} {'ns/call':>8}"]
        for r in self.results.values():
            loop = f"{r.loop_per_s:15,.0f}" if r.loop_per_s else f"{'-':>15}"
            lines.append(f"{r.level:<9} {loop} {r.call_per_s:17,.0f} {r.call_ns:8.0f}"
                         + (f"  ({r.note})" if r.note else ""))
        for level in ("pybind11", "cffi"):
            if level in self.results and "python" in self.results:
                lines.append(f"{level}: C loop {self.speedup(level):,.0f}x, per call "
                             f"{self.speedup(level, 'call'):.1f}x the python level")
        return "\n".join(lines)


def make_devmem_file(path: str, phys_base: int = DMA_BASE, length: int = LENGTH) -> str:
    """Create a sparse file long enough to stand in for ``/dev/mem`` at ``phys_base``."""
    with open(path, "wb") as f:
        f.truncate(phys_base + length)
    return path


def _rate(fn: Callable[[], None], count: int, repeats: int) -> float:
    """Best operations/s over ``repeats`` runs of ``fn`` doing ``count`` operations."""
    from ...bench import best_of

    best = best_of(fn, repeats)
    return count / best if best > 0 else float("inf")


def _call_loop(read: Callable[[int], int], calls: int) -> Callable[[], None]:
    def run() -> None:
        off = PROBE
        for _ in range(calls):
            read(off)
    return run


def python_reader(path: str, phys_base: int, length: int) -> tuple[Callable[[int], int],
                                                                   Callable[[], None], str]:
    """The Python level's read over the file: ``DevMem.read``, else mmap + memoryview."""
    try:
        devmem: Any = importlib.import_module("dmasim.board.devmem")
    except ImportError:
        devmem = None
    if devmem is not None:
        mem = devmem.DevMem(phys_base, length, path)
        return mem.read, mem.close, "dmasim.board.devmem.DevMem"
    import mmap

    page = mmap.PAGESIZE
    map_base = phys_base & ~(page - 1)
    delta = phys_base - map_base
    fd = os.open(path, os.O_RDWR | os.O_SYNC)
    try:
        m = mmap.mmap(fd, -(-(delta + length) // page) * page, offset=map_base)
    finally:
        os.close(fd)
    words = memoryview(m)[delta:delta + length].cast("I")

    def read(off: int) -> int:
        return int(words[off >> 2])

    def close() -> None:
        words.release()
        m.close()

    return read, close, "mmap + memoryview.cast('I') (no DevMem)"


def bench_registers(
    loop_reads: int = 10_000_000,
    calls: int = 200_000,
    repeats: int = 3,
    path: str | None = None,
    phys_base: int = DMA_BASE,
    levels: tuple[str, ...] = ("python", "pybind11", "cffi"),
) -> RegisterBench:
    """Measure register reads/s of each level over a file-backed mapping.

    ``path``: an existing file to map (long enough for ``phys_base + 64 KiB``); by default a
    temporary sparse file is created and removed. Levels whose binding is not built raise
    :class:`~dmasim.errors.DriverUnavailableError`.
    """
    from . import load_binding

    out = RegisterBench()
    with tempfile.TemporaryDirectory(prefix="dmasim-bench-") as tmp:
        if path is None:
            path = make_devmem_file(os.path.join(tmp, "devmem"), phys_base, LENGTH)
        for level in levels:
            if level == "python":
                read, close, note = python_reader(path, phys_base, LENGTH)
                try:
                    rate = _rate(_call_loop(read, calls), calls, repeats)
                finally:
                    close()
                out.results[level] = BenchResult(level, rate, note=note)
                continue
            dev = load_binding(level).Device(path, phys_base, LENGTH)

            def c_loop(dev: Any = dev) -> None:
                dev.read_loop(PROBE, loop_reads)

            try:
                loop = _rate(c_loop, loop_reads, repeats)
                call = _rate(_call_loop(dev.read, calls), calls, repeats)
            finally:
                dev.close()
            out.results[level] = BenchResult(level, call, loop)
    return out


if __name__ == "__main__":
    print(bench_registers().format())
