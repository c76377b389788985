"""cocotb protocol testbench of the dmasim_bd block design (hw/rtl/).

Run through ``rtl_tb/test_rtl_protocols.py`` (pytest + cocotb_tools.runner). The toplevel
is the ``dmasim_bd_tb`` harness, which only adds the AXI ID signals cocotbext-axi needs.

The TB owns the clock, the reset, an ``AxiLiteMaster`` on the register window, one sparse
memory served by an ``AxiRamRead`` (MM2S) and an ``AxiRamWrite`` (S2MM) with error-injection
windows, and a protocol monitor that checks every valid/ready channel of the design and every
burst address. Register offsets and fields come from ``dmasim.regmap``.

Every wait is bounded (a cycle count or ``with_timeout``); a hang fails the test.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiRamRead,
    AxiRamWrite,
    AxiReadBus,
    AxiWriteBus,
)
from cocotbext.axi.constants import AxiResp
from cocotbext.axi.sparse_memory import SparseMemory

from dmasim import constants
from dmasim import regmap as rm

CANARY = 0xAA
RESP_OKAY, RESP_SLVERR, RESP_DECERR = 0, 2, 3
MEM_SIZE = 2**32


def tb_params() -> dict[str, int]:
    """The dmasim_bd parameters this simulation was built with (set by the pytest runner)."""
    params = {
        "ADDR_WIDTH": 32,
        "DATA_WIDTH": 32,
        "LENGTH_WIDTH": 26,
        "MM2S_BURST_SIZE": 16,
        "S2MM_BURST_SIZE": 16,
        "LOOPBACK_FIFO_DEPTH": 0,
    }
    params.update(json.loads(os.environ.get("DMASIM_TB_PARAMS", "{}")))
    return params


# --- memory with error windows --------------------------------------------------------------


@dataclass
class ErrorWindows:
    """Address windows the memory answers with SLVERR or DECERR instead of OKAY."""

    windows: list[tuple[int, int, int]] = field(default_factory=list)

    def add(self, base: int, size: int, resp: int) -> None:
        self.windows.append((base, base + size, resp))

    def resp(self, address: int, length: int = 1) -> int:
        """Rule FAULT-PRECEDENCE (docs/axi-dma-behaviour.md): the worst response of the
        windows the access overlaps (DECERR over SLVERR), whatever the order they were added."""
        return max((resp for lo, hi, resp in self.windows
                    if address < hi and address + length > lo), default=RESP_OKAY)

    def clear(self) -> None:
        self.windows.clear()


class ErrorRamRead(AxiRamRead):
    """``AxiRamRead`` answering SLVERR/DECERR inside the error windows.

    The hook: ``_read`` is called once per beat right before that beat is sent, so it
    records the response for the beat and the wrapped R-channel ``send`` applies it.
    """

    def __init__(self, *args: Any, errors: ErrorWindows, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors = errors
        self._next_resp = RESP_OKAY
        send = self.r_channel.send

        async def send_with_resp(r: Any) -> None:
            if self._next_resp != RESP_OKAY:
                r.rresp = AxiResp(self._next_resp)
            self._next_resp = RESP_OKAY
            await send(r)

        self.r_channel.send = send_with_resp  # type: ignore[method-assign]

    async def _read(self, address: int, length: int) -> bytes:
        self._next_resp = self.errors.resp(address, length)
        if self._next_resp != RESP_OKAY:
            return bytes(length)
        return await super()._read(address, length)


class ErrorRamWrite(AxiRamWrite):
    """``AxiRamWrite`` answering SLVERR/DECERR for a burst that writes into an error window
    (the bytes there are not written): the response of the burst's first failing beat."""

    def __init__(self, *args: Any, errors: ErrorWindows, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors = errors
        self._burst_resp = RESP_OKAY
        send = self.b_channel.send

        async def send_with_resp(b: Any) -> None:
            if self._burst_resp != RESP_OKAY:
                b.bresp = AxiResp(self._burst_resp)
            self._burst_resp = RESP_OKAY
            await send(b)

        self.b_channel.send = send_with_resp  # type: ignore[method-assign]

    async def _write(self, address: int, data: bytes) -> None:
        resp = self.errors.resp(address, len(data))
        if resp != RESP_OKAY:
            if self._burst_resp == RESP_OKAY:
                self._burst_resp = resp
            return
        await super()._write(address, data)


# --- protocol monitor -----------------------------------------------------------------------


@dataclass
class Channel:
    """One valid/ready channel: its handshake signals and the payload that must stay stable."""

    name: str
    valid: Any
    ready: Any
    payload: list[Any]


class ProtocolMonitor:
    """Checks AXI/AXI-Stream handshake rules on every channel, every clock.

    - VALID is not dropped before READY (once valid & !ready, valid stays high);
    - the payload is stable while valid & !ready;
    - INCR bursts never cross a 4 KiB boundary, FIXED bursts are at most 16 beats.
    Violations are collected in ``errors``; ``bursts`` records every AR/AW handshake.
    """

    def __init__(
        self, clk: Any, rst: Any, stream_rst: Any, channels: list[Channel], data_bytes: int
    ) -> None:
        self.clk = clk
        self.rst = rst
        self.stream_rst = stream_rst
        self.channels = channels
        self.data_bytes = data_bytes
        self.errors: list[str] = []
        self.bursts: dict[str, list[tuple[int, int, int]]] = {"ar": [], "aw": []}
        self.wstrb_seen: set[int] = set()
        self._task = cocotb.start_soon(self._run())

    def stop(self) -> None:
        self._task.cancel()

    def _check_burst(self, kind: str, addr: int, length: int, burst: int) -> None:
        self.bursts[kind].append((addr, length, burst))
        beats = length + 1
        if burst == 1:  # INCR
            first = addr - addr % self.data_bytes
            last = first + beats * self.data_bytes - 1
            if first // 4096 != last // 4096:
                self.errors.append(f"{kind} burst 0x{addr:x}+{beats} beats crosses 4 KiB")
        elif burst == 0:  # FIXED
            if beats > 16:
                self.errors.append(f"{kind} FIXED burst of {beats} beats")
        else:
            self.errors.append(f"{kind} burst type {burst}")

    async def _run(self) -> None:
        prev: dict[str, tuple[int, int, tuple[str, ...]]] = {}
        n = 0
        while True:
            await RisingEdge(self.clk)
            n += 1
            # a reset may drop VALID: power-on reset everywhere, the soft reset's
            # datapath flush on the (internal) streams;
            # values are sampled just before the edge: a reset seen now may drop VALID at
            # the next sample, so forget the history after processing this one
            in_rst = self.rst.value != 0
            in_stream_rst = self.stream_rst.value != 0
            for ch in self.channels:
                v = ch.valid.value
                r = ch.ready.value
                if not (v.is_resolvable and r.is_resolvable):
                    continue
                valid, ready = int(v), int(r)
                payload = tuple(str(s.value) for s in ch.payload)
                p = prev.get(ch.name)
                if p is not None and p[0] and not p[1]:
                    if not valid:
                        self.errors.append(f"cycle {n}: {ch.name} valid dropped before ready")
                    elif payload != p[2]:
                        self.errors.append(f"cycle {n}: {ch.name} payload changed while stalled")
                prev[ch.name] = (valid, ready, payload)
                if valid and ready:
                    if ch.name in ("ar", "aw"):
                        addr, length, burst = (int(s.value) for s in ch.payload[:3])
                        self._check_burst(ch.name, addr, length, burst)
                    elif ch.name == "w":
                        self.wstrb_seen.add(int(ch.payload[1].value))
            if in_rst:
                prev.clear()
            elif in_stream_rst:
                prev.pop("axis_mm2s", None)
                prev.pop("axis_s2mm", None)


# --- the testbench --------------------------------------------------------------------------


def pause_pattern(seed: int) -> Iterator[int]:
    """An endless idle/back-pressure pattern: bursts of pauses of random length."""
    rng = random.Random(seed)
    while True:
        yield from [1] * rng.randint(0, 3)
        yield from [0] * rng.randint(1, 4)


def _set_pause(channel: Any, generator: Iterator[int] | None) -> None:
    """Install a pause generator; removing one also un-pauses the channel (cocotbext-axi
    leaves it in whatever state the generator last set)."""
    channel.set_pause_generator(generator)
    if generator is None:
        channel.pause = False


class TB:
    """Owns the clock, reset, bus models, memory and protocol monitor of one dmasim_bd."""

    def __init__(self, dut: Any) -> None:
        self.dut = dut
        self.params = tb_params()
        self.data_bytes = self.params["DATA_WIDTH"] // 8
        self.length_width = self.params["LENGTH_WIDTH"]
        self.log = dut._log

        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())

        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        self.mem = SparseMemory(MEM_SIZE)
        self.errors = ErrorWindows()
        self.rd_ram = ErrorRamRead(
            AxiReadBus.from_prefix(dut, "m_axi_mm2s"),
            dut.clk,
            dut.rst,
            size=MEM_SIZE,
            mem=self.mem,
            errors=self.errors,
        )
        self.wr_ram = ErrorRamWrite(
            AxiWriteBus.from_prefix(dut, "m_axi_s2mm"),
            dut.clk,
            dut.rst,
            size=MEM_SIZE,
            mem=self.mem,
            errors=self.errors,
        )
        for logger in (
            self.rd_ram.log,
            self.wr_ram.log,
            self.axil.write_if.log,
            self.axil.read_if.log,
        ):
            logger.setLevel("WARNING")

        bd = dut.bd_inst
        self.monitor = ProtocolMonitor(
            dut.clk,
            dut.rst,
            bd.stream_rst,
            [
                Channel(
                    "ar",
                    dut.m_axi_mm2s_arvalid,
                    dut.m_axi_mm2s_arready,
                    [
                        dut.m_axi_mm2s_araddr,
                        dut.m_axi_mm2s_arlen,
                        dut.m_axi_mm2s_arburst,
                        dut.m_axi_mm2s_arsize,
                        dut.m_axi_mm2s_arcache,
                        dut.m_axi_mm2s_arprot,
                    ],
                ),
                Channel(
                    "r",
                    dut.m_axi_mm2s_rvalid,
                    dut.m_axi_mm2s_rready,
                    [dut.m_axi_mm2s_rdata, dut.m_axi_mm2s_rresp, dut.m_axi_mm2s_rlast],
                ),
                Channel(
                    "aw",
                    dut.m_axi_s2mm_awvalid,
                    dut.m_axi_s2mm_awready,
                    [
                        dut.m_axi_s2mm_awaddr,
                        dut.m_axi_s2mm_awlen,
                        dut.m_axi_s2mm_awburst,
                        dut.m_axi_s2mm_awsize,
                        dut.m_axi_s2mm_awcache,
                        dut.m_axi_s2mm_awprot,
                    ],
                ),
                Channel(
                    "w",
                    dut.m_axi_s2mm_wvalid,
                    dut.m_axi_s2mm_wready,
                    [dut.m_axi_s2mm_wdata, dut.m_axi_s2mm_wstrb, dut.m_axi_s2mm_wlast],
                ),
                Channel("b", dut.m_axi_s2mm_bvalid, dut.m_axi_s2mm_bready, [dut.m_axi_s2mm_bresp]),
                Channel("axil_b", dut.s_axil_bvalid, dut.s_axil_bready, [dut.s_axil_bresp]),
                Channel(
                    "axil_r",
                    dut.s_axil_rvalid,
                    dut.s_axil_rready,
                    [dut.s_axil_rdata, dut.s_axil_rresp],
                ),
                Channel(
                    "axis_mm2s",
                    bd.mm2s_tvalid,
                    bd.mm2s_tready,
                    [bd.mm2s_tdata, bd.mm2s_tkeep, bd.mm2s_tlast],
                ),
                Channel(
                    "axis_s2mm",
                    bd.s2mm_tvalid,
                    bd.s2mm_tready,
                    [bd.s2mm_tdata, bd.s2mm_tkeep, bd.s2mm_tlast],
                ),
            ],
            self.data_bytes,
        )

    # -- bus idle / back-pressure -----------------------------------------------------------

    def set_idle_generator(self, seed: int | None) -> None:
        """Idle cycles on the channels the bus models drive (R, B, AXI-Lite requests)."""
        gens = [
            self.rd_ram.r_channel,
            self.wr_ram.b_channel,
            self.axil.write_if.aw_channel,
            self.axil.write_if.w_channel,
            self.axil.read_if.ar_channel,
        ]
        for i, ch in enumerate(gens):
            _set_pause(ch, None if seed is None else pause_pattern(seed + i))

    def set_backpressure_generator(self, seed: int | None) -> None:
        """Back-pressure on the channels the design drives (AR, AW, W, AXI-Lite responses).

        W back-pressure stalls S2MM, which back-pressures the loopback stream and MM2S.
        """
        gens = [
            self.rd_ram.ar_channel,
            self.wr_ram.aw_channel,
            self.wr_ram.w_channel,
            self.axil.write_if.b_channel,
            self.axil.read_if.r_channel,
        ]
        for i, ch in enumerate(gens):
            _set_pause(ch, None if seed is None else pause_pattern(seed + 100 + i))

    # -- reset and registers ----------------------------------------------------------------

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 5)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 5)

    async def read(self, offset: int) -> int:
        return await with_timeout(self.axil.read_dword(offset), 10, "us")

    async def write(self, offset: int, value: int) -> None:
        await with_timeout(self.axil.write_dword(offset, value), 10, "us")

    async def wait_status(
        self, ch: rm.Channel, mask: int, value: int, timeout_us: float = 200
    ) -> int:
        """Poll DMASR until ``status & mask == value``; fail after ``timeout_us`` sim time."""

        async def poll() -> int:
            while True:
                status = await self.read(ch.DMASR)
                if status & mask == value:
                    return status
                await ClockCycles(self.dut.clk, 20)

        return await with_timeout(poll(), timeout_us, "us")

    async def soft_reset(self) -> None:
        """DMACR.Reset on MM2S, then poll until it reads 0 (bounded)."""
        await self.write(rm.MM2S.DMACR, rm.DMACR_RESET)

        async def poll() -> None:
            while await self.read(rm.MM2S.DMACR) & rm.DMACR_RESET:
                await ClockCycles(self.dut.clk, 10)

        await with_timeout(poll(), 100, "us")

    async def start(self, ch: rm.Channel, addr: int, length: int, cr: int = 0) -> None:
        """Simple-mode start in the vendor driver's order: DMACR (RS), address, LENGTH."""
        await self.write(ch.DMACR, cr | rm.DMACR_RS)
        await self.write(ch.ADDR, addr & 0xFFFF_FFFF)
        await self.write(ch.ADDR_MSB, addr >> 32)
        await self.write(ch.LENGTH, length)

    # -- memory helpers ---------------------------------------------------------------------

    def fill(self, addr: int, data: bytes) -> None:
        self.mem.write(addr, data)

    def peek(self, addr: int, length: int) -> bytes:
        return self.mem.read(addr, length)

    def prepare_dst(self, addr: int, length: int, pad: int = 64) -> None:
        """Fill the destination and ``pad`` bytes either side with canaries."""
        self.mem.write(addr - pad, bytes([CANARY]) * (length + 2 * pad))

    def check_dst(self, addr: int, expect: bytes, span: int, pad: int = 64) -> None:
        """``expect`` at addr, canaries in the rest of ``span`` and in ``pad`` either side."""
        got = self.peek(addr, len(expect))
        assert got == expect, (
            f"data mismatch at 0x{addr:x}: first diff at byte "
            f"{next(i for i in range(len(expect)) if got[i] != expect[i])}"
        )
        before = self.peek(addr - pad, pad)
        after = self.peek(addr + len(expect), span - len(expect) + pad)
        assert before == bytes([CANARY]) * pad, "canary before destination overwritten"
        assert after == bytes([CANARY]) * len(after), "canary after destination overwritten"

    def check_protocol(self) -> None:
        assert not self.monitor.errors, "\n".join(self.monitor.errors[:20])

    async def loopback(
        self,
        src: int,
        dst: int,
        length: int,
        s2mm_length: int | None = None,
        seed: int = 0,
        timeout_us: float = 500,
    ) -> bytes:
        """Copy ``length`` bytes from src to dst through the loopback and check the result."""
        rng = random.Random(seed)
        data = bytes(rng.getrandbits(8) for _ in range(length))
        s2mm_length = length if s2mm_length is None else s2mm_length
        self.fill(src, data)
        self.prepare_dst(dst, max(length, s2mm_length))
        await self.start(rm.S2MM, dst, s2mm_length)
        await self.start(rm.MM2S, src, length)
        await self.wait_status(rm.MM2S, rm.DMASR_IDLE, rm.DMASR_IDLE, timeout_us)
        await self.wait_status(rm.S2MM, rm.DMASR_IDLE, rm.DMASR_IDLE, timeout_us)
        self.check_dst(dst, data, max(length, s2mm_length))
        assert await self.read(rm.S2MM.LENGTH) == length
        return data


