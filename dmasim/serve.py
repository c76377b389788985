"""``dmasim serve``: a simulated target answering PYNQ.remote's gRPC services.

An unmodified PYNQ host program run with ``PYNQ_REMOTE_DEVICES=127.0.0.1`` then drives the
model or the RTL simulation as if it were a board running PYNQ.remote: ``pynq.Overlay(...)``
"downloads" (a power-on reset), ``pynq.allocate`` gets buffers of the simulated DDR, and
``pynq.MMIO`` reads and writes reach the simulated registers. The servicer base classes and
message types are pynq's own (``pynq.remote.*_pb2[_grpc]``); this module only implements the
handlers, all of them thin: every request is checked in :class:`Session` (one place), and every
failure becomes one gRPC status with a message that names the bad value and what is allowed.

What is served:

- MMIO: windows inside the design's IP windows only (``ip_dict``), 4-byte aligned 32-bit
  accesses. Register reads go through :class:`~dmasim.pynq.device.SimulatedDevice`, so a
  client polling a register lets simulated time pass (as pynq's own driver on a simulated
  device does).
- Buffers: allocate / free / contents (optionally a byte range ``[start, end)``) / flush /
  invalidate / physical address. Server-side buffers are coherent: the client's copy is the
  CPU cache, so ``flush`` and ``invalidate`` only move contents.
- Files: a small virtual file system with what ``RemoteDevice`` reads (``/proc/version``,
  the board name, the FPGA manager's state), the firmware it writes on download, and
  dmasim's own entries under ``/dmasim/``: ``now_ns`` (read: simulated time),
  ``delay`` (write a decimal number of ns: let them pass) and ``overlay/<name>.bit|.hwh``
  (the served design, so a client can build its ``pynq.Overlay`` without a local copy).

Sessions: one client (one gRPC connection, told apart by its peer address) at a time; another
peer gets ``RESOURCE_EXHAUSTED`` "busy" until the first connection closes (the server checks the
kernel's TCP table) or has sent nothing for ``session_idle_s``. A session's end resets the
target and frees its buffers. A simulator failure during a request is reported, the target is
reset (the RTL target restarts a crashed simulator on the same DDR, so buffers survive), and the
server keeps serving.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import struct
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from .errors import DesignError, DmasimError, DmasimValueError, TargetError
from .target import Target, open_target

if TYPE_CHECKING:
    from .buffer import Buffer

__all__ = ["DEFAULT_PORT", "ServeError", "Session", "SimServer", "main", "placeholder_bitstream"]

log = logging.getLogger("dmasim.serve")

DEFAULT_PORT = 7967
"""PYNQ.remote's port."""
CHUNK = 1 << 20
"""Bytes per streamed message (gRPC's default message limit is 4 MiB)."""
MAX_DELAY_NS = 100_000_000
"""Largest ``/dmasim/delay`` in one request (clients split longer delays)."""
MAX_FILE_BYTES = 64 << 20
"""Largest file a client may write (bitstreams are ~4 MiB)."""
LOCK_TIMEOUT_S = 30.0
"""A request waits at most this long for the request before it (which holds the target)."""
FIRMWARE = "/lib/firmware/"
FPGA_MANAGER = "/sys/class/fpga_manager/fpga0/"
OVERLAY_DIR = "/dmasim/overlay/"
OVERLAY_NAME = "dma_loopback_1"
SLCR_BASE, SLCR_SPAN = 0xF800_0000, 0x1000
"""The Zynq PS's system-level control registers, where pynq reads and sets the PL clocks."""
SLCR_RESET = {
    0x100: 40 << 12,  # ARM_PLL_CTRL: FDIV 40 x 33.33 MHz
    0x104: 32 << 12,  # DDR_PLL_CTRL
    0x108: 30 << 12,  # IO_PLL_CTRL: 1000 MHz
    0x120: 2 << 8,  # ARM_CLK_CTRL: ARM PLL / 2
    **{0x170 + 0x10 * i: (1 << 20) | (10 << 8) for i in range(4)},  # FPGAn: IO PLL / 10 = 100 MHz
}


