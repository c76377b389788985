"""``await target.interrupt(...)`` in simple mode, on every target with interrupt lines."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from dmasim import DmasimValueError, regmap
from dmasim.errors import DmaTimeoutError
from dmasim.regmap import MM2S, S2MM


@pytest.mark.needs("irq")
@pytest.mark.rule("IRQ-AWAIT")
def test_interrupt_waits_for_the_transfer_then_times_out(target):
    m = target.ip_mmio()
    src = target.allocate(4096, "u1")
    dst = target.allocate(4096, "u1")
    src[:] = np.arange(4096, dtype=np.uint32).astype(np.uint8)
    for ch in regmap.CHANNELS:
        m.write(ch.DMACR, regmap.DMACR_RS | regmap.DMACR_IOC_IRQEN)
    m.write(S2MM.ADDR, dst.physical_address)
    m.write(S2MM.LENGTH, 4096)
    m.write(MM2S.ADDR, src.physical_address)
    m.write(MM2S.LENGTH, 4096)
    start = target.now_ns

    async def both() -> None:
        await asyncio.gather(target.interrupt("axi_dma_0", "mm2s_introut", timeout_ns=10**8),
                             target.interrupt("axi_dma_0", "s2mm_introut", timeout_ns=10**8))

    asyncio.run(both())
    assert target.now_ns > start  # target time passed while waiting
    assert m.read(S2MM.DMASR) & regmap.DMASR_IOC_IRQ
    assert (np.asarray(dst) == np.asarray(src)).all()
    m.write(S2MM.DMASR, regmap.DMASR_IOC_IRQ)
    with pytest.raises(DmaTimeoutError, match=r"S2MM: interrupt axi_dma_0/s2mm_introut stayed "
                                              r"low .*MM2S_DMASR=.*Likely cause: the channel "
                                              r"is idle"):
        asyncio.run(target.interrupt(timeout_ns=50_000))
    with pytest.raises(DmasimValueError, match=r"no interrupt line axi_dma_0/irq"):
        asyncio.run(target.interrupt("axi_dma_0", "irq"))