async def make_tb(dut: Any) -> TB:
    tb = TB(dut)
    await tb.reset()
    return tb


def mask_length(tb: TB, value: int) -> int:
    return value & ((1 << tb.length_width) - 1)


# --- tests ----------------------------------------------------------------------------------


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_register_reset_values(dut: Any) -> None:
    """Every offset of the window reads its reset value; reserved offsets read 0."""
    tb = await make_tb(dut)
    for ch in rm.CHANNELS:
        assert await tb.read(ch.DMACR) == rm.DMACR.reset == 0x0001_0002
        assert await tb.read(ch.DMASR) == rm.DMASR.reset == 0x0000_0001
        for off in (ch.ADDR, ch.ADDR_MSB, ch.LENGTH):
            assert await tb.read(off) == 0
    known = {ch.base + r.offset for ch in rm.CHANNELS for r in (rm.DMACR, rm.DMASR)}
    for off in range(0, 0x80, 4):
        if off not in known:
            assert await tb.read(off) == 0, f"offset 0x{off:02x}"
    # reserved offsets (SG registers, SG_CTL, beyond the map) ignore writes
    for off in (
        0x08,
        0x0C,
        0x10,
        0x14,
        0x20,
        0x24,
        rm.SG_CTL_OFFSET,
        0x38,
        0x50,
        0x5C,
        0x60,
        0x3FC,
    ):
        await tb.write(off, 0xFFFF_FFFF)
        assert await tb.read(off) == 0, f"offset 0x{off:02x}"
    assert int(dut.mm2s_introut.value) == 0 and int(dut.s2mm_introut.value) == 0
    tb.check_protocol()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_register_fields(dut: Any) -> None:
    """DMACR/DMASR field semantics, byte strobes, SA/DA, LENGTH masking."""
    tb = await make_tb(dut)
    for ch in rm.CHANNELS:
        # every writable DMACR field except Reset; bits 11:5 and 15 read 0
        await tb.write(ch.DMACR, 0xFFFF_FFFF & ~rm.DMACR_RESET)
        assert await tb.read(ch.DMACR) == 0xFFFF_701B
        await ClockCycles(dut.clk, 2)
        assert await tb.read(ch.DMASR) & rm.DMASR_HALTED == 0
        # IRQThreshold: a write of 0 stores 1
        await tb.write(ch.DMACR, 0)
        assert await tb.read(ch.DMACR) == 0x0001_0002
        assert await tb.read(ch.DMASR) & rm.DMASR_HALTED
        # byte strobes: only lane 2 (IRQThreshold) written
        await tb.axil.write(ch.DMACR + 2, bytes([0x05]))
        assert await tb.read(ch.DMACR) == 0x0005_0002
        await tb.axil.write(ch.DMACR + 2, bytes([0x00]))
        assert await tb.read(ch.DMACR) == 0x0001_0002
        await tb.axil.write(ch.DMACR + 3, bytes([0x7F]))
        assert await tb.read(ch.DMACR) == 0x7F01_0002
        await tb.write(ch.DMACR, 0)
        # DMASR: nothing but the W1C bits is writable
        await tb.write(ch.DMASR, 0xFFFF_FFFF)
        assert await tb.read(ch.DMASR) == rm.DMASR.reset
        # SA/DA read back unmasked; MSB exists only above 32 address bits
        await tb.write(ch.ADDR, 0xDEAD_BEEF)
        assert await tb.read(ch.ADDR) == 0xDEAD_BEEF
        await tb.axil.write(ch.ADDR + 1, bytes([0x12]))
        assert await tb.read(ch.ADDR) == 0xDEAD_12EF
        await tb.write(ch.ADDR_MSB, 0x1234_5678)
        expect_msb = 0x1234_5678 if tb.params["ADDR_WIDTH"] > 32 else 0
        assert await tb.read(ch.ADDR_MSB) == expect_msb
        await tb.write(ch.ADDR_MSB, 0)
        # LENGTH is stored masked; written while halted it starts nothing
        await tb.write(ch.LENGTH, 0xFFFF_FFFF)
        assert await tb.read(ch.LENGTH) == mask_length(tb, 0xFFFF_FFFF)
        assert await tb.read(ch.DMASR) == rm.DMASR.reset
        await tb.write(ch.LENGTH, 0)
    # Reset via a byte write on S2MM resets both channels
    await tb.write(rm.MM2S.DMACR, 0x0000_1000)
    await tb.axil.write(rm.S2MM.DMACR, bytes([rm.DMACR_RESET]))
    await ClockCycles(dut.clk, 20)
    assert await tb.read(rm.MM2S.DMACR) == rm.DMACR.reset
    assert await tb.read(rm.MM2S.ADDR) == 0
    tb.check_protocol()


