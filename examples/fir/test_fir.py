"""The FIR design on every target: DMA MM2S -> fir_0 -> DMA S2MM, checked against numpy.

These tests use dmasim's ``target`` fixture, so ``pytest examples/fir --target=model,rtl``
runs each on the Python model (``fir_model.Fir``) and on the RTL (``hdl/fir.v`` next to the
open DMA), and ``--target=board --bitfile=fir.bit`` on a PYNQ-Z2 with the overlay
``vivado/fir_design.tcl`` builds. ``conftest.py`` hands the design, the model and the RTL
sources over once (the ``dmasim_design`` fixture).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmasim.pytest_plugin import fresh
from dmasim.target import MMIO, Target
from examples.fir.fir_reference import TAPS, fir_reference

AP_CTRL, GIE, IER, ISR = 0x00, 0x04, 0x08, 0x0C
AP_START, AP_DONE, AP_IDLE, AP_READY, AUTO_RESTART = 0x01, 0x02, 0x04, 0x08, 0x80
CANARY = 0xAA
PAD = 16  # canary bytes each side of a destination
WORDS_CAP = {"model": 1 << 18, "rtl": 1 << 12, "board": 1 << 18}
"""Largest packet (32-bit words) one hypothesis example sends, per target."""


def coef_offset(i: int) -> int:
    """Register offset of tap ``i``."""
    return 0x10 + 8 * i


def fir_regs(t: Target) -> MMIO:
    """fir_0's AXI-Lite window."""
    return t.ip_mmio("fir_0")


def set_taps(regs: MMIO, coeffs: list[int]) -> None:
    """Write the 16 taps (two's complement in the low half-word)."""
    for i, c in enumerate(coeffs):
        regs.write(coef_offset(i), c & 0xFFFF)


def filter_packet(t: Target, x: np.ndarray, dst_off: int = 0, start: bool = True) -> Any:
    """Start fir_0, move ``x`` through it (S2MM first), return the canary-guarded destination.

    The filtered words are ``dst[PAD + dst_off :][: 4 * len(x)]``.
    """
    dma = t.dma("axi_dma_0")
    n = 4 * x.size
    src = t.allocate(shape=(x.size,), dtype="u4")
    src[:] = x
    dst = t.allocate(shape=(PAD + dst_off + n + PAD,), dtype="u1")
    dst[:] = CANARY
    if start:
        fir_regs(t).write(AP_CTRL, AP_START)
    dma.recvchannel.transfer(dst, start=PAD + dst_off, nbytes=n)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait(timeout=5.0)
    dma.recvchannel.wait(timeout=5.0)
    assert dma.recvchannel.transferred == n, "S2MM wrote a different byte count"
    return dst


def words_at(dst: Any, start: int, n: int) -> np.ndarray:
    """``n`` little-endian 32-bit words of ``dst`` from byte ``start``."""
    return np.asarray(dst[start:start + 4 * n]).view("<u4")


def check_canaries(dst: Any, start: int, nbytes: int) -> None:
    """The bytes around ``[start, start + nbytes)`` still hold the canary."""
    before, after = np.asarray(dst[:start]), np.asarray(dst[start + nbytes:])
    assert (before == CANARY).all(), f"canary before the destination overwritten: {before[-8:]}"
    assert (after == CANARY).all(), f"canary after the destination overwritten: {after[:8]}"


taps_st = st.lists(st.integers(-32768, 32767), min_size=TAPS, max_size=TAPS)


def packet_st(target: Target) -> st.SearchStrategy[np.ndarray]:
    """Packets of 1..cap words: small ones drawn word by word, long ones from a seed."""
    cap = WORDS_CAP.get(target.name, 1 << 12)
    small = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=64).map(
        lambda v: np.array(v, dtype=np.uint32))
    big = st.tuples(st.integers(65, cap), st.integers(0, 2**32 - 1)).map(
        lambda a: np.random.default_rng(a[1]).integers(0, 2**32, a[0], dtype=np.uint32))
    return st.one_of(small, big)


@given(data=st.data())
def test_any_packet_any_taps_matches_numpy(target: Target, data: st.DataObject) -> None:
    """Every packet and every tap set: S2MM receives fir_reference(taps, x), canaries intact."""
    fresh(target)
    coeffs = data.draw(taps_st, label="coeffs")
    x = data.draw(packet_st(target), label="x")
    dst_off = 4 * data.draw(st.integers(0, 8), label="dst_words_off")
    set_taps(fir_regs(target), coeffs)
    dst = filter_packet(target, x, dst_off)
    start = PAD + dst_off
    y = words_at(dst, start, x.size)
    want = fir_reference(coeffs, x)
    bad = np.flatnonzero(y != want)
    assert bad.size == 0, (f"{bad.size} wrong words of {x.size}; first at {bad[0]}: "
                           f"0x{int(y[bad[0]]):08x} != 0x{int(want[bad[0]]):08x}")
    check_canaries(dst, start, 4 * x.size)


def test_impulse_response_is_the_taps(target: Target) -> None:
    """A unit impulse reads the taps back, in order and signed, then zeros."""
    coeffs = [(-1) ** i * (2000 * i + 3) for i in range(TAPS)]
    set_taps(fir_regs(target), coeffs)
    x = np.zeros(3 * TAPS, dtype=np.uint32)
    x[0] = 1
    dst = filter_packet(target, x)
    y = words_at(dst, PAD, x.size).view(np.int32)
    assert y[:TAPS].tolist() == coeffs
    assert not y[TAPS:].any()


