"""The cffi binding of the C driver core: the same ``Device`` API as the pybind11 module.

cffi (API mode) releases the GIL around every call into C and takes it back for the
``extern "Python"`` callbacks, so polling a direct mapping runs without the GIL and callbacks
into the model or the RTL run with it. An exception raised in a callback is kept on the device
and re-raised unchanged once the core has returned.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ... import regmap
from . import status
from ._dmasim_cffi import ffi, lib

__all__ = ["BARRIER_IS_DSB", "Barrier", "Device"]

BARRIER_IS_DSB = bool(lib.dmasim_barrier_is_dsb())
"""True when the C core was compiled for ARM: its barrier is a real DSB (else a compiler one)."""

_CHANNELS = frozenset(ch.base for ch in regmap.CHANNELS)


class Device:
    """One DMA register window driven by the C core.

    ``Device(bus, clock, phys_base, length)`` calls ``bus.read32``/``bus.write32`` at physical
    addresses and ``clock.delay``/``clock.now_ns``; ``Device(path, phys_base, length)`` maps
    ``path`` (``/dev/mem`` or a regular file standing in for it) and touches it directly.
    """

    _read32: Any = None
    _write32: Any = None
    _delay: Any = None
    _clock: Any = None
    _handle: Any = None

    def __init__(self, *args: Any):
        self._dev = ffi.new("dmasim_dev *")
        self._error: BaseException | None = None
        self._in_flight = 0
        self._lock = threading.Lock()
        if len(args) == 4:
            bus, clock, phys_base, length = args
            self._read32 = bus.read32
            self._write32 = bus.write32
            self._delay = clock.delay
            self._clock = clock
            self._handle = ffi.new_handle(self)
            ops = ffi.new("dmasim_ops *")
            ops.read32 = lib._dmasim_read32
            ops.write32 = lib._dmasim_write32
            ops.delay_ns = lib._dmasim_delay_ns
            ops.now_ns = lib._dmasim_now_ns
            ops.ctx = self._handle
            self._check(lib.dmasim_init_callbacks(self._dev, ops, phys_base, length), "init")
        elif len(args) == 3:
            path, phys_base, length = args
            rc = lib.dmasim_open_mmap(self._dev, os.fsencode(path), phys_base, length)
            self._check(rc, f"open {os.fsdecode(path)}")
        else:
            raise TypeError("Device(bus, clock, phys_base, length) or Device(path, phys_base, "
                            f"length), not {len(args)} arguments")

    # --- state ------------------------------------------------------------------------------

    @property
    def direct(self) -> bool:
        """True for a direct mapping (no callbacks)."""
        return bool(lib.dmasim_is_direct(self._dev))

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return bool(self._dev.closed)

    @property
    def phys_base(self) -> int:
        """Physical address of the register window."""
        return int(self._dev.phys_base)

    @property
    def length(self) -> int:
        """Window length in bytes."""
        return int(self._dev.length)

    def mapping(self) -> tuple[int, int, int]:
        """(address of the mmap, its length, window offset inside it); zeros for callbacks."""
        addr = int(ffi.cast("uintptr_t", self._dev.map_addr))
        return addr, int(self._dev.map_len), int(self._dev.map_delta)

    def close(self) -> None:
        """Unmap and close; idempotent."""
        with self._lock:
            if self._in_flight:
                self._check(status.EINVAL, "close while another thread is polling this device")
            lib.dmasim_close(self._dev)
            # Closed devices refuse every call before any callback: drop the target references.
            self._read32 = self._write32 = self._delay = self._clock = None
            self._handle = None

    def open_outer_sync(self, path: str, sync_addr: int) -> None:
        """Map the PL310 CACHE_SYNC register so the barrier before each LENGTH write drains it."""
        self._check(lib.dmasim_open_outer_sync(self._dev, os.fsencode(path), sync_addr),
                    f"open_outer_sync {os.fsdecode(path)}")

    @property
    def outer_sync(self) -> bool:
        """True when the barrier includes the PL310 cache sync."""
        return bool(lib.dmasim_has_outer_sync(self._dev))

    def set_timing(self, first: int, maximum: int, wall_guard: int) -> None:
        """Poll back-off (first and maximum step) and the wall-clock guard, in ns."""
        t = self._dev.timing
        t.first_backoff_ns, t.max_backoff_ns, t.wall_guard_ns = first, maximum, wall_guard

    # --- register access --------------------------------------------------------------------

    def read(self, offset: int) -> int:
        """Read the register at window ``offset``."""
        value: int = lib.dmasim_read_value(self._dev, offset)
        if value < 0:
            self._check(value, "read")
        return value

    def write(self, offset: int, value: int) -> None:
        """Write the register at window ``offset``."""
        rc = lib.dmasim_write(self._dev, offset, value)
        if rc:
            self._check(rc, "write")

    def write_seq(self, writes: list[tuple[int, int]]) -> None:
        """``(offset, value)`` writes back to back inside C (no Python between them)."""
        offsets = ffi.new("uint32_t[]", [o for o, _ in writes])
        values = ffi.new("uint32_t[]", [v for _, v in writes])
        self._check(self._blocking(lib.dmasim_write_seq, offsets, values, len(writes)),
                    "write_seq")

    def read_loop(self, offset: int, count: int) -> int:
        """``count`` reads of ``offset`` inside C; the last value read."""
        out = ffi.new("uint32_t *")
        self._check(self._blocking(lib.dmasim_read_loop, offset, count, out), "read_loop")
        return int(out[0])

    def now(self) -> int:
        """Return the core's time in ns (target clock, or CLOCK_MONOTONIC when direct)."""
        out = ffi.new("uint64_t *")
        self._check(lib.dmasim_now(self._dev, out), "now")
        return int(out[0])

    def delay(self, ns: int) -> None:
        """Let ``ns`` pass (target clock, or nanosleep when direct)."""
        self._check(self._blocking(lib.dmasim_delay, ns), "delay")

    # --- driver operations --------------------------------------------------------------------

    def poll(self, offset: int, done_mask: int, want_set: bool, stop_mask: int,
             timeout_ns: int) -> tuple[int, int]:
        """(status, last value) of :c:func:`dmasim_poll`."""
        out = ffi.new("uint32_t *")
        rc = self._blocking(lib.dmasim_poll, offset, done_mask, int(want_set), stop_mask,
                            timeout_ns, out)
        self._check(rc, "poll")
        return rc, int(out[0])

    def reset(self, timeout_ns: int) -> int:
        """Soft reset of the engine; ``status.OK`` or ``status.TIMEOUT``."""
        rc = self._blocking(lib.dmasim_reset, timeout_ns)
        self._check(rc, "reset")
        return int(rc)

    def dmasr(self, channel: int) -> int:
        """Read DMASR of the channel whose window base is ``channel``."""
        if channel not in _CHANNELS:
            self._check(status.EINVAL, "dmasr")
        value: int = lib.dmasim_read_value(self._dev, channel + regmap.DMASR.offset)
        if value < 0:
            self._check(value, "dmasr")
        return value

    def start(self, channel: int, timeout_ns: int, irq_enables: int) -> tuple[int, int]:
        """(status, DMASR) after RS=1 and the wait for Halted=0."""
        out = ffi.new("uint32_t *")
        rc = self._blocking(lib.dmasim_start, channel, timeout_ns, irq_enables, out)
        self._check(rc, "start")
        return rc, int(out[0])

    def stop(self, channel: int, timeout_ns: int) -> tuple[int, int]:
        """(status, DMASR) after RS=0 and the wait for Halted=1."""
        out = ffi.new("uint32_t *")
        rc = self._blocking(lib.dmasim_stop, channel, timeout_ns, out)
        self._check(rc, "stop")
        return rc, int(out[0])

    def program(self, channel: int, addr: int, nbytes: int, write_msb: bool = True) -> None:
        """Address (+MSB if ``write_msb``) then LENGTH."""
        rc = lib.dmasim_program(self._dev, channel, addr, nbytes, int(write_msb))
        if rc:
            self._check(rc, "program")

    def wait_idle(self, channel: int, timeout_ns: int, nbytes: int = 0) -> tuple[int, int]:
        """(status, DMASR) of the wait for Idle, an error or Halted (``nbytes``: see header)."""
        out = ffi.new("uint32_t *")
        rc = self._blocking(lib.dmasim_wait_idle, channel, timeout_ns, nbytes, out)
        self._check(rc, "wait_idle")
        return rc, int(out[0])

    # --- scatter-gather mode (BDs through their CPU address ``bds``) ---------------------------

    def sg_link(self, bds: int, phys: int, count: int) -> None:
        """Zero ``count`` BDs at CPU address ``bds`` and link them into a ring at ``phys``."""
        self._check(lib.dmasim_sg_link(ffi.cast("uint32_t *", bds), phys, count), "sg_link")

    def sg_fill(self, bds: int, count: int, first: int, addr: int, nbytes: int, bd_max: int,
                framing: bool) -> int:
        """Describe ``nbytes`` at ``addr`` in BDs from ``first``; the number of BDs used."""
        out = ffi.new("uint32_t *")
        self._check(lib.dmasim_sg_fill(ffi.cast("uint32_t *", bds), count, first, addr, nbytes,
                                       bd_max, int(framing), out), "sg_fill")
        return int(out[0])

    def sg_result(self, bds: int, count: int, first: int, n: int, len_mask: int,
                  eof_mask: int) -> tuple[bool, int, int]:
        """(complete, bytes transferred, end BD) of a chain."""
        moved = ffi.new("uint64_t *")
        end = ffi.new("uint32_t *")
        rc = lib.dmasim_sg_result(ffi.cast("uint32_t *", bds), count, first, n, len_mask,
                                  eof_mask, moved, end)
        self._check(rc, "sg_result")
        return bool(rc), int(moved[0]), int(end[0])

    def sg_start(self, channel: int, curdesc: int, dmacr_bits: int, write_msb: bool,
                 timeout_ns: int) -> tuple[int, int]:
        """(status, DMASR) after CURDESC, RS=1 and the wait for Halted=0."""
        out = ffi.new("uint32_t *")
        rc = self._blocking(lib.dmasim_sg_start, channel, curdesc, dmacr_bits, int(write_msb),
                            timeout_ns, out)
        self._check(rc, "sg_start")
        return rc, int(out[0])

    def sg_kick(self, channel: int, taildesc: int, write_msb: bool) -> None:
        """Barrier, then TAILDESC (+MSB)."""
        rc = lib.dmasim_sg_kick(self._dev, channel, taildesc, int(write_msb))
        if rc:
            self._check(rc, "sg_kick")

    def sg_wait(self, channel: int, bds: int, count: int, first: int, n: int, len_mask: int,
                eof_mask: int, nbytes: int, timeout_ns: int) -> tuple[int, int]:
        """(status, DMASR) of the wait for the chain to complete, an error or a halt."""
        out = ffi.new("uint32_t *")
        rc = self._blocking(lib.dmasim_sg_wait, channel, ffi.cast("uint32_t *", bds), count,
                            first, n, len_mask, eof_mask, nbytes, timeout_ns, out)
        self._check(rc, "sg_wait")
        return rc, int(out[0])

    # --- plumbing -----------------------------------------------------------------------------

    def _blocking(self, fn: Any, *args: Any) -> int:
        with self._lock:
            self._in_flight += 1
        try:
            return int(fn(self._dev, *args))
        finally:
            with self._lock:
                self._in_flight -= 1

    def _check(self, rc: int, what: str) -> None:
        if rc >= 0:
            return
        if rc == status.ECALLBACK and self._error is not None:
            exc, self._error = self._error, None
            raise exc
        status.raise_status(rc, int(self._dev.os_errno), what, int(self._dev.phys_base),
                            int(self._dev.length))

    def __del__(self) -> None:
        dev = getattr(self, "_dev", None)
        if dev is not None:
            lib.dmasim_close(dev)


