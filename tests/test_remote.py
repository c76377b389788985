"""The board over PYNQ.remote: ``dmasim serve`` on localhost, pynq's real client, real gRPC.

Every server here binds a loopback address and stops by itself (``lifetime_s``).
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pynq.remote.mmio_pb2_grpc", reason="needs pynq >= 4 (PYNQ.remote)")
grpc = pytest.importorskip("grpc")

from pynq.remote import buffer_pb2, buffer_pb2_grpc, mmio_pb2, mmio_pb2_grpc  # noqa: E402

import dmasim  # noqa: E402
from dmasim.board.remote import (  # noqa: E402
    RemoteBusyError,
    RemoteTimeoutError,
    RemoteUnreachableError,
    connect,
)
from dmasim.errors import BufferStateError, DmasimValueError, OutOfMemoryError  # noqa: E402
from dmasim.serve import SimServer, _peer_endpoint, _tcp_table  # noqa: E402

LIFETIME_S = 300.0


@pytest.fixture
def server():
    srv = SimServer("model", host="127.0.0.1", port=0, lifetime_s=LIFETIME_S,
                    session_idle_s=30.0).start()
    yield srv
    srv.stop()


@pytest.fixture
def remote(server):
    t = dmasim.open_target("board", host="127.0.0.1", port=server.port, timeout=5.0)
    yield t
    t.close()


def _channel(server):
    ch = grpc.insecure_channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)])
    grpc.channel_ready_future(ch).result(timeout=5)
    return ch


def _wait_session_gone(server, timeout: float = 10.0) -> None:
    """Until the kernel shows the session's connection closed (a client's close is async)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = server.session
        if s is None or not server._alive(s):
            return
        time.sleep(0.05)
    raise AssertionError("the closed client's connection is still established")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the remote board target ------------------------------------------------------------------


@pytest.mark.parametrize("level", ["pynq", "python", "pybind11", "cffi"])
def test_every_level_loops_back_through_serve(remote, level):
    a = remote.allocate(64, "u4")
    b = remote.allocate(64, "u4")
    a[:] = np.random.default_rng(3).integers(0, 1 << 32, 64, dtype=np.uint32)
    b[:] = 0
    dma = remote.driver(level)
    dma.recvchannel.transfer(b)
    dma.sendchannel.transfer(a)
    dma.sendchannel.wait()
    dma.recvchannel.wait()
    assert np.array_equal(a, b)
    assert dma.recvchannel.transferred == a.nbytes


def test_remote_target_describes_itself(remote, server):
    assert remote.name == "board"
    assert remote.served and not remote.simulated  # a board whose clock is the server's
    assert remote.where == server.address
    assert set(remote.ip_dict) == {"axi_dma_0"}
    t0 = remote.now_ns
    remote.delay(12_345)
    assert remote.now_ns - t0 >= 12_345
    assert remote.native_mapping() is None  # the C levels go through the remote bus
    assert "MM2S_DMASR" in remote.describe()


def test_views_move_only_their_own_bytes(remote):
    buf = remote.allocate(64, "u1", cacheable=True)
    buf[:] = 0x11
    buf.flush()
    view = buf[16:32]
    view[:] = 0x22
    buf[:16] = 0x33  # a CPU write outside the view: must not reach the board
    view.flush()
    assert view.physical_address == buf.physical_address + 16
    buf[:] = 0
    buf.invalidate()
    assert (buf[:16] == 0x11).all() and (buf[16:32] == 0x22).all() and (buf[32:] == 0x11).all()


def test_coherent_buffers_follow_the_board(remote):
    """Raw register transfers on default (coherent) buffers see and show the board's memory."""
    from dmasim import regmap

    regs = remote.ip_mmio()
    src = remote.allocate(64, "u1")
    dst = remote.allocate(64, "u1")
    src[:] = np.arange(64, dtype=np.uint8)
    regs.write(regmap.MM2S.DMACR, regmap.DMACR_RS)
    regs.write(regmap.S2MM.DMACR, regmap.DMACR_RS)
    regs.write(regmap.S2MM.ADDR, dst.physical_address)
    regs.write(regmap.S2MM.LENGTH, 64)
    regs.write(regmap.MM2S.ADDR, src.physical_address)
    regs.write(regmap.MM2S.LENGTH, 64)
    remote.delay(10_000)
    assert np.array_equal(dst, src)


def test_bad_requests_are_clear_errors_and_the_target_stays_usable(remote):
    with pytest.raises(DmasimValueError, match="not inside an IP"):
        remote.mmio(0x5000_0000, 0x100)
    with pytest.raises(OutOfMemoryError, match="cannot allocate"):
        remote.allocate(1 << 30, "u1")
    a = remote.allocate(16, "u4")
    a.freebuffer()
    with pytest.raises(BufferStateError, match="double free"):
        a.freebuffer()
    b = remote.allocate(16, "u4")
    assert remote.owns(b) and not remote.owns(a)


