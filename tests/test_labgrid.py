"""labgrid: a PYNQ board as a labgrid resource, with ``dmasim serve`` standing in for it.

Runs labgrid's own machinery on this machine: its Environment and driver activation, its pytest
plugin (``--lg-env``), and a local coordinator and exporter holding the place.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("labgrid", reason="needs pip install dmasim[labgrid]")
pytest.importorskip("pynq.remote.mmio_pb2_grpc", reason="needs pynq >= 4 (PYNQ.remote)")

from dmasim.serve import SimServer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server():
    srv = SimServer("model", host="127.0.0.1", port=0, lifetime_s=300.0,
                    session_idle_s=30.0).start()
    yield srv
    srv.stop()


def _env_file(path: Path, resources: str) -> Path:
    path.write_text(
        "imports:\n  - dmasim.labgrid\n"
        "targets:\n  main:\n    resources:\n" + resources +
        "    drivers:\n      PynqRemoteDriver: {}\n")
    return path


def test_environment_opens_the_board_through_the_driver(server, tmp_path):
    from labgrid import Environment

    env = Environment(str(_env_file(tmp_path / "lab.yaml",
                                    f"      PynqRemoteBoard:\n        host: 127.0.0.1\n"
                                    f"        port: {server.port}\n")))
    lg_target = env.get_target("main")
    driver = lg_target.get_driver("PynqRemoteDriver")
    assert driver.options() == {"host": "127.0.0.1", "port": server.port, "timeout": 10.0}
    t = driver.open_target()
    try:
        a = t.allocate(32, "u4")
        b = t.allocate(32, "u4")
        a[:] = np.arange(32)
        t.axi_dma_0.recvchannel.transfer(b)
        t.axi_dma_0.sendchannel.transfer(a)
        t.axi_dma_0.sendchannel.wait()
        t.axi_dma_0.recvchannel.wait()
        assert np.array_equal(a, b)
    finally:
        t.close()
    lg_target.cleanup()


def _pytest(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "-W", "ignore::DeprecationWarning", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env=env, check=False)


def test_pytest_lg_env_runs_the_suite_on_the_board(server, tmp_path):
    lab = _env_file(tmp_path / "lab.yaml",
                    f"      PynqRemoteBoard:\n        host: 127.0.0.1\n"
                    f"        port: {server.port}\n")
    out = _pytest(["--lg-env", str(lab), "--target=board", "--level=python,cffi",
                   "tests/test_loopback.py::test_notebook_32_words"], ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.skipif(shutil.which("labgrid-coordinator", path=str(BIN)) is None,
                    reason="labgrid-coordinator is not installed")
def test_place_from_a_local_coordinator_is_held_for_the_session(server, tmp_path):
    coord = f"127.0.0.1:{_free_port()}"
    env = {**os.environ, "LG_COORDINATOR": coord}
    env.pop("LG_ENV", None)
    exporter_cfg = tmp_path / "exporter.yaml"
    exporter_cfg.write_text(
        f"pynq:\n  PynqRemoteBoard:\n    host: 127.0.0.1\n    port: {server.port}\n")
    client = [str(BIN / "labgrid-client"), "-x", coord]
    procs = [subprocess.Popen([str(BIN / "labgrid-coordinator"), "-l", coord], cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(1.0)
        procs.append(subprocess.Popen(
            [str(BIN / "labgrid-exporter"), "-c", coord, "-n", "lab1", "--hostname",
             "127.0.0.1", str(exporter_cfg)], cwd=tmp_path, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*client, *args], capture_output=True, text=True, env=env,
                                  timeout=60, check=False)

        _wait_for(lambda: "PynqRemoteBoard" in run("resources").stdout, 30, "the exporter")
        assert run("-p", "pynq-z2-1", "create").returncode == 0
        assert run("-p", "pynq-z2-1", "add-match", "lab1/pynq/*").returncode == 0
        lab = _env_file(tmp_path / "lab.yaml", "      RemotePlace:\n        name: pynq-z2-1\n")
        lab.write_text(lab.read_text().replace("imports:", f"options:\n  coordinator_address: "
                                                            f"'{coord}'\nimports:"))
        probe = tmp_path / "test_probe.py"
        probe.write_text(
            "import subprocess\n"
            "def test_place_is_ours_meanwhile(target):\n"
            f"    out = subprocess.run({[*client, '-p', 'pynq-z2-1', 'show']!r},\n"
            "                         capture_output=True, text=True, timeout=60).stdout\n"
            "    assert 'acquired:' in out and 'acquired: None' not in out, out\n"
            "    assert target.name == 'board' and target.served\n")
        (tmp_path / "conftest.py").write_text('pytest_plugins = ["dmasim.pytest_plugin"]\n')
        out = _pytest(["--lg-env", str(lab), "--target=board", str(probe),
                       "--rootdir", str(tmp_path)], tmp_path, env)
        assert out.returncode == 0, out.stdout + out.stderr
        shown = run("-p", "pynq-z2-1", "show").stdout
        assert "acquired: None" in shown, shown  # released at the end of the session
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
