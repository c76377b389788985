"""Stand-ins for the board's hardware so the board target's code runs here on the model.

- :class:`BoardFakeDevice`: dmasim's :class:`SimulatedDevice` (a pynq ``Device`` whose
  registers and buffers are the model's) plus what pynq's board path needs: the .hwh parsed
  the way pynq 4.0's ``EmbeddedDevice`` does (``RuntimeMetadataParser``), a Zynq ``arch`` and
  a scratch SLCR for pynq's PL clock code.
- :class:`ModelWindow`: a register window forwarding to the model's bus, used as the board
  target's ``open_window`` in place of a ``/dev/mem`` mapping.
- :func:`overlay_dir`: a .bit/.hwh pair as copied to ``/home/xilinx/overlays``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from dmasim.pynq_device import SimulatedDevice
from dmasim.target import Target

DATA = Path(__file__).parent / "data" / "dma_loopback_1.hwh"
"""The generated loopback .hwh, checked in (``python -m dmasim.board.hwh PATH`` rewrites it)."""

ZYNQ_COMPATIBLE = b"tul,pynq-z2\0xlnx,zynq-7000\0"
SLCR = 0xF800_0000
# IO/ARM/DDR PLL feedback dividers as a PYNQ-Z2 boots (50 MHz reference).
SLCR_RESET = {0x100: 40 << 12, 0x104: 32 << 12, 0x108: 30 << 12}


class BoardFakeDevice(SimulatedDevice):
    """The model behind pynq's Device API, parsing overlays as pynq does on the board."""

    arch = "armv7l"

    def __init__(self, target: Target):
        super().__init__(target)
        self.slcr = dict(SLCR_RESET)
        self.downloads: list[str] = []

    def get_bitfile_metadata(self, bitfile_name: str, partial: bool = False) -> Any:
        from pynqmetadata.frontends import Metadata
        from pynqmetadata.views.runtime import RuntimeMetadataParser

        return RuntimeMetadataParser(Metadata(input=os.path.splitext(bitfile_name)[0] + ".hwh"))

    def download(self, bitstream: Any, parser: Any = None) -> None:
        self.downloads.append(bitstream.bitfile_name)
        super().download(bitstream, parser)

    def read_registers(self, address: int, length: int) -> bytes:
        if SLCR <= address < SLCR + 0x200:
            return self.slcr.get(address - SLCR, 0).to_bytes(4, "little")
        return super().read_registers(address, length)

    def write_registers(self, address: int, data: Any) -> None:
        if SLCR <= address < SLCR + 0x200:
            self.slcr[address - SLCR] = int.from_bytes(bytes(data), "little")
            return
        super().write_registers(address, data)


class ModelWindow:
    """A register window of the model, shaped like :class:`dmasim.board.devmem.DevMem`."""

    def __init__(self, model: Target, base: int, length: int, log: list[tuple] | None = None):
        self.model, self.base, self.length = model, base, length
        self.log = log if log is not None else []
        self.closed = False

    def read(self, offset: int) -> int:
        value = self.model.bus.read32(self.base + offset)
        self.log.append(("R", self.base + offset, value))
        return value

    def write(self, offset: int, value: int) -> None:
        self.log.append(("W", self.base + offset, value))
        self.model.bus.write32(self.base + offset, value)

    def close(self) -> None:
        self.closed = True


def overlay_dir(tmp: Path, name: str = "dma_loopback_1", hwh: bool = True) -> Path:
    """A directory with ``name.bit`` (placeholder bytes) and the generated ``name.hwh``."""
    bit = tmp / f"{name}.bit"
    bit.write_bytes(b"\x00\x09placeholder")
    if hwh:
        shutil.copy(DATA, tmp / f"{name}.hwh")
    return bit


BOOTED_AT = 1_700_000_000
"""The fake /proc/stat's boot time (2023-11-14): files written by the tests are newer."""


def board_files(tmp: Path) -> dict[str, Any]:
    """Test-only paths: a writable stand-in for /dev/mem, a Zynq device-tree compatible, the
    FPGA manager's state (programmed since boot) and a /proc/stat with the boot time; no PL310
    sync (the stand-in is one page; tests/test_barrier.py maps the PL310 on its own)."""
    devmem = tmp / "devmem"
    devmem.write_bytes(b"\0" * 4096)
    compat = tmp / "compatible"
    compat.write_bytes(ZYNQ_COMPATIBLE)
    fpga = tmp / "fpga0_state"
    fpga.write_text("operating\n")
    stat = tmp / "proc_stat"
    stat.write_text(f"cpu  1 2 3 4\nbtime {BOOTED_AT}\nprocesses 42\n")
    return {"devmem_path": str(devmem), "dt_compatible_path": str(compat),
            "fpga_state_path": str(fpga), "proc_stat_path": str(stat), "outer_sync_addr": None}


def record_loaded(bitfile: Path | str) -> Path:
    """Record ``bitfile`` as loaded exactly as this pynq does after a download.

    Uses pynq's own ``GlobalState`` and ``save_global_state`` (so the file has this pynq
    version's name and format: ``global_pl_state.json`` in 3.0, ``global_pl_state_.json``
    from 3.1) in ``global_state.STATE_DIR``, which the tests point at a temporary directory.
    """
    from pynq.pl_server import global_state as gs

    state = gs.GlobalState(bitfile_name=str(bitfile), active_name="fake_zynq",
                           timestamp="2026/11/30 12:0:0 +0",
                           bitfile_hash=gs.bitstream_hash(str(bitfile)))
    gs.save_global_state(state)
    written = [p for p in Path(gs.STATE_DIR).glob("global_pl_state*.json")]
    assert len(written) == 1, written
    return written[0]
