"""The ``"pynq"`` level: pynq's own ``pynq.lib.dma.DMA``, unmodified, behind dmasim's API.

pynq does the register work (its ``transfer``, ``wait``, ``start``, ``stop``, and the cache
flush/invalidate on the buffers it is given). This wrapper adds what pynq lacks and the other
levels have: the shared argument checks (``ChannelBase.check_transfer``), a timeout on every
wait, and specific exceptions decoded from DMASR instead of pynq's bare ``RuntimeError``.

Scatter-gather mode (``c_include_sg=1``): pynq builds its ``_SGDMAChannel``, which starts each
transfer as a chain of its own on a halted channel (CURDESC, RS=1, TAILDESC) and halts the channel
again at the end of its ``wait()``. The wrapper therefore never starts an SG channel itself
(:class:`PynqSgChannel`); ``transferred`` is the sum pynq computes from its BDs.

Timeouts. pynq's loops spin with no timeout. On simulated targets pynq talks to a
:class:`~dmasim.pynq.device.SimulatedDevice`, which the wrapper arms with a deadline in target
time (plus stop conditions, e.g. "this channel halted"); the device raises from inside pynq's
read and the wrapper turns that into ``diagnose.timeout_error`` / ``error_for``. On the board
(a :class:`~dmasim.target.PynqDeviceOwner`: pynq's own mmap-backed device) a watchdog thread
raises an exception asynchronously in the waiting thread at a wall-clock deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from .. import regmap
from ..errors import DmaBusyError, DmasimValueError, pynq_missing
from ..pynq.device import PollStoppedError, RegisterPollTimeoutError, SimulatedDevice
from ..target import PynqDeviceOwner
from . import registers
from .base import DEFAULT_TIMEOUT_S, ChannelBase, DmaDriver, _ns
from .diagnose import error_for
from .sg import MAX_RING_BDS, sg_error

try:
    import pynq
    from pynq.lib.dma import DMA
except ImportError as exc:  # pragma: no cover - pynq.device already raised the same error
    raise pynq_missing("the 'pynq' driver level (pynq.lib.dma)", exc) from exc

if TYPE_CHECKING:
    from ..buffer import Buffer
    from ..target import Target

__all__ = ["PynqChannel", "PynqDMA", "PynqSgChannel"]

_ERRORS, _HALTED, _IDLE = regmap.DMASR_ERRORS, regmap.DMASR_HALTED, regmap.DMASR_IDLE
_ALL_ERRORS = regmap.DMASR_ALL_ERRORS
_PYNQ_BD_ON_ACTIVE = str(getattr(pynq, "__version__", "")).startswith("3.")
"""pynq 3.x's ``_SGDMAChannel`` allocates its BDs with ``pynq.allocate`` on the active device."""


@contextlib.contextmanager
def _bds_on(device: Any) -> Iterator[None]:
    """Make ``device`` pynq's active device meanwhile where pynq allocates BDs there (3.x)."""
    if not _PYNQ_BD_ON_ACTIVE:
        yield
        return
    active = vars(pynq.Device).get("_active_device")  # not the getter: it may raise
    pynq.Device.active_device = device
    try:
        yield
    finally:
        if active is None:
            with suppress(AttributeError):
                del pynq.Device._active_device
        else:
            pynq.Device.active_device = active


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

    def _wait_now(self) -> int | None:
        """One look at DMASR; once the transfer is over, pynq's own wait() (at once) ends it."""
        if not self._dmasr() & (_IDLE | _ALL_ERRORS | _HALTED):
            return None
        return self._wait(_ns(DEFAULT_TIMEOUT_S))

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


