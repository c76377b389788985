"""``dmasim probe``: a fixed set of safe register experiments that bring back ground truth.

Run on the board (``dmasim probe --target board --out pynq-z2.json``) it records how the real
AXI DMA answers the questions the simulators can only infer: reset values, the no-poll
reset-then-RS sequence, the MM2S read-ahead depth, LENGTH masking, DMAIntErr on an overlong
packet, the IOC/halt bits after each error (a DMA read outside DDR included, where the design's
address map makes it safe), the soft-reset window, the one-spare-beat S2MM erratum and the
simple-mode points marked uncertain (IRQThreshold/IRQDelay storage, LENGTH written while
halted, DMASR's write-1-to-clear bits). Run on ``model`` or ``rtl`` with ``--compare`` it lists
every answer that differs.

Safety on the board: every experiment starts from a soft reset and ends with one; transfers
use buffers from ``allocate()``; every wait is bounded; the only address outside a buffer is
the out-of-DDR read, issued only when the loaded design's .hwh maps the DMA's masters to
DDR alone (the PL interconnect then answers DECERR itself, nothing reaches the PS). Nothing
writes outside a buffer and nothing hard-resets the IP.

The model can take a board's answers for its uncertain constants: :func:`model_overrides`
and :func:`board_truth` (a small, explicit map from report keys to named model constants).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, regmap
from .constants import BUS_ACCESS_NS, SOFT_RESET_CLOCKS
from .errors import DmasimError
from .target import Target, open_target

__all__ = ["EXPERIMENTS", "FORMAT", "MODEL_CONSTANTS", "board_truth", "compare", "load_report",
           "model_overrides", "run_probe"]

FORMAT = "dmasim-probe/1"
WAIT_NS = 2_000_000
"""Bound on every wait for a transfer (2 ms: 64 KiB moves in under 0.2 ms on the board)."""
OUTSIDE_DDR = 0x2000_0000
"""First address past the PYNQ-Z2's 512 MiB of DDR: the out-of-DDR read goes here."""
MM2S, S2MM = regmap.MM2S, regmap.S2MM
Result = dict[str, Any]


class _Ctx:
    """One target's register window, buffers and bounded waits."""

    def __init__(self, target: Target):
        self.t = target
        self.regs = target.ip_mmio("axi_dma_0")
        params = target.ip_dict["axi_dma_0"].get("parameters", {})
        self.width = int(str(params.get("c_sg_length_width", 14)), 0)
        self.allocated: list[Any] = []

    def alloc(self, nbytes: int) -> Any:
        buf = self.t.allocate((nbytes,), "u1")
        self.allocated.append(buf)
        return buf

    def free(self) -> None:
        for buf in self.allocated:
            with contextlib.suppress(DmasimError):
                buf.freebuffer()
        self.allocated.clear()

    def rd(self, off: int) -> int:
        return int(self.regs.read(off))

    def wr(self, off: int, value: int) -> None:
        self.regs.write(off, value)

    def sr(self, ch: regmap.Channel) -> str:
        return f"0x{self.rd(ch.DMASR):08x}"

    def start(self, *channels: regmap.Channel) -> None:
        for ch in channels:
            self.wr(ch.DMACR, self.rd(ch.DMACR) | regmap.DMACR_RS)
        for ch in channels:
            self.wait(ch, lambda v: not v & regmap.DMASR_HALTED)

    def program(self, ch: regmap.Channel, addr: int, nbytes: int) -> None:
        self.wr(ch.ADDR, addr & 0xFFFF_FFFF)
        self.wr(ch.ADDR_MSB, 0)
        self.wr(ch.LENGTH, nbytes)

    def wait(self, ch: regmap.Channel, done: Callable[[int], bool],
             timeout_ns: int = WAIT_NS) -> bool:
        """Poll DMASR until ``done(value)``; False after ``timeout_ns`` of target time."""
        deadline = self.t.now_ns + timeout_ns
        step = 200
        while True:
            if done(self.rd(ch.DMASR)):
                return True
            if self.t.now_ns >= deadline:
                return False
            self.t.delay(step)
            step = min(step * 2, 50_000)

    def idle(self, ch: regmap.Channel, timeout_ns: int = WAIT_NS) -> bool:
        stop = regmap.DMASR_IDLE | regmap.DMASR_ERRORS | regmap.DMASR_HALTED
        return self.wait(ch, lambda v: bool(v & stop), timeout_ns) and bool(
            self.rd(ch.DMASR) & regmap.DMASR_IDLE)

    def buffers(self, nbytes: int, fill: int = 0xAA) -> tuple[Any, Any]:
        src = self.alloc(nbytes)
        dst = self.alloc(nbytes + 64)
        src[:] = (np.arange(nbytes) * 7 + 1) % 251
        dst[:] = fill
        return src, dst


