"""Model against RTL: the same random register program on both, every read and buffer compared.

The model is the gold, the RTL the design under test, and both answer to the behaviour
specification: a disagreement is fixed on whichever side departs from it. The generator covers
settled register writes (every DMACR field, DMASR write-1-to-clear of every bit in every state),
transfers that complete, stall or wait, memory faults (regions that overlap, of either kind, on
either channel's buffer), Keyhole, and races: a soft reset (with the driver's Reset poll),
RS=0, an interrupt-enable change or a DMASR write landing a short delay after a transfer
starts. Registers and both interrupt lines are compared after each operation's settle delay,
long enough for everything in flight to finish or stall, so they have one right value.

The rules checked against the IP's own RTL have operations of their own: a soft reset followed
by writes from a faster CPU (``fast_reset``: the write window, at bus access times around it),
a failing MM2S read longer than the read-ahead with S2MM idle, then maybe drained
(``stall_fail``: errors posted at the end of the command), and two packets queued before an
S2MM transfer one beat (or 0 or 2 beats) longer than the first (``spare_beat``: the erratum).

Tolerated differences: the generator stays away from what the contract leaves to timing or
to the implementation, and says so here.

- Unaligned addresses (byte lanes without DRE are implementation-defined) and fault regions
  that are not whole 32-bit words.
- MM2S lengths near the 512-byte read-ahead depth with S2MM not ready: the exact depth, in
  whole bursts plus skid beats, is not part of the contract (lengths stay well below or far
  above it).
- After an error, how many stream beats were discarded or are still queued, and which bytes the
  bursts already issued wrote: nothing is streamed again until a reset, buffers are re-synced
  after an MM2S memory error (its error beats carry undefined data; registers are still
  compared). After an S2MM write error the buffers are compared: every beat outside the
  failing region was written.
- A soft reset with bursts in flight: how long they take to finish is timing, so writes from a
  fast CPU (``fast_reset``) follow only a reset with nothing in flight.
- The one-spare-beat erratum when the next packet arrives about when the first one ends (a
  loopback started behind one queued packet): which way it goes is timing.
- Races whose order is timing: a DMASR write only lands well before a long transfer from idle
  can finish; a soft reset racing a transfer leaves its destination partly written (buffers are
  re-synced); a transfer that touches a fault region is not started where another error may
  come first (the other channel's fault, an S2MM overflow by queued data or unequal lengths):
  which channel fails first is timing; faults are added only with nothing in flight (the
  model samples them when a transfer starts, the RTL memory answers beat by beat).

``--differential-examples N`` (or ``DMASIM_DIFF_EXAMPLES=N``) sets the number of programs; the
default keeps the run short. Run it with ``--target=model,rtl``.
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmasim import constants, regmap
from dmasim.drivers.registers import reset_dma
from dmasim.regmap import MM2S, S2MM

R = regmap
SETTLE_NS = 60_000
CLOCK_NS = 10
DDR_END = 512 << 20
NBUF, BUFBYTES = 3, 8192
DEFAULT_EXAMPLES = 150
LOW_BYTES = 8192  # DDR from address 0, where transfers with SA/DA at reset values go

CHANNELS = st.sampled_from(["MM2S", "S2MM"])
IRQ_ENABLES = st.sampled_from([0x0, 0x1000, 0x4000, 0x5000, 0x7000])
DMACR_VALUES = st.one_of(
    st.sampled_from([0x0, 0x1, 0x9, 0x1001, 0x7001, 0x5009, 0x0001_0001, 0x00FF_0001,
                     0x0100_5001]),
    st.integers(0, 0xFFFF_FFFF).map(lambda v: v & ~R.DMACR_RESET),
)
DMASR_VALUES = st.one_of(
    st.sampled_from([0, 0x1000, 0x4000, 0x5000, 0x7000, 0xFFFF_FFFF]),
    st.integers(0, 31).map(lambda b: 1 << b),
    st.integers(0, 0xFFFF_FFFF),
)
FAULT_KINDS = st.sampled_from(["slverr", "decerr"])
# Faults on a few word offsets so that regions overlap often (whole words: see above).
FAULT_AT = st.sampled_from([0, 4, 60, 64, 128, 1024, 2048, 4092, 4096, 4160, 6000])
# Starts: a transfer goes in flight and the race op's second half follows after a short delay.
STARTS = st.one_of(
    st.tuples(st.just("loopback"), st.integers(1, 4096), st.integers(0, NBUF - 1),
              st.integers(0, NBUF - 1)),
    st.tuples(st.just("length"), st.just("S2MM"), st.integers(4, 4096)),
    st.tuples(st.just("length"), st.just("MM2S"), st.integers(1, 96)),
)
RACE_ACTIONS = st.one_of(
    st.tuples(st.just("soft_reset_poll"), CHANNELS),
    st.tuples(st.just("stop"), CHANNELS),
    st.tuples(st.just("irq_enables"), CHANNELS, IRQ_ENABLES),
    st.tuples(st.just("dmasr"), CHANNELS, DMASR_VALUES),
)
_RARE = st.one_of(
    st.tuples(st.just("dmacr"), CHANNELS, DMACR_VALUES),
    st.tuples(st.just("bad_addr"), CHANNELS, st.integers(0, 0x1000).map(lambda x: x * 4)),
    st.tuples(st.just("soft_reset"), CHANNELS),
    st.tuples(st.just("soft_reset_poll"), CHANNELS),
    st.tuples(st.just("power_on_reset")),
    st.tuples(st.just("delay"), st.integers(0, 5_000)),
    st.tuples(st.just("length"), st.just("MM2S"), st.integers(2048, 4096)),  # stalls
    st.tuples(st.just("addr"), CHANNELS, st.integers(0, NBUF - 1), st.integers(0, 1024)),
)
_CONTROL = st.one_of(
    st.tuples(st.just("run"), CHANNELS),
    st.tuples(st.just("run_both"), IRQ_ENABLES, IRQ_ENABLES),
    st.tuples(st.just("stop"), CHANNELS),
    st.tuples(st.just("irq_enables"), CHANNELS, IRQ_ENABLES),
    st.tuples(st.just("keyhole"), CHANNELS, st.booleans()),
    st.tuples(st.just("dmasr"), CHANNELS, DMASR_VALUES),
)
_TRANSFERS = st.one_of(
    st.tuples(st.just("length"), st.just("S2MM"), st.integers(0, 4096)),
    st.tuples(st.just("length"), st.just("MM2S"), st.integers(0, 96)),
    st.tuples(st.just("loopback"), st.integers(1, 4096), st.integers(0, NBUF - 1),
              st.integers(0, NBUF - 1)),
    st.tuples(st.just("fault"), st.integers(0, NBUF - 1), FAULT_AT,
              st.integers(1, 300).map(lambda w: w * 4), FAULT_KINDS),
    st.tuples(st.just("race"), STARTS, st.one_of(st.integers(0, 600), st.integers(0, 20_000)),
              RACE_ACTIONS),
    # a DMASR write that surely lands before a long loopback completes
    st.tuples(st.just("race"),
              st.tuples(st.just("loopback"), st.integers(1024, 4096), st.integers(0, NBUF - 1),
                        st.integers(0, NBUF - 1)),
              st.integers(0, 600), st.tuples(st.just("dmasr"), CHANNELS, DMASR_VALUES)),
)
# Rules from the IP's own RTL: the reset write window at CPU speeds around it, a failing
# read that stalls (then maybe drains), two queued packets and a one-spare-beat S2MM transfer.
_IP_RTL = st.one_of(
    # (the rtl target's AXI-Lite bus takes at least 5 clocks per write)
    st.tuples(st.just("fast_reset"), st.integers(5, 2 * constants.SOFT_RESET_CLOCKS + 2),
              CHANNELS, st.integers(1, 0xFFFF).map(lambda w: w * 4)),
    st.tuples(st.just("stall_fail"), st.integers(2048, 4096), st.integers(0, NBUF - 1),
              st.integers(0, 1000).map(lambda w: w * 4), FAULT_KINDS, st.booleans()),
    st.tuples(st.just("spare_beat"), st.integers(1, 160), st.integers(1, 160),
              st.sampled_from([0, 1, 1, 2]), st.integers(0, 3), st.integers(0, NBUF - 1)),
)
OPS = st.one_of(_RARE, _CONTROL, _CONTROL, _TRANSFERS, _TRANSFERS, _TRANSFERS, _IP_RTL)


def _chan(name):
    return MM2S if name == "MM2S" else S2MM


class Side:
    """One target with identical buffers."""

    def __init__(self, target, seed):
        self.t = target
        self.regs = target.ip_mmio("axi_dma_0")
        # SA/DA reset to 0: transfers may read and write DDR there, outside any buffer
        self.low = target.memory_model.ddr[:LOW_BYTES]
        self.low[:] = 0
        rng = np.random.default_rng(seed)
        self.bufs = []
        for _ in range(NBUF):
            b = target.allocate(BUFBYTES, "u1")
            b[:] = rng.integers(0, 256, BUFBYTES, dtype=np.uint8)
            self.bufs.append(b)

    def apply(self, op, settle=True):
        regs, kind = self.regs, op[0]
        if kind == "dmacr":
            regs.write(_chan(op[1]).DMACR, op[2])
        elif kind in ("run", "stop", "irq_enables", "keyhole"):
            # read-modify-write, as drivers do
            ch = _chan(op[1])
            cr = regs.read(ch.DMACR) & ~R.DMACR_RESET
            if kind == "run":
                cr |= R.DMACR_RS
            elif kind == "stop":
                cr &= ~R.DMACR_RS
            elif kind == "irq_enables":
                cr = (cr & ~R.DMACR_IRQEN_ALL) | op[2]
            else:
                cr = cr | 0x8 if op[2] else cr & ~0x8
            regs.write(ch.DMACR, cr)
        elif kind == "run_both":
            for ch, enables in zip(R.CHANNELS, op[1:], strict=True):
                cr = regs.read(ch.DMACR) & ~(R.DMACR_RESET | R.DMACR_IRQEN_ALL)
                regs.write(ch.DMACR, cr | enables | R.DMACR_RS)
        elif kind == "dmasr":
            regs.write(_chan(op[1]).DMASR, op[2])
        elif kind == "addr":
            regs.write(_chan(op[1]).ADDR, self.bufs[op[2]].physical_address + op[3] * 4)
        elif kind == "bad_addr":
            regs.write(_chan(op[1]).ADDR, DDR_END + op[2])
        elif kind == "length":
            regs.write(_chan(op[1]).LENGTH, op[2])
        elif kind == "loopback":
            n, src, dst = op[1], self.bufs[op[2]], self.bufs[op[3]]
            regs.write(S2MM.ADDR, dst.physical_address)
            regs.write(S2MM.LENGTH, n)
            regs.write(MM2S.ADDR, src.physical_address + BUFBYTES // 2)
            regs.write(MM2S.LENGTH, n)
        elif kind == "fault":
            self.t.faults.add_fault(self.bufs[op[1]].physical_address + op[2], op[3], op[4])
        elif kind == "race":
            self.apply(op[1], settle=False)
            self.t.delay(op[2])
            self.apply(op[3], settle=False)
        elif kind == "soft_reset":
            regs.write(_chan(op[1]).DMACR, R.DMACR_RESET)
        elif kind == "soft_reset_poll":
            ch = _chan(op[1])
            regs.write(ch.DMACR, R.DMACR_RESET)
            assert reset_dma(regs, self.t, timeout_ns=200_000), f"{self.t.name}: reset stuck"
        elif kind == "power_on_reset":
            self.t.reset()
        elif kind == "delay":
            self.t.delay(op[1])
        elif kind == "fast_reset":
            before = self.t.bus_access_ns
            self.t.bus_access_ns = op[1] * CLOCK_NS
            try:
                regs.write(_chan(op[2]).DMACR, R.DMACR_RESET)
                regs.write(MM2S.DMACR, R.DMACR_RS | R.DMACR_IOC_IRQEN)
                regs.write(S2MM.DMACR, R.DMACR_RS)
                regs.write(MM2S.ADDR, op[3])
                regs.write(S2MM.ADDR, op[3])
            finally:
                self.t.bus_access_ns = before
        elif kind == "stall_fail":
            self._run_both()
            n, buf = op[1], self.bufs[op[2]]
            self.t.faults.add_fault(buf.physical_address + min(op[3], n - 4), 4, op[4])
            regs.write(MM2S.ADDR, buf.physical_address)
            regs.write(MM2S.LENGTH, n)
            if op[5]:  # drain it: S2MM takes exactly the packet, and the error shows
                self.t.delay(SETTLE_NS)
                regs.write(S2MM.ADDR, self.bufs[(op[2] + 1) % NBUF].physical_address)
                regs.write(S2MM.LENGTH, n)
        elif kind == "spare_beat":
            n1, n2, spare, extra, b = op[1:]
            self._run_both()
            for i, n in enumerate((n1, n2)):
                regs.write(MM2S.ADDR, self.bufs[(b + 1 + i) % NBUF].physical_address
                           + BUFBYTES // 2)
                regs.write(MM2S.LENGTH, n)
                self.t.delay(5_000)
            beats = -(-n1 // 4) + spare
            length = n1 if spare == 0 else 4 * (beats - 1) + 1 + extra
            regs.write(S2MM.ADDR, self.bufs[b].physical_address)
            regs.write(S2MM.LENGTH, length)
        if settle:
            self.t.delay(SETTLE_NS)

    def _run_both(self) -> None:
        """RS=1 on both channels by read-modify-write (enables kept)."""
        for ch in R.CHANNELS:
            self.regs.write(ch.DMACR, (self.regs.read(ch.DMACR) & ~R.DMACR_RESET) | R.DMACR_RS)

    def snapshot(self):
        regs = {
            ch.register_name(reg): self.regs.read(ch.base + reg.offset)
            for ch in R.CHANNELS for reg in R.SIMPLE_MODE_REGISTERS
        }
        return regs, self.t.interrupts()


def _feeds_stream(op) -> bool:
    if op[0] == "race":
        return _feeds_stream(op[1])
    return op[0] in ("loopback", "stall_fail", "spare_beat") or (
        op[0] == "length" and op[1] == "MM2S" and op[2] > 0)


def _quiet(side: Side) -> bool:
    """Nothing in flight on the model: no MM2S transfer, S2MM at most waiting for data."""
    e = side.t.engine
    return (not e.mm2s.busy and (not e.s2mm.busy or not e.stream.nbytes)
            and e.reset_until < 0 and not e.s2mm_discarding)


def _erratum_count(side: Side) -> int:
    return sum("one-spare-beat erratum" in d.message for d in side.t.engine.diagnostics)


def _spare_beat_race(side: Side, op) -> bool:
    """A loopback behind exactly one queued packet, one beat longer than it: whether its own
    packet arrives in time to be swallowed by the erratum is timing."""
    start = op[1] if op[0] == "race" else op
    if start[0] != "loopback":
        return False
    packets = side.t.engine.stream.packets
    if len(packets) != 1 or not packets[0].complete:
        return False
    return -(-start[1] // 4) == -(-packets[0].read // 4) + 1


def _resets(op) -> bool:
    if op[0] == "race":
        return op[3][0] == "soft_reset_poll"
    return op[0] in ("soft_reset", "soft_reset_poll", "power_on_reset")


def _racy_dmasr(side: Side, op, unsent: int) -> bool:
    """A DMASR write racing an event (completion, error) whose order is not certain.

    Only a long loopback started from idle, over memory without faults, with nothing queued in
    the stream, has no event within the first 600 ns.
    """
    if op[0] != "race" or op[3][0] != "dmasr":
        return False
    start, engine = op[1], side.t.engine
    mem = side.t.memory_model
    return not (start[0] == "loopback" and start[1] >= 1024 and op[2] <= 600 and not unsent
                and not engine.mm2s.busy and not engine.s2mm.busy
                and not any(mem.first_fault(a, n) for a, n in _ranges(side, op).values()))


def _ranges(side: Side, op) -> dict[str, tuple[int, int]]:
    """The memory each channel will touch once ``op`` has started what it starts (model view)."""
    engine = side.t.engine
    out = {c.name: (c.xaddr, c.xlen) for c in (engine.mm2s, engine.s2mm) if c.busy}
    start = op[1] if op[0] == "race" else op
    if start[0] == "loopback":
        out.setdefault("S2MM", (side.bufs[start[3]].physical_address, start[1]))
        out.setdefault("MM2S", (side.bufs[start[2]].physical_address + BUFBYTES // 2, start[1]))
    elif start[0] == "length" and start[2]:
        out.setdefault(start[1], (getattr(engine, start[1].lower()).addr, start[2]))
    return out


def _error_race(side: Side, op, unsent: int) -> bool:
    """``op`` starts a transfer that will fail while another error may come first: both
    channels touch faults, or one does and S2MM may overflow (queued data, unequal lengths)."""
    ranges = _ranges(side, op)
    mem = side.t.memory_model
    faulty = [bool(mem.first_fault(a, n)) for a, n in ranges.values()]
    if not any(faulty):
        return False
    unequal = len(ranges) == 2 and ranges["MM2S"][1] != ranges["S2MM"][1]
    return (all(faulty) and len(faulty) == 2) or bool(unsent) or unequal


def _examples(config: pytest.Config) -> int:
    n = config.getoption("differential_examples", None) or os.environ.get("DMASIM_DIFF_EXAMPLES")
    return int(n) if n else DEFAULT_EXAMPLES


@pytest.mark.rule(
    "DIAG-MODEL-RTL", "ERR-IOC-ON-HALT", "ERR-POSTED-AT-END", "IRQ-LINE", "RST-POWER-ON",
    "RST-WINDOW", "XFER-S2MM-SPARE-BEAT")
@pytest.mark.skipif("not config.getoption('target').count('rtl')",
                    reason="compares the model with the RTL: run with --target including rtl")
def test_model_and_rtl_agree(open_targets, request):
    """Every program gives the same registers, interrupt lines and buffers on model and RTL."""

    ran: Counter[str] = Counter()

    @settings(max_examples=_examples(request.config))
    @given(first=st.tuples(st.just("run_both"), IRQ_ENABLES, IRQ_ENABLES),
           rest=st.lists(OPS, min_size=3, max_size=24), seed=st.integers(0, 2**16))
    def agree(first, rest, seed):
        program = [first, *rest]
        ran["programs"] += 1
        _run_program(open_targets, program, seed, ran)

    agree()
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(ran.items()) if k != "programs")
    print(f"\ndifferential: {ran['programs']} programs agreed; operations applied: {kinds}")


def _run_program(open_targets, program, seed, ran: Counter[str]) -> None:
    model, rtl = Side(open_targets("model"), seed), Side(open_targets("rtl"), seed)
    assert [b.physical_address for b in model.bufs] == [b.physical_address for b in rtl.bufs]
    errored = False
    unsent = 0  # bytes MM2S may have pushed into the stream with nobody receiving
    for step, op in enumerate(program):
        start = op[1] if op[0] == "race" else op
        if errored and _feeds_stream(op):
            continue  # after an error the stream holds a timing-dependent remainder
        busy = model.t.engine.mm2s.busy or model.t.engine.s2mm.busy
        if (op[0] == "fault" and busy) or _error_race(model, op, unsent):
            continue
        if _racy_dmasr(model, op, unsent):
            continue
        if _spare_beat_race(model, op):
            continue
        if op[0] == "fast_reset" and not _quiet(model):
            continue  # how long bursts in flight take to finish is timing
        if op[0] in ("stall_fail", "spare_beat"):
            if unsent or not _quiet(model) or model.t.engine.s2mm.busy:
                continue  # needs an empty stream and S2MM idle: the scenario is exact
            if op[0] == "spare_beat":
                unsent += op[2]  # the second packet, unless the erratum swallowed it
            elif not op[5]:
                unsent += op[1]  # the failing read stalls in the stream
        if start[0] == "length" and start[1] == "MM2S":
            if start[2] > 96 and unsent:
                continue  # a stalled long read behind queued data: depth-dependent
            if start[2] <= 96 and unsent + start[2] > 384:
                continue  # keep clear of the read-ahead depth
            unsent += start[2]
        if start[0] == "loopback" and unsent and 256 < start[1] < 1024:
            continue  # an older packet may be ahead of this one: stay clear of the depth
        if start[0] == "loopback" and unsent > 384:
            continue  # a stalled long read is ahead: how much of it fits is depth-dependent
        if _resets(op):
            errored, unsent = False, 0
        swallowed = _erratum_count(model)
        for side in (model, rtl):
            side.apply(op)
        ran[op[0] if op[0] != "race" else f"race-{op[3][0]}"] += 1
        got_m, got_r = model.snapshot(), rtl.snapshot()
        if _erratum_count(model) > swallowed:
            ran["erratum-swallowed"] += 1
        if op[0] == "stall_fail":
            failed = got_m[0]["MM2S_DMASR"] & R.DMASR_ERRORS
            ran["stall_fail-posted" if failed else "stall_fail-no-error-yet"] += 1
        if op[0] == "fast_reset" and op[1] < constants.SOFT_RESET_CLOCKS:
            ran["fast_reset-writes-lost"] += 1
        diffs = {k: (f"{v:#010x}", f"{got_r[0][k]:#010x}")
                 for k, v in got_m[0].items() if got_r[0][k] != v}
        assert not diffs and got_m[1] == got_r[1], (
            f"step {step} {op!r}: model vs rtl registers differ {diffs}, "
            f"interrupts {got_m[1]} vs {got_r[1]}; program so far {program[:step + 1]!r}"
        )
        # MM2S error beats carry undefined data; an S2MM write error writes every other beat
        mem_fault = bool(got_m[0]["MM2S_DMASR"] & (R.DMASR_SLV_ERR | R.DMASR_DEC_ERR))
        reset_race = op[0] == "race" and op[3][0] == "soft_reset_poll"
        for i, (bm, br) in enumerate(zip([*model.bufs, model.low], [*rtl.bufs, rtl.low],
                                         strict=True)):
            if mem_fault or reset_race:
                br[:] = bm
            elif not np.array_equal(bm, br):
                where = np.flatnonzero(np.asarray(bm) != np.asarray(br))
                raise AssertionError(
                    f"step {step} {op!r}: buffer {i} differs at bytes {where[:8]} "
                    f"(model {np.asarray(bm)[where[:4]]}, rtl {np.asarray(br)[where[:4]]}); "
                    f"program so far {program[:step + 1]!r}"
                )
        errored = errored or any(v & R.DMASR_ERRORS for k, v in got_m[0].items()
                                 if k.endswith("DMASR"))
