"""Designs of dmasim's own stream IPs (FIFO, register slice) and two DMAs, on every target.

They need no user IP, so the model and the rtl target realise the same design from the same
description and these tests run on both through the ``target`` fixture: the design comes from
this module's ``dmasim_design`` (each test runs with a packet-mode FIFO and a cut-through one).
``axi_dma_0`` sends through ``fifo_0`` to ``axi_dma_1``; ``axi_dma_1`` sends through the
register slice ``rs_0`` back to ``axi_dma_0``.
"""

from __future__ import annotations

import numpy as np
import pytest
from designs import DMA0, DMA1, design, dma, fifo, register_slice
from helpers import PAD, check_canaries, guarded
from hypothesis import given, settings
from hypothesis import strategies as st

from dmasim import regmap
from dmasim.design import Design
from dmasim.pytest_plugin import fresh

pytestmark = pytest.mark.targets("model", "rtl")

FIFO_DEPTH = 64


def two_dmas(packet_mode: bool) -> Design:
    """The design of this module, with ``fifo_0`` in packet mode or cut-through."""
    return design(
        dma("axi_dma_0", DMA0), dma("axi_dma_1", DMA1),
        fifo("fifo_0", FIFO_DEPTH, packet_mode), register_slice("rs_0"),
        links=[("axi_dma_0.M_AXIS_MM2S", "fifo_0.S_AXIS"),
               ("fifo_0.M_AXIS", "axi_dma_1.S_AXIS_S2MM"),
               ("axi_dma_1.M_AXIS_MM2S", "rs_0.S_AXIS"),
               ("rs_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM")],
        name=f"two_dmas_{'packet' if packet_mode else 'cut_through'}")


DESIGNS = {True: two_dmas(True), False: two_dmas(False)}  # one object each: targets are pooled


@pytest.fixture(scope="module", params=[True, False], ids=["packet-fifo", "cut-through-fifo"],
                autouse=True)
def dmasim_design(request: pytest.FixtureRequest) -> dict[str, Design]:
    """This module's design (the plugin opens every target with it)."""
    return {"design": DESIGNS[request.param]}


def _packet_mode(target) -> bool:
    return target.design.instance("fifo_0").parameters["FIFO_MODE"] == "2"


def _words(target, n: int, seed: int):
    a = target.allocate(n, "u4")
    a[:] = np.random.default_rng(seed).integers(0, 2**32, n, dtype=np.uint32)
    return a


def test_two_dmas_cross_through_the_fifo_and_the_slice(target):
    n0, n1 = 1000, 777
    a0, a1 = _words(target, n0, 1), _words(target, n1, 2)
    b1, b0 = guarded(target, 4 * n0), guarded(target, 4 * n1)
    d0, d1 = target.dma("axi_dma_0"), target.dma("axi_dma_1")
    d1.recvchannel.transfer(b1, start=PAD, nbytes=4 * n0)
    d0.recvchannel.transfer(b0, start=PAD, nbytes=4 * n1)
    d0.sendchannel.transfer(a0)
    d1.sendchannel.transfer(a1)
    for ch in (d0.sendchannel, d1.sendchannel, d0.recvchannel, d1.recvchannel):
        ch.wait()
    assert np.array_equal(b1[PAD:PAD + 4 * n0].view("u4"), a0)
    assert np.array_equal(b0[PAD:PAD + 4 * n1].view("u4"), a1)
    check_canaries(b1, PAD, 4 * n0)
    check_canaries(b0, PAD, 4 * n1)
    assert d0.recvchannel.transferred == 4 * n1 and d1.recvchannel.transferred == 4 * n0
    assert set(target.interrupts()) == {f"{d}/{p}" for d in ("axi_dma_0", "axi_dma_1")
                                        for p in ("mm2s_introut", "s2mm_introut")}


def test_packet_mode_holds_the_packet_until_its_tlast(target):
    """Packet mode: nothing reaches S2MM while MM2S is still sending (the packet fits the
    FIFO). Cut-through: a packet far longer than every buffer on the way must reach S2MM
    while MM2S is still sending, or MM2S could never finish."""
    packet_mode = _packet_mode(target)
    n = 48 if packet_mode else 4096
    src, dst = _words(target, n, 3), target.allocate(n, "u4")
    dst[:] = 0xAAAA_AAAA
    d0, d1 = target.dma("axi_dma_0"), target.dma("axi_dma_1")
    mm2s_sr = target.ip_mmio("axi_dma_0")
    d1.recvchannel.transfer(dst)
    d0.sendchannel.transfer(src)
    written_while_sending = False
    for _ in range(10_000):
        if mm2s_sr.read(regmap.MM2S.DMASR) & regmap.DMASR_IDLE:
            break
        written_while_sending |= int(dst[0]) != 0xAAAA_AAAA
        target.delay(100)
    d0.sendchannel.wait()
    d1.recvchannel.wait()
    assert np.array_equal(dst, src)
    assert written_while_sending is not packet_mode


def test_packet_longer_than_a_packet_mode_fifo_leaves_once_it_is_full(target):
    """1000 words cannot sit in MM2S's FIFO, the 64-word FIFO and the skid: they flow."""
    d0, d1 = target.dma("axi_dma_0"), target.dma("axi_dma_1")
    n = 1000
    src, dst = _words(target, n, 4), guarded(target, 4 * n)
    d1.recvchannel.transfer(dst, start=PAD, nbytes=4 * n)
    d0.sendchannel.transfer(src)
    d0.sendchannel.wait()
    d1.recvchannel.wait()
    assert np.array_equal(dst[PAD:PAD + 4 * n].view("u4"), src)
    check_canaries(dst, PAD, 4 * n)


def test_register_slice_passes_data(target):
    d0, d1 = target.dma("axi_dma_0"), target.dma("axi_dma_1")
    n = 999
    src, dst = _words(target, n, 5), guarded(target, 4 * n)
    d0.recvchannel.transfer(dst, start=PAD, nbytes=4 * n)
    d1.sendchannel.transfer(src)
    d1.sendchannel.wait()
    d0.recvchannel.wait()
    assert np.array_equal(dst[PAD:PAD + 4 * n].view("u4"), src)
    check_canaries(dst, PAD, 4 * n)


@settings(max_examples=15)
@given(sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=4),
       offset=st.integers(0, 15), seed=st.integers(0, 2**32 - 1))
def test_random_packets_through_the_fifo_keep_data_and_canaries(target, sizes, offset, seed):
    fresh(target)
    rng = np.random.default_rng(seed)
    d0, d1 = target.dma("axi_dma_0"), target.dma("axi_dma_1")
    for n in sizes:
        src = target.allocate(n, "u1")
        src[:] = rng.integers(0, 256, n, dtype=np.uint8)
        dst = guarded(target, n, offset & ~3)
        start = PAD + (offset & ~3)
        d1.recvchannel.transfer(dst, start=start, nbytes=n)
        d0.sendchannel.transfer(src)
        d0.sendchannel.wait()
        d1.recvchannel.wait()
        assert np.array_equal(dst[start:start + n], src)
        check_canaries(dst, start, n)
        assert d1.recvchannel.transferred == n
