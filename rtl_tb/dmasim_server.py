"""The cocotb side of the ``rtl`` target's simulator: start it and wait for the host to leave.

The commands themselves are served in HDL and C (``rtl_tb/hdl/dmasim_sim_top.v`` and
``dmasim_sim_host.cpp``): a register access or a delay involves no Python, which is what
makes the target fast. This test only keeps the cocotb regression alive until the host
closes the command pipe (``finished`` rises), so cocotb ends the simulation cleanly and
the wave file is complete.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import RisingEdge


@cocotb.test()
async def serve(dut) -> None:  # type: ignore[no-untyped-def]
    """Run until the host closes the command pipe."""
    if not dut.finished.value.is_resolvable or int(dut.finished.value) == 0:
        await RisingEdge(dut.finished)
