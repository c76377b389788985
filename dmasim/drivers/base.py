"""What every driver level shares: the pynq-style channel API, input checks and errors.

A level only supplies five primitive operations on a channel (read DMASR, start, stop,
program a transfer, wait for Idle). Argument checking, the busy/not-started rules, cache
maintenance and the exceptions live here once, so every level rejects the same bad input with
the same error and reports the same hardware state with the same exception type.
"""

from __future__ import annotations

import asyncio
import atexit
import operator
import threading
from contextlib import suppress
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .. import constants, regmap
from ..errors import BufferStateError, DmaBusyError, DmasimValueError
from ..target import Interrupts
from .diagnose import Pending, error_for, read_state, timeout_error

if TYPE_CHECKING:
    from ..buffer import Buffer
    from ..errors import DmaState, DmaTimeoutError
    from ..target import Target

__all__ = ["IRQ_ENABLES", "ChannelBase", "DmaDriver", "dma_config", "interrupt_target"]

DEFAULT_TIMEOUT_S = 1.0
IRQ_ENABLES = regmap.DMACR_IOC_IRQEN | regmap.DMACR_ERR_IRQEN
"""What an interrupt wait enables in DMACR: completion (IOC) and errors (Err), as Linux does."""
_COMPLETION_IRQS = regmap.DMASR_IOC_IRQ | regmap.DMASR_DLY_IRQ


def _param(params: dict[str, Any], name: str, default: int) -> int:
    value = params.get(name, params.get(name.upper(), default))
    return int(value, 0) if isinstance(value, str) else int(value)


def dma_config(params: dict[str, Any]) -> dict[str, int]:
    """Driver-relevant settings from a PYNQ ``ip_dict`` ``parameters`` dict (.hwh names)."""
    width = _param(params, "c_sg_length_width", 14)
    return {
        "length_width": width,
        "max_size": (1 << width) - 1,
        "mm2s_align": _param(params, "c_m_axi_mm2s_data_width", 32) // 8,
        "s2mm_align": _param(params, "c_m_axi_s2mm_data_width", 32) // 8,
        "mm2s_dre": _param(params, "c_include_mm2s_dre", 0),
        "s2mm_dre": _param(params, "c_include_s2mm_dre", 0),
        "addr_width": _param(params, "c_addr_width", 32),
        "sg": _param(params, "c_include_sg", 0),
        "readahead": constants.readahead_bytes({
            "c_m_axi_mm2s_data_width": _param(params, "c_m_axi_mm2s_data_width", 32),
            "c_mm2s_burst_size": _param(params, "c_mm2s_burst_size", 16),
        }),
    }


def interrupt_target(target: Target) -> Interrupts:
    """``target`` if its interrupt lines can be awaited, else a DmasimValueError naming why."""
    has_irq = "irq" in target.capabilities
    if has_irq and isinstance(target, Interrupts):
        return target
    missing = ("the 'irq' capability (its interrupt lines are not routed where it can see "
               "them)" if not has_irq else
               "an `await target.interrupt(ip, port)` coroutine (dmasim.target.Interrupts)")
    raise DmasimValueError(
        f"waiting on the interrupt needs a target with interrupt lines: the {target.name} "
        f"target lacks {missing}; its capabilities are {sorted(target.capabilities)}, "
        "allowed: targets with 'irq'; use wait() to poll instead")


