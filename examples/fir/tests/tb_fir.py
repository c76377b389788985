"""cocotb testbench of the example FIR (``examples/fir/hdl/fir.v``), the RTL on its own.

Run through ``test_fir_rtl.py`` (pytest + cocotb_tools.runner + Verilator). The TB owns the
clock, the reset, an ``AxiLiteMaster`` on ``s_axi``, an ``AxiStreamSource`` on ``s_axis`` and
an ``AxiStreamSink`` on ``m_axis``; outputs are compared with ``fir_reference`` (numpy), the
same function the Python model uses. Packet tests are crossed with idle (source pauses) and
back-pressure (sink pauses) inserters. Every wait is bounded.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from examples.fir.fir_reference import TAPS, fir_reference

AP_CTRL, GIE, IER, ISR = 0x00, 0x04, 0x08, 0x0C
AP_START, AP_DONE, AP_IDLE, AP_READY, AUTO_RESTART = 0x01, 0x02, 0x04, 0x08, 0x80
COEF_BASE = 0x10
CLOCK_NS = 10


def coef_addr(i: int) -> int:
    """Register offset of tap ``i`` (HLS argument spacing: 8 bytes)."""
    return COEF_BASE + 8 * i


def seeded_rng() -> random.Random:
    """The random generator of one test, from cocotb's seed (``COCOTB_RANDOM_SEED`` replays)."""
    return random.Random(cocotb.RANDOM_SEED)


class TB:
    """Clock, reset, the AXI-Lite master and the two stream models around one ``fir``."""

    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.log = dut._log
        Clock(dut.ap_clk, CLOCK_NS, unit="ns").start()
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi"), dut.ap_clk,
                                  dut.ap_rst_n, reset_active_level=False)
        self.source = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.ap_clk,
                                      dut.ap_rst_n, reset_active_level=False)
        self.sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.ap_clk,
                                  dut.ap_rst_n, reset_active_level=False)
        for logger in (self.axil.write_if.log, self.axil.read_if.log, self.source.log,
                       self.sink.log):
            logger.setLevel("WARNING")

    async def reset(self) -> None:
        """Hold ap_rst_n low for a few clocks."""
        self.dut.ap_rst_n.value = 0
        await ClockCycles(self.dut.ap_clk, 4)
        self.dut.ap_rst_n.value = 1
        await ClockCycles(self.dut.ap_clk, 2)

    def set_inserters(self, idle: bool, backpressure: bool) -> None:
        """Source pauses (gaps in s_axis_tvalid) and sink pauses (m_axis_tready low)."""
        self.source.set_pause_generator(cycle_pause(1) if idle else None)
        self.sink.set_pause_generator(cycle_pause(2) if backpressure else None)

    async def write(self, offset: int, value: int) -> None:
        """One 32-bit register write."""
        await self.axil.write_dword(offset, value)

    async def read(self, offset: int) -> int:
        """One 32-bit register read."""
        return int(await self.axil.read_dword(offset))

    async def set_coeffs(self, coeffs: list[int]) -> None:
        """Write every tap (as its 16-bit two's complement)."""
        for i, c in enumerate(coeffs):
            await self.write(coef_addr(i), c & 0xFFFF)

    async def run_packet(self, x: np.ndarray, timeout_us: int = 200) -> np.ndarray:
        """Start the block, send one packet, return the words it sent back (TLAST-framed)."""
        await self.write(AP_CTRL, AP_START)
        await self.source.send(AxiStreamFrame(x.astype("<u4").tobytes()))
        frame = await with_timeout(self.sink.recv(), timeout_us, "us")
        assert frame.tkeep is None or all(k == 1 for k in frame.tkeep), "TKEEP not all ones"
        return np.frombuffer(bytes(frame.tdata), dtype="<u4")


def cycle_pause(seed: int) -> Iterator[int]:
    """A reproducible pause pattern: about a third of the cycles paused."""
    rng = random.Random(seed)
    return itertools.cycle([int(rng.random() < 0.35) for _ in range(97)])


def random_coeffs(rng: random.Random) -> list[int]:
    """Signed 16-bit taps, the extremes included now and then."""
    pool = [-32768, 32767, -1, 0, 1]
    return [rng.choice(pool) if rng.random() < 0.2 else rng.randint(-32768, 32767)
            for _ in range(TAPS)]


def random_packet(rng: random.Random, n: int) -> np.ndarray:
    """``n`` samples over the whole 32-bit range, the extremes included now and then."""
    pool = [0x8000_0000, 0x7FFF_FFFF, 0xFFFF_FFFF, 0]
    return np.array([rng.choice(pool) if rng.random() < 0.1 else rng.getrandbits(32)
                     for _ in range(n)], dtype=np.uint32)


