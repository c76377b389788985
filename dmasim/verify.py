"""Your IP's Python model against its RTL: the same hypothesis-drawn steps on both targets.

A model that disagrees with the RTL makes every fast model-target test worthless. Each step
writes registers of the IP (drawn values at the offsets you name), sends one packet through a
DMA (drawn words) and reads registers back; both targets must agree on every word S2MM wrote
and every read. Hypothesis shrinks a disagreement to the smallest steps that show it::

    from dmasim.verify import check_model_against_rtl
    check_model_against_rtl(design, models={"fir_0": Fir()}, rtl={"fir_0": fir_rtl()},
                            ip="fir_0", writes=[0x10, 0x18], reads=[0x00, 0x10],
                            before_packet=[(0x00, 0x1)])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .target import Target, open_target

__all__ = ["Step", "check_model_against_rtl", "model_and_rtl", "run_step", "steps"]

CANARY = 0xAAAA_AAAA


@dataclass(frozen=True)
class Step:
    """Register writes ``(offset, value)`` to the IP, then one packet of 32-bit words."""

    writes: tuple[tuple[int, int], ...]
    packet: tuple[int, ...]


@contextmanager
def model_and_rtl(design: Any, models: Mapping[str, Any],
                  rtl: Mapping[str, Any]) -> Iterator[tuple[Target, Target]]:
    """Both simulated targets realising ``design``: ``(model, rtl)``, closed on exit."""
    with open_target("model", design=design, models=dict(models)) as m, \
            open_target("rtl", design=design, rtl=dict(rtl)) as r:
        yield m, r


def run_step(t: Target, step: Step, *, ip: str, dma: str = "axi_dma_0",
             reads: Sequence[int] = (), before_packet: Sequence[tuple[int, int]] = (),
             timeout: float = 5.0) -> tuple[list[int], list[int]]:
    """Apply ``step`` on ``t``: the words S2MM wrote (canaries included) and the reads after."""
    regs = t.ip_mmio(ip)
    for offset, value in (*step.writes, *before_packet):
        regs.write(offset, value)
    drv = t.dma(dma)
    n = len(step.packet)
    src = t.allocate(shape=(n,), dtype="u4")
    dst = t.allocate(shape=(n + 2,), dtype="u4")
    try:
        src[:] = np.array(step.packet, dtype=np.uint32)
        dst[:] = CANARY
        drv.recvchannel.transfer(dst, 0, 4 * n)
        drv.sendchannel.transfer(src)
        drv.sendchannel.wait(timeout=timeout)
        drv.recvchannel.wait(timeout=timeout)
        words = [int(w) for w in dst]
    finally:
        src.freebuffer()
        dst.freebuffer()
    return words, [regs.read(o) for o in reads]


def steps(writes: Sequence[int], max_words: int = 256, max_steps: int = 4) -> Any:
    """A hypothesis strategy of step lists: drawn values at ``writes``, drawn packets."""
    from hypothesis import strategies as st

    write = st.tuples(st.sampled_from(list(writes)), st.integers(0, 2**32 - 1)) if writes \
        else st.nothing()
    step = st.builds(
        Step,
        st.lists(write, max_size=2 * len(writes)).map(tuple),
        st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=max_words).map(tuple),
    )
    return st.lists(step, min_size=1, max_size=max_steps)


def check_model_against_rtl(design: Any, models: Mapping[str, Any], rtl: Mapping[str, Any], *,
                            ip: str, writes: Sequence[int] = (), reads: Sequence[int] = (),
                            before_packet: Sequence[tuple[int, int]] = (),
                            dma: str = "axi_dma_0", max_words: int = 256,
                            max_examples: int = 25) -> None:
    """Drive model and RTL with the same drawn steps; AssertionError at the first difference."""
    from hypothesis import given, settings

    from .pytest_plugin import fresh

    with model_and_rtl(design, models, rtl) as (model, sim):

        @settings(max_examples=max_examples, deadline=None, database=None)
        @given(steps(writes, max_words))
        def agree(drawn: list[Step]) -> None:
            fresh(model)
            fresh(sim)
            for i, step in enumerate(drawn):
                got_m = run_step(model, step, ip=ip, dma=dma, reads=reads,
                                 before_packet=before_packet)
                got_r = run_step(sim, step, ip=ip, dma=dma, reads=reads,
                                 before_packet=before_packet)
                assert got_m[0] == got_r[0], f"step {i}: S2MM wrote different words"
                assert got_m[1] == got_r[1], (
                    f"step {i}: register reads at {[hex(o) for o in reads]} differ: "
                    f"model {[hex(v) for v in got_m[1]]}, rtl {[hex(v) for v in got_r[1]]}")

        agree()
