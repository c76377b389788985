"""pytest entry point of the cocotb protocol testbench of dmasim_bd (``tb_dmasim_bd.py``).

Each parameter set is built by Verilator into its own directory under ``rtl_tb/sim_build/``
(so the tests are safe under pytest-xdist) and runs every cocotb test of the module.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

RTL_TB = Path(__file__).resolve().parent
ROOT = RTL_TB.parent
RTL = ROOT / "hw" / "rtl"
SOURCES = [
    RTL / "dmasim_axis_fifo.v",
    RTL / "dmasim_dma_regs.v",
    RTL / "dmasim_dma_mm2s.v",
    RTL / "dmasim_dma_s2mm.v",
    RTL / "dmasim_dma.v",
    RTL / "dmasim_bd.v",
    RTL_TB / "dmasim_bd_tb.v",
]

PARAM_SETS = {
    # the PYNQ-Z2 design: 32-bit, 26-bit LENGTH, 16-beat bursts, direct loopback wire
    "default": {},
    # a wider, narrower-length, longer-burst variant with a loopback FIFO
    "wide": {
        "DATA_WIDTH": 64,
        "LENGTH_WIDTH": 14,
        "MM2S_BURST_SIZE": 64,
        "S2MM_BURST_SIZE": 8,
        "LOOPBACK_FIFO_DEPTH": 16,
    },
}


def _verilator_on_path() -> bool:
    try:
        import verilator  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        vbin = Path(sys.modules["verilator"].__file__).parent / "bin"
        if vbin.is_dir() and str(vbin) not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = str(vbin) + os.pathsep + os.environ.get("PATH", "")
    pybin = str(Path(sys.executable).parent)
    if pybin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = pybin + os.pathsep + os.environ.get("PATH", "")
    return shutil.which("verilator") is not None


@pytest.mark.rule("DIAG-MODEL-RTL")
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PARAM_SETS))
def test_rtl_protocols(name: str) -> None:
    """Build dmasim_bd with one parameter set and run the cocotb protocol tests on it."""
    pytest.importorskip("cocotb")
    pytest.importorskip("cocotbext.axi")
    if not _verilator_on_path():
        pytest.skip("verilator is not installed")
    from cocotb_tools.runner import get_runner

    params = PARAM_SETS[name]
    build_dir = RTL_TB / "sim_build" / f"protocols_{name}"
    runner = get_runner("verilator")
    runner.build(
        sources=SOURCES,
        includes=[RTL],
        hdl_toplevel="dmasim_bd_tb",
        build_dir=build_dir,
        parameters=params,
        build_args=["-Wno-fatal"],
        always=False,
    )
    pythonpath = os.pathsep.join([str(ROOT), str(RTL_TB), os.environ.get("PYTHONPATH", "")])
    results = runner.test(
        test_module="tb_dmasim_bd",
        hdl_toplevel="dmasim_bd_tb",
        build_dir=build_dir,
        test_dir=build_dir,
        extra_env={
            "DMASIM_TB_PARAMS": json.dumps(params),
            "PYTHONPATH": pythonpath,
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        },
        results_xml=str(build_dir / "results.xml"),
    )
    tree = ET.parse(results)
    failures = [
        tc.get("name")
        for tc in tree.iter("testcase")
        if tc.find("failure") is not None or tc.find("error") is not None
    ]
    ran = sum(1 for _ in tree.iter("testcase"))
    assert ran > 0, "no cocotb test ran"
    assert not failures, f"cocotb tests failed: {failures}"
