"""The simulator child process of the rtl target: start, talk, time out, stop.

One :class:`SimProcess` is one Verilator simulation (its main is
``rtl_tb/hdl/dmasim_sim_host.cpp``) serving commands (:mod:`dmasim.rtl.protocol`) over two
pipes. Every wait for a reply has a wall-clock limit;
a simulator that dies or stops answering is killed and reported as :class:`TargetError` with
the tail of its log. The child cannot outlive its parent: it exits on end of file of its
command pipe, it gets SIGKILL when the parent dies (``PR_SET_PDEATHSIG``: strictly, when the
thread that started it ends, so open the target from a long-lived thread), and an ``atexit``
hook kills whatever is still running.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import select
import signal
import subprocess
import tempfile
import time
import weakref
from pathlib import Path

from ..errors import TargetError
from . import protocol as p
from .build import BuildInfo

__all__ = ["SimProcess", "kill_all"]

START_TIMEOUT_S = float(os.environ.get("DMASIM_RTL_START_TIMEOUT", "120"))
COMMAND_TIMEOUT_S = float(os.environ.get("DMASIM_RTL_TIMEOUT", "60"))
WALL_S_PER_SIM_NS = 1e-5
"""Extra wall-clock allowance per simulated ns of a delay (10 s per simulated ms)."""
SPIN_S = float(os.environ.get("DMASIM_SPIN_US", "100")) * 1e-6
"""How long both sides poll their pipe before sleeping on it: a reply usually comes within
microseconds, and waking a sleeping process costs tens of microseconds on an idle virtual
machine (the difference between ~8,000 and ~40,000 register accesses per second)."""
MAX_POSTED = 128
"""Posted commands before the host waits for replies (keeps both pipes far from full)."""
LOG_TAIL_LINES = 30

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
    return f"command {op}"


class SimProcess:
    """A running simulator and its command pipes."""

    def __init__(self, build: BuildInfo, ddr_fd: int, ddr_size: int, *, clock_ns: int = 10,
                 wave_file: Path | None = None, run_dir: Path | None = None):
        self.build = build
        self.wave_file = wave_file
        self.run_dir = run_dir or Path(tempfile.mkdtemp(prefix="dmasim-rtl-"))
        self._own_run_dir = run_dir is None
        self.log_path = self.run_dir / "sim.log"
        self.broken: str | None = None
        """Why this simulator may not be used any more (None while healthy)."""
        self.posted = 0
        self.last_ns = 0
        cmd_r, cmd_w = os.pipe()
        rsp_r, rsp_w = os.pipe()
        args = [str(build.binary)]
        if wave_file is not None:
            args += ["--trace", "--trace-file", str(wave_file)]
        env = _child_env({"DMASIM_CMD_FD": cmd_r, "DMASIM_RSP_FD": rsp_w,
                          "DMASIM_DDR_FD": ddr_fd},
                         {"DMASIM_DDR_SIZE": str(ddr_size), "DMASIM_CLOCK_NS": str(clock_ns),
                          "DMASIM_SPIN_US": str(round(SPIN_S * 1e6))})
        try:
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    args, cwd=self.run_dir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, pass_fds=(cmd_r, rsp_w, ddr_fd),
                    start_new_session=True, preexec_fn=_die_with_parent,
                )
        except OSError as exc:
            for fd in (cmd_r, cmd_w, rsp_r, rsp_w):
                os.close(fd)
            raise TargetError(f"cannot start the rtl simulator {build.binary}: {exc}") from exc
        os.close(cmd_r)
        os.close(rsp_w)
        os.set_blocking(rsp_r, False)
        self._cmd = cmd_w
        self._rsp = rsp_r
        _LIVE.add(self)
        self._started = time.monotonic()
        self._starting = True  # the first reply answers an OP_STATUS sent at start-up
        self.request(p.OP_STATUS, timeout_s=START_TIMEOUT_S)
        self._starting = False
        self.start_seconds = time.monotonic() - self._started

    # --- talking -------------------------------------------------------------------------

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
        self.broken = why
        self.kill()
        rc = self.proc.returncode
        waves = f"; waves: {self.wave_file}" if self.wave_file else ""
        then = ("" if self._starting else
                "; a reset or the next rtl target opened starts a fresh simulator")
        return TargetError(
            f"rtl simulator {why} (exit code {rc}; log {self.log_path}{waves}){then}. "
            f"Log tail:\n{self.log_tail()}"
        )

    def post(self, op: int, a32: int = 0, a64: int = 0) -> None:
        """Send a command without waiting for its reply (collected by the next :meth:`sync`).

        The rtl target does not post: a simulator running while the host touches buffers
        would make runs depend on wall-clock timing. Kept for batches that touch no memory.
        """
        if self.broken is not None:
            raise TargetError(f"rtl simulator is unusable: {self.broken}")
        if self.posted >= MAX_POSTED:
            self.sync()
        self._last = (op, a32, a64)
        try:
            os.write(self._cmd, p.CMD.pack(op, 0, 0, a32, a64))
        except BrokenPipeError:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2.0)
            raise self._fail(f"exited before {self._what()}") from None
        except OSError as exc:
            raise self._fail(f"stopped reading commands ({exc})") from None
        self.posted += 1

    def request(self, op: int, a32: int = 0, a64: int = 0, *,
                timeout_s: float | None = None) -> int:
        """Send one command and wait for it (and any posted ones); return its value."""
        self.post(op, a32, a64)
        return self.sync(timeout_s=timeout_s)

    def sync(self, *, timeout_s: float | None = None) -> int:
        """Wait for every outstanding reply; return the last one's value."""
        count, self.posted = self.posted, 0
        if count == 0:
            return 0
        need = count * p.RECORD
        try:
            data = self._read_replies(need, timeout_s or COMMAND_TIMEOUT_S)
        except TargetError:
            raise
        except BaseException:
            # e.g. Ctrl-C: the reply still due would answer the next command; retire it
            self.broken = "interrupted while waiting for a reply"
            self.kill()
            raise
        value = 0
        for off in range(0, need, p.RECORD):
            status, _flags, _pad, value, ns = p.REPLY.unpack_from(data, off)
            if status != p.ST_OK:
                if status == p.ST_AXI_TIMEOUT:
                    raise self._fail(
                        f"saw no AXI-Lite response for the register at address 0x{value:08x} "
                        "(the AXI-Lite slave of that window is stuck)"
                    )
                raise self._fail(f"rejected a command (status {status})")
            self.last_ns = ns
        return value

    def _read_replies(self, need: int, limit: float) -> bytearray:
        """``need`` bytes of replies: poll briefly, then sleep on the pipe until ``limit``."""
        data = bytearray()
        spin_until = time.perf_counter() + SPIN_S
        deadline = 0.0
        while len(data) < need:
            try:
                chunk = os.read(self._rsp, need - len(data))
            except BlockingIOError:
                now = time.perf_counter()
                if now < spin_until:
                    os.sched_yield()  # polite when processes compete for the CPUs
                    continue
                if not deadline:
                    deadline = now + limit
                left = deadline - now
                if left <= 0 or not select.select([self._rsp], [], [], left)[0]:
                    raise self._fail(
                        f"did not answer {self._what()} within {limit:.0f} s of wall-clock "
                        "time (hung?)"
                    ) from None
                continue
            except OSError as exc:
                raise self._fail(f"reply pipe failed ({exc})") from None
            if not chunk:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=2.0)
                raise self._fail(f"exited during {self._what()}")
            data += chunk
        return data

    # --- stopping ------------------------------------------------------------------------

    def kill(self) -> None:
        """Stop the process at once (SIGKILL) and reap it."""
        with contextlib.suppress(OSError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=5.0)
        self._close_fds()

    def _close_fds(self) -> None:
        for name in ("_cmd", "_rsp"):
            fd = getattr(self, name, -1)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, -1)

    def close(self, timeout_s: float = 10.0) -> None:
        """End the simulation cleanly (closing the wave file), killing it if it lingers."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                if self._cmd >= 0 and self.broken is None:
                    os.write(self._cmd, p.CMD.pack(p.OP_QUIT, 0, 0, 0, 0))
            self._close_fds()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_fds()
        _LIVE.discard(self)
        if self._own_run_dir and self.broken is None:
            import shutil

            shutil.rmtree(self.run_dir, ignore_errors=True)
