"""The notebook's level (ii): plain register sequences over an ``MMIO`` window.

These are the only place the Python driver touches registers; the channel classes in
:mod:`dmasim.drivers.python` call them. Every poll has a deadline in the target's time and
backs off with ``clock.delay`` so simulators jump ahead instead of spinning.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from .. import constants, regmap
from ..regmap import Channel

__all__ = [
    "poll",
    "program_transfer",
    "reset_dma",
    "start_channel",
    "stop_channel",
]

FIRST_BACKOFF_NS = constants.POLL_FIRST_BACKOFF_NS
MAX_BACKOFF_NS = constants.POLL_MAX_BACKOFF_NS
MAX_FIRST_BACKOFF_NS = constants.POLL_MAX_FIRST_WAIT_NS
"""The longest wait_idle sleeps before its first read (a transfer of 50 MB at 500 MB/s)."""
WALL_GUARD_S = constants.POLL_WALL_GUARD_NS / 1e9
"""A simulator that makes no progress for this long in wall time is considered stuck."""


class Window(Protocol):
    """What these functions need of ``pynq.MMIO`` / ``dmasim.MMIO``."""

    def read(self, offset: int) -> int:
        """Read a register."""
        ...

    def write(self, offset: int, value: int) -> None:
        """Write a register."""
        ...


class Clock(Protocol):
    """The target's time."""

    @property
    def now_ns(self) -> int:
        """Now, in ns."""
        ...

    def delay(self, ns: int) -> None:
        """Let time pass."""
        ...


def poll(mmio: Window, offset: int, done_mask: int, clock: Clock, timeout_ns: int,
         want_set: bool = True, stop_mask: int = 0) -> int | None:
    """Read ``offset`` until ``done_mask`` bits are set (or clear), or any ``stop_mask`` bit.

    Returns the last value read, or None when ``timeout_ns`` of target time passed first.
    Pauses between reads start at ``FIRST_BACKOFF_NS`` and double up to ``MAX_BACKOFF_NS``.
    """
    read, delay = mmio.read, clock.delay
    deadline = -1
    wall_deadline = 0.0
    step = FIRST_BACKOFF_NS
    while True:
        value = read(offset)
        hit = (value & done_mask) == done_mask if want_set else not value & done_mask
        if hit or value & stop_mask:
            return value  # the common case is done on the first look, no clock consulted
        now = clock.now_ns
        if deadline < 0:  # deadlines start when the first look was not enough
            deadline = now + timeout_ns
            wall_deadline = time.monotonic() + WALL_GUARD_S
        if now >= deadline or time.monotonic() > wall_deadline:
            return None
        delay(min(step, deadline - now))
        if step < MAX_BACKOFF_NS:
            step *= 2


def reset_dma(mmio: Window, clock: Clock, timeout_ns: int = 1_000_000) -> bool:
    """Soft-reset the whole engine (both channels); True once Reset reads 0 in both."""
    mmio.write(regmap.MM2S.DMACR, regmap.DMACR_RESET)
    mmio.write(regmap.S2MM.DMACR, regmap.DMACR_RESET)
    ok = True
    for ch in regmap.CHANNELS:
        ok = poll(mmio, ch.DMACR, regmap.DMACR_RESET, clock, timeout_ns, want_set=False) \
            is not None and ok
    return ok


def start_channel(mmio: Window, ch: Channel, clock: Clock, timeout_ns: int = 1_000_000,
                  irq_enables: int = 0) -> int | None:
    """RS=1 (read-modify-write, as XAxiDma does) and wait for Halted=0.

    Returns DMASR once running, or DMASR with error bits set, or None on timeout.
    """
    cr = mmio.read(ch.DMACR)
    mmio.write(ch.DMACR, (cr & ~regmap.DMACR_RESET) | regmap.DMACR_RS | irq_enables)
    return poll(mmio, ch.DMASR, regmap.DMASR_HALTED, clock, timeout_ns, want_set=False,
                stop_mask=regmap.DMASR_ERRORS)


def stop_channel(mmio: Window, ch: Channel, clock: Clock,
                 timeout_ns: int = 1_000_000) -> int | None:
    """RS=0 and wait for Halted=1 (an S2MM transfer waiting for data never halts)."""
    cr = mmio.read(ch.DMACR)
    mmio.write(ch.DMACR, cr & ~(regmap.DMACR_RS | regmap.DMACR_RESET))
    return poll(mmio, ch.DMASR, regmap.DMASR_HALTED, clock, timeout_ns)


def program_transfer(mmio: Window, ch: Channel, addr: int, nbytes: int,
                     msb: bool = True, barrier: Callable[[], None] | None = None) -> None:
    """Address (+MSB unless ``msb`` is False), ``barrier()``, then LENGTH, which starts it.

    PYNQ writes the MSB register even on 32-bit designs, where it does not exist and the write
    is harmless; XAxiDma writes it only when addresses are wider than 32 bits. ``barrier``
    (the board's DSB + PL310 sync) orders the CPU's buffer writes before the starting write.
    """
    mmio.write(ch.ADDR, addr & 0xFFFF_FFFF)
    if msb:
        mmio.write(ch.ADDR_MSB, (addr >> 32) & 0xFFFF_FFFF)
    if barrier is not None:
        barrier()
    mmio.write(ch.LENGTH, nbytes)


def wait_idle(mmio: Window, ch: Channel, clock: Clock, timeout_ns: int,
              nbytes: int = 0, started_ns: int | None = None) -> int | None:
    """Poll DMASR until Idle, an error, or Halted; None on timeout.

    A transfer of ``nbytes`` started at ``started_ns`` (default: now) cannot be done before
    it would be at 500 MB/s, a little faster than this design's ~400 MB/s: until then the
    wait sleeps instead of reading, so it usually sees the transfer done on its first read.
    """
    now = clock.now_ns
    first_wait = min(constants.POLL_NS_PER_BYTE * nbytes, MAX_FIRST_BACKOFF_NS)
    ready = (now if started_ns is None else started_ns) + first_wait
    if ready > now:
        nap = min(ready - now, timeout_ns)
        clock.delay(nap)
        timeout_ns -= nap
    return poll(mmio, ch.DMASR, regmap.DMASR_IDLE, clock, timeout_ns,
                stop_mask=regmap.DMASR_ERRORS | regmap.DMASR_HALTED)
