"""The simulator child process of the rtl target: start, talk, time out, stop.

One :class:`SimProcess` is one Verilator simulation (its main is
``rtl_tb/hdl/dmasim_sim_host.cpp``) serving commands (:mod:`dmasim.rtl.protocol`) through a
mailbox in the control area after the shared DDR (layout in :mod:`dmasim.rtl.shared`): the
host writes a command record and bumps a sequence word, the simulator answers in the reply
slot. Each side polls for a short while, then sleeps on a futex; nothing crosses a pipe.
The host's end of the common case (the reply within the polling time) is the C++ module
``dmasim.rtl._mailbox`` when it was built at install (``dmasim/rtl/_mailbox.cpp``: ~0.2 us a
round trip instead of ~1 us), else :class:`_PyMailbox`; ``DMASIM_RTL_PY_MAILBOX=1`` picks
the Python one. Both hand everything else to :meth:`SimProcess._wait_reply`.
Every wait for a reply has a wall-clock limit, and the host looks at the process while it
sleeps: a simulator that dies or stops answering is killed and reported as
:class:`TargetError` with the tail of its log. The child cannot outlive its parent: it exits
when its parent process changes (checked at least every 50 ms while idle), it gets SIGKILL
when the parent dies (``PR_SET_PDEATHSIG``: strictly, when the thread that started it ends,
so open the target from a long-lived thread), and an ``atexit`` hook kills whatever is still
running.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from ..errors import TargetError
from . import protocol as p
from . import shared as sh
from .build import BuildInfo

__all__ = ["SimProcess", "kill_all"]

START_TIMEOUT_S = float(os.environ.get("DMASIM_RTL_START_TIMEOUT", "120"))
COMMAND_TIMEOUT_S = float(os.environ.get("DMASIM_RTL_TIMEOUT", "60"))
WALL_S_PER_SIM_NS = 1e-5
"""Extra wall-clock allowance per simulated ns of a delay (10 s per simulated ms)."""
SPIN_S = float(os.environ.get("DMASIM_SPIN_US", "30")) * 1e-6
"""How long both sides poll the mailbox before sleeping on it. With the two processes on
different CPUs a reply comes within a few microseconds (a read in ~3 us), and waking a
sleeper costs ~10-20 us. With both on one CPU (a loaded machine) polling only delays the
other side, so after SPIN_MISSES polls in a row that found nothing, each side sleeps at once
for its next SPIN_PAUSE waits, then tries polling again. The polling never calls
``sched_yield``: under load a yield lets other processes in ahead of the reply."""
SPIN_MISSES = 4
SPIN_PAUSE = 256
SLEEP_S = 0.002
"""Longest single futex sleep of the host: between two, it checks that the simulator lives."""
LOG_TAIL_LINES = 30
_CMD_SEQ = sh.CONTROL["CMD_SEQ"][0]
_SIM_SLEEPING = sh.CONTROL["SIM_SLEEPING"][0]
_CMD = sh.CONTROL["CMD"][0]
_RSP_SEQ = sh.CONTROL["RSP_SEQ"][0]
_HOST_SLEEPING = sh.CONTROL["HOST_SLEEPING"][0]
_RSP = sh.CONTROL["RSP"][0]
# The mailbox as native 32- and 64-bit words (indexing a memoryview costs a fraction of a
# struct call, and a u32 store is one 4-byte store: ``struct.pack_into`` wrote "<I" a byte at a
# time, and a simulator polling CMD_SEQ saw half-written numbers, 0x1ff -> 0x100 -> 0x200);
# the records' fields by word index, in protocol.CMD / protocol.REPLY's layout:
# u8 op/status + u8 + u16 pad in bytes 0..4, u32 arg32/value in 4..8, u64 arg64/time in 8..16.
_CMD_SEQ_W, _SIM_SLEEPING_W = _CMD_SEQ // 4, _SIM_SLEEPING // 4
_RSP_SEQ_W, _HOST_SLEEPING_W = _RSP_SEQ // 4, _HOST_SLEEPING // 4
_CMD_OP_W, _CMD_A32_W, _CMD_A64_Q = _CMD // 4, _CMD // 4 + 1, _CMD // 8 + 1
_RSP_HEAD_Q, _RSP_NS_Q = _RSP // 8, _RSP // 8 + 1
_ST_OK = p.ST_OK
_POLLS = range(32)
assert _CMD % 8 == 0 and _RSP % 8 == 0 and p.CMD.format == p.REPLY.format == "<BBHIQ"
assert sys.byteorder == "little"  # the simulator reads the records natively too
_perf_counter = time.perf_counter
_FUTEX_WAIT, _FUTEX_WAKE = 0, 1
_SYS_FUTEX = {"x86_64": 202, "aarch64": 98}.get(platform.machine())


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


_LIBC = ctypes.CDLL(None, use_errno=True)
_SLEEP_TS = _Timespec(int(SLEEP_S), int((SLEEP_S % 1) * 1e9))

_LIVE: weakref.WeakSet[SimProcess] = weakref.WeakSet()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def kill_all() -> None:
    """Stop every simulator this process started (``atexit``; also usable from tests)."""
    for sim in list(_LIVE):
        sim.close(timeout_s=2.0)


atexit.register(kill_all)


def _child_env(fds: dict[str, int], extra: dict[str, str]) -> dict[str, str]:
    """The simulator's environment: ours, plus the descriptors it inherits."""
    env = dict(os.environ)
    env.update({k: str(v) for k, v in fds.items()})
    env.update(extra)
    return env