def test_unreachable_board_names_host_and_port():
    port = _free_port()
    t0 = time.monotonic()
    with pytest.raises(RemoteUnreachableError, match=f"127.0.0.1:{port}"):
        dmasim.open_target("board", host="127.0.0.1", port=port, connect_timeout=0.5)
    assert time.monotonic() - t0 < 5


def test_a_hung_board_is_a_timeout_not_a_hang(server, remote):
    """The server holds its lock (a simulator stuck in a request): calls end at their deadline."""
    regs = remote.ip_mmio()
    server._lock.acquire()
    try:
        stub = remote.remote_device._stub["mmio"]
        stub._timeout = 0.3
        for cached in ("read", "write", "get_mmio"):
            stub.__dict__.pop(cached, None)
        t0 = time.monotonic()
        with pytest.raises(RemoteTimeoutError, match=f"{server.address}.*within 0.3 s"):
            regs.read(0x04)
        assert time.monotonic() - t0 < 3
    finally:
        server._lock.release()
    assert regs.read(0x04) & 1  # answers again once the server does


def test_board_that_goes_away_mid_session(server):
    t = dmasim.open_target("board", host="127.0.0.1", port=server.port, timeout=2.0)
    regs = t.ip_mmio()
    server.stop()
    with pytest.raises((RemoteUnreachableError, RemoteTimeoutError), match=server.address):
        regs.read(0x04)
    t.close()  # closing a target whose board is gone does not raise or hang


# --- the server's robustness -------------------------------------------------------------------


def test_second_client_is_busy_until_the_first_disconnects(server, remote):
    with pytest.raises(RemoteBusyError, match="busy"):
        connect("127.0.0.1", server.port, timeout=2.0)
    remote.close()
    _wait_session_gone(server)
    other = connect("127.0.0.1", server.port, timeout=2.0)  # the first connection closed
    other.close()


def test_requests_outside_the_design_and_foreign_buffers(server, remote):
    keep = remote.allocate(256, "u1", cacheable=True)
    keep[:] = 0x5A
    keep.flush()
    ch = _channel(server)
    try:
        mmio = mmio_pb2_grpc.MmioStub(ch)
        bufs = buffer_pb2_grpc.RemoteBufferStub(ch)
        remote.close()  # the session moves to this raw client once the first one is gone
        _wait_session_gone(server)
        with pytest.raises(grpc.RpcError) as err:
            mmio.get_mmio(mmio_pb2.GetMmioRequest(base_addr=0x4000_0000, length=0x1000),
                          timeout=5)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "allowed: axi_dma_0: 0x40400000+0x10000" in err.value.details()
        ok = mmio.get_mmio(mmio_pb2.GetMmioRequest(base_addr=0x4040_0000, length=0x100),
                           timeout=5)
        with pytest.raises(grpc.RpcError, match="OUT_OF_RANGE"):
            mmio.read(mmio_pb2.ReadRequest(mmio_id=ok.mmio_id, offset=0x100, length=4),
                      timeout=5)
        with pytest.raises(grpc.RpcError, match="not a window of this session"):
            mmio.read(mmio_pb2.ReadRequest(mmio_id="nope", offset=0, length=4), timeout=5)
        for size in (0, -1, 0x7FFF_FFFF):
            with pytest.raises(grpc.RpcError, match="OUT_OF_RANGE"):
                bufs.allocate(buffer_pb2.AllocateRequest(size=size), timeout=5)
        mine = bufs.allocate(buffer_pb2.AllocateRequest(size=64), timeout=5).buffer_id
        bufs.freebuffer(buffer_pb2.FreeBufferRequest(buffer_id=mine), timeout=5)
        with pytest.raises(grpc.RpcError, match="already freed"):
            bufs.freebuffer(buffer_pb2.FreeBufferRequest(buffer_id=mine), timeout=5)
        with pytest.raises(grpc.RpcError, match="not allocated in this session"):
            bufs.freebuffer(buffer_pb2.FreeBufferRequest(buffer_id="someone-else"), timeout=5)
        # still serving
        val = mmio.read(mmio_pb2.ReadRequest(mmio_id=ok.mmio_id, offset=4, length=4),
                        timeout=5)
        assert val.data & 1  # MM2S_DMASR.Halted after the session's reset
    finally:
        ch.close()


def test_client_disconnecting_mid_stream_changes_nothing(server):
    ch = _channel(server)
    try:
        bufs = buffer_pb2_grpc.RemoteBufferStub(ch)
        target = bufs.allocate(buffer_pb2.AllocateRequest(size=4 << 20), timeout=5).buffer_id
        other = bufs.allocate(buffer_pb2.AllocateRequest(size=64), timeout=5).buffer_id
        bufs.write(iter([buffer_pb2.BufferWriteRequest(buffer_id=other, data=b"\x42" * 64)]),
                   timeout=5)
        gate = threading.Event()

        def chunks():  # as pynq's RemoteBuffer.flush sends them: no start/end
            yield buffer_pb2.BufferWriteRequest(buffer_id=target, data=b"\x99" * (1 << 20))
            gate.wait(5)  # the client "goes away" here, 1 of 4 MiB sent

        fut = bufs.write.future(chunks(), timeout=5)
        time.sleep(0.3)
        fut.cancel()
        gate.set()
        time.sleep(0.2)
        data = b"".join(r.data for r in bufs.read(
            buffer_pb2.BufferReadRequest(buffer_id=target, start=0, end=1 << 20), timeout=5))
        assert data == bytes(1 << 20)  # the half-sent write was not applied
        kept = b"".join(r.data for r in bufs.read(
            buffer_pb2.BufferReadRequest(buffer_id=other), timeout=5))
        assert kept == b"\x42" * 64
    finally:
        ch.close()


