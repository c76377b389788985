"""Stand-ins for the board's hardware so the board target's code runs here on the model.

- :class:`BoardFakeDevice`: dmasim's :class:`SimulatedDevice` (a pynq ``Device`` whose
  registers and buffers are the model's) plus what pynq's board path needs: the .hwh parsed
  the way pynq 4.0's ``EmbeddedDevice`` does (``RuntimeMetadataParser``), a Zynq ``arch`` and
  a scratch SLCR for pynq's PL clock code.
- :class:`ModelWindow`: a register window forwarding to the model's bus, used as the board
  target's ``open_window`` in place of a ``/dev/mem`` mapping.
- :func:`overlay_dir`: a .bit/.hwh pair as copied to ``/home/xilinx/overlays``.
- :class:`FakeIntc`, :class:`FakeUio`, :class:`RunningPl`: the PL's AXI interrupt controller
  (its registers, inputs wired to the model's interrupt lines), the UIO device Linux gives its
  ``irq`` (a pseudo-terminal pynq's ``UioController`` opens and reads as it would
  ``/dev/uioN``), and a thread that runs the model in wall-clock time as the PL would,
  raising the UIO interrupt while the controller's ``irq`` is high.
"""

from __future__ import annotations

import os
import pty
import shutil
import threading
import time
import tty
from collections.abc import Callable, Sequence
from contextlib import nullcontext, suppress
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
    """The model behind pynq's Device API, parsing overlays as pynq does on the board.

    ``windows`` maps extra register windows (``base -> window``, e.g. a :class:`FakeIntc`)
    that the model does not have; ``lock`` (when a :class:`RunningPl` runs the model in a
    thread) serialises every access to the model.
    """

    arch = "armv7l"

    def __init__(self, target: Target):
        super().__init__(target)
        self.slcr = dict(SLCR_RESET)
        self.downloads: list[str] = []
        self.windows: dict[int, Any] = {}
        self.lock: Any = nullcontext()

    def _extra(self, address: int) -> tuple[Any, int] | None:
        for base, win in self.windows.items():
            if base <= address < base + win.length:
                return win, address - base
        return None

    def allocate(self, shape: Any, dtype: Any = "u4", **kwargs: Any) -> Any:
        with self.lock:
            return super().allocate(shape, dtype, **kwargs)

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
        extra = self._extra(address)
        if extra is not None:
            return int(extra[0].read(extra[1])).to_bytes(4, "little")
        with self.lock:
            return super().read_registers(address, length)

    def write_registers(self, address: int, data: Any) -> None:
        if SLCR <= address < SLCR + 0x200:
            self.slcr[address - SLCR] = int.from_bytes(bytes(data), "little")
            return
        extra = self._extra(address)
        if extra is not None:
            extra[0].write(extra[1], int.from_bytes(bytes(data), "little"))
            return
        with self.lock:
            super().write_registers(address, data)


class ModelWindow:
    """A register window of the model, shaped like :class:`dmasim.board.devmem.DevMem`."""

    def __init__(self, model: Target, base: int, length: int, log: list[tuple] | None = None,
                 lock: Any = None):
        self.model, self.base, self.length = model, base, length
        self.log = log if log is not None else []
        self.lock = lock if lock is not None else nullcontext()
        self.closed = False

    def read(self, offset: int) -> int:
        with self.lock:
            value = self.model.bus.read32(self.base + offset)
        self.log.append(("R", self.base + offset, value))
        return value

    def write(self, offset: int, value: int) -> None:
        self.log.append(("W", self.base + offset, value))
        with self.lock:
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


# --- the PL's interrupt path: axi_intc, its UIO device, the PL running -------------------------