@cocotb.test(timeout_time=2, timeout_unit="ms")
async def test_no_poll_reset_sequence(dut: Any) -> None:
    """Reset on both channels then RS on both, without polling (rule RST-WINDOW): a master
    as slow as the board's CPU (each write SOFT_RESET_CLOCKS after the previous response)
    finds both running; this back-to-back master loses its RS writes."""
    tb = await make_tb(dut)
    pace = constants.SOFT_RESET_CLOCKS

    async def paced(offset: int, value: int) -> None:
        await ClockCycles(dut.clk, pace)
        await tb.write(offset, value)

    # the BVALID of a Reset write is not held back
    await tb.write(0x00, 0x4)
    assert await tb.read(0x00) & rm.DMACR_RESET
    await ClockCycles(dut.clk, pace)
    assert await tb.read(0x00) == rm.DMACR.reset
    for _ in range(2):
        for offset, value in ((0x00, 0x4), (0x30, 0x4), (0x00, 0x1), (0x30, 0x1)):
            await paced(offset, value)
        await ClockCycles(dut.clk, pace)
        assert await tb.read(0x00) == 0x0001_0003
        assert await tb.read(0x30) == 0x0001_0003
        assert await tb.read(0x04) & rm.DMASR_HALTED == 0
        assert await tb.read(0x34) & rm.DMASR_HALTED == 0
    # back to back: every write before the window ends is ignored
    await tb.write(0x00, 0x4)
    await tb.write(0x30, 0x4)
    await tb.write(0x00, 0x1)
    await tb.write(0x30, 0x1)
    await ClockCycles(dut.clk, pace)
    assert await tb.read(0x00) == rm.DMACR.reset
    assert await tb.read(0x30) == rm.DMACR.reset
    await tb.write(0x00, 0x1)
    await tb.write(0x30, 0x1)
    # and the engine works afterwards
    await tb.loopback(0x1000, 0x8000, 64)
    tb.check_protocol()


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_soft_reset_during_transfer(dut: Any) -> None:
    """A soft reset in the middle of a transfer waits for bursts, flushes the stream,
    resets every register, and the next transfer is clean."""
    tb = await make_tb(dut)
    tb.set_backpressure_generator(7)
    tb.fill(0x10000, bytes(range(256)) * 16)
    await tb.start(rm.S2MM, 0x20000, 4096)
    await tb.start(rm.MM2S, 0x10000, 4096, cr=rm.DMACR_IOC_IRQEN)
    await ClockCycles(dut.clk, 200)
    await tb.write(rm.S2MM.DMACR, rm.DMACR_RESET)
    assert int(dut.mm2s_introut.value) == 0
    cr = await tb.read(rm.MM2S.DMACR)
    assert cr & rm.DMACR_RS == 0
    # a write to Reset while it is 1 is ignored (and so is everything else)
    await tb.write(rm.MM2S.DMACR, rm.DMACR_RESET | rm.DMACR_RS)

    async def poll() -> None:
        while await tb.read(rm.S2MM.DMACR) & rm.DMACR_RESET:
            await ClockCycles(dut.clk, 5)

    await with_timeout(poll(), 100, "us")
    for ch in rm.CHANNELS:
        assert await tb.read(ch.DMACR) == rm.DMACR.reset
        assert await tb.read(ch.DMASR) == rm.DMASR.reset
        assert await tb.read(ch.ADDR) == 0
        assert await tb.read(ch.LENGTH) == 0
    tb.set_backpressure_generator(None)
    await tb.loopback(0x30000, 0x40000, 300, seed=3)
    tb.check_protocol()


