"""Random register programs against the target, checked against a tiny expectation.

The expectation below is written from ``docs/axi-dma-behaviour.md`` alone, not from
the model's code: per channel the stored DMACR fields, RS/Halted/Idle, error and interrupt bits,
address and LENGTH. Rules keep nothing in flight between steps (every transfer is a complete
loopback or an overflow), so every register has one right value at every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from helpers import dma_regs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from dmasim import regmap
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

    def dmacr(self) -> int:
        return self.cr | (1 if self.rs else 0) | 0x2

    def dmasr(self) -> int:
        return int(self.halted) | (int(self.idle) << 1) | self.err | self.irq


@dataclass
class Expect:
    ch: dict[str, Chan] = field(default_factory=lambda: {"MM2S": Chan(), "S2MM": Chan()})

    def error(self) -> bool:
        return any(c.err for c in self.ch.values())


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
        c = self.e.ch[name]
        c.cr = value & STORED
        if not (value >> 16) & 0xFF:
            c.cr |= 1 << 16
        if value & R.DMACR_RS:
            if not self.e.error():
                c.rs, c.halted = True, False
        else:
            c.rs = False
            if not c.halted:
                c.halted, c.idle = True, False

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
            got = {
                "DMACR": self.regs.read(ch.DMACR),
                "DMASR": self.regs.read(ch.DMASR),
                "ADDR": self.regs.read(ch.ADDR),
                "LENGTH": self.regs.read(ch.LENGTH),
            }
            want = {"DMACR": c.dmacr(), "DMASR": c.dmasr(), "ADDR": c.addr, "LENGTH": c.length}
            assert got == want, (
                f"{name}: " + ", ".join(f"{k} got {got[k]:#x} want {want[k]:#x}"
                                        for k in got if got[k] != want[k])
            )


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