class ServeError(DmasimError):
    """A request the server refuses; ``code`` names the gRPC status it becomes."""

    def __init__(self, message: str, code: str = "INVALID_ARGUMENT"):
        super().__init__(message)
        self.code = code


def placeholder_bitstream(design: str = OVERLAY_NAME, user_id: int = 0xFFFF_FFFF) -> bytes:
    """A .bit with a well-formed header and a few words of data (what ``bit2bin`` parses).

    Simulated targets need no configuration data; the header lets pynq's unmodified
    ``RemoteDevice.download`` convert and "program" it. ``user_id`` (the .hwh's CRC) makes
    designs differ by content, as pynq caches metadata by the bitstream's hash.
    """

    def field_(tag: bytes, text: str) -> bytes:
        raw = text.encode("ascii") + b"\0"
        return tag + struct.pack(">h", len(raw)) + raw

    data = b"\xff\xff\xff\xff" * 4 + b"\xaa\x99\x55\x66"  # dummy words and the sync word
    return (struct.pack(">h", 9) + b"\x0f\xf0" * 4 + b"\x00" + struct.pack(">h", 1)
            + field_(b"a", f"{design};UserID=0X{user_id:08X};Version=2022.1")
            + field_(b"b", "7z020clg400") + field_(b"c", "2026/01/01")
            + field_(b"d", "00:00:00") + b"e" + struct.pack(">i", len(data)) + data)


def _add_clock_rates(hwh: Path) -> None:
    """Give the PS7 the achieved-rate parameters pynq 4's metadata reads on download.

    pynqmetadata looks a PL clock's achieved rate up under the UltraScale+ name
    (``PSU__CRL_APB__PL<i>_REF_CTRL__ACT_FREQMHZ``) for the Zynq-7000 too, and a downloading
    ``Overlay`` fails without it; the value is the PS7's own ``PCW_ACT_FPGA<i>_...``.
    """
    from xml.etree import ElementTree as ET

    tree = ET.parse(hwh)
    for module in tree.iter("MODULE"):
        if module.get("MODTYPE") != "processing_system7":
            continue
        params = module.find("PARAMETERS")
        if params is None:
            continue
        have = {p.get("NAME"): p.get("VALUE") for p in params.iter("PARAMETER")}
        for i in range(4):
            rate = have.get(f"PCW_ACT_FPGA{i}_PERIPHERAL_FREQMHZ")
            name = f"PSU__CRL_APB__PL{i}_REF_CTRL__ACT_FREQMHZ"
            if rate is not None and name not in have:
                ET.SubElement(params, "PARAMETER", NAME=name, VALUE=rate)
    tree.write(hwh, encoding="utf-8", xml_declaration=True)


# --- sessions --------------------------------------------------------------------------------


@dataclass
class Session:
    """One client's state: its register windows and buffers, checked on every request."""

    peer: str
    started: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)
    windows: dict[str, tuple[int, int]] = field(default_factory=dict)
    buffers: dict[str, Buffer] = field(default_factory=dict)
    freed: set[str] = field(default_factory=set)

    def window(self, mmio_id: str, offset: int, nbytes: int) -> int:
        """The physical address of ``nbytes`` at ``offset`` of window ``mmio_id``."""
        try:
            base, length = self.windows[mmio_id]
        except KeyError:
            raise ServeError(f"mmio_id {mmio_id!r} is not a window of this session: "
                             "get_mmio first", "NOT_FOUND") from None
        if offset < 0 or offset & 3 or offset + nbytes > length:
            raise ServeError(
                f"offset 0x{offset:x} (+{nbytes} bytes) is not 4-byte aligned inside the window "
                f"0x{base:08x}+0x{length:x}: allowed 0..0x{length - 4:x} in steps of 4",
                "OUT_OF_RANGE")
        return base + offset

    def buffer(self, buffer_id: str) -> Buffer:
        """The live buffer ``buffer_id``; freed or foreign ones are refused by name."""
        buf = self.buffers.get(buffer_id)
        if buf is not None:
            return buf
        if buffer_id in self.freed:
            raise ServeError(f"buffer {buffer_id!r} was already freed (double free?)",
                             "FAILED_PRECONDITION")
        raise ServeError(f"buffer {buffer_id!r} was not allocated in this session (a buffer "
                         "of another session, or never allocated)", "NOT_FOUND")

    @staticmethod
    def byte_range(buf: Buffer, start: int, end: int) -> tuple[int, int]:
        """``[start, end)`` checked against the buffer; ``end == 0`` means to its end."""
        size = int(buf.nbytes)
        stop = size if end == 0 else end
        if not 0 <= start <= stop <= size:
            raise ServeError(f"byte range [{start}, {end}) is outside the {size}-byte buffer: "
                             f"allowed 0 <= start <= end <= {size}", "OUT_OF_RANGE")
        return start, stop


