"""The Vitis HLS ``ap_ctrl_hs`` block-level protocol, ready-made for a model.

Register map (HLS's s_axi_control convention): 0x00 AP_CTRL (bit0 ap_start, bit1 ap_done
clear-on-read, bit2 ap_idle, bit3 ap_ready clear-on-read, bit7 auto_restart); 0x04 GIE;
0x08 IER (bit0 done, bit1 ready); 0x0C ISR (bits toggle on write); arguments from 0x10, each
32-bit argument at 0x10 + 8 * i.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import DmasimValueError
from .base import StreamIP

__all__ = ["AP_CTRL", "GIE", "IER", "ISR", "HlsControl"]

AP_CTRL, GIE, IER, ISR, ARGS = 0x00, 0x04, 0x08, 0x0C, 0x10
AP_START, AP_DONE, AP_IDLE, AP_READY, AUTO_RESTART = 0x1, 0x2, 0x4, 0x8, 0x80


class HlsControl(StreamIP):
    """An HLS block: takes one input packet per start, calls :meth:`process`, emits the result.

    Subclasses implement ``process(port, data)`` returning a ``{port: array}`` dict, one array
    (sent on the only output stream) or None; arguments are in :attr:`args` (offset -> value)
    or through :meth:`arg`. The interrupt output is ``interrupt``.
    """

    interrupt_port = "interrupt"

    def __init__(self) -> None:
        self.args: dict[int, int] = {}
        self._start = False
        self._done = False
        self._ready = False
        self._auto = False
        self._gie = False
        self._ier = 0
        self._isr = 0
        self.runs = 0

    def process(self, port: str, data: np.ndarray) -> Mapping[str, np.ndarray] | np.ndarray | None:
        """The block's function on one input packet."""
        raise NotImplementedError(f"{type(self).__name__} does not implement process")

    def arg(self, i: int) -> int:
        """32-bit argument ``i`` (at 0x10 + 8 * i)."""
        return self.args.get(ARGS + 8 * i, 0)

    # --- bus side -------------------------------------------------------------------------

    def read(self, offset: int) -> int:
        """AP_CTRL (done/ready clear on read), GIE, IER, ISR, arguments."""
        if offset == AP_CTRL:
            value = ((AP_START if self._start else 0) | (AP_DONE if self._done else 0)
                     | (0 if self._start else AP_IDLE) | (AP_READY if self._ready else 0)
                     | (AUTO_RESTART if self._auto else 0))
            self._done = self._ready = False
            return value
        if offset == GIE:
            return int(self._gie)
        if offset == IER:
            return self._ier
        if offset == ISR:
            return self._isr
        return self.args.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        """ap_start / auto_restart, GIE, IER, ISR toggle, arguments."""
        if offset == AP_CTRL:
            self._auto = bool(value & AUTO_RESTART)
            if value & AP_START:
                self._start = True
        elif offset == GIE:
            self._gie = bool(value & 1)
        elif offset == IER:
            self._ier = value & 3
        elif offset == ISR:
            self._isr ^= value & 3
        elif offset >= ARGS:
            self.args[offset] = value
        self._update_irq()

    def reset(self) -> None:
        """Idle, not started, interrupts off; arguments kept as HLS registers are (reset 0)."""
        self.__init__()  # type: ignore[misc]

    # --- stream side ----------------------------------------------------------------------

    def accepting(self, port: str) -> bool:
        """Input is taken only while the block is started (ap_start or auto-restart)."""
        return self._start

    def stall_reason(self, port: str) -> str | None:
        """Name the missing start."""
        if not self._start:
            return (f"{self.name} is an HLS block that is not started: write AP_START (1) at "
                    "0x00 (or 0x81 for auto-restart) before sending data")
        return None

    def on_packet(self, port: str, data: np.ndarray) -> None:
        """Run the block on one packet, emit its outputs, then signal done/ready."""
        result = self.process(port, data)
        if result is not None:
            outputs = result if isinstance(result, Mapping) else {self._only_output(): result}
            for out, arr in outputs.items():
                self.emit(out, arr)
        self.runs += 1
        self._done = self._ready = True
        self._isr |= self._ier & 3
        if not self._auto:
            self._start = False
        self._update_irq()

    def _only_output(self) -> str:
        outs = [p for p, d in (self.streams or {}).items() if d == "out"]
        if len(outs) != 1:
            outs = outs or ["M_AXIS"]
        if len(outs) != 1:
            raise DmasimValueError(
                f"{self.name}: process() returned one array but the block has outputs "
                f"{', '.join(outs)}: return a dict of port -> array")
        return outs[0]

    def _update_irq(self) -> None:
        if self._host is not None:
            self.raise_interrupt(self.interrupt_port, self._gie and bool(self._isr & self._ier))