class Barrier:
    """The C core's DMA barrier for code that writes registers itself (the Python level).

    ``Barrier()`` is DSB only; ``Barrier(path, sync_addr)`` also syncs the PL310 outer cache
    mapped from ``path``. Calling it orders every earlier CPU write before later ones.
    """

    def __init__(self, path: str | None = None, sync_addr: int = 0):
        self._dev = ffi.new("dmasim_dev *")
        self._dev.fd = -1  # no register mapping: closing must not close descriptor 0
        if path is not None:
            rc = lib.dmasim_open_outer_sync(self._dev, os.fsencode(path), sync_addr)
            if rc:
                status.raise_status(rc, int(self._dev.os_errno), f"open_outer_sync {path}",
                                    sync_addr, 4)

    @property
    def outer_sync(self) -> bool:
        """True when the PL310 sync is part of it."""
        return bool(lib.dmasim_has_outer_sync(self._dev))

    def __call__(self) -> None:
        """DSB (+ PL310 sync, DSB)."""
        lib.dmasim_barrier(self._dev)

    def __del__(self) -> None:
        dev = getattr(self, "_dev", None)
        if dev is not None:
            lib.dmasim_close(dev)


def _device(ctx: Any) -> Device:
    return ffi.from_handle(ctx)  # type: ignore[no-any-return]


@ffi.def_extern()  # type: ignore[misc]
def _dmasim_read32(ctx: Any, addr: int, value: Any) -> int:
    dev = _device(ctx)
    try:
        value[0] = dev._read32(addr)
    except BaseException as exc:
        dev._error = exc
        return -1
    return 0


@ffi.def_extern()  # type: ignore[misc]
def _dmasim_write32(ctx: Any, addr: int, value: int) -> int:
    dev = _device(ctx)
    try:
        dev._write32(addr, value)
    except BaseException as exc:
        dev._error = exc
        return -1
    return 0


@ffi.def_extern()  # type: ignore[misc]
def _dmasim_delay_ns(ctx: Any, ns: int) -> int:
    dev = _device(ctx)
    try:
        dev._delay(ns)
    except BaseException as exc:
        dev._error = exc
        return -1
    return 0


@ffi.def_extern()  # type: ignore[misc]
def _dmasim_now_ns(ctx: Any, now: Any) -> int:
    dev = _device(ctx)
    try:
        now[0] = dev._clock.now_ns
    except BaseException as exc:
        dev._error = exc
        return -1
    return 0
