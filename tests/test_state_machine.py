"""Random programs against the target, checked against a tiny expectation, in both modes.

The expectations below are written from ``docs/axi-dma-behaviour.md`` alone, not from the
model's code. Rules keep nothing in flight between steps, so every register has one right
value at every step.

- :class:`DmaMachine` (simple mode, raw registers): per channel the stored DMACR fields,
  RS/Halted/Idle, error and interrupt bits, address and LENGTH; every transfer is a complete
  loopback or an overflow.
- :class:`SgDmaMachine` (scatter-gather, ``c_include_sg=1`` with BDs of at most 1020 bytes):
  the python driver level's ring (split transfers, short packets, polling and interrupt
  waits), chains of random BDs through ``submit`` with a tail extended while running, cyclic
  start/receive/stop, stop/start, soft and power-on resets, coalescing (IRQThreshold,
  IRQDelay, enables), ``await t.interrupt``, BD errors made past the driver's checks and bad
  input. After every step: DMACR, DMASR (with the threshold counter), CURDESC and TAILDESC of
  both channels; each introut line against DMASR and its enables; 0xAA canaries around every
  buffer and every BD ring; every destination still holding exactly what was sent; BDs
  changed only in STATUS.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import numpy as np
import pytest
from helpers import PAD, check_canaries, dma_regs, guarded
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from test_sg import expected_rx

from dmasim import Design, DmasimValueError, constants, regmap
from dmasim.drivers import sg
from dmasim.errors import (
    DmaBusyError,
    DmaDecodeError,
    DmaInternalError,
    DmaNotRunningError,
    DmaSlaveError,
    DmaTimeoutError,
    DriverUnavailableError,
)
from dmasim.pytest_plugin import fresh

R = regmap
STORED = 0xFFFF_7018  # Keyhole, Cyclic, IRQ enables, IRQThreshold, IRQDelay


@dataclass
class Chan:
    cr: int = 1 << 16
    rs: bool = False
    halted: bool = True
    idle: bool = False
    err: int = 0
    irq: int = 0
    addr: int = 0
    length: int = 0

    def write_cr(self, value: int, error: bool) -> None:
        """A CPU write of ``value`` to DMACR (CR-FIELDS, CR-THRESHOLD-ZERO, CR-RS-HOLD)."""
        self.cr = value & STORED
        if not (value >> 16) & 0xFF:
            self.cr |= 1 << 16
        if value & R.DMACR_RS:
            if not error:
                self.rs, self.halted = True, False
        else:
            self.rs = False
            if not self.halted:
                self.halted, self.idle = True, False

    def dmacr(self) -> int:
        return self.cr | (1 if self.rs else 0) | 0x2

    def dmasr(self) -> int:
        return int(self.halted) | (int(self.idle) << 1) | self.err | self.irq


@dataclass
class Expect:
    ch: dict[str, Chan] = field(default_factory=lambda: {"MM2S": Chan(), "S2MM": Chan()})

    def error(self) -> bool:
        return any(c.err for c in self.ch.values())


def check_registers(regs, name: str, want: dict[int, int | None],
                    masks: dict[int, int] | None = None, describe=None) -> dict[int, int]:
    """Read ``want``'s registers; each must equal its value (None: unknown) outside its mask.

    Returns what was read. The failure names every register that differs, decoded.
    """
    masks = masks or {}
    got = {off: regs.read(off) for off in want}
    bad = []
    for off, value in want.items():
        skip = masks.get(off, 0)
        if value is not None and (got[off] ^ value) & ~skip:
            hit = R.register_at(off)
            reg = f"{hit[0].name}_{hit[1].name}" if hit else f"+{off:#x}"
            shown = R.describe_status if reg.endswith("DMASR") else "{:#010x}".format
            bad.append(f"{reg} got {shown(got[off])} want {shown(value)}"
                       + (f" (bits {skip:#x} not compared)" if skip else ""))
    assert not bad, f"{name}: " + "; ".join(bad) + (f"\n{describe()}" if describe else "")
    return got


class DmaMachine(RuleBasedStateMachine):
    def __init__(self, target):
        super().__init__()
        self.t = target
        self.e = Expect()

    @initialize()
    def power_on(self):
        fresh(self.t)
        self.regs = dma_regs(self.t)
        self.src = self.t.allocate(2048, "u1")
        self.dst = self.t.allocate(2048, "u1")
        self.e = Expect()

    def _chan(self, name):
        return R.MM2S if name == "MM2S" else R.S2MM

    @rule(name=st.sampled_from(["MM2S", "S2MM"]), value=st.integers(0, 0xFFFF_FFFF))
    def write_dmacr(self, name, value):
        # Reset has its own rule; Keyhole changes what a loopback moves (test_keyhole.py).
        value &= ~(R.DMACR_RESET | R.DMACR.field("Keyhole").mask)
        self.regs.write(self._chan(name).DMACR, value)
        self.e.ch[name].write_cr(value, self.e.error())

    @rule(irq_enables=st.sampled_from([0, 0x1000, 0x5000, 0x7000]))
    def start_both(self, irq_enables):
        """What every driver does first: RS=1 on both channels."""
        for name in ("MM2S", "S2MM"):
            self.write_dmacr(name, R.DMACR_RS | irq_enables | (1 << 16))

    @rule(name=st.sampled_from(["MM2S", "S2MM"]), value=st.integers(0, 0xFFFF_FFFF))
    def write_dmasr(self, name, value):
        self.regs.write(self._chan(name).DMASR, value)
        self.e.ch[name].irq &= ~(value & R.DMASR_IRQS)

    @rule(name=st.sampled_from(["MM2S", "S2MM"]), value=st.integers(0, 0xFFFF_FFFF))
    def write_address(self, name, value):
        self.regs.write(self._chan(name).ADDR, value)
        self.e.ch[name].addr = value

    @precondition(lambda self: all(c.halted for c in self.e.ch.values()))
    @rule(name=st.sampled_from(["MM2S", "S2MM"]), value=st.integers(0, 0xFFFF_FFFF))
    def write_length_while_halted(self, name, value):
        """Stored (masked), nothing starts."""
        self.regs.write(self._chan(name).LENGTH, value)
        width = int(self.t.ip_dict["axi_dma_0"]["parameters"]["c_sg_length_width"])
        self.e.ch[name].length = value & ((1 << width) - 1)

    @rule(ns=st.integers(0, 100_000))
    def delay(self, ns):
        self.t.delay(ns)

    @rule(which=st.sampled_from(["MM2S", "S2MM"]))
    def soft_reset(self, which):
        self.regs.write(self._chan(which).DMACR, R.DMACR_RESET)
        self.t.delay(2_000)
        self.e = Expect()

    @rule()
    def power_on_reset(self):
        self.t.reset()
        self.e = Expect()

    @precondition(lambda self: not self.e.error()
                  and all(c.rs and not c.halted for c in self.e.ch.values()))
    @rule(words=st.integers(1, 256), seed=st.integers(0, 255))
    def loopback(self, words, seed):
        n = words * 4
        data = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
        self.src[:n] = data
        self.regs.write(R.S2MM.ADDR, self.dst.physical_address)
        self.regs.write(R.S2MM.LENGTH, n)
        self.regs.write(R.MM2S.ADDR, self.src.physical_address)
        self.regs.write(R.MM2S.LENGTH, n)
        self.t.delay(20 * n + 20_000)
        assert np.array_equal(self.dst[:n], data)
        for name, addr in (("MM2S", self.src.physical_address),
                           ("S2MM", self.dst.physical_address)):
            c = self.e.ch[name]
            c.addr, c.length, c.idle = addr, n, True
            c.irq |= R.DMASR_IOC_IRQ

    @precondition(lambda self: not self.e.error()
                  and all(c.rs and not c.halted for c in self.e.ch.values()))
    @rule(recv_words=st.integers(1, 64), extra=st.integers(1, 256))
    def overflow(self, recv_words, extra):
        r = recv_words * 4
        n = r + extra
        self.regs.write(R.S2MM.ADDR, self.dst.physical_address)
        self.regs.write(R.S2MM.LENGTH, r)
        self.regs.write(R.MM2S.ADDR, self.src.physical_address)
        self.regs.write(R.MM2S.LENGTH, n)
        self.t.delay(20 * n + 20_000)
        m, s = self.e.ch["MM2S"], self.e.ch["S2MM"]
        m.addr, m.length = self.src.physical_address, n
        s.addr, s.length = self.dst.physical_address, r
        s.err = R.DMASR_INT_ERR
        s.irq |= R.DMASR_ERR_IRQ
        for c in (m, s):
            c.rs, c.halted, c.idle = False, True, False
            c.irq |= R.DMASR_IOC_IRQ  # (inferred) a halt by error completes through IOC

    @invariant()
    def registers_match(self):
        if not hasattr(self, "regs"):
            return
        for name, c in self.e.ch.items():
            ch = self._chan(name)
            check_registers(self.regs, name, {
                ch.DMACR: c.dmacr(), ch.DMASR: c.dmasr(), ch.ADDR: c.addr, ch.LENGTH: c.length})


@pytest.mark.rule(
    "CR-FIELDS", "CR-RS-HOLD", "CR-THRESHOLD-ZERO", "ERR-HALT-BOTH", "ERR-IOC-ON-HALT",
    "RST-BOTH", "RST-POWER-ON", "SR-IDLE", "SR-READ-ONLY", "SR-SIMPLE-ZERO",
    "SR-W1C", "XFER-HALTED-LENGTH", "XFER-LENGTH-MASK", "XFER-S2MM-OVERFLOW", "XFER-START")
def test_random_register_programs(target):
    from hypothesis.stateful import run_state_machine_as_test

    steps = 25 if target.name == "model" else 12
    run_state_machine_as_test(
        lambda: DmaMachine(target),
        settings=settings(max_examples=30 if target.name == "model" else 10,
                          stateful_step_count=steps),
    )


# --- scatter-gather mode --------------------------------------------------------------------

SG_PARAMS = {"c_include_sg": 1, "c_sg_length_width": 10}
"""The SG machine's design: the loopback in SG mode with BDs of at most 1020 bytes, so that
small transfers split into several BDs (DRV-SG-RING) and chains stay cheap on the RTL."""
SG_NARROW = Design.loopback(parameters=SG_PARAMS)
BD_MAX = (1 << SG_PARAMS["c_sg_length_width"]) - 4
THRESHOLD = R.DMACR.field("IRQThreshold")
DELAY = R.DMACR.field("IRQDelay")
IRQ_WAIT_BITS = R.DMACR_IOC_IRQEN | R.DMACR_ERR_IRQEN  # what wait(interrupt=True) enables
SG_COUNTERS = 0xFFFF_0000  # DMASR's IRQThresholdSts and IRQDelaySts
WAIT_S = 0.005  # every driver wait's timeout (target time): far above any transfer here
IRQ_TIMEOUT_S = 0.0003  # an interrupt wait whose interrupt the coalescing holds back
WORD = 4


@dataclass
class SgChan(Chan):
    """One channel in SG mode: ``Chan`` plus CURDESC/TAILDESC and the threshold counter.

    ``unknown`` marks DMASR bits whose value the behaviour document leaves to timing (an
    interrupt wait's acknowledge racing the delay timer); the invariant adopts what the target
    shows for them once nothing moves. ``cyclic`` hides what a cyclic loop changes as it runs.
    """

    curdesc: int | None = 0
    taildesc: int = 0
    thr: int = 1
    unknown: int = 0
    cyclic: bool = False

    def dmasr(self) -> int:
        return super().dmasr() | R.DMASR_SG_INCLD | (self.thr << 16)

    def threshold(self) -> int:
        return THRESHOLD.get(self.cr)

    def write_cr(self, value: int, error: bool) -> None:
        """SG-COALESCE-THRESHOLD: a different threshold field reloads the counter."""
        old = self.threshold()
        super().write_cr(value, error)
        if THRESHOLD.get(value) != old:
            self.thr = self.threshold()

    def start(self, irq_bits: int, cyclic: bool = False) -> None:
        """What ``start_sg`` does: CURDESC while halted, DMACR = cr - Cyclic + RS + bits.

        On a running channel only the DMACR write counts (CURDESC ignores it, SG-CURDESC).
        """
        halted = self.halted
        cr = (self.dmacr() & ~R.DMACR_CYCLIC) | irq_bits | (R.DMACR_CYCLIC if cyclic else 0)
        self.write_cr(cr | R.DMACR_RS, False)
        if halted:
            self.idle = False  # SG-IDLE: 0 after RS=1 until a chain completes
            self.curdesc = None  # the driver's next free BD: checked by the next chain

    def stop(self) -> None:
        """RS=0 by read-modify-write; an idle channel halts at once (SG-RS-STOP)."""
        self.write_cr(self.dmacr() & ~R.DMACR_RS, False)

    def restart(self, irq_bits: int, cyclic: bool = False) -> None:
        """The driver's stop, then start: a new CURDESC needs a halted channel."""
        self.stop()
        self.start(irq_bits, cyclic)

    def packet_end(self, delay_race: bool, next_waiting: bool = False) -> None:
        """SG-IOC, SG-COALESCE-THRESHOLD, SG-COALESCE-DELAY for one packet, timers settled.

        ``delay_race``: an interrupt wait acknowledged DMASR while the delay timer ran;
        ``next_waiting``: the next packet's first beat follows at once (it stops the timer).
        """
        if self.thr == 1:
            self.irq |= R.DMASR_IOC_IRQ
            self.thr = self.threshold()
        else:
            self.thr -= 1
        if not next_waiting:
            self.delay_timer(delay_race)

    def delay_timer(self, race: bool = False) -> None:
        """A packet end on the channel's stream with no packet behind it: the timer fires."""
        if DELAY.get(self.cr) and self.rs and not self.irq & R.DMASR_DLY_IRQ:
            if race:
                self.unknown |= R.DMASR_DLY_IRQ | (
                    SG_COUNTERS if self.cr & R.DMACR_DLY_IRQEN else 0)
            else:
                self.irq |= R.DMASR_DLY_IRQ
                if self.cr & R.DMACR_DLY_IRQEN:
                    self.thr = self.threshold()

    def will_interrupt(self, next_waiting: bool = False) -> bool:
        """Whether the next packet raises the line once IOC_IrqEn and Err_IrqEn are set.

        What is pending does not count: an interrupt wait clears it at its first wake-up.
        """
        cr = self.cr | IRQ_WAIT_BITS
        return self.thr == 1 or bool(cr & R.DMACR_DLY_IRQEN and DELAY.get(cr) and self.rs
                                     and not self.irq & R.DMASR_DLY_IRQ and not next_waiting)

    def line_low(self) -> bool:
        """The line is low now and stays low while the wait enables IOC and Err."""
        return not self.irq & (self.cr | IRQ_WAIT_BITS) & R.DMASR_IRQS


def _sg_chans() -> dict[str, SgChan]:
    return {"MM2S": SgChan(), "S2MM": SgChan()}


@dataclass
class SgExpect:
    """Both channels, and what the python driver believes (started, interrupt bits, cyclic)."""

    ch: dict[str, SgChan] = field(default_factory=_sg_chans)
    started: bool = False
    irq_bits: dict[str, int] = field(default_factory=lambda: {"MM2S": 0, "S2MM": 0})
    cyclic: bool = False
    restart: dict[str, bool] = field(default_factory=lambda: {"MM2S": False, "S2MM": False})
    mode: str = "ring"  # the channels' SG mode: "chain" restarts the channel for each transfer

    def error(self) -> bool:
        return any(c.err for c in self.ch.values())

    def engine_reset(self) -> None:
        """RST-BOTH: every register of both channels to its reset value."""
        self.ch = _sg_chans()

    def driver_reset(self) -> None:
        """``driver.reset()`` (or a power-on reset): the engine and the driver's state."""
        self.engine_reset()
        self.started, self.cyclic = False, False
        self.irq_bits = {"MM2S": 0, "S2MM": 0}
        self.restart = {"MM2S": False, "S2MM": False}  # (the mode survives a reset)

    def ensure_started(self) -> None:
        """The driver starts its halted channels on first use."""
        if not self.started:
            self.started = True
            for name, c in self.ch.items():
                if c.halted:
                    c.start(self.irq_bits[name])

    def running(self, name: str) -> bool:
        return not self.ch[name].halted


NAMES = st.sampled_from(["MM2S", "S2MM"])
WAITS = st.sampled_from(["poll", "irq"])


def _sg_reg(name: str) -> regmap.Channel:
    return R.MM2S if name == "MM2S" else R.S2MM


class SgDmaMachine(RuleBasedStateMachine):
    """The python driver level on an SG-mode DMA, with raw register steps beside it.

    The expectation follows ``docs/axi-dma-behaviour.md`` (SG-*, DRV-SG-*). As in
    :class:`DmaMachine`, each rule lets every transfer and timer finish before it returns,
    except a running cyclic loop, whose moving parts the invariant does not compare.
    """

    def __init__(self, target):
        super().__init__()
        self.t = target
        self.e = SgExpect()

    @initialize(level=st.sampled_from(["python", "python", "cffi"]))
    def power_on(self, level):
        """A fresh target and a driver level: mostly the python one, sometimes the C core
        (through cffi), whose SG steps must be the same."""
        t = fresh(self.t)
        try:
            self.d = t.driver(level)  # the target keeps it: its mode too
        except DriverUnavailableError:
            self.d = t.driver("python")
        self.d.sendchannel.mode = self.d.recvchannel.mode = "ring"
        self.regs = self.d.mmio
        self.e = SgExpect()
        self.guards: list[tuple[object, int, int, np.ndarray | None]] = []
        self.user_rings: list[tuple[sg.BdRing, np.ndarray]] = []
        self.cyclic_lap: tuple[object, int, int] | None = None
        params = t.ip_dict["axi_dma_0"]["parameters"]
        res = int(params.get("c_dlytmr_resolution", constants.SG_DLYTMR_RESOLUTION))
        self.tick_ns = res * int(getattr(t, "clock_ns", 10))
        self.irq = "irq" in t.capabilities

    # --- helpers ---

    def _ch(self, name: str):
        return self.d.sendchannel if name == "MM2S" else self.d.recvchannel

    def _buffer(self, nbytes: int, offset: int, data: np.ndarray | None = None):
        """A canary-guarded buffer; ``data`` (a source) is written at ``PAD + offset``."""
        buf = guarded(self.t, nbytes, offset)
        start = PAD + offset
        if data is not None:
            buf[start:start + nbytes] = data
        self.guards.append((buf, start, nbytes, data))
        return buf, start

    def _landed(self, buf, data: np.ndarray) -> None:
        """``buf`` (a destination) holds ``data`` now: the invariant keeps checking it."""
        for i, (b, start, n, _) in enumerate(self.guards):
            if b is buf:
                assert np.array_equal(np.asarray(b[start:start + len(data)]), data), (
                    f"destination differs from the data sent: first difference at byte "
                    f"{int(np.flatnonzero(np.asarray(b[start:start + len(data)]) != data)[0])}")
                self.guards[i] = (b, start, n, data)
                return
        raise AssertionError("not a guarded buffer")

    def _settle(self) -> None:
        """Let status writes, Idle and the delay timers (SG-COALESCE-DELAY) finish."""
        delay = max(DELAY.get(c.cr) for c in self.e.ch.values())
        ticks = delay + constants.SG_DELAY_EXTRA_TICKS + 2 if delay else 0
        self.t.delay(2_000 + ticks * self.tick_ns)

    def _until(self, cond, what: str, timeout_ns: int = 2_000_000) -> None:
        """Target time passes until ``cond()``; a bounded wait that fails with the registers."""
        deadline = self.t.now_ns + timeout_ns
        step = 200
        while not cond():
            assert self.t.now_ns < deadline, f"{what}: not within {timeout_ns} ns\n" + (
                self.t.describe() if hasattr(self.t, "describe") else "")
            self.t.delay(step)
            step = min(2 * step, 20_000)

    def _wait(self, name: str, how: str) -> None:
        """The driver's wait on ``name``: polling, or sleeping on its introut line.

        ``irq-timeout``: the coalescing holds this packet's interrupt back, so unless its first
        look finds the chain complete the wait ends in a timeout that says so (DRV-SG-IRQ-WAIT,
        POLL-TIMEOUT); a polling wait then returns.
        """
        ch, c = self._ch(name), self.e.ch[name]
        if how == "poll":
            ch.wait(timeout=WAIT_S)
            return
        c.cr |= IRQ_WAIT_BITS
        self.e.irq_bits[name] = IRQ_WAIT_BITS
        if how == "irq":
            ch.wait(timeout=WAIT_S, interrupt=True)
            return
        try:
            ch.wait(timeout=IRQ_TIMEOUT_S, interrupt=True)
        except DmaTimeoutError as exc:
            assert re.search(
                rf"{name}: wait timed out .*MM2S_DMASR=.*S2MM_DMASR=.*the chain completed .*"
                rf"{name.lower()}_introut stayed low: interrupt coalescing held it back",
                str(exc)), str(exc)
            ch.wait(timeout=WAIT_S)  # what the message suggests: polling sees it complete

    def _how(self, name: str, wanted: str, next_waiting: bool = False) -> str:
        """``wanted``; an interrupt wait only where the line's fate for this packet is known."""
        c = self.e.ch[name]
        if wanted != "irq" or not self.irq:
            return "poll"
        if c.will_interrupt(next_waiting):
            return "irq"
        return "irq-timeout" if c.line_low() else "poll"

    def _chain_done(self, name: str, how: str, tail: int, next_waiting: bool = False) -> None:
        """After one packet through ``name``'s chain ending at BD ``tail``: SG-IDLE, SG-IOC."""
        c = self.e.ch[name]
        if how == "irq-timeout":  # it never woke up; a first look that found the chain
            if DELAY.get(c.cr) or c.irq & R.DMASR_DLY_IRQ:  # complete acknowledged Dly_Irq
                c.unknown |= R.DMASR_DLY_IRQ
            how = "poll"
        race = how == "irq" and bool(DELAY.get(c.cr)) and not next_waiting
        c.packet_end(race, next_waiting)
        if how == "irq":  # DRV-SG-IRQ-WAIT: the completion's IOC (and Dly) acknowledged
            c.irq &= ~(R.DMASR_IOC_IRQ | (0 if race else R.DMASR_DLY_IRQ))
            if race:
                c.unknown |= R.DMASR_DLY_IRQ
        c.idle = True
        c.curdesc = c.taildesc = tail

    def _restart_if_needed(self, name: str) -> None:
        """A ring transfer restarts the channel after a chain of another ring, and always in
        ``chain`` mode (stop, CURDESC, RS, as PYNQ's driver does)."""
        if self.e.restart[name] or self.e.mode == "chain":
            self.e.restart[name] = False
            self.e.ch[name].restart(self.e.irq_bits[name])

    def _make_ready(self) -> None:
        """Stop a cyclic loop, reset after an error, start halted channels of a started driver."""
        e = self.e
        if e.cyclic:
            self.cyclic_stop()
        if e.error():
            self.reset("driver")
        if e.started:
            for name, c in e.ch.items():
                if c.halted:
                    e.restart[name] = False
                    self._ch(name).start(timeout=WAIT_S)
                    c.start(e.irq_bits[name])

    # --- transfers through the driver's ring ---

    @rule(kind=st.sampled_from(["ring", "ring", "chain"]),
          mode=st.sampled_from(["ring", "ring", "chain"]),
          n=st.one_of(st.integers(1, 64), st.integers(1, 6 * BD_MAX)),
          offsets=st.tuples(st.integers(0, 8), st.integers(0, 8)),
          extra=st.sampled_from([0, 0, 0, 4, 100, BD_MAX, 2 * BD_MAX + 8]),
          waits=st.tuples(WAITS, WAITS), recv_first=st.booleans(), seed=st.integers(0, 255),
          tx_lens=st.lists(st.integers(1, BD_MAX // WORD), min_size=1, max_size=4),
          cut=st.integers(0, 3),
          rx_lens=st.lists(st.integers(16, BD_MAX // WORD), min_size=1, max_size=4),
          chain_offsets=st.lists(st.integers(0, 7), min_size=8, max_size=8),
          extend=st.sampled_from([None, "MM2S", "S2MM"]), split=st.integers(0, 30),
          gap=st.sampled_from([0, 0, 300, 3_000, 30_000]))
    def loopback(self, kind, mode, n, offsets, extra, waits, recv_first, seed, tx_lens, cut,
                 rx_lens, chain_offsets, extend, split, gap):
        """A packet through the driver's rings or through chains of BDs built by hand.

        It first recovers, as a user would, from what forbids a transfer (transfer_refused
        checks the refusals): a cyclic loop is stopped, an error reset, a halted channel
        started.
        """
        self._make_ready()
        if kind == "ring":
            self.d.sendchannel.mode = self.d.recvchannel.mode = self.e.mode = mode
            self._ring_transfer(n, offsets, extra, waits, recv_first, seed)
        else:
            self._user_chain(tx_lens, cut, rx_lens, chain_offsets, extend, split, gap, seed)

    def _ring_transfer(self, n, offsets, extra, waits, recv_first, seed):
        """A loopback through both rings: split into BDs of 1020 bytes, any offsets, a receive
        longer than the packet (its spare BDs dropped by a reset: DRV-SG-RING), any waits."""
        e, tx, rx = self.e, self.d.sendchannel, self.d.recvchannel
        data = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
        src, s0 = self._buffer(n, offsets[0] * WORD, data)
        dst, d0 = self._buffer(n + extra, offsets[1] * WORD)
        rx_bds = -(-(n + extra) // BD_MAX)
        used = -(-n // BD_MAX)
        dropped = used < rx_bds  # the packet ends before the receive chain's last BD
        rx.transfer(dst, start=d0, nbytes=n + extra)
        tx.transfer(src, start=s0, nbytes=n)
        e.ensure_started()
        for name in e.ch:
            self._restart_if_needed(name)
        before = {ch.name: ch.ring.bds.copy() for ch in (tx, rx)}
        order = ["MM2S", "S2MM"] if dropped or not recv_first else ["S2MM", "MM2S"]
        how = {name: self._how(name, w) for name, w in zip(["MM2S", "S2MM"], waits, strict=True)}
        for name in order:
            self._wait(name, how[name])
        self._landed(dst, data)
        assert tx.transferred == n == rx.transferred
        # SG-BD-STATUS, SG-MM2S-PACKETS, SG-S2MM-PACKETS: the BDs as the engine left them.
        sizes = [min(BD_MAX, n - i * BD_MAX) for i in range(used)]
        assert [b.status for b in tx.bds] == [R.BD_CMPLT | k for k in sizes]
        assert "TXSOF" in tx.bds[0].flags and "TXEOF" in tx.bds[-1].flags
        rx_sizes = [min(BD_MAX, n + extra - i * BD_MAX) for i in range(rx_bds)]
        assert [b.status for b in rx.bds] == expected_rx([n], rx_sizes)
        assert [b.buffer_address for b in rx.bds] == [
            dst.physical_address + d0 + i * BD_MAX for i in range(rx_bds)]
        for ch in (tx, rx):  # only STATUS words of the chain changed
            changed = np.argwhere(ch.ring.bds != before[ch.name])
            assert all(col == R.BD.STATUS // 4 for _, col in changed), changed.tolist()
        tails = {"MM2S": tx.bds[-1].address, "S2MM": rx.bds[-1].address}
        for name in order:
            self._chain_done(name, how[name], tails[name])
        if dropped:  # the driver dropped the spare BDs by a soft reset
            e.driver_reset()
        self._settle()

    def _user_chain(self, tx_lens, cut, rx_lens, offsets, extend, split, gap, seed):
        """XAxiDma-style chains of random BDs through ``submit``: one packet over several TX
        BDs into several RX BDs, one channel's tail extended while it runs (SG-TAIL-KICK)."""
        e, t = self.e, self.t
        lens = [k * WORD for k in tx_lens]
        lens[-1] -= min(cut, lens[-1] - 1)  # only a packet's last BD may end mid-word
        n = sum(lens)
        rng = np.random.default_rng(seed)
        tx_ring = sg.BdRing(t, len(lens))
        tx_ring.link()
        payload = []
        for i, k in enumerate(lens):
            part = rng.integers(0, 256, k, dtype=np.uint8)
            payload.append(part)
            buf, start = self._buffer(k, offsets[i % 8] * WORD, part)
            flags = (R.BD_TXSOF if i == 0 else 0) | (R.BD_TXEOF if i == len(lens) - 1 else 0)
            tx_ring.set_bd(i, buf.physical_address + start, k, flags)
        data = np.concatenate(payload)
        # RX BDs of the drawn sizes, repeated until they hold the packet; it ends in the last.
        sizes: list[int] = []
        while sum(sizes) < n:
            sizes.append(rx_lens[len(sizes) % len(rx_lens)] * WORD)
        rx_ring = sg.BdRing(t, len(sizes))
        rx_ring.link()
        dsts = []
        for i, k in enumerate(sizes):
            buf, start = self._buffer(k, offsets[(i + 3) % 8] * WORD)
            dsts.append((buf, start, min(k, n - sum(sizes[:i]))))
            rx_ring.set_bd(i, buf.physical_address + start, k)
        rings: dict[str, tuple[sg.BdRing, int]] = {
            "MM2S": (tx_ring, len(lens)), "S2MM": (rx_ring, len(sizes))}
        for ring, _ in rings.values():
            self.user_rings.append((ring, ring.bds.copy()))
        first_tail = {name: count - 1 for name, (_, count) in rings.items()}
        if extend is not None and rings[extend][1] > 1:
            first_tail[extend] = split % (rings[extend][1] - 1)
        else:
            extend = None
        self.d.recvchannel.submit(rx_ring, 0, first_tail["S2MM"], timeout=WAIT_S)
        self.d.sendchannel.submit(tx_ring, 0, first_tail["MM2S"], timeout=WAIT_S)
        e.ensure_started()  # submit starts the driver first, then restarts the channel
        for name in ("S2MM", "MM2S"):
            e.ch[name].restart(e.irq_bits[name])
            e.restart[name] = True
        if extend is not None:
            t.delay(gap)  # 0: while the first BDs run; later: after Idle at the first tail
            ring, count = rings[extend]
            sg.kick(self.regs, _sg_reg(extend), ring.address(count - 1))
        self.d.sendchannel.wait(timeout=WAIT_S)
        self.d.recvchannel.wait(timeout=WAIT_S)
        for name, (ring, count) in rings.items():
            self._until(lambda r=ring, c=count: bool(int(r.words(c - 1)[R.BD.STATUS // 4])
                                                     & R.BD_CMPLT),
                        f"{name}'s last BD complete")
        assert [int(tx_ring.words(i)[R.BD.STATUS // 4]) for i in range(len(lens))] == [
            R.BD_CMPLT | k for k in lens]
        assert [int(rx_ring.words(i)[R.BD.STATUS // 4]) for i in range(len(sizes))] == \
            expected_rx([n], sizes)
        k = 0
        for buf, _, m in dsts:
            self._landed(buf, data[k:k + m])
            k += m
        for name, (ring, count) in rings.items():
            self._chain_done(name, "poll", ring.address(count - 1))
        self._settle()

    # --- cyclic ---

    @rule(lap=st.integers(1, 2 * BD_MAX), seed=st.integers(0, 255))
    def cyclic_start(self, lap, seed):
        """DRV-SG-CYCLIC: MM2S loops over a buffer, one packet per lap (SG-CYCLIC)."""
        self._make_ready()
        e, tx = self.e, self.d.sendchannel
        data = np.random.default_rng(seed).integers(0, 256, lap, dtype=np.uint8)
        src, s0 = self._buffer(lap, 0, data)
        tx.transfer(src, start=s0, nbytes=lap, cyclic=True)
        e.ensure_started()
        e.restart["MM2S"] = True
        c = e.ch["MM2S"]
        c.restart(e.irq_bits["MM2S"], cyclic=True)
        c.cyclic = True
        c.taildesc = tx.bds[-1].address + R.BD_SIZE  # the canary BD after the loop
        e.cyclic = True
        self.cyclic_lap = (src, s0, lap)
        self.t.delay(150_000)  # MM2S fills the stream until it back-pressures
        if self._skid_ends_a_packet():
            e.ch["S2MM"].delay_timer()
        self._settle()

    def _skid_ends_a_packet(self) -> bool:
        """Whether the newest beat S2MM's input skid takes from a cyclic stream is a TLAST.

        The skid takes 4 beats without a BD (FLOW-SKID): with laps of 1, 2 or 4 beats its 4th
        is a packet end, which arms S2MM's delay timer; otherwise a packet's first or middle
        beat, which stops it (SG-COALESCE-DELAY).
        """
        assert self.cyclic_lap is not None
        beats = -(-self.cyclic_lap[2] // WORD)
        return constants.S2MM_SKID_BEATS % beats == 0

    @precondition(lambda self: self.e.cyclic and not self.e.error()
                  and self.e.running("S2MM"))
    @rule(wait=WAITS, offset=st.integers(0, 8))
    def cyclic_receive(self, wait, offset):
        """One lap arrives as one packet."""
        assert self.cyclic_lap is not None
        src, s0, lap = self.cyclic_lap
        rx = self.d.recvchannel
        dst, d0 = self._buffer(lap, offset * WORD)
        rx.transfer(dst, start=d0, nbytes=lap)
        self._restart_if_needed("S2MM")
        waiting = not self._skid_ends_a_packet()
        how = self._how("S2MM", wait, next_waiting=waiting)
        self._wait("S2MM", how)
        self._landed(dst, np.asarray(src[s0:s0 + lap]))
        assert rx.transferred == lap
        self._chain_done("S2MM", how, rx.bds[-1].address, next_waiting=waiting)
        self._settle()
        self.t.delay(150_000)

    @precondition(lambda self: self.e.cyclic)
    @rule()
    def cyclic_stop(self):
        """stop() of a cyclic channel: RS=0 and a soft reset of the whole engine."""
        self.d.sendchannel.stop(timeout=WAIT_S)
        self.e.driver_reset()
        self.cyclic_lap = None

    # --- coalescing, stop/start, resets ---

    @rule(name=NAMES, threshold=st.integers(0, 4), delay=st.integers(0, 3),
          enables=st.sampled_from([0, 0x1000, 0x2000, 0x3000, 0x5000, 0x7000]))
    def coalesce(self, name, threshold, delay, enables):
        """IRQThreshold, IRQDelay and the enables by read-modify-write, as Linux does."""
        ch = _sg_reg(name)
        cr = self.regs.read(ch.DMACR)
        value = (cr & ~(0xFFFF_0000 | R.DMACR_IRQEN_ALL | R.DMACR_RESET)) | enables
        value = DELAY.put(THRESHOLD.put(value, threshold), delay)
        self.regs.write(ch.DMACR, value)
        self.e.ch[name].write_cr(value, self.e.error())

    @rule(name=NAMES, bits=st.sampled_from([0x1000, 0x2000, 0x4000, 0x7000, 0xFFFF_FFFF]))
    def ack(self, name, bits):
        """W1C of DMASR's interrupt bits (SR-W1C), as an interrupt handler does."""
        self.regs.write(_sg_reg(name).DMASR, bits)
        c = self.e.ch[name]
        c.irq &= ~(bits & R.DMASR_IRQS)
        c.unknown &= ~(bits & R.DMASR_IRQS)

    @precondition(lambda self: not self.e.error())
    @rule(name=NAMES, run=st.booleans())
    def stop_or_start(self, name, run):
        """stop(): RS=0 halts an idle channel at once (SG-RS-STOP); start(): CURDESC (the
        ring's next free BD) while halted, then RS=1 (SG-CURDESC). A cyclic loop stops by a
        soft reset (DRV-SG-CYCLIC)."""
        c = self.e.ch[name]
        if name == "MM2S" and self.e.cyclic:
            self.cyclic_stop()
        elif not run:
            self._ch(name).stop(timeout=WAIT_S)
            self.e.ensure_started()
            c.stop()
        elif not self.e.cyclic:
            if c.halted:
                self.e.restart[name] = False
            self._ch(name).start(timeout=WAIT_S)
            c.start(self.e.irq_bits[name])

    @rule(kind=st.sampled_from(["driver", "MM2S", "S2MM", "power-on"]))
    def reset(self, kind):
        """driver.reset() (a polled soft reset; the channels restart on next use), DMACR.Reset
        written on one channel (RST-BOTH; the driver is not told) or a power-on reset."""
        if kind in ("MM2S", "S2MM") and not self.e.cyclic:
            self.regs.write(_sg_reg(kind).DMACR, R.DMACR_RESET)
            self._until(lambda: not (self.regs.read(R.MM2S.DMACR)
                                     | self.regs.read(R.S2MM.DMACR)) & R.DMACR_RESET,
                        "the soft reset")
            self.e.engine_reset()
            return
        if kind == "power-on":
            self.t.reset()
        else:
            self.d.reset(timeout=WAIT_S)
        self.e.driver_reset()
        self.cyclic_lap = None

    @rule(ns=st.integers(0, 50_000))
    def delay(self, ns):
        self.t.delay(ns)

    @precondition(lambda self: self.irq)
    @rule(name=NAMES)
    def await_interrupt(self, name):
        """IRQ-AWAIT: ``await t.interrupt(...)`` returns at once while the line the expectation
        predicts is high; on a low line it raises DmaTimeoutError with both DMASRs decoded."""
        c = self.e.ch[name]
        if c.unknown or c.cyclic:
            return
        port = f"{name.lower()}_introut"
        before = self.t.now_ns
        if c.irq & c.cr & R.DMASR_IRQS:
            asyncio.run(self.t.interrupt("axi_dma_0", port, timeout_ns=1_000))
            assert self.t.now_ns == before, "a high line still made the wait sleep"
            return
        with pytest.raises(DmaTimeoutError,
                           match=r"MM2S_DMASR=0x[0-9a-f]{8} \(.*S2MM_DMASR=0x[0-9a-f]{8} \("):
            asyncio.run(self.t.interrupt("axi_dma_0", port, timeout_ns=2_000))
        assert self.t.now_ns - before >= 2_000

    # --- errors and bad input ---

    @precondition(lambda self: not self.e.error() and not self.e.cyclic)
    @rule(name=NAMES, kind=st.sampled_from(["stale", "zero"]))
    def bad_bd_reaches_the_engine(self, name, kind):
        """A BD with Cmplt=1 (SG-ERR-STALE) or length 0 (SG-ERR-ZERO) started by registers,
        past the driver's checks: the error halts both channels (SG-ERR-LATCH)."""
        e, ch = self.e, _sg_reg(name)
        ring = sg.BdRing(self.t, 1)
        ring.link()
        buf, start = self._buffer(64, 0)
        ring.set_bd(0, buf.physical_address + start, 0 if kind == "zero" else 64,
                    R.BD_TXSOF | R.BD_TXEOF if name == "MM2S" else 0)
        if kind == "stale":
            ring.bds[0, R.BD.STATUS // 4] = R.BD_CMPLT | 64
        self._ch(name).stop(timeout=WAIT_S)
        e.ensure_started()
        e.ch[name].stop()
        sg.start_sg(self.regs, ch, ring.address(0), self.t.clock)
        e.ch[name].start(0)
        sg.kick(self.regs, ch, ring.address(0))
        self._until(lambda: all(self.regs.read(c.DMASR) & R.DMASR_HALTED for c in R.CHANNELS),
                    "the error halt of both channels")
        c = e.ch[name]
        c.err = R.DMASR_SG_INT_ERR if kind == "stale" else R.DMASR_INT_ERR
        c.irq |= R.DMASR_ERR_IRQ
        c.curdesc = c.taildesc = ring.address(0)
        for other in e.ch.values():
            other.rs, other.halted, other.idle = False, True, False
        want = R.BD_CMPLT | (64 if kind == "stale" else R.BD_STATUS.field("DMAIntErr").mask)
        assert int(ring.words(0)[R.BD.STATUS // 4]) == want
        self.user_rings.append((ring, ring.bds.copy()))
        self.error_kind = (DmaInternalError, "SGIntErr" if kind == "stale" else "DMAIntErr")
        self._settle()

    @precondition(lambda self: "faults" in self.t.capabilities)
    @rule(where=NAMES, kind=st.sampled_from(["slverr", "decerr"]),
          n=st.integers(1, 3 * BD_MAX), at=st.integers(0, 3 * BD_MAX), seed=st.integers(0, 255))
    def faulty_transfer(self, where, kind, n, at, seed):
        """A ring transfer whose source or destination answers SLVERR/DECERR on one word: the
        wait raises the matching exception (DRV-ERRORS), the failing BD's STATUS carries Cmplt
        and the error (SG-ERR-DATA), both channels halt (SG-ERR-LATCH) and nothing is written
        outside the buffers. What the other channel finished before the halt is timing, so
        its interrupt bits and counters are adopted, not predicted."""
        self._make_ready()
        e, tx, rx = self.e, self.d.sendchannel, self.d.recvchannel
        data = np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8)
        src, s0 = self._buffer(n, 0, data)
        dst, d0 = self._buffer(n, 0)
        base = (src.physical_address + s0) if where == "MM2S" else (dst.physical_address + d0)
        off = (at % n) & ~(WORD - 1)
        self.t.faults.add_fault(base + off, 1, kind)
        try:
            rx.transfer(dst, start=d0, nbytes=n)
            tx.transfer(src, start=s0, nbytes=n)
            e.ensure_started()
            for name in e.ch:
                self._restart_if_needed(name)
            cls, bit = ((DmaSlaveError, "DMASlvErr") if kind == "slverr"
                        else (DmaDecodeError, "DMADecErr"))
            with pytest.raises(cls, match=rf"wait failed: {bit}"):
                self._ch(where).wait(timeout=WAIT_S)
            self._until(lambda: all(self.regs.read(c.DMASR) & R.DMASR_HALTED
                                    for c in R.CHANNELS), "both channels halted")
        finally:
            self.t.faults.clear_faults()
        bds = self._ch(where).bds
        bad = bds[off // BD_MAX]
        flag = R.BD_STATUS.field(bit).mask
        assert bad.status & (R.BD_CMPLT | flag) == R.BD_CMPLT | flag, str(bad)
        if where == "MM2S":  # posted at the end of the BD, with its CONTROL length
            assert bad.transferred == bad.length
        for name, c in e.ch.items():
            c.rs, c.halted, c.idle = False, True, False
            c.curdesc = None  # the channel's last fetched BD: not settled (SG-ERR-DATA)
            c.taildesc = self._ch(name).bds[-1].address
            c.unknown |= R.DMASR_IOC_IRQ | R.DMASR_DLY_IRQ | SG_COUNTERS
        c = e.ch[where]
        c.err = R.DMASR_SLV_ERR if kind == "slverr" else R.DMASR_DEC_ERR
        c.irq |= R.DMASR_ERR_IRQ
        self.error_kind = (cls, bit)
        self._settle()

    @precondition(lambda self: self.e.started and (
        self.e.error() or self.e.cyclic or any(c.halted for c in self.e.ch.values())))
    @rule(name=NAMES)
    def transfer_refused(self, name):
        """A transfer the state forbids raises, and changes nothing: after an error the
        matching exception naming the bit and the reset (DRV-ERRORS); on a halted channel
        DmaNotRunningError (DRV-STATE-CHECKS); on a running cyclic loop DmaBusyError."""
        e = self.e
        if not e.error() and not (name == "MM2S" and e.cyclic) and not e.ch[name].halted:
            name = "S2MM" if name == "MM2S" else "MM2S"
        buf, start = self._buffer(64, 0)
        if e.error():
            want, match = self.error_kind[0], rf"transfer failed: {self.error_kind[1]}.*reset"
        elif name == "MM2S" and e.cyclic:
            want, match = DmaBusyError, "cyclic transfer is running"
        elif e.ch[name].halted:
            want, match = DmaNotRunningError, "transfer"
        else:
            return
        with pytest.raises(want, match=match):
            self._ch(name).transfer(buf, start=start, nbytes=64)

    @rule(name=NAMES, kind=st.sampled_from(["nxtdesc", "ring", "zero", "cmplt", "nbytes"]))
    def bad_input(self, name, kind):
        """DRV-BAD-INPUT: refused before anything reaches the engine, naming value and range."""
        ch = self._ch(name)
        ring = sg.BdRing(self.t, 3)
        ring.link()
        buf, start = self._buffer(3 * 64, 0)
        for i in range(3):
            ring.set_bd(i, buf.physical_address + start + 64 * i, 64)
        if kind == "nxtdesc":
            ring.bds[0, R.BD.NXTDESC // 4] += 8
            match = r"NXTDESC of BD 0 0x[0-9a-f]+ is not aligned to 0x40 bytes: allowed multiples"
        elif kind == "ring":
            raw = self.t.allocate(5 * 64 + 64, "u1")
            skew = 0x40 - raw.physical_address % 0x40 + 8
            match = r"BD address 0x[0-9a-f]+ is not aligned to 0x40 bytes: allowed multiples"
            with pytest.raises(DmasimValueError, match=match):
                sg.BdRing(self.t, 3, buffer=raw[skew:skew + 5 * 64])
            return
        elif kind == "zero":
            ring.set_bd(1, buf.physical_address + start, 0)
            match = rf"BD 1 at 0x[0-9a-f]+ has length 0 .*allowed 1\.\.{ch.len_mask}"
        elif kind == "cmplt":
            ring.bds[2, R.BD.STATUS // 4] = R.BD_CMPLT
            match = r"BD 2 at 0x[0-9a-f]+ already has Cmplt=1"
        else:
            match = r"zero-length transfer: start=\d+ is the end of the \d+-byte buffer"
            if not self.e.started or (name == "MM2S" and self.e.cyclic):
                return  # transfer() would first start the driver / refuse a running loop
            with pytest.raises(DmasimValueError, match=match):
                ch.transfer(buf, start=buf.nbytes)
            return
        with pytest.raises(DmasimValueError, match=match):
            ch.submit(ring, 0, 2, timeout=WAIT_S)

    # --- invariants ---

    @invariant()
    def registers_and_lines_agree(self):
        """Both channels' registers as expected; each introut line = DMASR & DMACR enables."""
        if not hasattr(self, "regs"):
            return
        for name, c in self.e.ch.items():
            ch = _sg_reg(name)
            sr_mask = c.unknown  # IRQDelaySts is compared: every timer has finished (0)
            if c.cyclic:
                sr_mask |= R.DMASR_IOC_IRQ | R.DMASR_DLY_IRQ | SG_COUNTERS
            got = check_registers(self.regs, name, {
                ch.DMACR: c.dmacr(), ch.DMASR: c.dmasr(),
                ch.CURDESC: None if c.cyclic else c.curdesc, ch.TAILDESC: c.taildesc,
                ch.CURDESC_MSB: 0, ch.TAILDESC_MSB: 0, ch.LENGTH: 0,
            }, {ch.DMASR: sr_mask}, getattr(self.t, "describe", None))
            # what the document leaves to timing is now settled: adopt it
            if c.unknown:
                c.irq = (c.irq & ~c.unknown) | (got[ch.DMASR] & c.unknown & R.DMASR_IRQS)
                if c.unknown & SG_COUNTERS:
                    c.thr = THRESHOLD.get(got[ch.DMASR])
                c.unknown = 0
            if c.curdesc is None and not c.cyclic and c.idle:
                c.curdesc = got[ch.CURDESC]
            line = self.t.interrupts()[f"{name.lower()}_introut"]
            sr_now, cr_now = self.regs.read(ch.DMASR), self.regs.read(ch.DMACR)
            assert line == bool(sr_now & cr_now & R.DMASR_IRQS), (
                f"{name} introut={line} but DMASR={R.describe_status(sr_now)} "
                f"DMACR={cr_now:#010x} (IRQ-LINE)")

    @invariant()
    def driver_state_agrees(self):
        """DRV-API: ``running``, ``idle`` and ``error`` say what DMASR says, the SG error bits
        included (``error`` missed them once). Only once the driver started: both start it."""
        if not hasattr(self, "d") or not self.e.started:
            return
        for name, c in self.e.ch.items():
            ch = self._ch(name)
            assert ch.error == bool(c.err), f"{name}.error={ch.error}, DMASR errors {c.err:#x}"
            assert ch.running == (not c.halted), f"{name}.running={ch.running}"
            if not c.cyclic:
                assert ch.idle == c.idle, f"{name}.idle={ch.idle}"

    @invariant()
    def memory_intact(self):
        """0xAA canaries around every buffer, sources unchanged, destinations hold their data,
        canary BDs around every ring intact and user BDs changed only in STATUS."""
        if not hasattr(self, "guards"):
            return
        for buf, start, n, data in self.guards:
            check_canaries(buf, start, n)
            if data is not None:
                assert np.array_equal(np.asarray(buf[start:start + len(data)]), data)
        for ch in (self.d.sendchannel, self.d.recvchannel):
            if ch.ring is not None and ch.ring.alive:
                assert ch.ring.guards_intact(), f"{ch.name}: a canary BD of the ring was written"
        for ring, words in self.user_rings:
            assert ring.guards_intact(), "a canary BD around a user chain was written"
            changed = np.argwhere(ring.bds != words)
            assert all(col == R.BD.STATUS // 4 for _, col in changed), changed.tolist()


@pytest.mark.rule(
    "SG-BD-STATUS", "SG-MM2S-PACKETS", "SG-S2MM-PACKETS", "SG-IDLE", "SG-IOC", "SG-TAIL-KICK",
    "SG-COALESCE-THRESHOLD", "SG-COALESCE-DELAY", "SG-CYCLIC", "SG-ERR-STALE", "SG-ERR-ZERO",
    "SG-ERR-LATCH", "SG-RS-STOP", "SG-CURDESC", "IRQ-LINE", "DRV-SG-RING", "DRV-SG-CYCLIC",
    "DRV-SG-IRQ-WAIT", "DRV-ERRORS", "DRV-BAD-INPUT", "DRV-STATE-CHECKS", "RST-BOTH",
    "IRQ-AWAIT", "DRV-API", "SG-ERR-DATA")
@pytest.mark.parametrize("dmasim_design", [{"design": SG_NARROW}], ids=["sg"])
def test_random_sg_programs(dmasim_design, target):
    """The SG machine on every simulated target, against the loopback with c_include_sg=1 and
    BDs of at most 1020 bytes. Examples scale with the hypothesis profile (``compat``: fewer)."""
    from hypothesis.stateful import run_state_machine_as_test

    if not target.simulated:
        pytest.skip(f"{target.name}: needs a bitstream with c_include_sg=1 and a 10-bit length")
    assert target.driver("python").config["length_width"] == SG_PARAMS["c_sg_length_width"]
    scale = settings().max_examples / 50
    examples = 30 if target.name == "model" else 20
    run_state_machine_as_test(
        lambda: SgDmaMachine(target),
        settings=settings(max_examples=max(2, int(examples * scale)), stateful_step_count=30),
    )
