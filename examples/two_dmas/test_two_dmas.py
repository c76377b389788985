"""Two DMAs running at once: axi_dma_0 through a 512-word FIFO, axi_dma_1 through the FIR.

On every target through dmasim's ``target`` fixture (``conftest.py`` hands the design over).
All four channels are programmed before any is waited on, so both data paths move together.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dmasim.pytest_plugin import fresh
from dmasim.target import Target
from examples.fir.fir_reference import TAPS, fir_reference
from examples.two_dmas.design import FIFO_DEPTH

AP_CTRL, AP_START, AP_DONE = 0x00, 0x01, 0x02
CANARY = 0xAA
PAD = 16
WORDS_CAP = {"model": 1 << 16, "rtl": 1 << 11, "board": 1 << 16}
"""Largest packet (32-bit words) per path and hypothesis example."""


def guarded(t: Target, nwords: int) -> Any:
    """A destination with PAD canary bytes each side of ``nwords`` words."""
    dst = t.allocate(shape=(PAD + 4 * nwords + PAD,), dtype="u1")
    dst[:] = CANARY
    return dst


def payload(t: Target, x: np.ndarray) -> Any:
    """A source buffer holding ``x``."""
    src = t.allocate(shape=(x.size,), dtype="u4")
    src[:] = x
    return src


def received(dst: Any, nwords: int) -> np.ndarray:
    """The words between the canaries."""
    return np.asarray(dst[PAD:PAD + 4 * nwords]).view("<u4")


def check_canaries(dst: Any, nwords: int) -> None:
    """Nothing written before or after the destination's words."""
    raw = np.asarray(dst)
    assert (raw[:PAD] == CANARY).all(), "canary before the destination overwritten"
    assert (raw[PAD + 4 * nwords:] == CANARY).all(), "canary after the destination overwritten"


def run_both(t: Target, x0: np.ndarray, x1: np.ndarray, coeffs: list[int]) -> tuple[Any, Any]:
    """x0 through the FIFO on axi_dma_0 and x1 through fir_0 on axi_dma_1, at the same time."""
    d0, d1 = t.dma("axi_dma_0"), t.dma("axi_dma_1")
    fir = t.ip_mmio("fir_0")
    for i, c in enumerate(coeffs):
        fir.write(0x10 + 8 * i, c & 0xFFFF)
    fir.write(AP_CTRL, AP_START)
    dst0, dst1 = guarded(t, x0.size), guarded(t, x1.size)
    d0.recvchannel.transfer(dst0, start=PAD, nbytes=4 * x0.size)
    d1.recvchannel.transfer(dst1, start=PAD, nbytes=4 * x1.size)
    d0.sendchannel.transfer(payload(t, x0))
    d1.sendchannel.transfer(payload(t, x1))
    for ch in (d0.sendchannel, d1.sendchannel, d0.recvchannel, d1.recvchannel):
        ch.wait(timeout=5.0)
    assert d0.recvchannel.transferred == 4 * x0.size
    assert d1.recvchannel.transferred == 4 * x1.size
    return dst0, dst1


def words(target: Target, label: str, data: st.DataObject) -> np.ndarray:
    """A packet of 1..cap words drawn by hypothesis (a seed for the long ones)."""
    cap = WORDS_CAP.get(target.name, 1 << 11)
    n = data.draw(st.one_of(st.integers(1, 64), st.integers(1, cap)), label=f"{label}_words")
    seed = data.draw(st.integers(0, 2**32 - 1), label=f"{label}_seed")
    return np.random.default_rng(seed).integers(0, 2**32, n, dtype=np.uint32)


def test_design_has_both_dmas_and_the_fir(target: Target) -> None:
    """ip_dict lists both DMAs and fir_0 at their addresses; each DMA has its own driver."""
    ip = target.ip_dict
    assert int(ip["axi_dma_0"]["phys_addr"]) == 0x4040_0000
    assert int(ip["axi_dma_1"]["phys_addr"]) == 0x4041_0000
    assert int(ip["fir_0"]["phys_addr"]) == 0x43C0_0000
    assert target.dma("axi_dma_0") is not target.dma("axi_dma_1")


@given(data=st.data())
def test_both_paths_at_once(target: Target, data: st.DataObject) -> None:
    """Any two packets, any taps: the FIFO path returns x0, the FIR path fir_reference(x1)."""
    fresh(target)
    coeffs = data.draw(st.lists(st.integers(-32768, 32767), min_size=TAPS, max_size=TAPS),
                       label="coeffs")
    x0, x1 = words(target, "fifo", data), words(target, "fir", data)
    dst0, dst1 = run_both(target, x0, x1, coeffs)
    assert np.array_equal(received(dst0, x0.size), x0), "the FIFO path changed the data"
    assert np.array_equal(received(dst1, x1.size), fir_reference(coeffs, x1))
    check_canaries(dst0, x0.size)
    check_canaries(dst1, x1.size)


def test_paths_are_independent_while_one_waits(target: Target) -> None:
    """fir_0 not started holds axi_dma_1; axi_dma_0 through the FIFO finishes meanwhile."""
    d0, d1 = target.dma("axi_dma_0"), target.dma("axi_dma_1")
    x0 = np.arange(300, dtype=np.uint32) * 7
    x1 = np.arange(1, 101, dtype=np.uint32)
    fir = target.ip_mmio("fir_0")
    fir.write(0x10, 2)  # c = [2, 0, ...]: y = 2x
    for i in range(1, TAPS):
        fir.write(0x10 + 8 * i, 0)
    dst0, dst1 = guarded(target, x0.size), guarded(target, x1.size)
    d1.recvchannel.transfer(dst1, start=PAD, nbytes=4 * x1.size)
    d1.sendchannel.transfer(payload(target, x1))
    d0.recvchannel.transfer(dst0, start=PAD, nbytes=4 * x0.size)
    d0.sendchannel.transfer(payload(target, x0))
    d0.sendchannel.wait(timeout=5.0)
    d0.recvchannel.wait(timeout=5.0)
    assert np.array_equal(received(dst0, x0.size), x0)
    assert not d1.recvchannel.idle, "axi_dma_1 finished though fir_0 was never started"
    assert (np.asarray(dst1) == CANARY).all()
    fir.write(AP_CTRL, AP_START)
    d1.sendchannel.wait(timeout=5.0)
    d1.recvchannel.wait(timeout=5.0)
    assert np.array_equal(received(dst1, x1.size), 2 * x1)
    check_canaries(dst1, x1.size)
    assert fir.read(AP_CTRL) & AP_DONE


def test_fifo_holds_a_whole_packet_before_s2mm_starts(target: Target) -> None:
    """MM2S of FIFO_DEPTH words completes with S2MM not yet programmed: the FIFO holds them."""
    d0 = target.dma("axi_dma_0")
    x = np.random.default_rng(9).integers(0, 2**32, FIFO_DEPTH, dtype=np.uint32)
    d0.sendchannel.transfer(payload(target, x))
    d0.sendchannel.wait(timeout=5.0)
    dst = guarded(target, x.size)
    d0.recvchannel.transfer(dst, start=PAD, nbytes=4 * x.size)
    d0.recvchannel.wait(timeout=5.0)
    assert np.array_equal(received(dst, x.size), x)
    check_canaries(dst, x.size)