def _regs(c: _Ctx) -> Result:
    return {f"{ch.name}_{r}": f"0x{c.rd(getattr(ch, r)):08x}"
            for ch in (MM2S, S2MM) for r in ("DMACR", "DMASR", "ADDR", "ADDR_MSB", "LENGTH")}


def exp_reset_values(c: _Ctx) -> Result:
    """Every simple-mode register after a soft reset."""
    return _regs(c)


def exp_no_poll_reset_then_rs(c: _Ctx) -> Result:
    """Reset on both channels, then RS on both, back to back without polling: does RS hold.

    A common driver shortcut (works on the board, by the semantics' reading of the timing).
    """
    for ch in (MM2S, S2MM):
        c.wr(ch.DMACR, regmap.DMACR_RESET)
    for ch in (MM2S, S2MM):
        c.wr(ch.DMACR, regmap.DMACR_RS)
    c.t.delay(10_000)
    return {"MM2S_DMACR": f"0x{c.rd(MM2S.DMACR):08x}", "MM2S_DMASR": c.sr(MM2S),
            "S2MM_DMACR": f"0x{c.rd(S2MM.DMACR):08x}", "S2MM_DMASR": c.sr(S2MM),
            "running": not (c.rd(MM2S.DMASR) | c.rd(S2MM.DMASR)) & regmap.DMASR_HALTED}


def _mm2s_alone_completes(c: _Ctx, nbytes: int, buf: Any) -> bool:
    c.t.reset()
    c.start(MM2S)
    c.program(MM2S, int(buf.physical_address), nbytes)
    return c.idle(MM2S, 200_000)


