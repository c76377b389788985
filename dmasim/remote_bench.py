"""``dmasim bench --remote``: PYNQ.remote figures against ``dmasim serve`` on localhost.

Starts ``dmasim serve`` (the model) in a child process on a free port and measures with pynq's
own client (``RemoteDevice``, ``RemoteMMIO``, ``RemoteBuffer``):

- register round trips per second (``RemoteMMIO.read`` of one register; goal >= 5,000/s);
- buffer contents over the wire, 1 MiB ``flush()`` (write) and ``invalidate()`` (read)
  (goal >= 100 MB/s each);
- with ``--suite``: the whole model test suite through the remote board target next to the
  local model run (wall time of each).
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from typing import Any

import numpy as np

from .bench import best_of

__all__ = ["main", "measure", "serve_process"]

GOAL_OPS = 5_000
GOAL_MB_S = 100.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_process(port: int, lifetime_s: float, target: str = "model") -> subprocess.Popen[str]:
    """``dmasim serve`` in a child process on 127.0.0.1:``port``, ready when this returns."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dmasim", "serve", "--target", target, "--port", str(port),
         "--lifetime", str(lifetime_s)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dmasim serve exited: {proc.stderr.read() if proc.stderr else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("dmasim serve did not start listening within 60 s")


_ECHO = """
import sys, time, grpc
from concurrent import futures
from pynq.remote import mmio_pb2, mmio_pb2_grpc
class Echo(mmio_pb2_grpc.MmioServicer):
    def read(self, request, context):
        return mmio_pb2.ReadResponse(status=True, data=0)
server = grpc.server(futures.ThreadPoolExecutor(4))
mmio_pb2_grpc.add_MmioServicer_to_server(Echo(), server)
server.add_insecure_port("127.0.0.1:" + sys.argv[1])
server.start()
time.sleep(float(sys.argv[2]))
"""


def grpc_ceiling(calls: int = 2_000) -> float:
    """Unary calls/s to an empty handler (same stubs, same machine): what gRPC itself allows."""
    import grpc
    from pynq.remote import mmio_pb2, mmio_pb2_grpc

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", _ECHO, str(port), "120"])
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=60)
        stub = mmio_pb2_grpc.MmioStub(channel)
        request = mmio_pb2.ReadRequest(mmio_id="x", offset=0, length=4)
        stub.read(request, timeout=10)
        rate = 1.0 / best_of(lambda: stub.read(request, timeout=10), repeat=1, number=calls)
        channel.close()
        return rate
    finally:
        proc.kill()
        proc.wait(10)


def measure(port: int, reads: int = 5_000, rounds: int = 5) -> dict[str, float]:
    """Register round trips and 1 MiB contents through pynq's client on 127.0.0.1:``port``."""
    from pynq.pl_server.remote_device import RemoteDevice

    dev = RemoteDevice(0, "127.0.0.1", port=port)
    mmio = dev.mmap(0x4040_0000, 0x1_0000)
    mmio.read(0x28)
    # MM2S_LENGTH: a plain register, no polling back-off on the server
    reads_s = 1.0 / best_of(lambda: mmio.read(0x28), repeat=1, number=reads)
    values = itertools.count()
    writes_s = 1.0 / best_of(lambda: mmio.write(0x28, next(values) & 0xFFFF), repeat=1,
                             number=reads // 5)
    buf = dev.allocate((1 << 20,), np.uint8)
    buf[:] = np.random.default_rng(0).integers(0, 256, 1 << 20, dtype=np.uint8)
    expected = np.array(buf)
    buf.flush()
    write_mb_s = (1 << 20) / best_of(buf.flush, repeat=1, number=rounds) / 1e6
    buf[:] = 0
    read_mb_s = (1 << 20) / best_of(buf.invalidate, repeat=1, number=rounds) / 1e6
    if not np.array_equal(np.asarray(buf), expected):
        raise RuntimeError("1 MiB round trip returned different bytes")
    buf.freebuffer()
    dev.client.channel.close()
    return {"register_reads_per_s": reads_s, "register_writes_per_s": writes_s,
            "write_1mib_mb_per_s": write_mb_s, "read_1mib_mb_per_s": read_mb_s}


def _suite(args: list[str]) -> float:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-200:]
    print(f"  pytest {' '.join(args)}: {last}")
    return wall


def main(args: Any) -> int:
    """Print the figures (``--json`` for JSON)."""
    import json

    port = _free_port()
    quick = bool(getattr(args, "quick", False))
    proc = serve_process(port, lifetime_s=3600)
    try:
        figures = measure(port, reads=1_000 if quick else 5_000, rounds=3 if quick else 10)
    finally:
        proc.terminate()
        proc.wait(10)
    figures["grpc_empty_calls_per_s"] = grpc_ceiling(1_000 if quick else 5_000)
    figures["load_average_1min"] = os.getloadavg()[0]
    suite = os.environ.get("DMASIM_BENCH_SUITE") or getattr(args, "suite", None)
    if suite:
        print("model suite, local and through dmasim serve (this takes minutes):")
        figures["suite_local_s"] = _suite(["--target=model", "tests"])
        port = _free_port()
        proc = serve_process(port, lifetime_s=7200)
        try:
            figures["suite_remote_s"] = _suite(["--target=board", "--board-host=127.0.0.1",
                                                f"--board-port={port}", "tests"])
        finally:
            proc.terminate()
            proc.wait(10)
    if getattr(args, "json", False):
        json.dump(figures, sys.stdout, indent=2)
        print()
        return 0
    print("PYNQ.remote through dmasim serve (model) on localhost, pynq's own client")
    print(f"  register reads/s         {figures['register_reads_per_s']:>10,.0f}  "
          f"(goal >= {GOAL_OPS:,})")
    print(f"  register writes/s        {figures['register_writes_per_s']:>10,.0f}")
    print(f"  gRPC itself (empty call) {figures['grpc_empty_calls_per_s']:>10,.0f}/s on this "
          f"machine now (load average {figures['load_average_1min']:.1f})")
    print(f"  1 MiB write (flush)      {figures['write_1mib_mb_per_s']:>10.1f} MB/s "
          f"(goal >= {GOAL_MB_S:.0f})")
    print(f"  1 MiB read (invalidate)  {figures['read_1mib_mb_per_s']:>10.1f} MB/s "
          f"(goal >= {GOAL_MB_S:.0f})")
    if "suite_local_s" in figures:
        print(f"  model suite: local {figures['suite_local_s']:.1f} s, through serve "
              f"{figures['suite_remote_s']:.1f} s")
    return 0
