"""Benchmarks behind ``dmasim bench``: figures, not pass/fail (these machines are noisy).

Every ratio is measured within one run so that machine noise affects both sides alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .errors import DmasimError
from .target import Target

__all__ = ["LevelFigures", "best_of", "fir_figures", "irq_wait_figures", "level_figures",
           "model_figures", "sg_driver_figures", "sg_figures"]


def best_of(fn: Callable[[], Any], repeat: int = 5, number: int = 1,
            setup: Callable[[], Any] | None = None,
            clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds per call of ``fn``: the best of ``repeat`` runs of ``number`` calls.

    The one timer of every benchmark (``dmasim bench``, ``--remote``, the rtl figures).
    ``setup`` runs before each run, outside the timing; ``clock`` may be
    ``time.process_time`` for CPU time, which a loaded machine distorts less.
    """
    best = float("inf")
    for _ in range(repeat):
        if setup is not None:
            setup()
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

    ``size`` bytes go through ``bds`` BDs per channel, programmed at register level and waited
    for as the drivers wait (sleep for the transfer's likely time, then poll DMASR):

    - ``sg_..._us``: the kicks and the wait, BD rings already built (the engine's share);
      compared with one simple-mode transfer at register level (``simple_regs_...``).
    - ``sg_..._e2e_us``: also writing both BD rings, as a driver does for each transfer;
      compared with the python driver's simple-mode loopback (``simple_1mib_...``).
    - ``..._fresh_...``: the same with the chain's schedule worked out anew each time (the
      model keeps the last one and uses it again for a chain that repeats from the same state,
      as here: a driver moving different buffers each time pays this instead).
    - ``..._stepwise_...``: the same with the model's batched SG path switched off.

    Every figure also comes as CPU time (``_cpu_us``), which a loaded machine distorts less.
    """
    from . import constants, regmap
    from .target import open_target

    R = regmap  # noqa: N806 - the register map's short name, as elsewhere

    out: dict[str, float] = {}
    chunk = size // bds
    repeat = 2 if quick else 5
    poll_first = constants.POLL_NS_PER_BYTE * size

    def timed(name: str, fn: Callable[[], Any]) -> None:
        out[f"{name}_us"] = best_of(fn, repeat=repeat) * 1e6
        out[f"{name}_cpu_us"] = best_of(fn, repeat=repeat, clock=time.process_time) * 1e6

    def wait_idle(t: Target, regs: Any, ch: Any) -> None:
        t.delay(poll_first)
        step = 1000
        while not regs.read(ch.DMASR) & R.DMASR_IDLE:
            t.delay(step)
            step *= 2

    with open_target("model", parameters={"c_include_sg": 1}) as t:
        regs = t.ip_mmio()
        src = t.allocate(size, "u1")
        dst = t.allocate(size, "u1")
        src[:] = np.random.default_rng(1).integers(0, 256, size, dtype=np.uint8)
        idx = np.arange(bds)
        rings = [t.allocate((bds, 16), "u4") for _ in range(2)]

        def build() -> None:
            for buf, ring, ctl in ((src, rings[0], chunk | R.BD_TXSOF | R.BD_TXEOF),
                                   (dst, rings[1], chunk)):
                base = ring.physical_address
                ring[:, R.BD.NXTDESC // 4] = base + ((idx + 1) % bds) * R.BD_SIZE
                ring[:, R.BD.BUFFER_ADDRESS // 4] = buf.physical_address + idx * chunk
                ring[:, R.BD.CONTROL // 4] = ctl  # one packet per BD
                ring[:, R.BD.STATUS // 4] = 0

        for ring in rings:
            ring[:] = 0
        build()
        tx, rx = rings
        for ch, ring in ((R.S2MM, rx), (R.MM2S, tx)):
            regs.write(ch.CURDESC, ring.physical_address)
            regs.write(ch.DMACR, R.DMACR_RS | R.DMACR_IRQEN_ALL)

        def run() -> None:
            for ch, ring in ((R.S2MM, rx), (R.MM2S, tx)):
                ring[:, R.BD.STATUS // 4] = 0
                regs.write(ch.TAILDESC, ring.physical_address + (bds - 1) * R.BD_SIZE)
            wait_idle(t, regs, R.S2MM)
            regs.write(R.S2MM.DMASR, R.DMASR_IRQS)
            regs.write(R.MM2S.DMASR, R.DMASR_IRQS)

        def e2e() -> None:
            build()
            run()

        run()
        if not (np.asarray(dst) == np.asarray(src)).all():
            raise AssertionError("SG benchmark: the data did not arrive intact")
        timed(f"sg_1mib_{bds}bd", run)
        timed(f"sg_1mib_{bds}bd_e2e", e2e)
        sg = getattr(getattr(t, "engine", None), "sg", None)  # the model's SG engine
        if sg is not None:

            def fresh() -> None:
                sg.forget_schedule()
                run()

            timed(f"sg_1mib_{bds}bd_fresh", fresh)
            sg.batched = False
            timed(f"sg_1mib_{bds}bd_stepwise", run)
            sg.batched = True
    with open_target("model") as t:
        dma = t.driver("python")
        regs = t.ip_mmio()
        a = t.allocate(size, "u1")
        b = t.allocate(size, "u1")
        _loopback(dma, a, b)
        timed("simple_1mib", lambda: _loopback(dma, a, b))

        def simple_regs() -> None:
            for ch, buf in ((R.S2MM, b), (R.MM2S, a)):
                regs.write(ch.DMACR, R.DMACR_RS | R.DMACR_IRQEN_ALL)
                regs.write(ch.ADDR, buf.physical_address)
                regs.write(ch.LENGTH, size)
            wait_idle(t, regs, R.S2MM)
            regs.write(R.S2MM.DMASR, R.DMASR_IRQS)
            regs.write(R.MM2S.DMASR, R.DMASR_IRQS)

        timed("simple_regs_1mib", simple_regs)
    for clock in ("", "_cpu"):
        out[f"sg_vs_simple{clock}"] = (out[f"sg_1mib_{bds}bd{clock}_us"]
                                       / out[f"simple_regs_1mib{clock}_us"])
        out[f"sg_e2e_vs_simple{clock}"] = (out[f"sg_1mib_{bds}bd_e2e{clock}_us"]
                                           / out[f"simple_1mib{clock}_us"])
        if f"sg_1mib_{bds}bd_fresh{clock}_us" in out:
            out[f"sg_fresh_vs_simple{clock}"] = (out[f"sg_1mib_{bds}bd_fresh{clock}_us"]
                                                 / out[f"simple_regs_1mib{clock}_us"])
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

            from .pynq.overlay import overlay
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


IRQ_WAIT_BYTES = 4096
"""The loopback of the interrupt-wait benchmark."""


def irq_wait_figures(target: str = "model", quick: bool = False) -> dict[str, float]:
    """A 4 KiB loopback waited on by polling and on the interrupt lines, per level and mode.

    Wall-clock microseconds per loopback (best of several runs) for ``wait()`` and
    ``wait(interrupt=True)``, in simple and SG mode; the ratio says what sleeping on the line
    costs a simulation (the event loop and ``target.interrupt``'s steps) over polling.
    """
    from .errors import DriverUnavailableError
    from .target import open_target

    out: dict[str, float] = {}
    repeat, number = (3, 5) if quick else (10, 20)
    for mode, params in (("simple", {}), ("sg", {"c_include_sg": 1})):
        with open_target(target, parameters=params) as t:
            a = t.allocate(IRQ_WAIT_BYTES, "u1")
            b = t.allocate(IRQ_WAIT_BYTES, "u1")
            a[:] = np.arange(IRQ_WAIT_BYTES) % 251
            for level in ("pynq", "python", "pybind11", "cffi"):
                try:
                    dma = t.driver(level)
                except DriverUnavailableError:
                    continue
                for how, irq in (("poll", False), ("irq", True)):

                    def run(d: Any = dma, irq: bool = irq, a: Any = a, b: Any = b) -> None:
                        d.recvchannel.transfer(b)
                        d.sendchannel.transfer(a)
                        d.sendchannel.wait(timeout=10.0, interrupt=irq)
                        d.recvchannel.wait(timeout=10.0, interrupt=irq)

                    b[:] = 0
                    run()
                    if not np.array_equal(a, b):
                        raise DmasimError(f"interrupt-wait benchmark: the {level} level "
                                          f"({mode} mode, {how}) moved the data wrongly")
                    out[f"irq_wait_{mode}_{level}_{how}_us"] = \
                        best_of(run, repeat=repeat, number=number) * 1e6
                out[f"irq_wait_{mode}_{level}_ratio"] = (out[f"irq_wait_{mode}_{level}_irq_us"]
                                                         / out[f"irq_wait_{mode}_{level}_poll_us"])
    return out


def format_irq_waits(figures: dict[str, float], target: str = "model") -> str:
    """:func:`irq_wait_figures` as lines for ``dmasim bench``."""
    lines = [f"interrupt waits, {target}: a {IRQ_WAIT_BYTES}-byte loopback, us per loopback",
             f"  {'mode':<7} {'level':<9} {'wait()':>10} {'interrupt':>10} {'ratio':>6}"]
    for mode in ("simple", "sg"):
        for level in ("pynq", "python", "pybind11", "cffi"):
            key = f"irq_wait_{mode}_{level}"
            if f"{key}_ratio" in figures:
                lines.append(f"  {mode:<7} {level:<9} {figures[f'{key}_poll_us']:>10.1f} "
                             f"{figures[f'{key}_irq_us']:>10.1f} {figures[f'{key}_ratio']:>5.1f}x")
    return "\n".join(lines)


def as_dict(figures: list[LevelFigures]) -> list[dict[str, Any]]:
    """JSON-ready rows."""
    return [asdict(f) for f in figures]
