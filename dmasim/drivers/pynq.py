"""The ``"pynq"`` level: pynq's own ``pynq.lib.dma.DMA``, unmodified, behind dmasim's API.

pynq does the register work (its ``transfer``, ``wait``, ``start``, ``stop``, and the cache
flush/invalidate on the buffers it is given). This wrapper adds what pynq lacks and the other
levels have: the shared argument checks (``ChannelBase.check_transfer``), a timeout on every
wait, and specific exceptions decoded from DMASR instead of pynq's bare ``RuntimeError``.

Timeouts. pynq's loops spin with no timeout. On simulated targets pynq talks to a
:class:`~dmasim.pynq.device.SimulatedDevice`, which the wrapper arms with a deadline in target
time (plus stop conditions, e.g. "this channel halted"); the device raises from inside pynq's
read and the wrapper turns that into ``diagnose.timeout_error`` / ``error_for``. On the board
(a :class:`~dmasim.target.PynqDeviceOwner`: pynq's own mmap-backed device) a watchdog thread
raises an exception asynchronously in the waiting thread at a wall-clock deadline.
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .. import regmap
from ..errors import pynq_missing
from ..pynq.device import PollStoppedError, RegisterPollTimeoutError, SimulatedDevice
from ..target import PynqDeviceOwner
from . import registers
from .base import DEFAULT_TIMEOUT_S, ChannelBase, DmaDriver
from .diagnose import error_for

try:
    from pynq.lib.dma import DMA
except ImportError as exc:  # pragma: no cover - pynq.device already raised the same error
    raise pynq_missing("the 'pynq' driver level (pynq.lib.dma)", exc) from exc

if TYPE_CHECKING:
    from ..buffer import Buffer
    from ..target import Target

__all__ = ["PynqChannel", "PynqDMA"]

_ERRORS, _HALTED, _IDLE = regmap.DMASR_ERRORS, regmap.DMASR_HALTED, regmap.DMASR_IDLE


class _Expired(Exception):  # noqa: N818 - raised asynchronously by the watchdog
    """The watchdog's deadline passed (delivered into the waiting thread)."""


class _Region:
    """An address range for pynq's ``transfer``: no CPU copy, so nothing to flush."""

    __slots__ = ("nbytes", "physical_address")

    def __init__(self, addr: int, nbytes: int):
        self.physical_address = addr
        self.nbytes = nbytes

    def flush(self) -> None:
        """Nothing cached."""

    def invalidate(self) -> None:
        """Nothing cached."""


class _Watchdog:
    """One daemon thread that raises :class:`_Expired` in a thread past its wall deadline."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._tid = 0
        self._fired = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def arm(self, timeout_s: float) -> None:
        with self._cond:
            self._deadline = time.monotonic() + timeout_s
            self._tid = threading.get_ident()
            self._fired = False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="dmasim-pynq-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._deadline = None
            if self._fired:
                # Fired after the wait had already finished: drop the pending exception.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._tid), None)
                self._fired = False

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                if self._deadline is None:
                    self._cond.wait(timeout=1.0)
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(timeout=left)
                    continue
                self._deadline = None
                self._fired = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self._tid), ctypes.py_object(_Expired)
                )

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=2.0)


class PynqChannel(ChannelBase):
    """A channel whose register work is done by pynq's own ``_SDMAChannel``."""

    _driver: PynqDMA

    def __init__(self, driver: PynqDMA, ch: regmap.Channel, pynq_channel: Any):
        super().__init__(driver, ch)
        self.pynq_channel = pynq_channel
        base = int(driver.target.ip_dict[driver.ip_name]["phys_addr"])
        self._dmasr_addr = base + ch.DMASR
        other = regmap.S2MM if ch is regmap.MM2S else regmap.MM2S
        self._start_stops = {self._dmasr_addr: _ERRORS, base + other.DMASR: _ERRORS}
        self._wait_stops = {self._dmasr_addr: _HALTED}
        self._inflight = False

    # --- the five primitives ----------------------------------------------------------

    def _dmasr(self) -> int:
        return self._driver.mmio.read(self._ch.DMASR)

    def _start(self, timeout_ns: int) -> int | None:
        return self._guarded(self.pynq_channel.start, timeout_ns, self._start_stops)

    def _stop(self, timeout_ns: int) -> int | None:
        return self._guarded(self.pynq_channel.stop, timeout_ns, None)

    def _program(self, addr: int, nbytes: int) -> None:
        """Run pynq's ``transfer`` on a bare address range (no buffer, no cache maintenance)."""
        self.pynq_channel.transfer(_Region(addr, nbytes), 0, nbytes)

    def _wait(self, timeout_ns: int) -> int | None:
        if not self._inflight:
            # pynq's wait() needs a transfer it started (it invalidates that buffer after);
            # with none, report the register state as the other levels do.
            d = self._driver
            return registers.wait_idle(d.mmio, self._ch, d.target.clock, timeout_ns)
        sr = self._guarded(self.pynq_channel.wait, timeout_ns, self._wait_stops)
        if sr is not None and sr & _IDLE and not sr & (_ERRORS | _HALTED):
            self._inflight = False
        return sr

    # --- pynq does the work -----------------------------------------------------------

    def _submit(self, buffer: Buffer, start: int, addr: int, nbytes: int) -> None:
        """Pynq's own ``transfer`` (its checks, its MM2S flush), its refusals translated."""
        d = self._driver
        try:
            self.pynq_channel.transfer(buffer, start, nbytes)
        except RuntimeError as exc:  # pynq: "not started" / "not idle"
            state = d.state()
            raise (error_for(self.name, state, d.pending, "transfer")
                   or self._busy_error(state)) from exc
        self._inflight = True
        # pynq invalidates S2MM buffers in its own wait(); ChannelBase must not repeat it.
        self._buffer = None

    def _guarded(self, call: Callable[[], object], timeout_ns: int,
                 stops: Mapping[int, int] | None) -> int | None:
        """Run a pynq call that may spin; DMASR afterwards, or None if it ran out of time."""
        d = self._driver
        try:
            d.arm(timeout_ns, stops)
            try:
                call()
            finally:
                d.disarm()
        except (RegisterPollTimeoutError, _Expired):
            sr = self._dmasr()
            # Halted or in error (e.g. halted by the other channel's error): say so instead.
            return sr if sr & (_ERRORS | _HALTED) and stops is not None else None
        except PollStoppedError as stop:
            return stop.value if stop.address == self._dmasr_addr else self._dmasr()
        except RuntimeError:  # pynq's report of an error bit or a halted channel
            return self._dmasr()
        return self._dmasr()


