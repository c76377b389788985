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

__all__ = ["LevelFigures", "best_of", "fir_figures", "level_figures", "model_figures",
           "sg_driver_figures", "sg_figures"]


def best_of(fn: Callable[[], Any], repeat: int = 5, number: int = 1,
            clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds per call of ``fn``: the best of ``repeat`` runs of ``number`` calls.

    ``clock`` may be ``time.process_time`` for CPU time, which a loaded machine distorts less.
    """
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        for _ in range(number):
            fn()
        best = min(best, (clock() - t0) / number)
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


def sg_figures(quick: bool = False, size: int = 1 << 20, bds: int = 256) -> dict[str, float]:
    """The model in SG mode against simple mode (goal: at most 2x the simple-mode time).

    ``size`` bytes go through ``bds`` BDs per channel, programmed at register level, compared
    with the same bytes in one simple-mode loopback transfer of the python driver.
    """
    from . import regmap
    from .target import open_target

    R = regmap  # noqa: N806 - the register map's short name, as elsewhere

    out: dict[str, float] = {}
    chunk = size // bds
    with open_target("model", parameters={"c_include_sg": 1}) as t:
        regs = t.ip_mmio()
        src = t.allocate(size, "u1")
        dst = t.allocate(size, "u1")
        src[:] = np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8)
        rings = []
        for buf in (src, dst):
            ring = t.allocate((bds, 16), "u4")
            ring[:] = 0
            base = ring.physical_address
            idx = np.arange(bds)
            ring[:, R.BD.NXTDESC // 4] = base + ((idx + 1) % bds) * R.BD_SIZE
            ring[:, R.BD.BUFFER_ADDRESS // 4] = buf.physical_address + idx * chunk
            ring[:, R.BD.CONTROL // 4] = chunk
            rings.append(ring)
        tx, rx = rings
        tx[:, R.BD.CONTROL // 4] |= R.BD_TXSOF | R.BD_TXEOF  # one packet per BD
        for ch, ring in ((R.S2MM, rx), (R.MM2S, tx)):
            regs.write(ch.CURDESC, ring.physical_address)
            regs.write(ch.DMACR, R.DMACR_RS | R.DMACR_IRQEN_ALL)

        def run() -> None:
            for ch, ring in ((R.S2MM, rx), (R.MM2S, tx)):
                ring[:, R.BD.STATUS // 4] = 0
                regs.write(ch.TAILDESC, ring.physical_address + (bds - 1) * R.BD_SIZE)
            t.delay(size * 2)  # about the transfer's own time, then poll
            step = 1000
            while not regs.read(R.S2MM.DMASR) & R.DMASR_IDLE:
                t.delay(step)
                step *= 2
            regs.write(R.S2MM.DMASR, R.DMASR_IRQS)
            regs.write(R.MM2S.DMASR, R.DMASR_IRQS)

        run()
        if not (np.asarray(dst) == np.asarray(src)).all():
            raise AssertionError("SG benchmark: the data did not arrive intact")
        out[f"sg_1mib_{bds}bd_us"] = best_of(run, repeat=2 if quick else 5) * 1e6
        out[f"sg_1mib_{bds}bd_cpu_us"] = best_of(run, repeat=2 if quick else 5,
                                                 clock=time.process_time) * 1e6
    with open_target("model") as t:
        dma = t.driver("python")
        a = t.allocate(size, "u1")
        b = t.allocate(size, "u1")
        _loopback(dma, a, b)
        out["simple_1mib_us"] = best_of(lambda: _loopback(dma, a, b),
                                        repeat=2 if quick else 5) * 1e6
        out["simple_1mib_cpu_us"] = best_of(lambda: _loopback(dma, a, b),
                                            repeat=2 if quick else 5,
                                            clock=time.process_time) * 1e6
    out["sg_vs_simple"] = out[f"sg_1mib_{bds}bd_us"] / out["simple_1mib_us"]
    out["sg_vs_simple_cpu"] = out[f"sg_1mib_{bds}bd_cpu_us"] / out["simple_1mib_cpu_us"]
    return out


FIR_TAPS = 16


def fir_figures(quick: bool = False) -> dict[str, float]:
    """1 MiB through MM2S -> a Python FIR model (np.convolve) -> S2MM, against np.convolve."""
    from .design import Design, Endpoint, Instance, StreamInterface, Window, dma_instance
    from .design.params import DEFAULT_PARAMETERS, DMA_BASE
    from .design.types import Connection
    from .ip import StreamIP
    from .target import open_target

    taps = np.arange(1, FIR_TAPS + 1, dtype=np.int64)

    def fir(x: np.ndarray) -> np.ndarray:
        return np.convolve(x.astype(np.int64), taps)[: x.size]

    class Fir(StreamIP):
        def on_packet(self, port: str, data: np.ndarray) -> None:
            self.emit("M_AXIS", fir(data))

    fir_inst = Instance(
        "fir_0", "dmasim.org:user:fir:1.0", windows=[Window("S_AXI", 0x43C0_0000, 0x1_0000)],
        streams={"S_AXIS": StreamInterface("S_AXIS", "in"),
                 "M_AXIS": StreamInterface("M_AXIS", "out")})
    design = Design(
        name="fir_bench",
        instances={"axi_dma_0": dma_instance("axi_dma_0", DMA_BASE, DEFAULT_PARAMETERS),
                   "fir_0": fir_inst},
        connections=[
            Connection(Endpoint("axi_dma_0", "M_AXIS_MM2S"), Endpoint("fir_0", "S_AXIS")),
            Connection(Endpoint("fir_0", "M_AXIS"), Endpoint("axi_dma_0", "S_AXIS_S2MM"))])
    out: dict[str, float] = {}
    n = (1 << 20) // 4
    with open_target("model", design=design, models={"fir_0": Fir()}) as t:
        dma = t.driver("python")
        src = t.allocate(n, "u4")
        dst = t.allocate(n, "u4")
        src[:] = np.random.default_rng(0).integers(0, 1 << 16, n, dtype=np.uint32)
        plain = np.array(src)
        _loopback(dma, src, dst)
        if not np.array_equal(dst, fir(plain).astype(np.uint32)):
            raise DmasimError("FIR benchmark: the model's output differs from np.convolve")
        repeat = 2 if quick else 5
        out["fir_1mib_us"] = best_of(lambda: _loopback(dma, src, dst), repeat=repeat) * 1e6
        out["convolve_1mib_us"] = best_of(lambda: fir(plain), repeat=repeat) * 1e6
        out["fir_1mib_vs_convolve"] = out["fir_1mib_us"] / out["convolve_1mib_us"]
    return out


SG_CHAIN_BDS = 32
SG_NARROW_WIDTH = 8
"""c_sg_length_width of the SG benchmark's design: 252 bytes per BD, so 32 BDs are 8064 bytes."""


def sg_driver_figures(target: str = "model", quick: bool = False) -> dict[str, float]:
    """A 32-BD chain (loopback, both directions) in SG mode, per driver level.

    PYNQ's own ``_SGDMAChannel`` (through :func:`dmasim.pynq_device.overlay`) against the
    ``python`` level on the same target, and the ``python`` level against the native ones.
    Times are wall-clock microseconds per loopback, best of several runs.
    """
    from .errors import DriverUnavailableError
    from .target import open_target

    out: dict[str, float] = {}
    params = {"c_include_sg": 1, "c_sg_length_width": SG_NARROW_WIDTH}
    # Best single run: one loop of 20 on a shared VM is often hit by another process.
    repeat, number = (5, 1) if quick or target != "model" else (30, 1)
    with open_target(target, parameters=params) as t:
        bd = (1 << SG_NARROW_WIDTH) - 1
        bd -= bd % 4
        n = SG_CHAIN_BDS * bd
        a = t.allocate(n, "u1")
        b = t.allocate(n, "u1")
        a[:] = np.arange(n) % 251
        for level in ("python", "pybind11", "cffi"):
            try:
                dma = t.driver(level)
            except DriverUnavailableError:
                continue
            b[:] = 0
            _loopback(dma, a, b)
            if not np.array_equal(a, b) or len(getattr(dma.sendchannel, "bds", ())) \
                    != SG_CHAIN_BDS:
                raise DmasimError(f"SG benchmark: the {level} level moved the chain wrongly")

            def run(d: Any = dma) -> None:
                _loopback(d, a, b)

            out[f"sg_chain32_{level}_us"] = best_of(run, repeat=repeat, number=number) * 1e6
        try:
            import pynq

            from .pynq_device import overlay
        except ImportError:
            return out
        ol = overlay(t)
        pa = pynq.allocate((n,), "u1", target=ol.device)
        pb = pynq.allocate((n,), "u1", target=ol.device)
        pa[:] = np.arange(n) % 251
        pdma = ol.axi_dma_0

        def pynq_loopback() -> None:  # pynq's wait() takes no timeout
            pdma.recvchannel.transfer(pb)
            pdma.sendchannel.transfer(pa)
            pdma.sendchannel.wait()
            pdma.recvchannel.wait()

        pynq_loopback()
        if not np.array_equal(pa, pb) or pdma.recvchannel.transferred != n:
            raise DmasimError("SG benchmark: PYNQ's _SGDMAChannel moved the chain wrongly")
        out["sg_chain32_pynq_us"] = best_of(pynq_loopback, repeat=repeat, number=number) * 1e6
        if "sg_chain32_python_us" in out:
            out["sg_chain32_pynq_vs_python"] = (out["sg_chain32_pynq_us"]
                                                / out["sg_chain32_python_us"])
    for level in ("pybind11", "cffi"):
        if f"sg_chain32_{level}_us" in out and "sg_chain32_python_us" in out:
            out[f"sg_chain32_python_vs_{level}"] = (out["sg_chain32_python_us"]
                                                    / out[f"sg_chain32_{level}_us"])
    return out


def format_sg_drivers(figures: dict[str, float], target: str = "model") -> str:
    """:func:`sg_driver_figures` as lines for ``dmasim bench``."""
    lines = [f"scatter-gather, {target}: a {SG_CHAIN_BDS}-BD chain looped back "
             f"(c_sg_length_width={SG_NARROW_WIDTH})"]
    for level in ("pynq", "python", "pybind11", "cffi"):
        us = figures.get(f"sg_chain32_{level}_us")
        if us is not None:
            lines.append(f"  {level:<9} {us:>10.1f} us")
    if "sg_chain32_pynq_vs_python" in figures:
        lines.append(f"  PYNQ's _SGDMAChannel takes {figures['sg_chain32_pynq_vs_python']:.1f}x "
                     "the python level's time")
    for level in ("pybind11", "cffi"):
        if f"sg_chain32_python_vs_{level}" in figures:
            lines.append(f"  python level takes {figures[f'sg_chain32_python_vs_{level}']:.1f}x "
                         f"the {level} level's time")
    return "\n".join(lines)


def all_levels(t: Target, quick: bool = False) -> list[LevelFigures]:
    """:func:`level_figures` for every level, in the notebook's order."""
    return [level_figures(t, level, quick=quick) for level in LEVELS]


def as_dict(figures: list[LevelFigures]) -> list[dict[str, Any]]:
    """JSON-ready rows."""
    return [asdict(f) for f in figures]
