"""The ``"python"`` level: the channel API as register sequences over ``t.mmio``."""

from __future__ import annotations

from .. import regmap
from ..target import DmaBarrier
from . import registers
from .base import ChannelBase, DmaDriver

__all__ = ["PythonDMA"]


class PythonChannel(ChannelBase):
    """A channel driven by :mod:`dmasim.drivers.registers` (the notebook's level ii)."""

    def __init__(self, driver: DmaDriver, ch: regmap.Channel):
        super().__init__(driver, ch)
        self._sr = ch.DMASR
        self._started_ns = 0  # when the last transfer was programmed (target time)
        target = driver.target
        self._barrier = target.dma_barrier if isinstance(target, DmaBarrier) else None  # DSB

    def _dmasr(self) -> int:
        return self._driver.mmio.read(self._sr)

    def _start(self, timeout_ns: int) -> int | None:
        d = self._driver
        return registers.start_channel(d.mmio, self._ch, d.target.clock, timeout_ns)

    def _stop(self, timeout_ns: int) -> int | None:
        d = self._driver
        return registers.stop_channel(d.mmio, self._ch, d.target.clock, timeout_ns)

    def _program(self, addr: int, nbytes: int) -> None:
        d = self._driver
        registers.program_transfer(d.mmio, self._ch, addr, nbytes, d.config["addr_width"] > 32,
                                   self._barrier)
        self._started_ns = d.target.clock.now_ns

    def _wait(self, timeout_ns: int) -> int | None:
        d = self._driver
        return registers.wait_idle(d.mmio, self._ch, d.target.clock, timeout_ns,
                                   self._pending.nbytes, self._started_ns)


class PythonDMA(DmaDriver):
    """``pynq.lib.dma.DMA``'s API in plain Python, with timeouts and specific errors."""

    level = "python"

    def __init__(self, target, ip_name: str = "axi_dma_0"):  # type: ignore[no-untyped-def]
        super().__init__(target, ip_name)
        channel: type[PythonChannel] = PythonChannel
        if self.config["sg"]:
            from .sg import PythonSgChannel  # SG mode: a BD ring instead of SA/DA/LENGTH

            channel = PythonSgChannel
        self.sendchannel = channel(self, regmap.MM2S)
        self.recvchannel = channel(self, regmap.S2MM)
