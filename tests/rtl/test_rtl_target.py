"""The rtl target's own machinery: build cache, simulator process, crash/hang recovery, waves.

The target-generic suite (``pytest --target=rtl``) checks the contract; these check what is
specific to running a simulator: that it is built once per source hash, that a crashed or
hung one gives a clear error and is replaced, that none outlives its parent, and that wave
files appear where they should. Tests that start a simulator run only with ``--target=rtl``
(the first one may build it: about a minute on two cores).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dmasim
from dmasim import DmasimValueError, DriverUnavailableError, TargetError
from dmasim.regmap import MM2S, S2MM

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def rtl_enabled(request: pytest.FixtureRequest) -> None:
    names = [n.strip() for n in request.config.getoption("target").split(",")]
    if "rtl" not in names:
        pytest.skip("starts the rtl simulator: run with --target=rtl")


@pytest.fixture(params=["c++", "python"])
def mailbox(request: pytest.FixtureRequest, rtl_enabled: None,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test with each host end of the mailbox: the C++ module and the Python one.

    The targets opened in the test start fresh simulators (the pool is emptied around it).
    """
    from dmasim.rtl import process
    from dmasim.rtl.target import close_pool

    if request.param == "c++":
        try:
            from dmasim.rtl._mailbox import Mailbox  # noqa: F401
        except ImportError:
            pytest.skip("dmasim.rtl._mailbox is not built (no compiler at install)")
    else:
        monkeypatch.setattr(process, "_mailbox_class", lambda: process._PyMailbox)
    close_pool()
    yield request.param
    close_pool()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent to reap it is gone for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


# --- no simulator needed ---------------------------------------------------------------


def test_parameters_map_to_verilog_names() -> None:
    from dmasim.design import make_ip_dict
    from dmasim.rtl.build import verilog_parameters

    params = make_ip_dict({"c_sg_length_width": 14, "c_mm2s_burst_size": 64})["axi_dma_0"]
    got = verilog_parameters(params["parameters"])
    assert got["LENGTH_WIDTH"] == 14
    assert got["MM2S_BURST_SIZE"] == 64
    assert got["S2MM_BURST_SIZE"] == 16
    assert got["DATA_WIDTH"] == 32 and got["ADDR_WIDTH"] == 32


def test_unsupported_parameters_are_named() -> None:
    from dmasim.rtl.build import verilog_parameters

    with pytest.raises(DmasimValueError, match="c_include_mm2s_sf"):
        verilog_parameters({"c_include_mm2s_sf": "0"})
    with pytest.raises(DmasimValueError, match="one data width"):
        verilog_parameters({"c_m_axi_mm2s_data_width": "64", "c_s_axis_s2mm_tdata_width": "32"})


def test_missing_verilator_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from dmasim.rtl import build

    monkeypatch.setattr(build.shutil, "which", lambda *a, **k: None)
    with pytest.raises(DriverUnavailableError, match=r"pip install dmasim\[rtl\]"):
        build._require_tools.__wrapped__("")


def test_unknown_simulator_is_rejected() -> None:
    with pytest.raises(DmasimValueError, match="verilator"):
        dmasim.open_target("rtl", simulator="icarus")


def _hold_lock(path: str, ready: multiprocessing.synchronize.Event, release_after: float) -> None:
    from dmasim.rtl.build import _locked

    with _locked(Path(path), 5.0):
        ready.set()
        time.sleep(release_after)


def test_build_lock_serialises_processes(tmp_path: Path) -> None:
    from dmasim.rtl.build import _locked

    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    lock = tmp_path / "k.lock"
    holder = ctx.Process(target=_hold_lock, args=(str(lock), ready, 1.0))
    holder.start()
    try:
        assert ready.wait(30)
        t0 = time.monotonic()
        with _locked(lock, 30.0):
            waited = time.monotonic() - t0
        assert waited > 0.5  # we got it only once the other process let go
    finally:
        holder.join(30)
    with pytest.raises(TargetError, match="another process building"):
        holder = ctx.Process(target=_hold_lock, args=(str(lock), ready, 3.0))
        ready.clear()
        holder.start()
        try:
            assert ready.wait(30)
            with _locked(lock, 0.3):
                pass
        finally:
            holder.join(30)


# --- with the simulator ----------------------------------------------------------------


