"""``dmasim demo | regs | bench | probe``: the notebook, registers, benchmarks, ground truth."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from . import regmap
from .drivers import LEVELS
from .errors import DmasimError
from .target import Target, available_targets, open_target

__all__ = ["main"]


def _open(args: argparse.Namespace) -> Target:
    options: dict[str, Any] = {}
    if getattr(args, "bitfile", None):
        options["bitfile"] = args.bitfile
    if getattr(args, "length_width", None):
        options["parameters"] = {"c_sg_length_width": args.length_width}
    return open_target(args.target, **options)


def cmd_demo(args: argparse.Namespace) -> int:
    """The notebook: A random below 100000, B cleared, loop back through each level."""
    ok = True
    with _open(args) as t:
        levels = args.level.split(",") if args.level else list(LEVELS)
        print(f"dmasim demo on the {t.name} target: {args.words} words, levels {', '.join(levels)}")
        rng = np.random.default_rng(args.seed)
        for level in levels:
            try:
                dma = t.driver(level)
            except DmasimError as exc:
                print(f"\n[{level}] unavailable: {str(exc).splitlines()[0]}")
                continue
            t.reset()
            a = t.allocate(shape=(args.words,), dtype=np.uint32)
            b = t.allocate(shape=(args.words,), dtype=np.uint32)
            a[:] = rng.integers(0, 100000, args.words)
            b[:] = 0
            t0 = time.perf_counter()
            t_sim = t.now_ns
            dma.recvchannel.transfer(b)
            dma.sendchannel.transfer(a)
            dma.sendchannel.wait()
            dma.recvchannel.wait()
            wall = (time.perf_counter() - t0) * 1e6
            sim = t.now_ns - t_sim
            match = bool(np.array_equal(a, b))
            ok &= match
            print(f"\n[{level}]")
            print("A =", np.array2string(np.asarray(a), max_line_width=100))
            print("B =", np.array2string(np.asarray(b), max_line_width=100))
            clock = f", {sim} ns of {'simulated' if t.simulated else 'board'} time"
            print(f"match: {match}; {wall:.1f} us wall{clock if t.simulated else ''}")
            a.freebuffer()
            b.freebuffer()
    print("\nall levels matched" if ok else "\nMISMATCH")
    return 0 if ok else 1


def cmd_regs(args: argparse.Namespace) -> int:
    """Both channels' registers, decoded into PG021 field names."""
    with _open(args) as t:
        regs = t.ip_mmio("axi_dma_0")
        values = {**regmap.read_channel(regs.read, regmap.MM2S),
                  **regmap.read_channel(regs.read, regmap.S2MM)}
        print(f"axi_dma_0 at 0x{regs.base_addr:08x} on the {t.name} target")
        print(regmap.format_registers(values))
    return 0


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def cmd_bench(args: argparse.Namespace) -> int:
    """Per level and target: 32-word loopback, register reads/s, bulk throughput."""
    from . import bench

    if getattr(args, "remote", False):
        from .remote_bench import main as remote_bench

        return remote_bench(args)
    report: dict[str, Any] = {}
    if args.target == "model" and not args.levels_only:
        report["model"] = bench.model_figures(quick=args.quick)
        report["model"].update(bench.fir_figures(quick=args.quick))
        report["model"].update(bench.sg_figures(quick=args.quick))
        report["sg_drivers"] = bench.sg_driver_figures("model", quick=args.quick)
        report["irq_waits"] = bench.irq_wait_figures("model", quick=args.quick)
    rows = []
    with _open(args) as t:
        levels = args.level.split(",") if args.level else list(LEVELS)
        for level in levels:
            rows.append(bench.level_figures(t, level, quick=args.quick))
        if t.name == "rtl" and not args.levels_only:
            from .rtl.bench import goal_figures

            ok = [r for r in rows if r.big_mb_per_s and r.reg_reads_per_s and not r.error]
            if ok:
                report["rtl"] = goal_figures(
                    t, max(r.big_mb_per_s or 0.0 for r in ok),
                    max(r.reg_reads_per_s or 0.0 for r in ok), quick=args.quick)
    report["levels"] = bench.as_dict(rows)
    file_figures = _file_backed(args.quick)
    if file_figures is not None:
        report["file_backed_register_access"] = {
            name: {"call_per_s": r.call_per_s, "loop_per_s": r.loop_per_s, "note": r.note}
            for name, r in file_figures.results.items()
        }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
        return 0
    if "model" in report:
        m = report["model"]
        print("model goals (issue 2)")
        print(f"  register reads/s        {m['model_reads_per_s']:>12,.0f}  (goal >= 1,000,000; "
              f"{m['read_cost_vs_bare_call']:.1f}x a bare Python method call)")
        print(f"  32-word loopback        {m['loopback_32w_python_us']:>12.1f} us (goal <= 30 us)")
        print(f"  1 MiB loopback          {m['loopback_1mib_us']:>12.0f} us = "
              f"{m['loopback_1mib_vs_copyto']:.1f}x np.copyto of 1 MiB "
              f"({m['copyto_1mib_us']:.0f} us; goal <= 10x)")
        print(f"  1 MiB through a FIR     {m['fir_1mib_us']:>12.0f} us = "
              f"{m['fir_1mib_vs_convolve']:.1f}x np.convolve of the same data, 16 taps "
              f"({m['convolve_1mib_us']:.0f} us; goal <= 20x; model: MM2S -> Python FIR -> S2MM)")
        if "sg_vs_simple" in m:
            print(f"  1 MiB in 256 SG BDs     {m['sg_1mib_256bd_us']:>12.0f} us = "
                  f"{m['sg_vs_simple']:.1f}x one simple-mode 1 MiB transfer at register level "
                  f"({m['simple_regs_1mib_us']:.0f} us; goal <= 2x; CPU time "
                  f"{m['sg_vs_simple_cpu']:.1f}x; chain planned afresh "
                  f"{m.get('sg_fresh_vs_simple', float('nan')):.1f}x; BD rings rebuilt each "
                  f"time vs the python driver {m['sg_e2e_vs_simple']:.1f}x)")
        print()
    if "rtl" in report:
        g = report["rtl"]
        print("rtl goals (issue 11)")
        print(f"  simulator limit         {g['limit_clocks_per_s']:>12,.0f} clocks/s "
              f"(the design clocked by a bare C++ loop, a loopback streaming; "
              f"= {g['limit_mb_per_s']:.2f} MB/s at {g['beat_bytes']} bytes a clock)")
        print(f"  bulk loopback           {g['bulk_mb_per_s']:>12.2f} MB/s = "
              f"{g['bulk_vs_limit']:.0%} of the limit (goal >= 50 %; best level, 1 MiB)")
        print(f"  register reads/s        {g['reg_reads_per_s']:>12,.0f} = "
              f"{g['reg_reads_vs_goal']:.0%} of the goal of 250,000/s (writes/s "
              f"{g['reg_write_per_s']:,.0f} = {g['reg_writes_vs_goal']:.0%}, write+read "
              f"{g['reg_mixed_per_s']:,.0f}/s; each access {g['bus_access_ns']} ns of "
              "simulated bus access time)")
        print(f"  register reads, no host {g['limit_reads_per_s']:>12,.0f}/s (the bare C++ "
              f"loop, {g['limit_clocks_per_read']:.0f} clocks a read, "
              f"{g['limit_skipped_per_read']:.0f} of them skipped as idle: the target's reads run "
              f"at {g['reg_reads_vs_limit']:.0%} of it; the rest is the host's round trip)")
        print(f"  at {g['fast_bus_ns']} ns a bus access  {g['reg_reads_fast_bus_per_s']:>10,.0f} "
              f"= {g['reg_reads_fast_bus_vs_goal']:.0%} of the goal (writes/s "
              f"{g['reg_writes_fast_bus_per_s']:,.0f}; one clock an access: the command path)")
        print()
    if "sg_drivers" in report:
        print(bench.format_sg_drivers(report["sg_drivers"]))
        print()
    if "irq_waits" in report:
        print(bench.format_irq_waits(report["irq_waits"]))
        print()
    print(f"{'target':<7} {'level':<9} {'32 words us':>12} {'reg reads/s':>12} "
          f"{'bulk bytes':>11} {'bulk MB/s':>10}  note")
    for r in rows:
        print(f"{r.target:<7} {r.level:<9} {_fmt(r.loopback_32w_us, '12.1f')} "
              f"{_fmt(r.reg_reads_per_s, '12,.0f')} {r.big_bytes:>11} "
              f"{_fmt(r.big_mb_per_s, '10.2f')}  {r.error}")
    if file_figures is not None:
        print("\nregister reads over a file-backed mapping (the board code path with a file in "
              "place of /dev/mem)")
        print(file_figures.format())
    return 0


