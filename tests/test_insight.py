"""What a user sees when looking inside: diagnostics, the access trace, decoded state."""

from __future__ import annotations

import pytest
from helpers import dma_regs, start_both

from dmasim.regmap import MM2S, S2MM


@pytest.mark.rule("DIAG-MISTAKES", "XFER-BUSY-LENGTH", "XFER-HALTED-LENGTH", "XFER-UNALIGNED")
@pytest.mark.needs("diagnostics")
def test_driver_mistakes_are_recorded(target):
    regs = dma_regs(target)
    buf = target.allocate(64, "u1")
    regs.write(MM2S.ADDR, buf.physical_address)
    regs.write(MM2S.LENGTH, 64)  # while halted
    start_both(regs)
    w = int(target.ip_dict["axi_dma_0"]["parameters"]["c_sg_length_width"])
    regs.write(MM2S.LENGTH, 1 << w)  # masked to 0
    regs.write(S2MM.ADDR, buf.physical_address + 2)  # unaligned, no DRE
    regs.write(S2MM.LENGTH, 16)
    regs.write(S2MM.LENGTH, 16)  # while busy
    text = "\n".join(d.message for d in target.engine.diagnostics)
    assert "written while halted" in text
    assert "masked to 0" in text
    assert "not aligned to 4 bytes" in text
    assert "in flight" in text
    assert "S2MM: LENGTH written while a transfer is in flight" in target.describe()


@pytest.mark.rule("DIAG-TRACE")
@pytest.mark.needs("trace")
def test_trace_names_registers_with_timestamps(target):
    regs = dma_regs(target)
    regs.write(MM2S.DMACR, 1)
    regs.read(MM2S.DMASR)
    lines = target.format_trace(2).splitlines()
    assert "W  MM2S_DMACR     0x00000001" in lines[0]
    assert "R  MM2S_DMASR     0x00000000" in lines[1]
    assert lines[0].split()[0].isdigit()


def test_time_advances_only_through_accesses_and_delay(target):
    if not target.simulated:
        pytest.skip("the board's clock is the wall clock")
    t0 = target.now_ns
    target.delay(12_345)
    assert target.now_ns - t0 >= 12_345
    t1 = target.now_ns
    dma_regs(target).read(MM2S.DMASR)
    assert target.now_ns > t1


@pytest.mark.rule("CR-KEYHOLE")
def test_keyhole_mm2s_reads_one_word(target, dma):
    """DMACR.Keyhole: MM2S uses FIXED bursts, so every beat carries the word at SA."""
    regs = dma_regs(target)
    a = target.allocate(64, "u4")
    b = target.allocate(64, "u4")
    a[:] = range(100, 164)
    dma.recvchannel.transfer(b)
    regs.write(MM2S.DMACR, regs.read(MM2S.DMACR) | 0x8)
    dma.sendchannel.transfer(a, start=8, nbytes=64)
    dma.sendchannel.wait()
    dma.recvchannel.wait()
    assert (b[:16] == 102).all()
    assert (b[16:] == 0).all()