def test_build_is_cached_per_source_hash(rtl_enabled: None, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from dmasim.design import Design
    from dmasim.rtl import build
    from dmasim.rtl.generate import generate

    params = generate(Design.loopback(), {})
    first = build.ensure_build(params)  # the default build: cached by the other tests
    again = build.ensure_build(params)
    assert not again.built_now and again.binary == first.binary
    assert build.build_key(generate(Design.loopback({"c_sg_length_width": 14}), {})) != first.key
    # a changed RTL file is a different build
    rtl, sim = build.source_dirs()
    root = tmp_path / "root"
    (root / "hw").mkdir(parents=True)
    (root / "hw" / "rtl").symlink_to(rtl, target_is_directory=True)
    (root / "rtl_tb").mkdir()
    (root / "rtl_tb" / "hdl").mkdir()
    for f in (f for f in sim.iterdir() if f.is_file()):
        (root / "rtl_tb" / "hdl" / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("DMASIM_ROOT", str(root))
    assert build.build_key(params) == first.key
    top = root / "rtl_tb" / "hdl" / "dmasim_sim_top.v"
    top.write_text(top.read_text() + "\n// changed\n")
    assert build.build_key(params) != first.key


def test_loopback_is_zero_copy_through_shared_ddr(mailbox: str) -> None:
    with dmasim.open_target("rtl") as t:
        a = t.allocate(shape=(1024,), dtype="u4")
        b = t.allocate(shape=(1024,), dtype="u4")
        a[:] = np.arange(1024, dtype=np.uint32) * 2654435761
        t.axi_dma_0.recvchannel.transfer(b)
        t.axi_dma_0.sendchannel.transfer(a)
        t.axi_dma_0.sendchannel.wait()
        t.axi_dma_0.recvchannel.wait()
        assert np.array_equal(a, b)
        # the simulator's DDR is the host's buffer memory, byte for byte
        phys = b.physical_address
        assert np.array_equal(t.memory.ddr[phys : phys + b.nbytes].view("u4"), b)


def test_runs_replay_exactly(mailbox: str) -> None:
    def run() -> list[tuple[int, str, int, int]]:
        with dmasim.open_target("rtl") as t:
            a = t.allocate(shape=(300,), dtype="u4")
            b = t.allocate(shape=(300,), dtype="u4")
            a[:] = 5
            dma = t.driver("python")
            dma.recvchannel.transfer(b)
            t.delay(333)
            dma.sendchannel.transfer(a)
            dma.recvchannel.wait()
            return list(t.trace)

    assert run() == run()


def test_a_half_written_sequence_number_runs_no_command(mailbox: str) -> None:
    """The simulator runs a command once, even if it sees the host's CMD_SEQ half-written.

    A host that stored the number byte by byte (as ``struct.pack_into`` does) passed through
    values that were neither the old nor the new number at every carry out of the low byte;
    the simulator took such a value for a command and ran it twice (an extra register write,
    or 20 clocks of bus time, every few hundred commands: runs that did not replay).
    """
    from dmasim.rtl import process as pr
    from dmasim.rtl import protocol as p

    with dmasim.open_target("rtl") as t:
        sim = t._sim
        while sim.mailbox.seq & 0xFF != 0xFF:  # the next number carries into the second byte
            t.delay(1)
        before = t.now_ns
        new = sim.mailbox.seq + 1
        p.CMD.pack_into(sim._mb, pr._CMD, p.OP_DELAY, 0, 0, 0, 1000)
        sim._mb[pr._CMD_SEQ] = new & 0xFF  # the low byte alone: (old & ~0xFF) | (new & 0xFF)
        sim._futex(pr._CMD_SEQ, pr._FUTEX_WAKE, 1)
        time.sleep(0.2)  # the simulator polls or wakes, and must see no command in it
        assert sim._w32[pr._RSP_SEQ_W] == new - 1, "ran a half-written command"
        sim.mailbox.seq = new
        sim._w32[pr._CMD_SEQ_W] = new
        sim._futex(pr._CMD_SEQ, pr._FUTEX_WAKE, 1)
        sim._wait_reply(new, p.OP_DELAY, 0, 1000)
        sim.mailbox.last_ns = p.REPLY.unpack_from(sim._mb, pr._RSP)[4]
        assert t.now_ns - before == 1000  # once, not twice
        assert t.ip_mmio().read(S2MM.DMASR) & 1  # and the mailbox still works


def test_crashed_simulator_gives_clear_error_and_reset_replaces_it(mailbox: str) -> None:
    with dmasim.open_target("rtl") as t:
        regs = t.ip_mmio()
        a = t.allocate(shape=(16,), dtype="u4")
        a[:] = 7
        pid = t._sim.proc.pid
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(TargetError, match=r"exited (during|before) a register read.*Log tail"):
            regs.read(S2MM.DMASR)
        with pytest.raises(TargetError, match="unusable"):
            regs.read(MM2S.DMASR)
        t.reset()  # what the pytest plugin does between tests
        assert t._sim.proc.pid != pid
        assert regs.read(MM2S.DMACR) == 0x0001_0002
        assert (a == 7).all()  # buffers live in host-owned DDR and survive
    with dmasim.open_target("rtl") as t2:
        assert t2.ip_mmio().read(MM2S.DMASR) == 1


def test_hung_simulator_times_out_with_its_log(mailbox: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from dmasim.rtl import process

    with dmasim.open_target("rtl") as t:
        pid = t._sim.proc.pid
        monkeypatch.setattr(process, "COMMAND_TIMEOUT_S", 0.5)
        os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(TargetError, match="did not answer a register read"):
            t.ip_mmio().read(MM2S.DMASR)
        assert time.monotonic() - t0 < 10
        assert _wait_gone(pid)
        monkeypatch.undo()
        t.reset()
        assert t.ip_mmio().read(MM2S.DMASR) == 1


def _child_script(tail: str) -> str:
    return textwrap.dedent(f"""
        import os, sys, signal, dmasim
        t = dmasim.open_target("rtl")
        print(t._sim.proc.pid, flush=True)
        {tail}
    """)


@pytest.mark.parametrize("ending", ["exit", "close-not-called", "killed"])
def test_no_simulator_outlives_its_parent(rtl_enabled: None, ending: str) -> None:
    tail = {
        "exit": "t.close()",
        "close-not-called": "pass",
        "killed": "os.kill(os.getpid(), signal.SIGKILL)",
    }[ending]
    out = subprocess.run([sys.executable, "-c", _child_script(tail)], capture_output=True,
                         text=True, timeout=300, check=False)
    pid = int(out.stdout.split()[0])
    assert _wait_gone(pid), f"simulator {pid} still running after its parent's {ending}"


def test_waves_file_per_target_and_per_name(rtl_enabled: None, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMASIM_WAVES_DIR", str(tmp_path / "w"))
    wave = tmp_path / "first.fst"
    with dmasim.open_target("rtl", waves=wave) as t:
        fmt = t.build.wave_format
        assert t.wave_file == wave.with_suffix(f".{fmt}").resolve()
        t.ip_mmio().write(MM2S.DMACR, 1)
        t.delay(1000)
        named = t.start_waves("tests/test_x.py::test_y[rtl-python]")
        assert named.parent == (tmp_path / "w").resolve()
        assert named.name == f"tests_test_x.py_test_y_rtl-python.{fmt}"
        t.ip_mmio().write(MM2S.DMACR, 1)
        t.delay(1000)
        sim = t._sim
    assert sim.proc.returncode == 0  # a clean end: the wave file is closed, not cut off
    first = wave.with_suffix(f".{fmt}")
    assert first.stat().st_size > 0 and named.stat().st_size > 0


def test_waves_hold_every_clock_edge(rtl_enabled: None, tmp_path: Path) -> None:
    """With waves, every edge is dumped (the simulator's fast edges without waves must not
    leave the wave writer without the activity it dumps)."""
    with dmasim.open_target("rtl", waves=tmp_path / "w.vcd") as t:
        if t.build.wave_format != "vcd":
            pytest.skip("waves are FST here (lz4 headers installed); this test reads VCD")
        t.ip_mmio().write(MM2S.DMACR, 1)
        t.delay(1000)
        wave = t.wave_file
        period = t.clock_ns
    assert wave is not None
    text = wave.read_text()
    code = next(line.split()[3] for line in text.splitlines()
                if line.split()[-2:] == ["clk", "$end"])
    now, edges = 0, []
    for line in text.split("$enddefinitions", 1)[1].splitlines():
        if line.startswith("#"):
            now = int(line[1:])
        elif line in (f"0{code}", f"1{code}"):
            edges.append(now)
    assert len(edges) > 2 * 1000 // period
    assert edges == list(range(0, edges[-1] + 1, period // 2))  # from the initial value at 0


def test_start_waves_needs_a_waves_target(rtl_enabled: None) -> None:
    with dmasim.open_target("rtl") as t, pytest.raises(DmasimValueError, match="waves=True"):
        t.start_waves("x")


@pytest.mark.rule("ERR-SLVERR")
def test_faults_reach_the_simulator(rtl_enabled: None) -> None:
    with dmasim.open_target("rtl") as t:
        a = t.allocate(shape=(256,), dtype="u4")
        b = t.allocate(shape=(256,), dtype="u4")
        t.add_fault(a.physical_address + 512, 4, "slverr")
        dma = t.driver("python")
        dma.recvchannel.transfer(b)
        dma.sendchannel.transfer(a)
        with pytest.raises(dmasim.DmaSlaveError):
            dma.sendchannel.wait()
        t.reset()  # clears faults, as on the model
        assert t.memory.faults == []
        dma.recvchannel.transfer(b)
        dma.sendchannel.transfer(a)
        dma.sendchannel.wait()
        dma.recvchannel.wait()


def test_interrupted_wait_retires_the_simulator(mailbox: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from dmasim.rtl import process

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    with dmasim.open_target("rtl") as t:
        pid = t._sim.proc.pid
        os.kill(pid, signal.SIGSTOP)  # so the reply is still due when Ctrl-C comes
        monkeypatch.setattr(process.SimProcess, "_futex", interrupted)  # the host's sleep
        with pytest.raises(KeyboardInterrupt):
            t.ip_mmio().read(MM2S.DMASR)
        monkeypatch.undo()
        assert _wait_gone(pid)  # its late reply can never answer a later command
        t.reset()
        assert t.ip_mmio().read(MM2S.DMASR) == 1


@pytest.mark.parametrize("mailbox", ["python"], indirect=True)
def test_ctrl_c_while_the_python_mailbox_polls_retires_the_simulator(
        mailbox: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python can be interrupted between sending a command and taking its reply (C++ cannot:
    signals wait for the call to return): the simulator is retired there too."""
    from dmasim.rtl import process

    def interrupted() -> float:
        raise KeyboardInterrupt

    with dmasim.open_target("rtl") as t:
        pid = t._sim.proc.pid
        os.kill(pid, signal.SIGSTOP)  # the reply stays due while the host polls
        monkeypatch.setattr(process, "_perf_counter", interrupted)  # read while polling
        with pytest.raises(KeyboardInterrupt):
            t.ip_mmio().read(MM2S.DMASR)
        monkeypatch.undo()
        assert t._sim.broken == "interrupted with a command in flight"
        assert _wait_gone(pid)
        with pytest.raises(TargetError, match="unusable: interrupted with a command in flight"):
            t.ip_mmio().read(MM2S.DMASR)
        t.reset()
        assert t.ip_mmio().read(MM2S.DMASR) == 1


def test_the_simulators_limit_runs_a_bare_loopback(rtl_enabled: None) -> None:
    """``dmasim_sim_top --bare`` (the limit ``dmasim bench --target rtl`` compares against)
    streams loopbacks without DMA errors, at no more than the bus width a clock."""
    from dmasim.rtl.bench import limit_figures

    with dmasim.open_target("rtl") as t:
        fig = limit_figures(t, nbytes=4096, seconds=0.05, repeat=1)
    assert fig["limit_clocks_per_s"] > 0
    assert 0.5 < fig["limit_bytes_per_clock"] <= 4.0  # 4096 bytes take ~1,100 clocks
    # its register reads are spaced as the target's: 200 ns a bus access, 10 ns clocks
    assert fig["limit_reads_per_s"] > 0
    assert fig["limit_clocks_per_read"] == pytest.approx(t.bus_access_ns / t.clock_ns)
    # an idle DMA between reads: most of the 20 clocks are skipped, the access itself is not
    assert 8 <= fig["limit_skipped_per_read"] < fig["limit_clocks_per_read"] - 3


def test_dma_window_accessors_do_what_read32_and_write32_do(mailbox: str) -> None:
    """``t.ip_mmio()`` reads and writes through the target's own window accessors (one call
    fewer a register access); they trace, time and check exactly as read32/write32 and MMIO."""
    with dmasim.open_target("rtl") as t:
        regs = t.ip_mmio()
        assert t.window_ops(regs) is not None
        assert t.window_ops(t.mmio(t.ip_dict["axi_dma_0"]["phys_addr"] + 0x40, 0x40)) is None
        base = regs.base_addr

        def steps(read: Any, write: Any) -> list[tuple[int, str, int, int]]:
            start = len(t.trace)
            write(MM2S.ADDR, 0x0123_4560)
            read(MM2S.ADDR)
            read(0x800)  # above the DMA's decoded 1 KiB: 0, no bus access
            write(0x800, 5)
            t.delay(70)
            read(S2MM.DMASR)
            out = list(t.trace)[start:]
            return [(tm - out[0][0], *rest) for tm, *rest in out]  # type: ignore[misc]

        fast = steps(regs.read, regs.write)
        slow = steps(lambda off: t.read32(base + off),
                     lambda off, v: t.write32(base + off, v))
        assert fast == slow
        assert [e[1:] for e in fast] == [
            ("W", MM2S.ADDR, 0x0123_4560), ("R", MM2S.ADDR, 0x0123_4560), ("R", 0x800, 0),
            ("W", 0x800, 5), ("R", S2MM.DMASR, 1)]
        assert fast[2][0] == fast[1][0] and fast[3][0] == fast[2][0]  # no bus, no time
        with pytest.raises(DmasimValueError, match="4-byte aligned"):
            regs.read(0x2)
        with pytest.raises(DmasimValueError, match="does not fit 32 bits"):
            regs.write(MM2S.ADDR, 1 << 32)
        with pytest.raises(DmasimValueError, match="only 4 bytes"):
            regs.read(MM2S.ADDR, 8)
        assert regs.read(MM2S.ADDR) == 0x0123_4560  # still usable


def test_the_mailbox_sleeps_on_slow_replies_and_pauses_polling(mailbox: str) -> None:
    """A reply later than the polling time is slept for; after `misses` such replies in a
    row the next `pause` commands sleep at once, then polling resumes.

    With a polling time of 20 ms (so that the fast commands are fast on a loaded machine too)
    and commands far slower than that (a stalled stream: every clock evaluated).
    """
    spin_s, misses, pause = 0.02, 2, 3
    with dmasim.open_target("rtl") as t:
        sim = t._sim
        mbx = type(sim.mailbox)(sim._mb, sim._wait_reply, spin_s, misses, pause)
        mbx.seq, mbx.last_ns = sim.mailbox.seq, sim.mailbox.last_ns
        sim.mailbox, sim.request = mbx, mbx.request
        regs = t.ip_mmio()
        src = t.allocate(shape=(1024,), dtype="u4")
        regs.write(MM2S.DMACR, 1)
        regs.write(MM2S.ADDR, src.physical_address)
        regs.write(MM2S.LENGTH, src.nbytes)  # S2MM halted: the stream stalls, no idle clock
        assert (mbx.misses, mbx.skip) == (0, 0)
        for i in range(misses):
            before, wall = t.now_ns, time.perf_counter()
            t.delay(5_000_000)  # 500,000 clocks evaluated: 50 ms at 10 M clocks/s, more here
            assert t.now_ns - before == 5_000_000
            assert time.perf_counter() - wall > spin_s
            assert (mbx.misses, mbx.skip) == ((1, 0) if i == 0 else (0, pause))
        # each command whose reply is not there yet sleeps at once and counts the pause down
        # (one answered while the host was still waking the simulator does not count: the
        # simulator may sleep at once itself for a while after the slow commands)
        for _ in range(2000):
            left = mbx.skip
            if not left:
                break
            assert regs.read(MM2S.DMACR) & 1
            assert mbx.skip in (left, left - 1) and mbx.misses == 0
        assert (mbx.misses, mbx.skip) == (0, 0)
        assert regs.read(MM2S.DMASR) & 1 == 0  # polled again: still running, still answering
        assert (mbx.misses, mbx.skip) == (0, 0)


def test_a_refused_command_retires_the_simulator(mailbox: str) -> None:
    """A reply whose status is not OK is an error naming it, and the simulator is retired."""
    with dmasim.open_target("rtl") as t:
        pid = t._sim.proc.pid
        with pytest.raises(TargetError, match=r"rejected a command \(status 2\)"):
            t._sim.request(99)
        with pytest.raises(TargetError, match="unusable"):
            t.ip_mmio().read(MM2S.DMASR)
        assert _wait_gone(pid)
        t.reset()
        assert t.ip_mmio().read(MM2S.DMASR) == 1


def test_the_cxx_mailbox_refuses_bad_arguments_without_sending(rtl_enabled: None) -> None:
    """Out-of-range arguments are errors naming them, and nothing reaches the simulator."""
    pytest.importorskip("dmasim.rtl._mailbox", reason="not built (no compiler at install)")
    with dmasim.open_target("rtl") as t:
        mbx = t._sim.mailbox
        assert type(mbx).__module__ == "dmasim.rtl._mailbox"
        seq = mbx.seq
        with pytest.raises(ValueError, match="op 256"):
            t._sim.request(256)
        with pytest.raises(ValueError, match="a32 4294967296"):
            t._sim.request(1, 1 << 32)
        with pytest.raises(OverflowError):
            t._sim.request(1, 0, -1)
        with pytest.raises(TypeError, match="1 to 3 arguments"):
            t._sim.request()
        assert mbx.seq == seq
        assert t.ip_mmio().read(MM2S.DMASR) == 1