def _file_backed(quick: bool) -> Any:
    """Levels (ii)-(iv) over a file standing in for /dev/mem (the board's code path)."""
    from .drivers.native import bench as native_bench

    try:
        return native_bench.bench_registers(
            loop_reads=1_000_000 if quick else 10_000_000,
            calls=20_000 if quick else 200_000,
        )
    except DmasimError as exc:
        print(f"file-backed benchmark unavailable: {exc}", file=sys.stderr)
        return None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used for ``--help`` tests)."""
    parser = argparse.ArgumentParser(
        prog="dmasim",
        description="Test AXI DMA drivers against a model, an RTL simulation or a PYNQ board.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--target", default="model", choices=available_targets(),
                       help="model (default), rtl or board")
        p.add_argument("--bitfile", help="board target: overlay .bit to load")
        p.add_argument("--length-width", type=int,
                       help="simulated targets: c_sg_length_width (8..26)")

    p = sub.add_parser("demo", help="the notebook's loopback through every driver level")
    common(p)
    p.add_argument("--words", type=int, default=32, help="32-bit words to loop back")
    p.add_argument("--level", help="comma-separated driver levels (default: all)")
    p.add_argument("--seed", type=int, default=None, help="random seed for A")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("regs", help="print both channels' registers decoded")
    common(p)
    p.set_defaults(func=cmd_regs)

    p = sub.add_parser("bench", help="per-level timings, register rates, throughput")
    common(p)
    p.add_argument("--level", help="comma-separated driver levels (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    p.add_argument("--levels-only", action="store_true", help="skip the model goal figures")
    p.add_argument("--remote", action="store_true",
                   help="through dmasim serve on localhost: register round trips, 1 MiB "
                        "contents (--suite: the model suite remote vs local)")
    p.add_argument("--suite", action="store_true",
                   help="with --remote: also time the whole model suite remote and local")
    p.set_defaults(func=cmd_bench)
    from .serve import add_parser as add_serve

    add_serve(sub)

    from .probe import add_parser as add_probe

    add_probe(sub)  # dmasim probe: ground truth from a board (dmasim/probe.py)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dmasim`` command."""
    args = build_parser().parse_args(argv)
    if getattr(args, "words", 1) < 1:
        print(f"dmasim: --words {args.words} must be at least 1", file=sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except DmasimError as exc:
        print(f"dmasim: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