LOOPBACK_CASES = [
    # (src, dst, length); addresses aligned to 64 bits (no DRE)
    (0x1000, 0x9000, 4),
    (0x1000, 0x9000, 5),
    (0x2008, 0xA010, 63),
    (0x3FF0, 0xBFE0, 200),  # both cross a 4 KiB boundary
    (0x4000, 0xC000, 1024),
    (0x5F00, 0xDE08, 1531),  # odd length, unaligned to bursts, crossing 4 KiB
]


@cocotb.test(timeout_time=20, timeout_unit="ms")
@cocotb.parametrize(idle=[False, True], backpressure=[False, True])
async def test_loopback(dut: Any, idle: bool, backpressure: bool) -> None:
    """Loopback copies for several lengths/offsets, canaries around every destination,
    crossed with idle and back-pressure insertion on every channel."""
    tb = await make_tb(dut)
    tb.set_idle_generator(1 if idle else None)
    tb.set_backpressure_generator(2 if backpressure else None)
    for i, (src, dst, length) in enumerate(LOOPBACK_CASES):
        await tb.loopback(src, dst, length, seed=i)
        for ch in rm.CHANNELS:
            status = await tb.read(ch.DMASR)
            assert status == rm.DMASR_IDLE | rm.DMASR_IOC_IRQ, rm.describe_status(status)
            await tb.write(ch.DMASR, rm.DMASR_IOC_IRQ)
    tb.check_protocol()
    assert tb.monitor.bursts["ar"] and tb.monitor.bursts["aw"]


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_4k_boundary_and_burst_size(dut: Any) -> None:
    """Bursts split at every 4 KiB boundary and never exceed the burst size."""
    tb = await make_tb(dut)
    await tb.loopback(0x0FF8, 0x21FF8, 3000, seed=11)
    tb.check_protocol()
    db = tb.data_bytes
    for kind, limit in (("ar", tb.params["MM2S_BURST_SIZE"]), ("aw", tb.params["S2MM_BURST_SIZE"])):
        bursts = tb.monitor.bursts[kind]
        assert all(length + 1 <= limit for _, length, _ in bursts), bursts
        crossings = [a for a, ln, _ in bursts if a // 4096 != (a + (ln + 1) * db - 1) // 4096]
        assert not crossings
        # contiguous coverage: each burst starts where the previous ended
        for (a0, l0, _), (a1, _, _) in itertools.pairwise(bursts):
            assert a1 == a0 + (l0 + 1) * db


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_keyhole_fixed_bursts(dut: Any) -> None:
    """DMACR.Keyhole makes MM2S read with FIXED bursts from one address."""
    tb = await make_tb(dut)
    word = bytes(range(tb.data_bytes))
    tb.fill(0x7000, word)
    tb.prepare_dst(0x9000, 64)
    await tb.start(rm.S2MM, 0x9000, 64)
    await tb.start(rm.MM2S, 0x7000, 64, cr=rm.DMACR.field("Keyhole").mask)
    await tb.wait_status(rm.S2MM, rm.DMASR_IDLE, rm.DMASR_IDLE)
    tb.check_dst(0x9000, word * (64 // tb.data_bytes), 64)
    assert all(b == 0 and a == 0x7000 for a, _, b in tb.monitor.bursts["ar"])
    tb.check_protocol()


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_partial_last_beat_strobes(dut: Any) -> None:
    """Lengths that end inside a beat write only their bytes (WSTRB/TKEEP trimmed)."""
    tb = await make_tb(dut)
    db = tb.data_bytes
    for length in (1, 2, 3, db + 1, 4 * db - 1, 33):
        await tb.loopback(0x1000, 0x6000 + 0x100 * length, length, seed=length)
    partial = {s for s in tb.monitor.wstrb_seen if s != (1 << db) - 1}
    assert {0x1, 0x3, 0x7} <= partial, partial
    tb.check_protocol()


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_s2mm_short_packet(dut: Any) -> None:
    """A packet shorter than S2MM LENGTH completes at TLAST; LENGTH reads bytes written."""
    tb = await make_tb(dut)
    await tb.loopback(0x1000, 0x5000, 100, s2mm_length=256)
    assert await tb.read(rm.S2MM.LENGTH) == 100
    tb.check_protocol()


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_s2mm_overflow(dut: Any) -> None:
    """Packet longer than S2MM LENGTH: exactly LENGTH bytes written, DMAIntErr, both halt."""
    tb = await make_tb(dut)
    data = bytes(random.Random(5).getrandbits(8) for _ in range(256))
    tb.fill(0x1000, data)
    tb.prepare_dst(0x8000, 256)
    await tb.start(rm.S2MM, 0x8000, 128, cr=rm.DMACR_ERR_IRQEN)
    await tb.start(rm.MM2S, 0x1000, 256)
    s2mm = await tb.wait_status(rm.S2MM, rm.DMASR_HALTED, rm.DMASR_HALTED)
    assert s2mm & rm.DMASR_INT_ERR and s2mm & rm.DMASR_ERR_IRQ, rm.describe_status(s2mm)
    assert s2mm & rm.DMASR_IOC_IRQ  # (inferred) the error halt completes
    assert not s2mm & rm.DMASR_IDLE
    mm2s = await tb.wait_status(rm.MM2S, rm.DMASR_HALTED, rm.DMASR_HALTED)
    assert mm2s & rm.DMASR_ERRORS == 0, rm.describe_status(mm2s)
    assert mm2s & rm.DMASR_ERR_IRQ == 0
    tb.check_dst(0x8000, data[:128], 128)
    assert await tb.read(rm.S2MM.LENGTH) == 128
    await ClockCycles(dut.clk, 2)
    assert int(dut.s2mm_introut.value) == 1
    # RS is held at 0 in both channels until a reset
    for ch in rm.CHANNELS:
        await tb.write(ch.DMACR, rm.DMACR_RS)
        assert await tb.read(ch.DMACR) & rm.DMACR_RS == 0
    # Err_Irq cleared by W1C does not come back while the error persists
    await tb.write(rm.S2MM.DMASR, rm.DMASR_ERR_IRQ)
    await ClockCycles(dut.clk, 5)
    assert await tb.read(rm.S2MM.DMASR) & (rm.DMASR_ERR_IRQ | rm.DMASR_INT_ERR) == rm.DMASR_INT_ERR
    assert int(dut.s2mm_introut.value) == 0
    # a soft reset recovers, dropping the rest of the packet left in the stream
    await tb.soft_reset()
    assert await tb.read(rm.S2MM.DMASR) == rm.DMASR.reset
    await tb.loopback(0x3000, 0xA000, 200, seed=9)
    tb.check_protocol()


@cocotb.parametrize(channel=["mm2s", "s2mm"], resp=[RESP_SLVERR, RESP_DECERR])
@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_memory_error(dut: Any, channel: str, resp: int) -> None:
    """SLVERR/DECERR from memory set DMASlvErr/DMADecErr on that channel only and halt both."""
    tb = await make_tb(dut)
    bad = 0x4_0000
    tb.errors.add(bad + 64, 64, resp)
    src, dst = (bad, 0x9000) if channel == "mm2s" else (0x1000, bad)
    tb.fill(src, bytes(512))
    await tb.start(rm.S2MM, dst, 512, cr=rm.DMACR_ERR_IRQEN)
    await tb.start(rm.MM2S, src, 512, cr=rm.DMACR_ERR_IRQEN)
    own, other = (rm.MM2S, rm.S2MM) if channel == "mm2s" else (rm.S2MM, rm.MM2S)
    status = await tb.wait_status(own, rm.DMASR_HALTED, rm.DMASR_HALTED)
    bit = rm.DMASR_SLV_ERR if resp == RESP_SLVERR else rm.DMASR_DEC_ERR
    assert status & rm.DMASR_ERRORS == bit, rm.describe_status(status)
    assert status & rm.DMASR_ERR_IRQ and status & rm.DMASR_IOC_IRQ
    other_status = await tb.wait_status(other, rm.DMASR_HALTED, rm.DMASR_HALTED)
    assert other_status & (rm.DMASR_ERRORS | rm.DMASR_ERR_IRQ) == 0
    assert await tb.read(own.DMACR) & rm.DMACR_RS == 0
    await ClockCycles(dut.clk, 2)
    intr = dut.mm2s_introut if channel == "mm2s" else dut.s2mm_introut
    assert int(intr.value) == 1
    tb.errors.clear()
    await tb.soft_reset()
    await tb.loopback(0x1000, 0x9000, 128)
    tb.check_protocol()


def mm2s_buffer_beats(params: dict[str, int]) -> int:
    """Beats MM2S can move with S2MM not started: its store-and-forward FIFO ((4 + 2) bursts
    rounded up to a power of two, at least 128), the loopback FIFO and S2MM's skid."""
    sf = max(128, 1 << (6 * params["MM2S_BURST_SIZE"] - 1).bit_length())
    return sf + params["LOOPBACK_FIFO_DEPTH"] + constants.S2MM_SKID_BEATS


@cocotb.test(timeout_time=10, timeout_unit="ms")
async def test_mm2s_stall_without_s2mm(dut: Any) -> None:
    """With S2MM not started, MM2S completes a transfer that fits its buffering (512 B FIFO
    + 16 B skid at the defaults) and a larger one stalls, not Idle, until S2MM starts."""
    tb = await make_tb(dut)
    db = tb.data_bytes
    fits = mm2s_buffer_beats(tb.params) * db
    data = bytes(random.Random(1).getrandbits(8) for _ in range(2 * fits))
    tb.fill(0x1000, data)
    for length, completes in ((512, True), (fits, True), (fits + 1, False), (2 * fits, False)):
        await tb.soft_reset()
        await tb.start(rm.MM2S, 0x1000, length)
        if completes:
            await tb.wait_status(rm.MM2S, rm.DMASR_IDLE, rm.DMASR_IDLE, timeout_us=100)
        else:
            await ClockCycles(dut.clk, 4 * length // db + 200)
            status = await tb.read(rm.MM2S.DMASR)
            assert status & rm.DMASR_IDLE == 0, f"{length} B: {rm.describe_status(status)}"
        dst = 0x10000 + 4 * fits
        tb.prepare_dst(dst, length)
        await tb.start(rm.S2MM, dst, length)
        await tb.wait_status(rm.MM2S, rm.DMASR_IDLE, rm.DMASR_IDLE, timeout_us=200)
        await tb.wait_status(rm.S2MM, rm.DMASR_IDLE, rm.DMASR_IDLE, timeout_us=200)
        tb.check_dst(dst, data[:length], length)
    tb.check_protocol()


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_run_stop_and_length_rules(dut: Any) -> None:
    """Halted/Idle transitions, LENGTH written while halted or busy, IOC interrupt W1C."""
    tb = await make_tb(dut)
    # LENGTH written while halted is stored; setting RS later does not start it
    await tb.write(rm.MM2S.ADDR, 0x1000)
    await tb.write(rm.MM2S.LENGTH, 64)
    await tb.write(rm.MM2S.DMACR, rm.DMACR_RS | rm.DMACR_IOC_IRQEN)
    await ClockCycles(dut.clk, 200)
    status = await tb.read(rm.MM2S.DMASR)
    assert status == 0, rm.describe_status(status)  # running, not Idle until a transfer
    assert await tb.read(rm.MM2S.LENGTH) == 64
    # zero after masking starts nothing and raises nothing
    await tb.write(rm.MM2S.LENGTH, 1 << tb.length_width)
    await ClockCycles(dut.clk, 50)
    assert await tb.read(rm.MM2S.DMASR) == 0
    # a real start completes into the MM2S FIFO: Idle + IOC, interrupt raised
    await tb.write(rm.MM2S.LENGTH, 64)
    await tb.wait_status(rm.MM2S, rm.DMASR_IDLE, rm.DMASR_IDLE)
    await ClockCycles(dut.clk, 2)
    assert int(dut.mm2s_introut.value) == 1
    await tb.write(rm.MM2S.DMASR, rm.DMASR_IOC_IRQ)
    await ClockCycles(dut.clk, 2)
    assert int(dut.mm2s_introut.value) == 0
    assert await tb.read(rm.MM2S.DMASR) == rm.DMASR_IDLE
    # stopping MM2S when idle halts it and clears Idle
    await tb.write(rm.MM2S.DMACR, 0)
    await ClockCycles(dut.clk, 2)
    assert await tb.read(rm.MM2S.DMASR) == rm.DMASR_HALTED
    # (drop the 64-byte packet MM2S left in the stream)
    await tb.soft_reset()
    # S2MM waiting for data: RS=0 does not halt it; LENGTH written while busy is only stored
    await tb.start(rm.S2MM, 0x8000, 256)
    await tb.write(rm.S2MM.LENGTH, 32)
    assert await tb.read(rm.S2MM.LENGTH) == 32
    await tb.write(rm.S2MM.DMACR, 0)
    await ClockCycles(dut.clk, 100)
    assert await tb.read(rm.S2MM.DMASR) == 0
    await tb.soft_reset()
    for ch in rm.CHANNELS:
        assert await tb.read(ch.DMASR) == rm.DMASR.reset
    tb.check_protocol()


@cocotb.test(timeout_time=5, timeout_unit="ms")
async def test_throughput(dut: Any) -> None:
    """Without idle cycles or back-pressure the loopback moves about one beat per clock."""
    tb = await make_tb(dut)
    length = 8192
    beats = length // tb.data_bytes
    data = bytes(random.Random(2).getrandbits(8) for _ in range(length))
    tb.fill(0x10000, data)
    tb.prepare_dst(0x20000, length)
    await tb.start(rm.S2MM, 0x20000, length, cr=rm.DMACR_IOC_IRQEN)
    await tb.start(rm.MM2S, 0x10000, length)
    start = cocotb.utils.get_sim_time("ns")
    await with_timeout(RisingEdge(dut.s2mm_introut), 200, "us")
    cycles = (cocotb.utils.get_sim_time("ns") - start) / 10
    tb.log.info("%d beats in %d cycles", beats, cycles)
    assert cycles < 1.25 * beats + 100, f"{beats} beats took {cycles} cycles"
    tb.check_dst(0x20000, data, length)
    tb.check_protocol()
