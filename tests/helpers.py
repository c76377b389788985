"""Shared test helpers: canary-guarded buffers and the loopback sequence."""

from __future__ import annotations

import numpy as np

from dmasim import regmap
from dmasim.target import MMIO, Target

CANARY = 0xAA
PAD = 16  # canary bytes on each side of a destination


def dma_regs(target: Target) -> MMIO:
    """The DMA's register window."""
    ip = target.ip_dict["axi_dma_0"]
    return target.mmio(ip["phys_addr"], ip["addr_range"])


def guarded(target: Target, nbytes: int, offset: int = 0):
    """A destination with ``PAD`` canary bytes before ``offset`` + data and after it."""
    buf = target.allocate(shape=(PAD + offset + nbytes + PAD,), dtype="u1")
    buf[:] = CANARY
    return buf


def check_canaries(buf, start: int, nbytes: int) -> None:
    """The bytes around ``[start, start + nbytes)`` are untouched."""
    before = np.asarray(buf[:start])
    after = np.asarray(buf[start + nbytes:])
    assert (before == CANARY).all(), f"canary before the destination overwritten: {before[-8:]}"
    assert (after == CANARY).all(), f"canary after the destination overwritten: {after[:8]}"


def loopback(dma, src, dst, src_start: int = 0, dst_start: int = 0, nbytes: int = 0,
             timeout: float = 1.0) -> None:
    """The safe order: S2MM first, then MM2S, then wait on both."""
    dma.recvchannel.transfer(dst, start=dst_start, nbytes=nbytes)
    dma.sendchannel.transfer(src, start=src_start, nbytes=nbytes)
    dma.sendchannel.wait(timeout=timeout)
    dma.recvchannel.wait(timeout=timeout)


def start_both(regs: MMIO) -> None:
    """RS=1 on both channels through raw registers."""
    regs.write(regmap.MM2S.DMACR, regmap.DMACR_RS)
    regs.write(regmap.S2MM.DMACR, regmap.DMACR_RS)