class PynqSgChannel(PynqChannel):
    """A channel run by pynq's own ``_SGDMAChannel`` (``c_include_sg=1``).

    pynq wants the channel halted for ``transfer`` (it writes CURDESC, starts, writes
    TAILDESC) and halts it again in ``wait``. So the channel is never started by the wrapper;
    a new transfer after a completed one that was not waited on first lets pynq's ``wait``
    finish that one (it returns at once). pynq splits every transfer into at least two BDs of
    whole data words, hence :attr:`min_size`.
    """

    sg = True

    def __init__(self, driver: PynqDMA, ch: regmap.Channel, pynq_channel: Any):
        super().__init__(driver, ch, pynq_channel)
        cfg = driver.config
        width = max(cfg[f"{'mm2s' if ch is regmap.MM2S else 's2mm'}_align"], 1)
        self.bd_max = cfg["max_size"] - cfg["max_size"] % width
        """The most bytes one of pynq's BDs carries."""
        self.max_size = self.bd_max * MAX_RING_BDS
        self.min_size = 2 * width
        self._done = False  # the last transfer's wait completed (a second wait returns at once)
        self._cyclic = False
        self._cyclic_next = False  # transfer(cyclic=...) for the _submit it calls

    def _min_size_reason(self) -> str:
        return (" (pynq's _SGDMAChannel splits every transfer into at least two BDs of whole "
                f"{self.min_size // 2}-byte data words)")

    @property
    def transferred(self) -> int:
        """Bytes the last completed transfer moved: pynq's sum over its BDs' STATUS."""
        return int(self.pynq_channel.transferred)

    def transfer(self, buffer: Buffer, start: int = 0, nbytes: int = 0, *,
                 cyclic: bool = False) -> None:
        """Move ``nbytes`` (0: to the end) of ``buffer`` from byte ``start``.

        ``cyclic=True`` (MM2S only, as in pynq) loops until :meth:`stop`; wait() does not
        apply to it.
        """
        if cyclic and self._ch is not regmap.MM2S:
            raise DmasimValueError(f"cyclic=True on {self.name}: pynq's _SGDMAChannel allows "
                                   "it on the sendchannel (MM2S) only")
        self._cyclic_next = bool(cyclic)
        super().transfer(buffer, start, nbytes)

    def _submit(self, buffer: Buffer, start: int, addr: int, nbytes: int) -> None:
        """Halt the channel if something left it running, then pynq's ``transfer``."""
        d = self._driver
        state = d.state()
        if (state.mm2s_dmasr | state.s2mm_dmasr) & _ALL_ERRORS:
            self._raise_state("transfer")
        if self._cyclic:
            raise DmaBusyError("transfer: a cyclic transfer is running on this channel",
                               channel=self.name, state=state,
                               cause="stop() it first (pynq resets the engine to stop it)")
        sr = self._dmasr()
        if self._inflight:
            if not sr & _IDLE:
                raise self._busy_error(state)
            self._finish(self._wait(_ns(DEFAULT_TIMEOUT_S)), DEFAULT_TIMEOUT_S)
        elif not sr & _HALTED and self._stop(_ns(DEFAULT_TIMEOUT_S)) is None:
            # Started by hand (start()): pynq's transfer wants the channel halted.
            self._raise_state("transfer")
        cyclic, self._cyclic_next = self._cyclic_next, False
        d.arm(_ns(DEFAULT_TIMEOUT_S), self._start_stops)
        try:
            try:
                with _bds_on(d.device):
                    self.pynq_channel.transfer(buffer, start, nbytes, cyclic=cyclic)
            finally:
                d.disarm()
        except (RegisterPollTimeoutError, PollStoppedError, _Expired, RuntimeError) as exc:
            state = d.state()
            raise (self._error(state, "transfer")
                   or d.timeout_error(self.name, state, DEFAULT_TIMEOUT_S)) from exc
        self._inflight, self._done, self._cyclic = True, False, cyclic
        self._buffer = None  # pynq invalidates S2MM buffers in its own wait()

    def _before_wait(self) -> None:
        super()._before_wait()
        if self._cyclic:
            raise DmasimValueError(
                f"{self.name}: a cyclic transfer never completes, so wait() cannot return: "
                "stop() it")

    def _wait(self, timeout_ns: int) -> int | None:
        if not self._inflight:
            return self._dmasr()  # _finish says what this means
        finished: list[bool] = []

        def wait() -> None:
            self.pynq_channel.wait()
            finished.append(True)

        sr = self._guarded(wait, timeout_ns, None)
        if finished:
            self._inflight, self._done = False, True
        return sr

    def _wait_now(self) -> int | None:
        if self._inflight and not self._dmasr() & (_IDLE | _ALL_ERRORS | _HALTED):
            return None
        return self._wait(_ns(DEFAULT_TIMEOUT_S))

    def _finish(self, sr: int | None, timeout: float) -> None:
        d = self._driver
        if sr is None:
            raise d.timeout_error(self.name, d.state(), timeout)
        state = d.state()
        if (state.mm2s_dmasr | state.s2mm_dmasr) & _ALL_ERRORS or self._inflight:
            self._raise_state("wait", timeout)
        if not self._done:
            raise DmasimValueError(f"{self.name}: wait() without a transfer to wait for: "
                                   "call transfer() first")
        self._pending.active = False

    def stop(self, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Stop the channel with pynq's ``stop`` (cyclic: RS=0 and a soft reset of the engine)."""
        was_cyclic = self._cyclic
        super().stop(timeout)
        if was_cyclic:  # pynq reset the whole engine: both channels start from scratch
            self._driver.forget_state()

    def _error(self, state: Any, action: str) -> Exception | None:
        d = self._driver
        return (sg_error(self.name, state, action, d.mmio.read, self._bd_text)
                or error_for(self.name, state, d.pending, action))

    def _raise_state(self, action: str, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        d = self._driver
        state = d.state()
        raise self._error(state, action) or d.timeout_error(self.name, state, timeout)

    def _bd_text(self, addr: int) -> str | None:
        """The BD at ``addr`` decoded, if it is one of pynq's current BDs (either channel)."""
        for chan in (self._driver.sendchannel, self._driver.recvchannel):
            with suppress(Exception):  # a decoding aid only: never hide the error itself
                # pynq's BDs of the transfer in flight: read here, never changed.
                descr: Any = getattr(chan, "pynq_channel", None)._descr  # type: ignore[union-attr]
                if descr is None:
                    continue
                rel = addr - int(descr.physical_address)
                if 0 <= rel < descr.nbytes and rel % regmap.BD_SIZE == 0:
                    words = [int(w) for w in descr[rel // regmap.BD_SIZE]]
                    return regmap.decode_bd(words, at=addr)
        return None

    def _forget(self) -> None:
        self._cyclic = False
        self._done = False


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
        channel = PynqSgChannel if self.config["sg"] else PynqChannel
        self.sendchannel = channel(self, regmap.MM2S, self.dma.sendchannel)
        self.recvchannel = channel(self, regmap.S2MM, self.dma.recvchannel)

    def ensure_started(self) -> None:
        """Simple mode: start both channels; SG mode: nothing (pynq starts each transfer)."""
        if self.config["sg"]:
            self._started = True
            return
        super().ensure_started()

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