def test_simulator_crash_behind_the_server(server, remote):
    """A failure inside the simulation is reported; the target is reset, buffers kept."""
    keep = remote.allocate(64, "u1", cacheable=True)
    keep[:] = 7
    keep.flush()
    regs = remote.ip_mmio()
    real = server._device._read32

    def crash(addr: int) -> int:
        raise RuntimeError("simulated segfault")

    server._device._read32 = crash
    try:
        with pytest.raises(dmasim.board.remote.RemoteBoardError, match="simulated segfault"):
            regs.read(0x04)
    finally:
        if server._device._read32 is crash:
            server._device._read32 = real
    assert regs.read(0x04) & 1  # serving again, power-on state
    keep[:] = 0
    keep.invalidate()
    assert (keep == 7).all()


def test_session_ends_when_its_connection_closes(server):
    ch = _channel(server)
    bufs = buffer_pb2_grpc.RemoteBufferStub(ch)
    bufs.allocate(buffer_pb2.AllocateRequest(size=64), timeout=5)
    peer = server.session.peer
    endpoint = _peer_endpoint(peer)
    table = _tcp_table()
    if table is None or endpoint is None:
        pytest.skip("no /proc/net/tcp here: sessions end by the idle limit only")
    assert (endpoint[0], endpoint[1], server.port) in table
    ch.close()
    _wait_session_gone(server)
    t = dmasim.open_target("board", host="127.0.0.1", port=server.port, timeout=5.0)
    try:
        assert server.session.peer != peer
        assert server.target.memory.allocations == 0  # the old session's buffer was freed
    finally:
        t.close()


# --- unmodified PYNQ host code, end to end ----------------------------------------------------

HOST_PROGRAM = """
import numpy as np
from pynq import Overlay, allocate

ol = Overlay(BITFILE)
A = allocate(shape=(1024,), dtype=np.uint32)
B = allocate(shape=(1024,), dtype=np.uint32)
A[:] = np.random.default_rng(0).integers(0, 100000, 1024)
B[:] = 0
ol.axi_dma_0.recvchannel.transfer(B)
ol.axi_dma_0.sendchannel.transfer(A)
ol.axi_dma_0.sendchannel.wait()
ol.axi_dma_0.recvchannel.wait()
assert (A == B).all(), "loopback mismatch"
print("LOOPBACK OK", ol.device.name, hex(A.physical_address))
"""


def test_unmodified_pynq_program_against_serve(tmp_path: Path):
    """``PYNQ_REMOTE_DEVICES=<loopback ip>`` + pynq's own Overlay/allocate/DMA, in a subprocess.

    pynq only dials port 7967, so the server takes a free 127.x.y.z address on that port.
    """
    srv = None
    for _ in range(20):
        host = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        try:
            srv = SimServer("model", host=host, port=7967, lifetime_s=LIFETIME_S).start()
            break
        except dmasim.errors.TargetError:
            continue
    if srv is None:
        pytest.skip("no loopback address with port 7967 free")
    try:
        script = tmp_path / "host.py"
        script.write_text(f"BITFILE = {str(srv.overlay_bitfile)!r}\n"
                          + textwrap.dedent(HOST_PROGRAM))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYNQ")}
        env["PYNQ_REMOTE_DEVICES"] = host
        out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                             timeout=120, env=env, cwd=tmp_path, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "LOOPBACK OK dmasim-model" in out.stdout
    finally:
        srv.stop()


def test_serve_command_refuses_a_design_it_cannot_read(tmp_path: Path):
    from dmasim.cli import main

    hwh = tmp_path / "x.hwh"
    hwh.write_text("<nothing/>")
    assert main(["serve", "--design", str(hwh), "--lifetime", "1", "--port", "0"]) == 2


def test_serve_names_a_user_ip_it_has_no_model_for(tmp_path: Path, capsys):
    from dmasim.cli import main
    from dmasim.design import DesignBuilder

    b = DesignBuilder(name="needs_ip")
    b.dma("axi_dma_0", base=0x4040_0000)
    b.ip("add_0", vlnv="dmasim.org:user:add:1.0", base=0x43C0_0000, range=0x1_0000,
         streams={"S_AXIS": "in", "M_AXIS": "out"})
    b.connect("axi_dma_0.M_AXIS_MM2S", "add_0.S_AXIS")
    b.connect("add_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM")
    hwh = b.build().write_hwh(tmp_path / "needs_ip.hwh")
    assert main(["serve", "--design", str(hwh), "--lifetime", "1", "--port", "0"]) == 2
    assert "add_0" in capsys.readouterr().err