def exp_mm2s_readahead(c: _Ctx) -> Result:
    """Largest MM2S LENGTH (multiple of 4) that completes with S2MM not started."""
    buf = c.alloc(4096)
    lo, hi = 4, 4096  # lo completes, hi is not known to
    if not _mm2s_alone_completes(c, lo, buf):
        return {"largest_bytes": 0}
    if _mm2s_alone_completes(c, hi, buf):
        return {"largest_bytes": hi, "note": "4096 completes: the search range is too small"}
    while hi - lo > 4:
        mid = (lo + hi) // 2 // 4 * 4
        if _mm2s_alone_completes(c, mid, buf):
            lo = mid
        else:
            hi = mid
    return {"largest_bytes": lo, "beats": lo // 4}


def exp_length_masking(c: _Ctx) -> Result:
    """LENGTH above 2**width - 1: stored masked; 2**width alone starts nothing."""
    src, dst = c.buffers(64)
    c.start(MM2S, S2MM)
    c.wr(MM2S.ADDR, int(src.physical_address))
    c.wr(MM2S.LENGTH, 1 << c.width)
    zero = c.rd(MM2S.LENGTH)
    c.t.delay(20_000)
    started = not c.idle(MM2S, 20_000)
    c.program(S2MM, int(dst.physical_address), 64)
    c.wr(MM2S.LENGTH, (1 << c.width) + 64)
    masked = c.rd(MM2S.LENGTH)
    done = c.idle(MM2S) and c.idle(S2MM)
    return {"readback_of_2_pow_width": zero, "power_of_two_started": not started,
            "readback_of_2_pow_width_plus_64": masked, "masked_transfer_completed": done,
            "received_bytes": c.rd(S2MM.LENGTH), "data_ok": bool(np.array_equal(dst[:64], src))}


def exp_overlong_packet(c: _Ctx) -> Result:
    """A 128-byte packet into S2MM LENGTH 64: DMAIntErr, halt, IOC bits of both channels."""
    src, dst = c.buffers(128)
    c.start(MM2S, S2MM)
    c.program(S2MM, int(dst.physical_address), 64)
    c.program(MM2S, int(src.physical_address), 128)
    c.wait(S2MM, lambda v: bool(v & regmap.DMASR_HALTED))
    c.wait(MM2S, lambda v: bool(v & (regmap.DMASR_HALTED | regmap.DMASR_IDLE)))
    c.t.delay(10_000)
    return {"MM2S_DMASR": c.sr(MM2S), "S2MM_DMASR": c.sr(S2MM),
            "S2MM_LENGTH": c.rd(S2MM.LENGTH), "written_ok": bool(np.array_equal(dst[:64],
                                                                                  src[:64])),
            "beyond_length_untouched": bool((dst[64:] == 0xAA).all())}


def _bitfile(t: Target) -> str | None:
    """The bitstream a board target runs (None on simulated targets)."""
    from .board.target import BoardTarget

    return t.bitfile if isinstance(t, BoardTarget) else None


def _ddr_only(c: _Ctx) -> bool:
    """Tell whether the out-of-DDR read is safe: the masters reach DDR only."""
    if c.t.simulated:
        return True
    bitfile = _bitfile(c.t)
    if not bitfile:
        return False
    from .board.loaded import memory_ranges

    ranges = memory_ranges(str(Path(bitfile).with_suffix(".hwh")), "axi_dma_0")
    return bool(ranges) and all(hi < OUTSIDE_DDR for _, hi in ranges)


def exp_read_outside_ddr(c: _Ctx) -> Result:
    """MM2S reads 64 bytes past the end of DDR (DECERR), S2MM armed to take them."""
    if not _ddr_only(c):
        return {"skipped": "the design's address map for the DMA masters is not known to be "
                           "DDR only, so a read outside DDR might reach another slave"}
    _, dst = c.buffers(64)
    c.start(MM2S, S2MM)
    c.program(S2MM, int(dst.physical_address), 64)
    c.program(MM2S, OUTSIDE_DDR, 64)
    c.wait(MM2S, lambda v: bool(v & (regmap.DMASR_HALTED | regmap.DMASR_ERRORS)))
    c.wait(S2MM, lambda v: bool(v & regmap.DMASR_HALTED))
    c.t.delay(10_000)
    return {"MM2S_DMASR": c.sr(MM2S), "S2MM_DMASR": c.sr(S2MM),
            "MM2S_LENGTH": c.rd(MM2S.LENGTH), "S2MM_LENGTH": c.rd(S2MM.LENGTH)}


def exp_spare_beat_erratum(c: _Ctx) -> Result:
    """Two 64-byte packets queued, S2MM LENGTH = packet + 4: is the second packet lost."""
    src, dst = c.buffers(128)
    c.start(MM2S, S2MM)
    for k in range(2):
        c.program(MM2S, int(src.physical_address) + 64 * k, 64)
        c.idle(MM2S)
    c.program(S2MM, int(dst.physical_address), 68)
    first = c.idle(S2MM)
    first_len = c.rd(S2MM.LENGTH)
    c.program(S2MM, int(dst.physical_address) + 64, 64)
    second = c.idle(S2MM, 200_000)
    return {"first_completed": first, "first_length": first_len,
            "second_received": second and bool(np.array_equal(dst[64:128], src[64:128])),
            "S2MM_DMASR": c.sr(S2MM)}


def exp_soft_reset_window(c: _Ctx) -> Result:
    """Reset, then k back-to-back writes of SA: the first k whose write survives the reset.

    The writes come from the C core's loop (cffi) where it can run, as a C driver's would.
    """
    try:
        from .drivers.native import open_device

        dev: Any = open_device("cffi", c.t)
        seq = dev.write_seq
        how = "C loop (cffi)"
    except (DmasimError, AttributeError) as exc:
        dev, how = None, f"Python writes (no cffi C loop here: {str(exc).splitlines()[0]})"

        def seq(writes: list[tuple[int, int]]) -> None:
            for off, val in writes:
                c.wr(off, val)
    first = None
    try:
        for k in range(1, 33):
            c.t.reset()
            seq([(MM2S.DMACR, regmap.DMACR_RESET)] + [(MM2S.ADDR, k)] * k)
            c.t.delay(10_000)
            if c.rd(MM2S.ADDR) == k:
                first = k
                break
    finally:
        if dev is not None:
            dev.close()
    return {"first_effective_write": first, "writes_from": how}


def exp_dmacr_fields(c: _Ctx) -> Result:
    """Check IRQThreshold 0 stores 1 and IRQDelay, Keyhole, Cyclic, IRQ enables read back."""
    c.wr(MM2S.DMACR, 0x0000_0002)  # threshold 0, everything else off
    zero_threshold = c.rd(MM2S.DMACR)
    c.wr(MM2S.DMACR, 0xFF05_7018)  # delay 0xFF, threshold 5, IRQ enables, cyclic, keyhole
    return {"threshold_0_reads": f"0x{zero_threshold:08x}",
            "all_fields_read": f"0x{c.rd(MM2S.DMACR):08x}"}


def exp_length_while_halted(c: _Ctx) -> Result:
    """LENGTH written while halted is stored; does a later RS start it."""
    src, dst = c.buffers(64)
    c.start(S2MM)
    c.program(S2MM, int(dst.physical_address), 64)
    c.program(MM2S, int(src.physical_address), 64)  # MM2S halted
    stored = c.rd(MM2S.LENGTH)
    c.start(MM2S)
    started = c.idle(MM2S, 200_000)
    return {"stored": stored, "rs_later_starts_it": started, "MM2S_DMASR": c.sr(MM2S)}


def exp_dmasr_w1c(c: _Ctx) -> Result:
    """After a transfer, writing IOC_Irq clears it and disturbs neither Halted nor Idle."""
    src, dst = c.buffers(64)
    c.start(MM2S, S2MM)
    c.program(S2MM, int(dst.physical_address), 64)
    c.program(MM2S, int(src.physical_address), 64)
    c.idle(MM2S)
    c.idle(S2MM)
    before = c.sr(MM2S)
    c.wr(MM2S.DMASR, regmap.DMASR_IOC_IRQ)
    after_ioc = c.sr(MM2S)
    c.wr(MM2S.DMASR, 0xFFFF_FFFF)
    return {"before": before, "after_ioc_write": after_ioc, "after_all_ones": c.sr(MM2S)}


EXPERIMENTS: dict[str, Callable[[_Ctx], Result]] = {
    "reset_values": exp_reset_values,
    "no_poll_reset_then_rs": exp_no_poll_reset_then_rs,
    "dmacr_fields": exp_dmacr_fields,
    "mm2s_readahead": exp_mm2s_readahead,
    "length_masking": exp_length_masking,
    "length_while_halted": exp_length_while_halted,
    "dmasr_w1c": exp_dmasr_w1c,
    "overlong_packet": exp_overlong_packet,
    "read_outside_ddr": exp_read_outside_ddr,
    "spare_beat_erratum": exp_spare_beat_erratum,
    "soft_reset_window": exp_soft_reset_window,
}
"""The fixed experiments, in the order they run (each between two soft resets)."""


def _meta(t: Target) -> Result:
    import platform

    meta: Result = {"target": t.name, "dmasim": __version__, "python": platform.python_version(),
                    "numpy": np.__version__,
                    "when": datetime.datetime.now(datetime.timezone.utc).isoformat(
                        timespec="seconds"),
                    "parameters": dict(t.ip_dict["axi_dma_0"].get("parameters", {}))}
    bitfile = _bitfile(t)
    if bitfile:
        h = hashlib.sha256()
        with open(bitfile, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        meta.update(bitfile=str(bitfile), bitstream_sha256=h.hexdigest())
    try:
        import pynq

        meta["pynq"] = pynq.__version__
    except ImportError:
        meta["pynq"] = None
    return meta


def run_probe(target: Target, only: list[str] | None = None) -> Result:
    """Run the experiments (all, or ``only`` these) on ``target``; the report as a dict."""
    names = only if only else list(EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        from .errors import DmasimValueError

        raise DmasimValueError(
            f"unknown probe experiment(s) {unknown}: allowed {list(EXPERIMENTS)}")
    import time

    results: Result = {}
    seconds: dict[str, float] = {}
    for name in names:
        c = _Ctx(target)
        t0 = time.perf_counter()
        target.reset()
        try:
            results[name] = EXPERIMENTS[name](c)
        except DmasimError as exc:
            results[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
        finally:
            target.reset()
            c.free()
            seconds[name] = round(time.perf_counter() - t0, 3)
    return {"format": FORMAT, "meta": {**_meta(target), "seconds": seconds},
            "results": results}


def _flat(results: Mapping[str, Any]) -> dict[str, Any]:
    return {f"{exp}.{key}": value for exp, answers in results.items()
            for key, value in answers.items()}


def compare(reference: Mapping[str, Any], other: Mapping[str, Any]) -> list[str]:
    """Every answer that differs between two reports, as ``experiment.key: a != b`` lines."""
    a, b = _flat(reference["results"]), _flat(other["results"])
    ra, rb = reference["meta"]["target"], other["meta"]["target"]
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "(absent)") != b.get(key, "(absent)"):
            out.append(f"{key}: {ra}={a.get(key, '(absent)')!r} {rb}={b.get(key, '(absent)')!r}")
    return out


def load_report(path: str | Path) -> Result:
    """Read a probe report (JSON), checking its format."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        from .errors import DmasimValueError

        raise DmasimValueError(f"{path} is not a dmasim probe report ({FORMAT})")
    return data


# --- the model takes the board's answers for its uncertain constants -----------------------

MODEL_CONSTANTS: dict[str, tuple[str, Callable[[Any], int | None]]] = {
    # report key -> (constant in dmasim.model.dma, how the answer gives its value)
    "mm2s_readahead.largest_bytes": (
        "SKID_BEATS", lambda v: None if not v else max(int(v) // 4 - 128, 0)),
    "soft_reset_window.first_effective_write": (
        "RESET_CYCLES", lambda v: None if not v else
        (int(v) - 1) * (BUS_ACCESS_NS // 10) + SOFT_RESET_CLOCKS),
}
"""The model's uncertain constants a board report can set, and from which answer. The
read-ahead depth gives the skid beats beyond the 128-beat FIFO; the soft-reset window (in
writes of one default bus access each, 10 ns model clocks) gives the reset length."""


def model_overrides(report: Mapping[str, Any]) -> dict[str, int]:
    """``{constant: value}`` for the model from a (board) report's answers."""
    flat = _flat(report["results"])
    out = {}
    for key, (name, convert) in MODEL_CONSTANTS.items():
        if key in flat:
            value = convert(flat[key])
            if value is not None:
                out[name] = value
    return out


@contextlib.contextmanager
def board_truth(report: Mapping[str, Any] | str | Path) -> Iterator[dict[str, int]]:
    """Models created inside use the report's answers for their uncertain constants."""
    from .model import dma

    data = load_report(report) if isinstance(report, (str, Path)) else report
    overrides = model_overrides(data)
    saved = {name: getattr(dma, name) for name in overrides}
    try:
        for name, value in overrides.items():
            setattr(dma, name, value)
        yield overrides
    finally:
        for name, value in saved.items():
            setattr(dma, name, value)


# --- command line ----------------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    """Add ``probe`` to the ``dmasim`` command line (``sub`` from ``add_subparsers``)."""
    p = sub.add_parser("probe", help="safe register experiments: ground truth from a board")
    p.add_argument("--target", default="model", help="model | rtl | board (default model)")
    p.add_argument("--bitfile", help="board: the overlay .bit")
    p.add_argument("--out", help="write the report (JSON) here")
    p.add_argument("--compare", metavar="REPORT", help="list every answer that differs")
    p.add_argument("--only", help="comma-separated experiments (default: all)")
    p.add_argument("--with-board-truth", metavar="REPORT",
                   help="model: take this report's answers for the uncertain constants")
    p.set_defaults(func=cmd_probe)


def cmd_probe(args: argparse.Namespace) -> int:
    """Run the probe; write and/or compare the report. Exit 1 when answers differ."""
    options: dict[str, Any] = {"bitfile": args.bitfile} if args.bitfile else {}
    only = args.only.split(",") if args.only else None
    truth: contextlib.AbstractContextManager[dict[str, int]] = (
        board_truth(args.with_board_truth) if args.with_board_truth
        else contextlib.nullcontext({}))
    with truth as overrides, open_target(args.target, **options) as t:
        if overrides:
            print(f"model constants from {args.with_board_truth}: {overrides}")
        report = run_probe(t, only)
    text = json.dumps(report, indent=2, sort_keys=True)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text)
    if args.compare:
        diffs = compare(load_report(args.compare), report)
        print(f"{len(diffs)} difference(s) from {args.compare}:")
        for line in diffs:
            print("  " + line)
        return 1 if diffs else 0
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m dmasim.probe``: the same as ``dmasim probe``."""
    parser = argparse.ArgumentParser(prog="dmasim")
    add_parser(parser.add_subparsers(required=True))
    args = parser.parse_args(["probe", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