class FakeIntc:
    """An AXI interrupt controller's registers (PG099) with level inputs from the model.

    ISR latches every input that is high (hardware interrupts enabled: MER.HIE); IPR is
    ISR & IER; IAR, SIE and CIE clear ISR bits, set and clear IER bits; ``irq`` (to the PS)
    is high while MER.ME is set and an enabled bit is pending. ``inputs()`` gives the level of
    the ``intr`` bus now, bit ``i`` for input ``i``.
    """

    ISR, IPR, IER, IAR, SIE, CIE, IVR, MER = range(0, 0x20, 4)

    def __init__(self, base: int, inputs: Callable[[], int], length: int = 0x1_0000):
        self.base, self.length = base, length
        self.inputs = inputs
        self.isr = self.ier = self.mer = 0
        self.log: list[tuple[str, int, int]] = []
        self.closed = False

    def sample(self) -> None:
        """Latch the inputs that are high now."""
        if self.mer & 2:
            self.isr |= self.inputs()

    @property
    def irq(self) -> bool:
        """The controller's output to the PS."""
        self.sample()
        return bool(self.mer & 1 and self.isr & self.ier)

    def read(self, offset: int) -> int:
        self.sample()
        value = {self.ISR: self.isr, self.IPR: self.isr & self.ier, self.IER: self.ier,
                 self.MER: self.mer}.get(offset, 0)
        if offset == self.IVR:
            pending = self.isr & self.ier
            value = (pending & -pending).bit_length() - 1 if pending else 0xFFFF_FFFF
        self.log.append(("R", offset, value))
        return value

    def write(self, offset: int, value: int) -> None:
        self.log.append(("W", offset, value))
        if offset == self.IER:
            self.ier = value
        elif offset == self.IAR:
            self.isr &= ~value
        elif offset == self.SIE:
            self.ier |= value
        elif offset == self.CIE:
            self.ier &= ~value
        elif offset == self.MER:
            self.mer = value & 3
        self.sample()

    def close(self) -> None:
        self.closed = True


class FakeUio:
    """A UIO device as ``uio_pdrv_genirq`` presents one, on a pseudo-terminal in raw mode.

    pynq opens :attr:`path`, writes a nonzero 32-bit word to enable the interrupt, and reads
    the 32-bit event count when it fires; the kernel disables the line each time it fires, so
    one enable gives one event. :meth:`poll` plays the kernel's part.
    """

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.enabled = False
        self.events = 0
        self.enables = 0
        self._partial = b""

    def poll(self, irq: bool) -> None:
        """Take pynq's enable writes, then fire once if enabled and ``irq`` is high."""
        try:
            data = self._partial + os.read(self.master, 4096)
        except BlockingIOError:
            data = self._partial
        whole = len(data) // 4 * 4
        for i in range(0, whole, 4):
            self.enabled = int.from_bytes(data[i:i + 4], "little") != 0
            self.enables += 1
        self._partial = data[whole:]
        if self.enabled and irq:
            self.events += 1
            self.enabled = False
            os.write(self.master, self.events.to_bytes(4, "little"))

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with suppress(OSError):
                os.close(fd)


class RunningPl:
    """The model running in a thread as the PL does (wall-clock paced), driving the UIO.

    Every tick: ``tick_ns`` of model time pass, the controller samples its inputs and the UIO
    device fires if enabled and the controller's ``irq`` is high. ``lock`` serialises the
    model between this thread and the CPU's accesses (the windows and the device take it too).
    """

    def __init__(self, model: Target, intc: FakeIntc, uio: FakeUio, lock: Any,
                 tick_ns: int = 2_000, period_s: float = 50e-6):
        self.model, self.intc, self.uio = model, intc, uio
        self.tick_ns, self.period_s = tick_ns, period_s
        self.lock = lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-pl", daemon=True)
        self.error: BaseException | None = None
        self.fired = False

    def start(self) -> RunningPl:
        self._thread.start()
        return self

    def when(self, condition: Callable[[], bool], action: Callable[[], object],
             timeout_s: float = 5.0) -> None:
        """From another thread, run ``action()`` once ``condition()`` holds (e.g. "the CPU
        sleeps in pynq's wait": its input enabled on the controller). :attr:`fired` says
        whether it did; the action runs at the timeout too, so nothing waits for ever."""
        def watch() -> None:
            met = _poll(condition, timeout_s)
            self.fired = met  # before the action: its interrupt may end the CPU's wait at once
            action()

        self.fired = False
        threading.Thread(target=watch, name="fake-pl-when", daemon=True).start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.period_s):
                with self.lock:
                    self.model.delay(self.tick_ns)
                    irq = self.intc.irq
                self.uio.poll(irq)
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.error is not None:
            raise self.error


def _poll(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.001)
    return False


def dma_lines(model: Target, ports: Sequence[str], lock: Any) -> Callable[[], int]:
    """The ``intr`` bus of a controller whose input ``i`` is the model's line ``ports[i]``."""
    def levels() -> int:
        with lock:
            now = model.interrupts()
        return sum(1 << i for i, port in enumerate(ports) if now[port])
    return levels