def _give_pynq_an_event_loop() -> None:
    """Make sure this thread has a current asyncio event loop before pynq's DMA is built.

    With the DMA's interrupts on an axi_intc, pynq's constructor creates ``Interrupt`` objects,
    and the first one opens the controller's UIO device and registers it with
    ``asyncio.get_event_loop()``. After any ``asyncio.run()`` in the thread there is no current
    loop and that raises; set a new one, as the thread had before. (dmasim's own interrupt
    waits re-register the UIO device with whichever loop waits; pynq's ``wait_async`` wakes
    only in the loop it was registered with.)
    """
    try:
        asyncio.get_running_loop()
        return
    except RuntimeError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            asyncio.set_event_loop(asyncio.new_event_loop())


class PynqDMA(DmaDriver):
    """pynq's ``pynq.lib.dma.DMA`` with dmasim's channel API, timeouts and exceptions.

    ``dma`` is pynq's driver object itself; ``device`` the pynq ``Device`` it runs on (a
    :class:`SimulatedDevice`, or the board target's ``pynq_device``).
    """

    level = "pynq"

    def __init__(self, target: Target, ip_name: str = "axi_dma_0"):
        super().__init__(target, ip_name)
        board_device = target.pynq_device if isinstance(target, PynqDeviceOwner) else None
        self._watchdog: _Watchdog | None = None
        if board_device is not None:
            self.device: Any = board_device
            description = dict(target.ip_dict[ip_name])
            description["device"] = board_device
            self._watchdog = _Watchdog()
            if description.get("interrupts"):
                _give_pynq_an_event_loop()
        else:
            self.device = SimulatedDevice(target)
            description = self.device.description(ip_name)
        # pynq's constructor starts both channels and spins until they run.
        self.arm(int(DEFAULT_TIMEOUT_S * 1e9), None)
        try:
            try:
                self.dma = DMA(description)
            finally:
                self.disarm()
        except (RegisterPollTimeoutError, _Expired):
            state = self.state()
            err = error_for("MM2S", state, self.pending, "start") or error_for(
                "S2MM", state, self.pending, "start")
            raise err or self.timeout_error("MM2S", state, DEFAULT_TIMEOUT_S) from None
        self.sendchannel = PynqChannel(self, regmap.MM2S, self.dma.sendchannel)
        self.recvchannel = PynqChannel(self, regmap.S2MM, self.dma.recvchannel)

    def arm(self, timeout_ns: int, stops: Mapping[int, int] | None) -> None:
        """Bound pynq's next spin loop: target time on simulations, wall clock on the board."""
        if self._watchdog is not None:
            self._watchdog.arm(timeout_ns / 1e9)
        else:
            self.device.arm(timeout_ns, stops)

    def disarm(self) -> None:
        """Remove the bound set by :meth:`arm`."""
        if self._watchdog is not None:
            self._watchdog.disarm()
        else:
            self.device.disarm()

    def forget_state(self) -> None:
        """After a power-on reset; pynq's own flags are reset by its ``start()`` on next use."""
        super().forget_state()
        for chan in (self.sendchannel, self.recvchannel):
            if isinstance(chan, PynqChannel):
                chan._inflight = False

    def close(self) -> None:
        """Stop the watchdog thread (board)."""
        if self._watchdog is not None:
            self._watchdog.close()

