"""The base class of a user's AXI-Stream IP model on the ``model`` target.

A model sees its IP the way the block design does: input streams deliver whole TLAST-delimited
packets to :meth:`StreamIP.on_packet`, :meth:`StreamIP.emit` sends a packet out of an output
stream, and :meth:`StreamIP.read` / :meth:`StreamIP.write` serve its AXI-Lite window. The model
target attaches it to the simulated design (its clock, its stream links, its interrupt lines).
A model buffers whole packets (store and forward): its output starts ``latency_cycles`` after
the last beat of the input packet that produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal, Protocol

import numpy as np

from ..errors import DmasimValueError, TargetError
from .registers import RegisterTable

__all__ = ["IpHost", "StreamIP", "word_dtype"]


def word_dtype(tdata_bytes: int) -> np.dtype:
    """The numpy word type of a stream ``tdata_bytes`` wide (u1/u2/u4/u8; bytes otherwise)."""
    return np.dtype({1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}.get(tdata_bytes, "<u1"))


class IpHost(Protocol):
    """What a target gives an attached model: time, its output streams, its interrupt lines."""

    @property
    def now_ns(self) -> int:
        """The target's time."""
        ...

    def emit(self, port: str, data: np.ndarray, last: bool) -> None:
        """Queue ``data`` (bytes) on output ``port``; ``last`` ends the packet (TLAST)."""
        ...

    def set_interrupt(self, port: str, level: bool) -> None:
        """Drive interrupt output ``port``."""
        ...


class StreamIP:
    """Subclass this to model your IP.

    Override :meth:`on_packet` and, if it has registers, :meth:`read` / :meth:`write` (or fill
    :attr:`registers`).

    ``throughput`` is the input beats it accepts per clock (0.5: two clocks per beat);
    ``latency_cycles`` the clocks from an input packet's last beat to its first output beat.
    ``streams`` may declare the model's ports (``{"S_AXIS": "in", "M_AXIS": "out"}``); when
    set, opening a design that connects a port the model lacks is an error.
    """

    throughput: float = 1.0
    latency_cycles: int = 0
    streams: ClassVar[Mapping[str, Literal["in", "out"]] | None] = None
    registers: RegisterTable | None = None

    _host: IpHost | None = None
    name: str = ""

    # --- to override ----------------------------------------------------------------------

    def read(self, offset: int) -> int:
        """A 32-bit AXI-Lite read at window ``offset`` (default: :attr:`registers`, else 0)."""
        return self.registers.read(offset) if self.registers is not None else 0

    def write(self, offset: int, value: int) -> None:
        """A 32-bit AXI-Lite write at window ``offset`` (default: :attr:`registers`)."""
        if self.registers is not None:
            self.registers.write(offset, value)

    def on_packet(self, port: str, data: np.ndarray) -> None:
        """One TLAST-delimited packet arrived on input ``port``.

        ``data`` has the stream's word type (bytes when not a whole number of words).
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement on_packet")

    def accepting(self, port: str) -> bool:
        """False while the IP does not take data on input ``port`` (TREADY low)."""
        return True

    def stall_reason(self, port: str) -> str | None:
        """Why ``port`` is not accepting, for hang diagnosis (None: no particular reason)."""
        return None

    def reset(self) -> None:
        """Power-on reset (default: :attr:`registers` to reset values)."""
        if self.registers is not None:
            self.registers.reset()

    # --- provided -------------------------------------------------------------------------

    def emit(self, port: str, data: np.ndarray, last: bool = True) -> None:
        """Send ``data`` out of output stream ``port``, TLAST on its last word if ``last``.

        With ``last=False`` the packet stays open and the next emit continues it.
        """
        host = self._require_host()
        arr = np.ascontiguousarray(data)
        if arr.dtype.kind not in "uib":
            raise DmasimValueError(
                f"{self.name}.emit({port!r}): data of dtype {arr.dtype} must be integers")
        host.emit(port, arr, last)

    @property
    def now_ns(self) -> int:
        """The target's time in ns."""
        return self._require_host().now_ns

    def raise_interrupt(self, port: str = "interrupt", level: bool = True) -> None:
        """Drive interrupt output ``port`` to ``level``."""
        self._require_host().set_interrupt(port, level)

    def _require_host(self) -> IpHost:
        if self._host is None:
            raise TargetError(
                f"{type(self).__name__} is not attached to a target: pass it in "
                "open_target('model', design=..., models={name: model})")
        return self._host

    def _attach(self, name: str, host: IpHost | None) -> None:
        """Bind to a target (the model target calls this when it opens)."""
        self.name = name
        self._host = host