class ChannelBase:
    """One direction of the DMA with ``pynq.lib.dma``'s API and timeouts on every wait."""

    sg: ClassVar[bool] = False
    """True for a channel driving a scatter-gather DMA (BD chains instead of SA/DA/LENGTH)."""
    min_size: int = 1
    """The fewest bytes one transfer may move."""

    def __init__(self, driver: DmaDriver, ch: regmap.Channel):
        self._driver = driver
        self._ch = ch
        self.name = ch.name
        cfg = driver.config
        key = "mm2s" if ch is regmap.MM2S else "s2mm"
        self.max_size = cfg["max_size"]
        self.alignment = 1 if cfg[f"{key}_dre"] else cfg[f"{key}_align"]
        self._pending = driver.pending[ch.name]
        self._owns = driver.target.memory.owns
        self._buffer: Buffer | None = None
        self._first_transfer = True
        self._port = f"{ch.name.lower()}_introut"
        self._irq_bits = 0  # DMACR interrupt enables an interrupt wait turned on

    # --- primitives each level implements -------------------------------------------

    def _dmasr(self) -> int:
        raise NotImplementedError

    def _start(self, timeout_ns: int) -> int | None:
        """RS=1, wait for Halted=0; DMASR or None on timeout."""
        raise NotImplementedError

    def _stop(self, timeout_ns: int) -> int | None:
        """RS=0, wait for Halted=1; DMASR or None on timeout."""
        raise NotImplementedError

    def _program(self, addr: int, nbytes: int) -> None:
        raise NotImplementedError

    def _wait(self, timeout_ns: int) -> int | None:
        """Poll until Idle, error or Halted; DMASR or None on timeout."""
        raise NotImplementedError

    # --- the public API ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True when the channel is not halted."""
        self._driver.ensure_started()
        return not self._dmasr() & regmap.DMASR_HALTED

    @property
    def idle(self) -> bool:
        """True when the last transfer completed (DMASR.Idle)."""
        self._driver.ensure_started()
        return bool(self._dmasr() & regmap.DMASR_IDLE)

    @property
    def error(self) -> bool:
        """True when an error bit is set on this channel."""
        return bool(self._dmasr() & regmap.DMASR_ERRORS)

    @property
    def transferred(self) -> int:
        """Bytes moved by the last completed transfer (LENGTH readback)."""
        return self._driver.read(self._ch.LENGTH)

    def start(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Set RS and wait until the channel runs."""
        sr = self._start(_ns(timeout))
        if sr is None or sr & (regmap.DMASR_ERRORS | regmap.DMASR_HALTED):
            self._raise_state("start", timeout)
        self._first_transfer = True

    def stop(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Clear RS and wait until the channel halts (the transfer in flight finishes first)."""
        self._driver.ensure_started()
        if self._stop(_ns(timeout)) is None:
            state = self._driver.state()
            raise self._driver.timeout_error(self.name, state, timeout)
        self._pending.active = False

    def check_transfer(self, buffer: Buffer, start: int = 0, nbytes: int = 0) -> tuple[int, int]:
        """Validate a request; return ``(physical address, length)``. Raises on bad input."""
        if not self._owns(buffer):
            if not isinstance(buffer, np.ndarray):
                raise BufferStateError(
                    f"transfer needs a buffer from target.allocate(), not {type(buffer).__name__}"
                )
            raise BufferStateError(
                "transfer buffer was not allocated by this target or has been freed"
            )
        if not buffer.flags.c_contiguous:
            raise DmasimValueError("transfer buffer must be C-contiguous (a slice with a step?)")
        if type(start) is not int or type(nbytes) is not int:
            try:
                start, nbytes = operator.index(start), operator.index(nbytes)
            except TypeError as exc:
                raise DmasimValueError(
                    f"start={start!r}, nbytes={nbytes!r} must be integers") from exc
        total = int(buffer.nbytes)
        if start == total and nbytes == 0:
            raise DmasimValueError(
                f"zero-length transfer: start={start} is the end of the {total}-byte buffer; "
                f"allowed start 0..{total - 1}"
            )
        if not 0 <= start < total:
            raise DmasimValueError(
                f"start={start} is outside the buffer: allowed 0..{total - 1} bytes"
            )
        if nbytes == 0:
            nbytes = total - start
        if nbytes < 0 or start + nbytes > total:
            raise DmasimValueError(
                f"start={start} + nbytes={nbytes} is past the end of the {total}-byte buffer: "
                f"allowed nbytes {self.min_size}..{total - start}"
            )
        if nbytes < self.min_size:
            raise DmasimValueError(
                f"transfer of {nbytes} bytes is below this level's minimum of {self.min_size} "
                f"bytes{self._min_size_reason()}: allowed {self.min_size}..{self.max_size}"
            )
        if nbytes > self.max_size:
            raise DmasimValueError(
                f"transfer of {nbytes} bytes exceeds the maximum of {self.max_size} bytes "
                f"(c_sg_length_width={self._driver.config['length_width']}): allowed 1.."
                f"{self.max_size}"
            )
        addr = int(buffer.physical_address) + start
        if addr % self.alignment:
            raise DmasimValueError(
                f"{self.name} address 0x{addr:08x} is not aligned to {self.alignment} bytes and "
                f"the design has no DRE: allowed addresses are multiples of {self.alignment}"
            )
        return addr, nbytes

    def transfer(self, buffer: Buffer, start: int = 0, nbytes: int = 0) -> None:
        """Start moving ``nbytes`` (0: to the end) of ``buffer`` from byte ``start``."""
        if not self._driver._started:
            self._driver.ensure_started()
        addr, nbytes = self.check_transfer(buffer, start, nbytes)
        self._submit(buffer, start, addr, nbytes)
        self._pending.addr, self._pending.nbytes, self._pending.active = addr, nbytes, True
        self._first_transfer = False

    def _submit(self, buffer: Buffer, start: int, addr: int, nbytes: int) -> None:
        """Refuse a halted or busy channel, flush an MM2S buffer, program the transfer.

        A level whose own driver does these steps (pynq's) overrides this one method.
        """
        sr = self._dmasr()
        if sr & (regmap.DMASR_ERRORS | regmap.DMASR_HALTED):
            self._raise_state("transfer")
        if not sr & regmap.DMASR_IDLE and not self._first_transfer:
            raise self._busy_error(self._driver.state())
        if getattr(buffer, "cacheable", False):
            self._clean_for_dma(buffer)
        self._program(addr, nbytes)
        self._buffer = buffer

    def _clean_for_dma(self, buffer: Buffer) -> None:
        """Write the CPU's dirty lines of a cacheable buffer back to DDR before the DMA starts.

        MM2S: so the DMA reads what the CPU wrote. S2MM too: a dirty line left in the cache can
        be evicted while the DMA writes, over its fresh data, and ``invalidate()`` after the
        transfer would then read the CPU's old bytes back.
        """
        buffer.flush()

    def _forget(self) -> None:
        """After a reset of the engine: drop level state (SG mode keeps its BD ring here)."""

    def _busy_error(self, state: DmaState) -> DmaBusyError:
        return DmaBusyError(
            "transfer: DMA channel not idle",
            channel=self.name,
            state=state,
            cause="the previous transfer is still in flight: wait() for it first",
        )

    def _min_size_reason(self) -> str:
        """Why :attr:`min_size` is above 1 (for the error message), with a leading space."""
        return ""

    def wait(self, timeout: float = DEFAULT_TIMEOUT_S, *, interrupt: bool = False) -> None:
        """Wait until the transfer completes; raise with decoded state on error or timeout.

        ``interrupt=True`` sleeps on the channel's introut line (:meth:`wait_async`) instead
        of polling DMASR; it needs a target with the ``"irq"`` capability.
        """
        if interrupt:
            _run_to_completion(self.wait_async(timeout))
            return
        self._before_wait()
        sr = self._wait(int(timeout * 1e9) if type(timeout) is float and timeout >= 0
                        else _ns(timeout))
        self._finish(sr, timeout)

    async def wait_async(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Like :meth:`wait`, sleeping on the channel's introut line between looks at DMASR.

        Enables IOC and Err interrupts in DMACR if they are off, sleeps in
        ``target.interrupt`` until the line rises, then looks as the polling wait does;
        acknowledges (W1C) IOC_Irq/Dly_Irq, so the next wait sleeps again. Err_Irq is left set
        (only a reset clears the error) so the exception's decoded DMASR shows it.
        """
        target = interrupt_target(self._driver.target)
        timeout_ns = _ns(timeout)
        self._before_wait()
        sr = await self._sleep_until_over(target, timeout_ns)
        self._finish(sr, timeout)

    def _before_wait(self) -> None:
        """Checks before any wait (the SG channels refuse to wait on a cyclic transfer)."""
        if not self._driver._started:
            self._driver.ensure_started()

    def _wait_now(self) -> int | None:
        """One look, as the polling wait's: DMASR if the wait is over, else None."""
        return self._wait(0)

    async def _sleep_until_over(self, target: Interrupts, timeout_ns: int) -> int | None:
        """Sleep on the introut line until :meth:`_wait_now` says the wait is over.

        Returns that DMASR, or None when ``timeout_ns`` passed first. The interrupt wait of
        every level and mode (simple and SG) is this loop.
        """
        d, ch = self._driver, self._ch
        mmio = d.mmio
        cr = mmio.read(ch.DMACR)
        if cr & IRQ_ENABLES != IRQ_ENABLES:
            mmio.write(ch.DMACR, (cr & ~regmap.DMACR_RESET) | IRQ_ENABLES)
        self._irq_bits = IRQ_ENABLES
        clock = d.target.clock
        deadline = clock.now_ns + timeout_ns
        while True:
            sr = self._wait_now()
            if sr is not None:
                break
            left = deadline - clock.now_ns
            if left <= 0:
                break
            try:
                await target.interrupt(d.ip_name, self._port, timeout_ns=left)
            except TimeoutError:
                break
            # W1C what woke us, as the drivers' interrupt handlers do. Err_Irq stays: an error
            # ends the wait at the next look, and the exception's decoded DMASR shows it.
            irq = mmio.read(ch.DMASR) & _COMPLETION_IRQS
            if irq:
                mmio.write(ch.DMASR, irq)
        if sr is not None:  # done: acknowledge the completion so the next wait sleeps again
            irq = mmio.read(ch.DMASR) & _COMPLETION_IRQS
            if irq:
                mmio.write(ch.DMASR, irq)
        return sr

    def _finish(self, sr: int | None, timeout: float) -> None:
        """The end of every wait: raise for a timeout, an error or a halt; else done."""
        if sr is None:
            state = self._driver.state()
            raise self._driver.timeout_error(self.name, state, timeout)
        if sr & (regmap.DMASR_ERRORS | regmap.DMASR_HALTED) or not sr & regmap.DMASR_IDLE:
            self._raise_state("wait", timeout)
        self._pending.active = False
        buf = self._buffer
        if (self._ch is regmap.S2MM and buf is not None and getattr(buf, "cacheable", False)
                and self._driver.target.owns(buf)):  # pynq marks only the root buffer freed
            buf.invalidate()

    def _raise_state(self, action: str, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        state = self._driver.state()
        err = error_for(self.name, state, self._driver.pending, action)
        if err is None:
            # Neither halted nor in error any more: the wait simply ran out of time.
            err = self._driver.timeout_error(self.name, state, timeout)
        raise err

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self._driver.level})>"


class DmaDriver:
    """A driver level bound to one AXI DMA of a target; ``sendchannel`` / ``recvchannel``."""

    level: ClassVar[str] = "abstract"
    sendchannel: ChannelBase
    recvchannel: ChannelBase

    def __init__(self, target: Target, ip_name: str = "axi_dma_0"):
        self.target = target
        self.ip_name = ip_name
        info = target.ip_dict[ip_name]
        self.config = dma_config(dict(info.get("parameters", {})))
        self.mmio = target.ip_mmio(ip_name)
        self.pending: dict[str, Pending] = {"MM2S": Pending(), "S2MM": Pending()}
        self._started = False

    def read(self, offset: int) -> int:
        """A register of this DMA (for status and diagnostics)."""
        return self.mmio.read(offset)

    def state(self) -> DmaState:
        """Snapshot of both channels for an exception."""
        return read_state(self.mmio.read)

    def timeout_error(self, channel: str, state: DmaState, timeout: float) -> DmaTimeoutError:
        """The timeout exception for ``channel``, with the target's account of the stall."""
        cause = None
        with suppress(Exception):  # a diagnosis must never hide the timeout itself
            cause = self.target.stall_cause(self.ip_name, channel,
                                            programmed=self.pending["S2MM"].nbytes)
        return timeout_error(channel, state, self.pending, timeout, cause,
                             readahead=self.config["readahead"])

    def ensure_started(self) -> None:
        """Start both channels on first use, as pynq's driver does when it is created."""
        if not self._started:
            self._started = True
            for chan in (self.sendchannel, self.recvchannel):
                if chan._dmasr() & regmap.DMASR_HALTED:
                    chan.start()

    def forget_state(self) -> None:
        """After a power-on reset: restart the channels lazily on next use."""
        self._started = False
        for p in self.pending.values():
            p.active = False
        for chan in (self.sendchannel, self.recvchannel):
            chan._first_transfer = True
            chan._buffer = None
            chan._forget()

    def reset(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Soft-reset the engine (clears errors), then restart both channels."""
        from .registers import reset_dma

        reset_dma(self.mmio, self.target.clock, _ns(timeout))
        self.forget_state()

    def close(self) -> None:
        """Release level resources (native handles)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} level={self.level!r} on {self.ip_name}>"


_THREAD = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop:
    """Return the event loop of this thread for synchronous interrupt waits (made once).

    ``asyncio.run`` would make and tear down a loop per wait, about 0.5 ms each: most of a
    simulated wait's cost. The loop is closed at exit.
    """
    loop: asyncio.AbstractEventLoop | None = getattr(_THREAD, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _THREAD.loop = loop
        atexit.register(loop.close)
    return loop


def _run_to_completion(coro: Any) -> None:
    """Run a wait coroutine from synchronous code; refuse inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coro.close()
        raise DmasimValueError("wait(interrupt=True) inside a running event loop: "
                               "use `await channel.wait_async()`")
    loop = _thread_loop()
    try:
        loop.run_until_complete(coro)
    except (KeyboardInterrupt, SystemExit):
        # Interrupted mid-wait: the loop may hold the unfinished wait; start afresh next time.
        _THREAD.loop = None
        for task in asyncio.all_tasks(loop):
            task.cancel()
        with suppress(BaseException):
            loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        raise


def _ns(timeout: float) -> int:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
        raise DmasimValueError(f"timeout {timeout!r} must be a number of seconds >= 0")
    return int(timeout * 1e9)