async def expect_done(tb: TB) -> None:
    """After a run: AP_CTRL shows done, idle and ready with ap_start cleared; done clears."""
    ctrl = await tb.read(AP_CTRL)
    assert ctrl & (AP_DONE | AP_IDLE | AP_READY | AP_START) == AP_DONE | AP_IDLE | AP_READY, (
        f"AP_CTRL after a run: 0x{ctrl:02x}")
    ctrl = await tb.read(AP_CTRL)
    assert ctrl & (AP_DONE | AP_READY) == 0, f"ap_done/ap_ready not cleared on read: 0x{ctrl:02x}"
    assert ctrl & AP_IDLE


@cocotb.test(timeout_time=20, timeout_unit="ms")
@cocotb.parametrize(idle=[False, True], backpressure=[False, True])
async def test_random_packets_match_reference(dut: Any, idle: bool, backpressure: bool) -> None:
    """Random taps and packets (1..300 words): output == fir_reference, one packet per run."""
    tb = TB(dut)
    await tb.reset()
    tb.set_inserters(idle, backpressure)
    rng = seeded_rng()
    for _ in range(12):
        coeffs = random_coeffs(rng)
        await tb.set_coeffs(coeffs)
        for _ in range(2):  # same taps twice: history must start at zero each packet
            n = rng.choice([1, 2, TAPS - 1, TAPS, TAPS + 1, rng.randint(1, 300)])
            x = random_packet(rng, n)
            y = await tb.run_packet(x)
            want = fir_reference(coeffs, x)
            assert y.size == n, f"{y.size} output words for {n} input words"
            bad = np.flatnonzero(y != want)
            assert bad.size == 0, (
                f"n={n} taps={coeffs}: first mismatch at word {bad[0]}: "
                f"got 0x{int(y[bad[0]]):08x}, want 0x{int(want[bad[0]]):08x}")
            await expect_done(tb)


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_impulse_gives_the_taps(dut: Any) -> None:
    """A unit impulse followed by zeros reads the taps back out in order, sign included."""
    tb = TB(dut)
    await tb.reset()
    coeffs = [(-1) ** i * (1000 * i + 7) for i in range(TAPS)]
    await tb.set_coeffs(coeffs)
    x = np.zeros(TAPS + 4, dtype=np.uint32)
    x[0] = 1
    y = (await tb.run_packet(x)).view(np.int32)
    assert list(y[:TAPS]) == coeffs
    assert not y[TAPS:].any()


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_registers(dut: Any) -> None:
    """Taps read back (low 16 bits), holes read 0, GIE/IER hold, ISR toggles on write."""
    tb = TB(dut)
    await tb.reset()
    assert await tb.read(AP_CTRL) == AP_IDLE, "after reset: idle only"
    for i in range(TAPS):
        await tb.write(coef_addr(i), 0xABCD_0000 | (0x1111 * (i + 1)) & 0xFFFF)
    for i in range(TAPS):
        assert await tb.read(coef_addr(i)) == (0x1111 * (i + 1)) & 0xFFFF
        assert await tb.read(coef_addr(i) + 4) == 0, "the hole after a tap reads 0"
    await tb.axil.write(coef_addr(3), b"\x55")  # one byte lane: only tap 3's low byte
    assert await tb.read(coef_addr(3)) == 0x4455
    for offset in (0x90, 0xFC):
        assert await tb.read(offset) == 0
    await tb.write(GIE, 1)
    await tb.write(IER, 3)
    assert await tb.read(GIE) == 1 and await tb.read(IER) == 3
    await tb.write(ISR, 2)  # toggle: a write of 1 sets a clear bit too
    assert await tb.read(ISR) == 2
    assert dut.interrupt.value == 1
    await tb.write(ISR, 2)
    assert await tb.read(ISR) == 0
    await RisingEdge(dut.ap_clk)
    assert dut.interrupt.value == 0


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_not_started_holds_the_stream(dut: Any) -> None:
    """Before ap_start s_axis_tready stays low; data offered early goes through once started."""
    tb = TB(dut)
    await tb.reset()
    coeffs = [1] + [0] * (TAPS - 1)
    await tb.set_coeffs(coeffs)
    x = np.arange(1, 41, dtype=np.uint32)
    await tb.source.send(AxiStreamFrame(x.astype("<u4").tobytes()))
    for _ in range(50):
        await RisingEdge(dut.ap_clk)
        assert dut.s_axis_tready.value == 0, "took data before ap_start"
    assert tb.sink.empty()
    assert await tb.read(AP_CTRL) & AP_IDLE
    await tb.write(AP_CTRL, AP_START)
    frame = await with_timeout(tb.sink.recv(), 50, "us")
    assert np.array_equal(np.frombuffer(bytes(frame.tdata), dtype="<u4"), x)
    await expect_done(tb)


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_one_packet_per_start(dut: Any) -> None:
    """Two packets queued, one start: only the first comes out; the second waits for a start."""
    tb = TB(dut)
    await tb.reset()
    await tb.set_coeffs([2] + [0] * (TAPS - 1))
    a = np.arange(10, dtype=np.uint32)
    b = np.arange(100, 107, dtype=np.uint32)
    await tb.source.send(AxiStreamFrame(a.astype("<u4").tobytes()))
    await tb.source.send(AxiStreamFrame(b.astype("<u4").tobytes()))
    await tb.write(AP_CTRL, AP_START)
    first = await with_timeout(tb.sink.recv(), 50, "us")
    assert np.array_equal(np.frombuffer(bytes(first.tdata), dtype="<u4"), 2 * a)
    await ClockCycles(dut.ap_clk, 40)
    assert tb.sink.empty(), "a second packet went through without a start"
    assert dut.s_axis_tready.value == 0
    await expect_done(tb)
    await tb.write(AP_CTRL, AP_START)
    second = await with_timeout(tb.sink.recv(), 50, "us")
    assert np.array_equal(np.frombuffer(bytes(second.tdata), dtype="<u4"), 2 * b)


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_auto_restart_runs_packet_after_packet(dut: Any) -> None:
    """auto_restart: every packet filtered with fresh history; clearing it stops after one."""
    tb = TB(dut)
    await tb.reset()
    rng = seeded_rng()
    coeffs = random_coeffs(rng)
    await tb.set_coeffs(coeffs)
    await tb.write(AP_CTRL, AP_START | AUTO_RESTART)
    packets = [random_packet(rng, rng.randint(1, 60)) for _ in range(6)]
    for x in packets:
        await tb.source.send(AxiStreamFrame(x.astype("<u4").tobytes()))
    for x in packets:
        frame = await with_timeout(tb.sink.recv(), 100, "us")
        assert np.array_equal(np.frombuffer(bytes(frame.tdata), dtype="<u4"),
                              fir_reference(coeffs, x))
    ctrl = await tb.read(AP_CTRL)
    assert ctrl & AUTO_RESTART and ctrl & AP_START, f"auto_restart keeps ap_start: 0x{ctrl:02x}"
    await tb.write(AP_CTRL, 0)  # clear auto_restart: the run in progress is the last
    x = random_packet(rng, 5)
    await tb.source.send(AxiStreamFrame(x.astype("<u4").tobytes()))
    await tb.source.send(AxiStreamFrame(x.astype("<u4").tobytes()))
    await with_timeout(tb.sink.recv(), 100, "us")
    await ClockCycles(dut.ap_clk, 40)
    assert tb.sink.empty(), "ran again after auto_restart was cleared"
    ctrl = await tb.read(AP_CTRL)
    assert ctrl & (AP_START | AP_IDLE) == AP_IDLE, f"AP_CTRL 0x{ctrl:02x}"


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_done_interrupt(dut: Any) -> None:
    """GIE + IER bit0: the end of a run raises interrupt; toggling ISR bit0 lowers it."""
    tb = TB(dut)
    await tb.reset()
    await tb.set_coeffs([1] * TAPS)
    await tb.run_packet(np.ones(8, dtype=np.uint32))
    assert await tb.read(ISR) == 0 and dut.interrupt.value == 0, "IER=0: no ISR bit"
    await tb.write(GIE, 1)
    await tb.write(IER, 1)
    await tb.run_packet(np.ones(8, dtype=np.uint32))
    await RisingEdge(dut.ap_clk)
    assert await tb.read(ISR) == 1
    assert dut.interrupt.value == 1
    await tb.write(ISR, 1)
    await RisingEdge(dut.ap_clk)
    assert dut.interrupt.value == 0
    await tb.write(GIE, 0)
    await tb.run_packet(np.ones(8, dtype=np.uint32))
    assert await tb.read(ISR) == 1, "ISR still records the event with GIE=0"
    await RisingEdge(dut.ap_clk)
    assert dut.interrupt.value == 0, "GIE=0 masks the output"


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_full_throughput(dut: Any) -> None:
    """No pauses: a 512-word packet moves at one beat per clock in and out."""
    tb = TB(dut)
    await tb.reset()
    await tb.set_coeffs(random_coeffs(seeded_rng()))
    n = 512
    in_cycles: list[int] = []
    out_cycles: list[int] = []

    async def count() -> None:
        cycle = 0
        while True:
            await RisingEdge(dut.ap_clk)
            cycle += 1
            if dut.s_axis_tvalid.value and dut.s_axis_tready.value:
                in_cycles.append(cycle)
            if dut.m_axis_tvalid.value and dut.m_axis_tready.value:
                out_cycles.append(cycle)

    counter = cocotb.start_soon(count())
    await tb.run_packet(random_packet(seeded_rng(), n))
    counter.cancel()
    assert len(in_cycles) == n and len(out_cycles) == n
    assert in_cycles[-1] - in_cycles[0] == n - 1, "input stalled without back-pressure"
    assert out_cycles[-1] - out_cycles[0] == n - 1, "output had gaps without back-pressure"
    assert out_cycles[0] - in_cycles[0] == 2, "latency is two clocks"