def test_each_packet_starts_with_zero_history(target: Target) -> None:
    """The same packet twice gives the same output: nothing carries over between packets."""
    rng = np.random.default_rng(5)
    coeffs = rng.integers(-32768, 32768, TAPS).tolist()
    set_taps(fir_regs(target), coeffs)
    x = rng.integers(0, 2**32, 100, dtype=np.uint32)
    first = words_at(filter_packet(target, x), PAD, x.size).copy()
    second = words_at(filter_packet(target, x), PAD, x.size)
    assert np.array_equal(first, fir_reference(coeffs, x))
    assert np.array_equal(second, first)


def test_taps_read_back(target: Target) -> None:
    """Each tap reads back its low 16 bits; the words between taps read 0."""
    regs = fir_regs(target)
    for i in range(TAPS):
        regs.write(coef_offset(i), 0x5A5A_0000 | (0x0F0F * (i + 1)) & 0xFFFF)
    for i in range(TAPS):
        assert regs.read(coef_offset(i)) == (0x0F0F * (i + 1)) & 0xFFFF, f"tap {i}"
        assert regs.read(coef_offset(i) + 4) == 0, f"the word after tap {i}"


def test_ap_idle_ap_start_ap_done(target: Target) -> None:
    """Idle until started; started and busy while the packet is out; then done (read clears)."""
    regs = fir_regs(target)
    regs.read(AP_CTRL)  # a board keeps fir_0's state across tests: clear a stale ap_done
    assert regs.read(AP_CTRL) & (AP_START | AP_DONE | AP_IDLE) == AP_IDLE
    set_taps(regs, [1] + [0] * (TAPS - 1))
    regs.write(AP_CTRL, AP_START)
    ctrl = regs.read(AP_CTRL)
    assert ctrl & (AP_START | AP_IDLE) == AP_START, f"started, waiting for data: 0x{ctrl:02x}"
    x = np.arange(1, 65, dtype=np.uint32)
    dst = filter_packet(target, x, start=False)
    assert np.array_equal(words_at(dst, PAD, x.size), x), "c = [1, 0, ...] passes x through"
    ctrl = regs.read(AP_CTRL)
    assert ctrl & (AP_START | AP_DONE | AP_IDLE) == AP_DONE | AP_IDLE, f"after: 0x{ctrl:02x}"
    assert regs.read(AP_CTRL) & AP_DONE == 0, "ap_done is clear-on-read"


def test_not_started_the_stream_waits(target: Target) -> None:
    """Without ap_start fir_0 takes no data: S2MM stays busy, the destination untouched."""
    regs = fir_regs(target)
    set_taps(regs, [3] + [0] * (TAPS - 1))
    dma = target.dma("axi_dma_0")
    x = np.arange(32, dtype=np.uint32)
    src = target.allocate(shape=(x.size,), dtype="u4")
    src[:] = x
    dst = target.allocate(shape=(PAD + 4 * x.size + PAD,), dtype="u1")
    dst[:] = CANARY
    dma.recvchannel.transfer(dst, start=PAD, nbytes=4 * x.size)
    dma.sendchannel.transfer(src)
    target.delay(20_000)
    assert not dma.recvchannel.idle, "S2MM finished although fir_0 was never started"
    assert (np.asarray(dst) == CANARY).all()
    regs.write(AP_CTRL, AP_START)
    dma.sendchannel.wait(timeout=5.0)
    dma.recvchannel.wait(timeout=5.0)
    assert np.array_equal(words_at(dst, PAD, x.size), 3 * x)
    check_canaries(dst, PAD, 4 * x.size)


def test_auto_restart_filters_packet_after_packet(target: Target) -> None:
    """auto_restart: one start, several DMA transfers, each filtered with fresh history."""
    regs = fir_regs(target)
    rng = np.random.default_rng(11)
    coeffs = rng.integers(-32768, 32768, TAPS).tolist()
    set_taps(regs, coeffs)
    regs.write(AP_CTRL, AP_START | AUTO_RESTART)
    for n in (1, 17, 200):
        x = rng.integers(0, 2**32, n, dtype=np.uint32)
        dst = filter_packet(target, x, start=False)
        assert np.array_equal(words_at(dst, PAD, n), fir_reference(coeffs, x)), f"n={n}"
    regs.write(AP_CTRL, 0)


def test_notebook_way(target: Target) -> None:
    """The notebook, through pynq's own Overlay: ``ol.fir_0.write``, ``ol.axi_dma_0``."""
    pynq = pytest.importorskip("pynq")
    from dmasim.pynq_device import overlay

    ol = overlay(target, name="fir")
    coeffs = [1, -2, 3, -4, 5, -6, 7, -8, 8, -7, 6, -5, 4, -3, 2, -1]
    for i, c in enumerate(coeffs):
        ol.fir_0.write(0x10 + 8 * i, c & 0xFFFF)
    ol.fir_0.write(0x00, 0x01)  # ap_start
    a = pynq.allocate(shape=(256,), dtype=np.int32, target=ol.device)
    b = pynq.allocate(shape=(256,), dtype=np.int32, target=ol.device)
    a[:] = np.random.default_rng(3).integers(-100_000, 100_000, 256)
    b[:] = 0
    ol.axi_dma_0.recvchannel.transfer(b)
    ol.axi_dma_0.sendchannel.transfer(a)
    ol.axi_dma_0.sendchannel.wait()
    ol.axi_dma_0.recvchannel.wait()
    want = np.convolve(np.asarray(a, dtype=np.int64), coeffs)[:256]  # small: no wrap here
    assert np.array_equal(np.asarray(b), want)
    assert ol.fir_0.read(0x00) & AP_DONE