def _peer_endpoint(peer: str) -> tuple[str, int] | None:
    """``("127.0.0.1", 54321)`` from gRPC's ``"ipv4:127.0.0.1:54321"``; None for others."""
    kind, _, rest = peer.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return None
    host, _, port = rest.rpartition(":")
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%")[0])), int(port)
    except ValueError:
        return None


def _tcp_table() -> set[tuple[str, int, int]] | None:
    """Established TCP connections as ``(remote ip, remote port, local port)``; None if unknown."""
    out: set[tuple[str, int, int]] = set()
    found = False
    for name, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            with open(name, encoding="ascii") as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        found = True
        for line in lines:
            parts = line.split()
            if len(parts) < 4 or parts[3] != "01":  # 01: ESTABLISHED
                continue
            local_port = int(parts[1].split(":")[1], 16)
            raw_ip, raw_port = parts[2].split(":")
            packed = bytes.fromhex(raw_ip)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = b"".join(packed[i:i + 4][::-1] for i in range(0, width, 4))
            ip = ipaddress.ip_address(words)
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            out.add((str(ip), int(raw_port, 16), local_port))
    return out if found else None


# --- the server ------------------------------------------------------------------------------


class SimServer:
    """The PYNQ.remote services over one simulated target (see the module docstring).

    ``target`` is an open target or a name for :func:`open_target` (with ``options``);
    ``session_idle_s`` ends a silent session; ``lifetime_s`` (tests) stops the server by itself.
    """

    def __init__(self, target: Target | str = "model", *, host: str = "127.0.0.1",
                 port: int = DEFAULT_PORT, session_idle_s: float = 300.0,
                 lifetime_s: float | None = None, max_workers: int = 4,
                 **options: Any):
        import grpc

        self._grpc = grpc
        self._target_spec = (target, options) if isinstance(target, str) else None
        self.target: Target = open_target(target, **options) if isinstance(target, str) \
            else target
        self.host = host
        self.session_idle_s = session_idle_s
        self.lifetime_s = lifetime_s
        self.session: Session | None = None
        self._lock = threading.Lock()
        self._slcr = dict(SLCR_RESET)  # a plain register file: clocks are not simulated
        self._device = self._new_device()
        self._files: dict[str, bytes] = {}
        self._folder = tempfile.TemporaryDirectory(prefix="dmasim-serve-")
        self._overlay = self._write_overlay()
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="dmasim-serve"),
            options=[("grpc.max_receive_message_length", 8 << 20),
                     ("grpc.max_send_message_length", 8 << 20),
                     ("grpc.so_reuseport", 0)])
        _add_servicers(self, self._server)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            self.port = self._server.add_insecure_port(address)
        except RuntimeError as exc:
            self.close()
            raise TargetError(f"cannot listen on {host}:{port}: {exc}") from exc
        if self.port == 0:
            self.close()
            raise TargetError(f"cannot listen on {host}:{port} (in use, or not an address here)")
        self._stopped = threading.Event()
        self._timer: threading.Timer | None = None

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> SimServer:
        """Start answering; with ``lifetime_s`` a timer stops the server by itself."""
        self._server.start()
        if self.lifetime_s is not None:
            self._timer = threading.Timer(self.lifetime_s, self.stop)
            self._timer.daemon = True
            self._timer.start()
        return self

    def stop(self, grace: float = 0.5) -> None:
        """Stop answering and close the target."""
        if self._timer is not None:
            self._timer.cancel()
        self._server.stop(grace).wait(grace + 1.0)
        self.close()
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until stopped (True) or ``timeout`` passes (False)."""
        return self._stopped.wait(timeout)

    def close(self) -> None:
        """Close the target and the overlay folder."""
        with contextlib.suppress(Exception):
            self.target.close()
        self._folder.cleanup()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """``host:port`` as clients reach it."""
        return f"{self.host}:{self.port}"

    # --- helpers ------------------------------------------------------------------------

    def _new_device(self) -> Any:
        from .pynq.device import SimulatedDevice

        # No limit on polls: a client spinning on a register is the client's business (its
        # own deadlines end it); the server must not fail it after some simulated seconds.
        return SimulatedDevice(self.target, name=f"dmasim-{self.target.name}", max_poll_s=None)

    def _write_overlay(self) -> Path:
        from .pynq.overlay import write_overlay

        folder = Path(self._folder.name)
        write_overlay(folder, OVERLAY_NAME, design=self.target.design)
        _add_clock_rates(folder / f"{OVERLAY_NAME}.hwh")
        bit = folder / f"{OVERLAY_NAME}.bit"
        crc = zlib.crc32((folder / f"{OVERLAY_NAME}.hwh").read_bytes())
        bit.write_bytes(placeholder_bitstream(OVERLAY_NAME, crc))
        return bit

    @property
    def overlay_bitfile(self) -> Path:
        """The served design's .bit (its .hwh beside it), for host programs on this machine."""
        return self._overlay

    def _static_file(self, path: str) -> bytes | None:
        board = f"dmasim-{self.target.name}".encode()
        if path == "/proc/version":
            return b"Linux version 6.6.10-xilinx (dmasim serve) #1 SMP PREEMPT armv7l\n"
        if path == "/proc/device-tree/chosen/pynq_board":
            return board + b"\0"
        if path == FPGA_MANAGER + "state":
            return b"operating\n"
        if path == FPGA_MANAGER + "flags":
            return self._files.get(path, b"0\n")
        if path == "/dmasim/now_ns":
            return str(self.target.now_ns).encode()
        if path.startswith(OVERLAY_DIR):
            name = path[len(OVERLAY_DIR):]
            if name in (f"{OVERLAY_NAME}.bit", f"{OVERLAY_NAME}.hwh"):
                return (self._overlay.parent / name).read_bytes()
        return self._files.get(path)

    # --- the one entry point of every request -------------------------------------------

    def call(self, context: Any, work: Callable[[Session], Any]) -> Any:
        """Admit the peer, run ``work`` on the target under the lock, map errors to a status."""
        grpc = self._grpc
        if not self._lock.acquire(timeout=LOCK_TIMEOUT_S):
            context.abort(grpc.StatusCode.UNAVAILABLE,
                          f"dmasim serve {self.address}: the previous request still holds the "
                          f"simulated target after {LOCK_TIMEOUT_S:.0f} s")
        try:
            session = self._admit(context.peer())
            session.last_seen = time.monotonic()
            return work(session)
        except ServeError as exc:
            self._abort(context, exc.code, str(exc))
        except (DmasimValueError, MemoryError) as exc:  # checked input of the target's API
            code = "RESOURCE_EXHAUSTED" if isinstance(exc, MemoryError) else "INVALID_ARGUMENT"
            self._abort(context, code, str(exc))
        except Exception as exc:
            if isinstance(exc, grpc.RpcError) or type(exc).__name__ == "_AbortError":
                raise  # an abort from inside a handler, or the client went away
            self._abort(context, "INTERNAL", self._recover(exc))
        finally:
            self._lock.release()

    def _abort(self, context: Any, code: str, message: str) -> NoReturn:
        context.abort(getattr(self._grpc.StatusCode, code), message)
        raise AssertionError("unreachable: context.abort raises")

    def _admit(self, peer: str) -> Session:
        s = self.session
        if s is not None and s.peer != peer:
            if self._alive(s):
                since = time.monotonic() - s.started
                raise ServeError(
                    f"dmasim serve {self.address} is busy: {s.peer} has had the session for "
                    f"{since:.0f} s (one client at a time; it ends when that client "
                    f"disconnects or after {self.session_idle_s:.0f} s without a request)",
                    "RESOURCE_EXHAUSTED")
            log.info("session of %s ended; %s takes over", s.peer, peer)
            self.end_session()
            s = None
        if s is None:
            s = self.session = Session(peer)
            log.info("session of %s started", peer)
        return s

    def _alive(self, s: Session) -> bool:
        if time.monotonic() - s.last_seen > self.session_idle_s:
            return False
        endpoint = _peer_endpoint(s.peer)
        table = _tcp_table() if endpoint is not None else None
        if endpoint is None or table is None:
            return True  # cannot tell: only the idle limit ends it
        return (endpoint[0], endpoint[1], self.port) in table

    def end_session(self) -> None:
        """Reset the target and free the session's buffers (a disconnect, or taken over)."""
        s, self.session = self.session, None
        if s is None:
            return
        with contextlib.suppress(Exception):
            self.target.reset()
        for buf in s.buffers.values():
            with contextlib.suppress(Exception):
                buf.freebuffer()

    def _recover(self, exc: BaseException) -> str:
        """A failure inside the simulator: reset (or reopen) the target, say what happened."""
        what = f"the simulated {self.target.name} target failed: {type(exc).__name__}: {exc}"
        log.warning("%s", what)
        try:
            self.target.reset()
            self._device = self._new_device()
            return f"{what}; it was reset (power-on state, buffers kept); retry the request"
        except Exception as again:
            if self._target_spec is None:
                return f"{what}; resetting it failed too ({again}): restart dmasim serve"
        with contextlib.suppress(Exception):
            self.target.close()
        name, options = self._target_spec
        self.target = open_target(name, **options)
        self._device = self._new_device()
        self.session = None
        return f"{what}; it was reopened: every buffer and window is gone, start over"

    # --- MMIO ---------------------------------------------------------------------------

    def get_mmio(self, s: Session, base: int, length: int) -> str:
        """A window id for ``[base, base + length)`` inside one IP window."""
        if length <= 0:
            raise ServeError(f"window length {length} must be >= 4 bytes")
        if not (base >= SLCR_BASE and base + length <= SLCR_BASE + SLCR_SPAN):
            self.target.mmio(base, length)  # raises naming the allowed windows
        mmio_id = uuid.uuid4().hex
        s.windows[mmio_id] = (base, length)
        return mmio_id

    def mmio_read(self, s: Session, mmio_id: str, offset: int, length: int) -> int:
        """One 32-bit register (or two for ``length == 8``, little word first)."""
        if length not in (4, 8):
            raise ServeError(f"read length {length} is not supported: allowed 4 or 8 bytes")
        addr = s.window(mmio_id, offset, length)
        if addr >= SLCR_BASE:
            return sum(self._slcr.get(addr - SLCR_BASE + 4 * i, 0) << (32 * i)
                       for i in range(length // 4))
        raw = self._device.read_registers(addr, length)
        return int.from_bytes(raw, "little")

    def mmio_write(self, s: Session, mmio_id: str, offset: int, data: bytes) -> None:
        """Whole 32-bit words from ``offset``."""
        if not data or len(data) % 4:
            raise ServeError(f"write of {len(data)} bytes: allowed a whole number of 32-bit "
                             "words (4, 8, ...)")
        addr = s.window(mmio_id, offset, len(data))
        if addr >= SLCR_BASE:
            for i in range(0, len(data), 4):
                self._slcr[addr - SLCR_BASE + i] = int.from_bytes(data[i:i + 4], "little")
            return
        self._device.write_registers(addr, data)

    # --- buffers ------------------------------------------------------------------------

    def allocate(self, s: Session, size: int) -> str:
        """A coherent buffer of ``size`` bytes."""
        from .memory import Memory

        memory = self.target.memory
        limit = memory.cma_size if isinstance(memory, Memory) else 256 << 20
        if not 0 < size <= limit:
            raise ServeError(f"allocation of {size} bytes: allowed 1..{limit} "
                             f"(the {limit >> 20} MiB buffer region)", "OUT_OF_RANGE")
        buf = self.target.allocate((size,), "u1", cacheable=False)
        buffer_id = uuid.uuid4().hex
        s.buffers[buffer_id] = buf
        return buffer_id

    def free(self, s: Session, buffer_id: str) -> None:
        """Free once; a second free or a foreign id is refused."""
        buf = s.buffer(buffer_id)
        del s.buffers[buffer_id]
        s.freed.add(buffer_id)
        buf.freebuffer()

    def write_contents(self, s: Session, chunks: Iterable[tuple[str, bytes, int, int]]) -> None:
        """Store streamed chunks; applied only once the whole stream has arrived.

        A chunk with ``end == 0`` continues where the previous one stopped (the first at its
        ``start``), as pynq's client sends a whole buffer, and such a stream must reach the
        buffer's end (else it was cut off: refused); a chunk with ``end`` covers exactly
        ``[start, end)`` and stands on its own.
        """
        pending: list[tuple[Buffer, int, bytes]] = []
        at = 0
        implicit = False
        for buffer_id, data, start, end in chunks:
            buf = s.buffer(buffer_id)
            implicit = not end
            begin = start if end or not pending else at
            if end and end - start != len(data):
                raise ServeError(f"chunk of {len(data)} bytes does not fill [{start}, {end})")
            lo, hi = s.byte_range(buf, begin, begin + len(data))
            pending.append((buf, lo, data))
            at = hi
        if implicit and pending and at != pending[-1][0].nbytes:
            # pynq's client always sends a whole buffer: a shorter stream was cut off.
            raise ServeError(f"incomplete write: the stream stopped at byte {at} of "
                             f"{pending[-1][0].nbytes} (client gone?); nothing was written",
                             "ABORTED")
        for buf, lo, data in pending:
            np.asarray(buf)[lo:lo + len(data)] = np.frombuffer(data, np.uint8)

    def read_contents(self, s: Session, buffer_id: str, start: int, end: int) -> list[bytes]:
        """The bytes of ``[start, end)`` in chunks."""
        buf = s.buffer(buffer_id)
        lo, hi = s.byte_range(buf, start, end)
        raw = np.asarray(buf)[lo:hi].tobytes()
        return [raw[i:i + CHUNK] for i in range(0, len(raw), CHUNK)] or [b""]

    # --- files --------------------------------------------------------------------------

    def read_file(self, s: Session, path: str) -> list[bytes]:
        """A virtual file's contents in chunks."""
        data = self._static_file(path)
        if data is None:
            raise ServeError(f"no file {path!r} on this simulated board", "NOT_FOUND")
        return [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]

    def write_file(self, s: Session, path: str, data: bytes) -> None:
        """Store a file; the FPGA manager's ``firmware`` and ``/dmasim/delay`` act."""
        if len(data) > MAX_FILE_BYTES:
            raise ServeError(f"file {path!r} of {len(data)} bytes: allowed up to "
                             f"{MAX_FILE_BYTES >> 20} MiB", "RESOURCE_EXHAUSTED")
        if path == "/dmasim/delay":
            try:
                ns = int(data.decode("ascii").strip())
            except ValueError:
                raise ServeError(f"/dmasim/delay takes a decimal number of ns, not "
                                 f"{data[:40]!r}") from None
            if not 0 <= ns <= MAX_DELAY_NS:
                raise ServeError(f"delay of {ns} ns: allowed 0..{MAX_DELAY_NS} per request",
                                 "OUT_OF_RANGE")
            self.target.delay(ns)
            return
        if path == FPGA_MANAGER + "firmware":
            name = data.decode("ascii", "replace").strip()
            if FIRMWARE + name not in self._files:
                raise ServeError(f"firmware {name!r} was not written to {FIRMWARE} first",
                                 "NOT_FOUND")
            self.target.reset()  # "programming" the PL: the design's power-on state
            return
        if not (path.startswith(FIRMWARE) or path == FPGA_MANAGER + "flags"):
            raise ServeError(f"cannot write {path!r}: allowed {FIRMWARE}*, "
                             f"{FPGA_MANAGER}flags, {FPGA_MANAGER}firmware and /dmasim/delay",
                             "PERMISSION_DENIED")
        self._files[path] = data


def _add_servicers(server: SimServer, grpc_server: Any) -> None:
    """Register the three PYNQ.remote services (pynq's generated base classes)."""
    try:
        from pynq.remote import (
            buffer_pb2,
            buffer_pb2_grpc,
            mmio_pb2,
            mmio_pb2_grpc,
            remote_device_pb2,
            remote_device_pb2_grpc,
        )
    except ImportError as exc:
        from .errors import pynq_missing

        raise pynq_missing("dmasim serve (pynq >= 4's PYNQ.remote stubs)", exc) from exc

    call = server.call

    class Mmio(mmio_pb2_grpc.MmioServicer):  # type: ignore[misc]
        def get_mmio(self, request: Any, context: Any) -> Any:
            mmio_id = call(context, lambda s: server.get_mmio(s, request.base_addr,
                                                              request.length))
            return mmio_pb2.GetMmioResponse(status=True, mmio_id=mmio_id)

        def read(self, request: Any, context: Any) -> Any:
            value = call(context, lambda s: server.mmio_read(s, request.mmio_id, request.offset,
                                                             request.length))
            return mmio_pb2.ReadResponse(status=True, data=value)

        def write(self, request: Any, context: Any) -> Any:
            call(context, lambda s: server.mmio_write(s, request.mmio_id, request.offset,
                                                      request.data))
            return mmio_pb2.WriteResponse(status=True)

    class Buffers(buffer_pb2_grpc.RemoteBufferServicer):  # type: ignore[misc]
        def allocate(self, request: Any, context: Any) -> Any:
            buffer_id = call(context, lambda s: server.allocate(s, request.size))
            return buffer_pb2.AllocateResponse(buffer_id=buffer_id)

        def write(self, request_iterator: Any, context: Any) -> Any:
            # Receive the whole stream before taking the target: a client that disconnects
            # mid-stream changes nothing.
            chunks = [(r.buffer_id, r.data, r.start, r.end) for r in request_iterator]
            if not context.is_active():  # cancelled mid-stream: the iterator just ended
                return buffer_pb2.BufferWriteResponse()
            call(context, lambda s: server.write_contents(s, chunks))
            return buffer_pb2.BufferWriteResponse()

        def read(self, request: Any, context: Any) -> Iterator[Any]:
            parts = call(context, lambda s: server.read_contents(
                s, request.buffer_id, request.start, request.end))
            for part in parts:
                yield buffer_pb2.BufferReadResponse(data=part)

        def freebuffer(self, request: Any, context: Any) -> Any:
            call(context, lambda s: server.free(s, request.buffer_id))
            return buffer_pb2.FreeBufferResponse()

        def flush(self, request: Any, context: Any) -> Any:
            call(context, lambda s: s.buffer(request.buffer_id))  # coherent: nothing to move
            return buffer_pb2.FlushResponse()

        def invalidate(self, request: Any, context: Any) -> Any:
            call(context, lambda s: s.buffer(request.buffer_id))
            return buffer_pb2.InvalidateResponse()

        def physical_address(self, request: Any, context: Any) -> Any:
            addr = call(context, lambda s: s.buffer(request.buffer_id).physical_address)
            return buffer_pb2.AddressResponse(address=addr)

        def virtual_address(self, request: Any, context: Any) -> Any:
            addr = call(context, lambda s: s.buffer(request.buffer_id).virtual_address)
            return buffer_pb2.AddressResponse(address=addr)

        def cacheable(self, request: Any, context: Any) -> Any:
            call(context, lambda s: s.buffer(request.buffer_id))
            return buffer_pb2.CacheableResponse(cacheable=True)  # the client's copy caches

    class Device(remote_device_pb2_grpc.RemoteDeviceServicer):  # type: ignore[misc]
        def set_bitstream_attrs(self, request: Any, context: Any) -> Any:
            call(context, lambda s: None)
            return remote_device_pb2.SetBitstreamAttrsResponse(status=True)

        def shutdown(self, request: Any, context: Any) -> Any:
            call(context, lambda s: None)
            return remote_device_pb2.ShutdownResponse(status=True)

        def readfile(self, request: Any, context: Any) -> Iterator[Any]:
            parts = call(context, lambda s: server.read_file(s, request.file_path))
            for part in parts:
                yield remote_device_pb2.ReadFileResponse(data=part)

        def writefile(self, request_iterator: Any, context: Any) -> Any:
            path, data = "", bytearray()
            for r in request_iterator:
                path = path or r.file_path
                data += r.data
                if len(data) > MAX_FILE_BYTES:
                    break
            if not context.is_active():
                return remote_device_pb2.WriteFileResponse()
            call(context, lambda s: server.write_file(s, path, bytes(data)))
            return remote_device_pb2.WriteFileResponse()

        def existsfile(self, request: Any, context: Any) -> Any:
            found = call(context, lambda s: server._static_file(request.file_path) is not None)
            return remote_device_pb2.ExistsFileResponse(exists=found)

    mmio_pb2_grpc.add_MmioServicer_to_server(Mmio(), grpc_server)
    buffer_pb2_grpc.add_RemoteBufferServicer_to_server(Buffers(), grpc_server)
    remote_device_pb2_grpc.add_RemoteDeviceServicer_to_server(Device(), grpc_server)


# --- command line ----------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(args: Any) -> int:
    """``dmasim serve``: serve until interrupted (or ``--lifetime`` seconds)."""
    options: dict[str, Any] = {}
    if args.design:
        from .design import Design

        try:
            options["design"] = Design.from_hwh(args.design)
        except DesignError as exc:
            print(f"dmasim serve: {exc}", file=sys.stderr)
            return 2
    if not _is_loopback(args.host):
        print(f"dmasim serve: WARNING: listening on {args.host}: PYNQ.remote has no "
              "authentication, anyone who reaches this port can drive the simulated board",
              file=sys.stderr)
    logging.basicConfig(level=logging.INFO, format="dmasim serve: %(message)s")
    try:
        server = SimServer(args.target, host=args.host, port=args.port,
                           session_idle_s=args.session_idle, lifetime_s=args.lifetime, **options)
    except DesignError as exc:  # e.g. a user IP that needs a model: serve it from Python
        print(f"dmasim serve: {exc} (serve a design with user IPs from Python: "
              "dmasim.serve.SimServer(target, design=..., models=...))", file=sys.stderr)
        return 2
    server.start()
    print(f"dmasim serve: the {server.target.name} target answers PYNQ.remote on "
          f"{server.address} (PYNQ_REMOTE_DEVICES={args.host}); overlay "
          f"{server.overlay_bitfile}", flush=True)
    try:
        while not server.wait(0.5):
            pass
    except KeyboardInterrupt:
        server.stop()
    return 0


def add_parser(sub: Any) -> None:
    """The ``serve`` subcommand's options."""
    p = sub.add_parser("serve", help="answer PYNQ.remote's gRPC services from a simulation")
    p.add_argument("--target", default="model", choices=("model", "rtl"),
                   help="the simulated target to serve (default model)")
    p.add_argument("--design", help="a Vivado .hwh describing the design to simulate")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; others warn: no authentication)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 7967)")
    p.add_argument("--session-idle", type=float, default=300.0,
                   help="end a silent client's session after this many seconds (default 300)")
    p.add_argument("--lifetime", type=float, default=None,
                   help="stop by itself after this many seconds")
    p.set_defaults(func=main)