def _describe(op: int, a32: int, a64: int) -> str:
    """A command in words, for error messages."""
    if op == p.OP_READ:
        return f"a register read of address 0x{a64:08x}"
    if op == p.OP_WRITE:
        return f"a register write of 0x{a32:08x} to address 0x{a64:08x}"
    if op == p.OP_DELAY:
        return f"a delay of {a64} ns"
    if op == p.OP_RESET:
        return f"a reset of {a32} clocks"
    if op == p.OP_STATUS:
        return "a status query"
    if op == p.OP_MONITOR:
        return f"a stream monitor read (word {a64})"
    if op == p.OP_SKIPPED:
        return "a query of the idle clocks skipped"
    return f"command {op}"


class _PyMailbox:
    """The host's end of the mailbox in Python, for when ``dmasim.rtl._mailbox`` is not built.

    The C++ ``Mailbox`` (no compiler at install: this one) behaves the same way.
    :meth:`request` does the common case in one frame: write the command, bump CMD_SEQ
    (one 4-byte store), wake a sleeping simulator, poll RSP_SEQ for up to ``spin_s`` (without
    ``sched_yield``: see SPIN_S) and read the reply. Anything else (no reply yet, or a status
    that is not OK) goes to ``slow(seq, op, a32, a64)``, which waits, raises and returns the
    value; after ``misses`` polls in a row that found nothing the next ``pause`` commands go
    there at once. Unlike C++, Python code can be interrupted (Ctrl-C) between sending a
    command and taking its reply; ``interrupted()`` is called then, before the exception goes
    on: the simulator must be retired, as its next command could overwrite one not yet read.
    """

    def __init__(self, mailbox: memoryview, slow: Callable[[int, int, int, int], int],
                 spin_s: float, misses: int, pause: int,
                 interrupted: Callable[[], None] = lambda: None):
        self._w32 = mailbox.cast("I")
        self._w64 = mailbox.cast("Q")
        words = (ctypes.c_uint32 * (len(mailbox) // 4)).from_buffer(mailbox)
        self._wake = ctypes.c_void_p(ctypes.addressof(words) + _CMD_SEQ)
        self._slow = slow
        self._spin_s = spin_s
        self._misses_max = misses
        self._pause = pause
        self._interrupted = interrupted
        self.last_ns = 0
        self.seq = 0
        self.misses = 0
        self.skip = 0

    def send(self, op: int, a32: int = 0, a64: int = 0) -> int:
        """Write a command into the mailbox and wake the simulator if it sleeps; its number."""
        w32 = self._w32
        w32[_CMD_OP_W] = op  # op, flags 0, pad 0
        w32[_CMD_A32_W] = a32
        self._w64[_CMD_A64_Q] = a64
        self.seq = seq = (self.seq + 1) & 0xFFFF_FFFF
        w32[_CMD_SEQ_W] = seq  # after the record: x86-64 keeps stores in order
        if w32[_SIM_SLEEPING_W] and _SYS_FUTEX is not None:
            _LIBC.syscall(_SYS_FUTEX, self._wake, _FUTEX_WAKE, 1, None, None, 0)
        return seq

    def request(self, op: int, a32: int = 0, a64: int = 0) -> int:
        """Send one command and return its reply's value."""
        try:
            seq = self.send(op, a32, a64)
            w32 = self._w32
            if w32[_RSP_SEQ_W] != seq:
                if self.skip:
                    self.skip -= 1
                    return self._answer(self._slow(seq, op, a32, a64))
                until = 0.0
                while True:  # poll, reading the clock every 32 polls
                    for _ in _POLLS:
                        if w32[_RSP_SEQ_W] == seq:
                            break
                    else:
                        now = _perf_counter()
                        if not until:
                            until = now + self._spin_s
                        elif now > until:
                            self.misses += 1
                            if self.misses >= self._misses_max:
                                self.skip, self.misses = self._pause, 0
                            return self._answer(self._slow(seq, op, a32, a64))
                        continue
                    self.misses = 0
                    break
        except (KeyboardInterrupt, SystemExit):
            self._interrupted()
            raise
        head = self._w64[_RSP_HEAD_Q]  # status in bits 7:0, value in bits 63:32
        if head & 0xFF != _ST_OK:
            return self._answer(self._slow(seq, op, a32, a64))
        self.last_ns = self._w64[_RSP_NS_Q]
        return head >> 32

    def _answer(self, value: int) -> int:
        self.last_ns = self._w64[_RSP_NS_Q]
        return value


def _mailbox_class() -> type:
    """The C++ mailbox when it was built (and not turned off), else the Python one."""
    if os.environ.get("DMASIM_RTL_PY_MAILBOX", "0") != "0":
        return _PyMailbox
    try:
        from ._mailbox import Mailbox  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return _PyMailbox
    return Mailbox  # type: ignore[no-any-return,unused-ignore]


class SimProcess:
    """A running simulator and its mailbox."""

    def __init__(self, build: BuildInfo, ddr: sh.SharedDdr, *, clock_ns: int = 10,
                 wave_file: Path | None = None, run_dir: Path | None = None):
        self.build = build
        self.wave_file = wave_file
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix="dmasim-rtl-"))
        self._own_run_dir = run_dir is None
        self.log_path = self.run_dir / "sim.log"
        self.broken: str | None = None
        """Why this simulator may not be used any more (None while healthy)."""
        self._mb = ddr.mailbox
        self._mb[:] = bytes(len(self._mb))  # sequence numbers start at 0 for a new simulator
        self._w32 = self._mb.cast("I")
        self._w64 = self._mb.cast("Q")
        self._words = ctypes.c_uint32 * (len(self._mb) // 4)
        self._addr = ctypes.addressof(self._words.from_buffer(self._mb))
        # the futex word's address, made once (ctypes objects cost ~0.2 us each to make)
        self._rsp_word = ctypes.c_void_p(self._addr + _RSP_SEQ)
        cls = _mailbox_class()
        # only Python can be interrupted with a command in flight (see _PyMailbox)
        hook = (lambda: self._retire("interrupted with a command in flight"),)
        self.mailbox = cls(self._mb, self._wait_reply, SPIN_S, SPIN_MISSES, SPIN_PAUSE,
                           *(hook if cls is _PyMailbox else ()))
        """The mailbox's host end (C++ when built): ``request`` and ``last_ns`` are its."""
        self.request: Callable[..., int] = self.mailbox.request
        """``request(op, a32=0, a64=0) -> value``: send one command, wait for its reply.

        One at a time, always waited for: a simulator running while the host touches buffers
        would make runs depend on wall-clock timing. Most waits end within the polling time;
        the others sleep in :meth:`_wait_reply`, limited in wall-clock time (COMMAND_TIMEOUT_S,
        plus WALL_S_PER_SIM_NS per simulated ns of a delay; START_TIMEOUT_S at start-up)."""
        self._last = (p.OP_STATUS, 0, 0)
        args = [str(build.binary)]
        if wave_file is not None:
            args += ["--trace", "--trace-file", str(wave_file)]
        env = _child_env({"DMASIM_DDR_FD": ddr.fd},
                         {"DMASIM_DDR_SIZE": str(ddr.size), "DMASIM_CLOCK_NS": str(clock_ns),
                          "DMASIM_SPIN_US": str(round(SPIN_S * 1e6))})
        try:
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    args, cwd=self.run_dir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, pass_fds=(ddr.fd,),
                    start_new_session=True, preexec_fn=_die_with_parent,
                )
        except OSError as exc:
            raise TargetError(f"cannot start the rtl simulator {build.binary}: {exc}") from exc
        _LIVE.add(self)
        self._started = time.monotonic()
        self._starting = True  # the first reply answers an OP_STATUS sent at start-up
        self.request(p.OP_STATUS)
        self._starting = False
        self.start_seconds = time.monotonic() - self._started

    # --- talking -------------------------------------------------------------------------

    @property
    def last_ns(self) -> int:
        """Simulated time in ns after the last command answered."""
        return int(self.mailbox.last_ns)

    @property
    def alive(self) -> bool:
        """True while the process runs and nothing has gone wrong."""
        return self.broken is None and self.proc.poll() is None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the simulator's log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _what(self) -> str:
        return "its start-up" if self._starting else _describe(*self._last)

    def _fail(self, why: str) -> TargetError:
        """Kill the simulator and describe what happened, with its log."""
        self._retire(why)
        rc = self.proc.returncode
        waves = f"; waves: {self.wave_file}" if self.wave_file else ""
        then = ("" if self._starting else
                "; a reset or the next rtl target opened starts a fresh simulator")
        return TargetError(
            f"rtl simulator {why} (exit code {rc}; log {self.log_path}{waves}){then}. "
            f"Log tail:\n{self.log_tail()}"
        )

    def _futex(self, offset: int, op: int, value: int, timeout_s: float = 0.0) -> None:
        """FUTEX_WAIT (while the word still holds ``value``) or FUTEX_WAKE on a mailbox word."""
        if _SYS_FUTEX is None:  # another architecture: a short sleep instead of a futex
            if op == _FUTEX_WAIT:
                time.sleep(min(timeout_s, 50e-6))
            return
        word = self._rsp_word if offset == _RSP_SEQ else ctypes.c_void_p(self._addr + offset)
        if op != _FUTEX_WAIT:
            _LIBC.syscall(_SYS_FUTEX, word, op, value, None, None, 0)
            return
        ts = _SLEEP_TS if timeout_s == SLEEP_S else _Timespec(int(timeout_s),
                                                             int((timeout_s % 1) * 1e9))
        _LIBC.syscall(_SYS_FUTEX, word, op, value, ctypes.byref(ts), None, 0)

    def _refuse(self, op: int, a32: int = 0, a64: int = 0) -> int:
        """``request`` of a simulator that may not be used any more."""
        raise TargetError(f"rtl simulator is unusable: {self.broken}")

    def _retire(self, why: str) -> None:
        """Mark the simulator unusable (the first reason stays) and kill it: a reply may be due."""
        if self.broken is None:
            self.broken = why
        self.request = self._refuse
        self.kill()

    def _wait_reply(self, seq: int, op: int, a32: int, a64: int) -> int:
        """The mailbox's slow path: wait for reply ``seq`` (sleeping), check it, its value.

        The wall-clock limit: START_TIMEOUT_S for the start-up's command, else
        COMMAND_TIMEOUT_S plus WALL_S_PER_SIM_NS per simulated ns of a delay.
        """
        if self._starting:
            limit = START_TIMEOUT_S
        else:
            limit = COMMAND_TIMEOUT_S + (a64 * WALL_S_PER_SIM_NS if op == p.OP_DELAY else 0.0)
        try:
            if self._w32[_RSP_SEQ_W] != seq:
                self._sleep_for_reply(seq, limit, op, a32, a64)
        except TargetError:
            raise
        except BaseException:
            # e.g. Ctrl-C: the reply still due would answer the next command; retire it
            self._retire("interrupted while waiting for a reply")
            raise
        head = self._w64[_RSP_HEAD_Q]  # status in bits 7:0, value in bits 63:32
        if head & 0xFF != _ST_OK:
            self._reply_error()
        return int(head >> 32)

    def _reply_error(self) -> None:
        """Raise for a reply whose status is not OK."""
        status, _flags, _pad, value, _ns = p.REPLY.unpack_from(self._mb, _RSP)
        if status == p.ST_AXI_TIMEOUT:
            raise self._fail(
                f"saw no AXI-Lite response for the register at address 0x{value:08x} "
                "(the AXI-Lite slave of that window is stuck)"
            )
        raise self._fail(f"rejected a command (status {status})")

    def _sleep_for_reply(self, seq: int, timeout_s: float, op: int, a32: int,
                         a64: int) -> None:
        """Sleep on reply ``seq`` in short futex waits until it comes.

        At most ``timeout_s`` seconds in all; between sleeps,
        check that the simulator lives. ``op``, ``a32``, ``a64`` name the command in errors.
        """
        self._last = (op, a32, a64)
        w32 = self._w32
        deadline = time.monotonic() + timeout_s
        while True:
            w32[_HOST_SLEEPING_W] = 1
            now_seq = w32[_RSP_SEQ_W]
            if now_seq != seq:
                # the kernel re-checks the word: a reply written meanwhile ends the wait
                self._futex(_RSP_SEQ, _FUTEX_WAIT, now_seq, SLEEP_S)
            w32[_HOST_SLEEPING_W] = 0
            if w32[_RSP_SEQ_W] == seq:
                return
            if self.proc.poll() is not None:
                raise self._fail(f"exited during {self._what()}")
            if time.monotonic() > deadline:
                raise self._fail(
                    f"did not answer {self._what()} within {timeout_s:.0f} s of wall-clock "
                    "time (hung?)"
                )

    # --- stopping ------------------------------------------------------------------------

    def kill(self) -> None:
        """Stop the process at once (SIGKILL) and reap it."""
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=5.0)

    def close(self, timeout_s: float = 10.0) -> None:
        """End the simulation cleanly (closing the wave file), killing it if it lingers."""
        if self.proc.poll() is None:
            if self.broken is None:
                self.mailbox.send(p.OP_QUIT)  # no reply: the simulator exits
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        _LIVE.discard(self)
        if self._own_run_dir and self.broken is None:
            import shutil

            shutil.rmtree(self.run_dir, ignore_errors=True)
