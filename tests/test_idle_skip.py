"""Skipping idle clocks changes nothing the host can see (rtl target).

The rtl simulator jumps over clock periods once the design sits at a fixed point: a period
that changed no byte of the model's state and made no DPI call
(``rtl_tb/hdl/dmasim_sim_clock.h``). These tests run the differential tests' random programs,
simple and scatter-gather, on two rtl simulators of the same design, one skipping and one
evaluating every clock (``DMASIM_RTL_IDLE_SKIP=0``), and ask for the same register trace to
the nanosecond, the same interrupt lines, registers, buffers and BDs after every operation.
Unlike model against RTL nothing is tolerated here: both sides are the same RTL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import test_differential as simple
import test_differential_sg as sg
import test_sg as sgt
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import dmasim
from dmasim.pytest_plugin import SG_LOOPBACK, fresh
from dmasim.regmap import BD_TXEOF, BD_TXSOF, DMASR_DLY_IRQ, MM2S, S2MM
from dmasim.rtl.build import idle_skip_verdict

pytestmark = pytest.mark.skipif("not config.getoption('target').count('rtl')",
                                reason="compares two rtl simulators: run with --target=rtl")


def _open_pair(**options: Any) -> tuple[Any, Any]:
    skipping = dmasim.open_target("rtl", **options)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DMASIM_RTL_IDLE_SKIP", "0")
        every = dmasim.open_target("rtl", **options)
    return skipping, every


@pytest.fixture(scope="module")
def simple_pair() -> Iterator[tuple[Any, Any]]:
    pair = _open_pair()
    yield pair
    for t in pair:
        t.close()


@pytest.fixture(scope="module")
def sg_pair() -> Iterator[tuple[Any, Any]]:
    pair = _open_pair(design=SG_LOOPBACK)
    yield pair
    for t in pair:
        t.close()


def _same(step: int, op: Any, sides: tuple[Any, Any], program: list[Any]) -> Any:
    """Both sides' traces, registers and lines are equal (or say where they differ): the
    snapshot (registers, lines)."""
    a, b = sides
    where = f"step {step} {op!r}; program so far {program[:step + 1]!r}"
    ta, tb = list(a.t.trace), list(b.t.trace)
    if ta != tb:
        at = next((i for i, (x, y) in enumerate(zip(ta, tb, strict=False)) if x != y),
                  min(len(ta), len(tb)))
        raise AssertionError(f"{where}: traces differ from access {at}: skipping "
                             f"{ta[at:at + 3]} vs every clock {tb[at:at + 3]}")
    assert a.t.now_ns == b.t.now_ns, where
    got = a.snapshot()
    assert got == b.snapshot(), where
    assert a.t.stream_state() == b.t.stream_state(), where
    return got


def _buffers_equal(where: str, pairs: list[tuple[Any, Any]]) -> None:
    for i, (x, y) in enumerate(pairs):
        if not np.array_equal(np.asarray(x), np.asarray(y)):
            raise AssertionError(f"{where}: buffer {i} differs")


@settings(max_examples=150, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(first=st.tuples(st.just("run_both"), simple.IRQ_ENABLES, simple.IRQ_ENABLES),
       rest=st.lists(simple.OPS, min_size=3, max_size=20), seed=st.integers(0, 2**16))
def test_simple_programs_run_the_same_with_and_without_skipping(
        simple_pair: tuple[Any, Any], first: Any, rest: list[Any], seed: int) -> None:
    """The simple-mode differential programs (transfers, faults, resets, races, delays)."""
    skipping, every = simple_pair
    skipped_before = skipping.idle_clocks_skipped
    sides = (simple.Side(fresh(skipping), seed), simple.Side(fresh(every), seed))
    program = [first, *rest]
    for step, op in enumerate(program):
        for side in sides:
            side.apply(op)
        _same(step, op, sides, program)
        _buffers_equal(f"step {step} {op!r}",
                       list(zip([*sides[0].bufs, sides[0].low], [*sides[1].bufs, sides[1].low],
                                strict=True)))
    assert every.idle_clocks_skipped == 0
    # every program ends with a settle delay after its last operation: idle clocks to skip
    assert skipping.idle_clocks_skipped > skipped_before


@settings(max_examples=60, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(first=sg.COALESCE, rest=st.lists(sg.OPS, min_size=3, max_size=10),
       seed=st.integers(0, 2**16))
def test_sg_programs_run_the_same_with_and_without_skipping(
        sg_pair: tuple[Any, Any], first: Any, rest: list[Any], seed: int) -> None:
    """SG programs: chains, cyclic rings, coalescing and the delay timer counting while idle."""
    sides = (sg.Side(fresh(sg_pair[0]), seed), sg.Side(fresh(sg_pair[1]), seed))
    for side in sides:
        for ch in ("S2MM", "MM2S"):
            side.start(ch)
    plan = sg.Plan()
    program = [("coalesce", "S2MM", first), *rest]
    for step, op in enumerate(program):
        if not plan.allows(op):
            continue
        for side in sides:
            side.apply(op, plan.sof)
        plan.account(op)
        regs = _same(step, op, sides, program)[0]
        plan.errored = any(v & sg.R.DMASR_ALL_ERRORS for k, v in regs.items()
                           if k.endswith("DMASR"))
        a, b = sides
        _buffers_equal(f"step {step} {op!r}",
                       [(a.src, b.src), (a.dst, b.dst),
                        *((a.rings[c], b.rings[c]) for c in ("MM2S", "S2MM"))])


def test_a_waiting_delay_timer_is_not_skipped(sg_pair: tuple[Any, Any]) -> None:
    """The S2MM delay timer counts in a channel otherwise idle: its interrupt comes on time."""
    times = []
    for t in sg_pair:
        fresh(t)
        m = sgt.regs(t)
        src, dst = t.allocate(64, "u1"), t.allocate(256, "u1")
        tx, rx = sgt.Ring(t, 1), sgt.Ring(t, 1)
        tx.set(0, src.physical_address, 64 | BD_TXSOF | BD_TXEOF)
        rx.set(0, dst.physical_address, 256)
        # threshold 2 (one packet does not reach it): only the timer, 3 ticks, interrupts
        sgt.start(m, S2MM, rx.addr(0), sgt.coalescing(3, threshold=2))
        sgt.kick(m, S2MM, rx.addr(0))
        sgt.start(m, MM2S, tx.addr(0))
        sgt.kick(m, MM2S, tx.addr(0))
        took = sgt.wait_for(t, lambda t=t: t.interrupts()["s2mm_introut"],
                            "the delay interrupt", timeout_ns=2_000_000)
        times.append((took, sgt.sr(m, S2MM)))
    assert times[0] == times[1]
    assert times[0][1] & DMASR_DLY_IRQ


def test_the_default_build_skips_and_says_so() -> None:
    """The loopback's build may skip; the verdict reads Verilator's output, not a flag."""
    with dmasim.open_target("rtl") as t:
        out = Path(t.build.binary).parent
        assert idle_skip_verdict(out) is None
        assert "DMASIM_IDLE_SKIP 1" in (out / "dmasim_sim_idle.h").read_text()
        before = t.idle_clocks_skipped
        t.delay(1_000_000)  # an idle millisecond: 100,000 clocks, nearly all skipped
        assert t.idle_clocks_skipped - before > 99_000


@pytest.mark.parametrize(("file", "text", "why"), [
    ("Vtop___024root__0.cpp", "VL_WRITEF_NX(\"x\\n\",0);", "VL_WRITEF"),
    ("Vtop___024root__0.cpp", "x = VL_RANDOM_I();", "VL_RANDOM"),
    ("Vtop___024root__0.cpp", "t = vlSymsp->_vm_contextp__->time();", "time()"),
    ("Vtop__Dpi.h", "extern void my_model_step(int x);", "my_model_step"),
    ("Vtop___024root.h", "    VlQueue<IData> fifo;", "heap-backed"),
    ("Vtop__Syms.h", "    Vtop_fir TOP__dmasim_sim_top__DOT__fir;", "outside the model's root"),
])
def test_a_design_with_effects_outside_its_state_is_not_skipped(
        tmp_path: Path, file: str, text: str, why: str) -> None:
    """Each kind of effect a skipped period could lose turns the skip off, and says which."""
    (tmp_path / "Vtop__Syms.h").write_text("    Vtop___024root                 TOP;\n")
    (tmp_path / "Vtop___024root.h").write_text("    VlUnpacked<QData, 4> mem;\n")
    (tmp_path / "Vtop__Dpi.h").write_text(
        "    extern int dmasim_mem_read(unsigned long long addr, int nbytes, "
        "unsigned long long* data);\n")
    (tmp_path / "Vtop___024root__0.cpp").write_text("void eval() {}\n")
    (tmp_path / "Vtop___024root__0__Slow.cpp").write_text("x = VL_RAND_RESET_I(32);\n")
    assert idle_skip_verdict(tmp_path) is None  # random initial values are not evaluation
    target = tmp_path / file
    target.write_text(target.read_text() + text + "\n")
    verdict = idle_skip_verdict(tmp_path)
    assert verdict is not None and why in verdict
