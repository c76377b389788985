"""The FIR's Python model against its RTL: same design, same steps, same answers.

A model that disagrees with the RTL makes every fast model-target test worthless, so this
drives both targets with the same hypothesis-drawn sequence of tap writes and packets and
compares what S2MM wrote and what AP_CTRL reads after each packet. It opens its own pair of
targets (not the ``target`` fixture): it always needs both, whatever ``--target`` says.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmasim import open_target
from dmasim.pytest_plugin import fresh
from dmasim.target import Target
from examples.fir.design import fir_design, fir_rtl
from examples.fir.fir_model import Fir, coef_offset
from examples.fir.fir_reference import TAPS

AP_CTRL, AP_START, AP_DONE, AP_IDLE = 0x00, 0x01, 0x02, 0x04

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif("not config.getoption('target').count('rtl')",
                       reason="compares the model with the RTL: run with --target including rtl"),
]


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[Target, Target]]:
    """The model and the rtl target, both realising the FIR design."""
    pytest.importorskip("cocotb")
    design = fir_design()
    with open_target("model", design=design, models={"fir_0": Fir()}) as model, \
            open_target("rtl", design=design, rtl={"fir_0": fir_rtl()}) as rtl:
        yield model, rtl


def run(t: Target, taps: list[int], x: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Write the taps, filter ``x`` once; return the words, AP_CTRL, and AP_CTRL again."""
    regs = t.ip_mmio("fir_0")
    for i, c in enumerate(taps):
        regs.write(coef_offset(i), c)
    regs.write(AP_CTRL, AP_START)
    dma = t.dma("axi_dma_0")
    src = t.allocate(shape=(x.size,), dtype="u4")
    src[:] = x
    dst = t.allocate(shape=(x.size,), dtype="u4")
    dst[:] = 0xAAAA_AAAA
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait(timeout=5.0)
    dma.recvchannel.wait(timeout=5.0)
    return np.array(dst), regs.read(AP_CTRL), regs.read(AP_CTRL)


step_st = st.tuples(
    # raw register values: the upper half-word must be ignored by both
    st.lists(st.integers(0, 2**32 - 1), min_size=TAPS, max_size=TAPS),
    st.integers(1, 300).flatmap(
        lambda n: st.lists(st.integers(0, 2**32 - 1), min_size=n, max_size=n)),
)


@given(steps=st.lists(step_st, min_size=1, max_size=4))
def test_model_and_rtl_agree(pair: tuple[Target, Target],
                             steps: list[tuple[list[int], list[int]]]) -> None:
    """Every step: same output words, same AP_CTRL start/done/idle, same tap read-back."""
    model, rtl = (fresh(t) for t in pair)
    for taps, xs in steps:
        x = np.array(xs, dtype=np.uint32)
        got_m, got_r = run(model, taps, x), run(rtl, taps, x)
        assert np.array_equal(got_m[0], got_r[0]), "model and RTL output differ"
        mask = AP_START | AP_DONE | AP_IDLE
        assert got_m[1] & mask == got_r[1] & mask, (
            f"AP_CTRL after a run: model 0x{got_m[1]:02x}, rtl 0x{got_r[1]:02x}")
        assert got_m[2] & mask == got_r[2] & mask, "AP_CTRL on the second read"
        for i in range(TAPS):
            assert (model.ip_mmio("fir_0").read(coef_offset(i))
                    == rtl.ip_mmio("fir_0").read(coef_offset(i))), f"tap {i} read-back"


def test_generic_helper_agrees_on_the_fir() -> None:
    """dmasim.verify.check_model_against_rtl, the helper a user calls for their own IP."""
    pytest.importorskip("cocotb")
    from dmasim.verify import check_model_against_rtl

    taps = [coef_offset(i) for i in range(TAPS)]
    check_model_against_rtl(fir_design(), {"fir_0": Fir()}, {"fir_0": fir_rtl()}, ip="fir_0",
                            writes=taps, reads=taps, before_packet=[(AP_CTRL, AP_START)],
                            max_words=64, max_examples=10)
