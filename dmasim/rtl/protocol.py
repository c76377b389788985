"""The wire protocol between the rtl target (host) and its simulator's cocotb server.

Fixed 16-byte little-endian records over two pipes, one command and one reply each, in
order. The host may send several commands before reading their replies (posted register
writes and delays), so a reply says which command it answers only by position. The
simulator side is C (``rtl_tb/hdl/dmasim_sim_host.cpp``) and HDL (the host loop in
``rtl_tb/hdl/dmasim_sim_top.v``); keep the three in step.
"""

from __future__ import annotations

import struct

__all__ = [
    "CMD",
    "OP_DELAY",
    "OP_QUIT",
    "OP_READ",
    "OP_RESET",
    "OP_STATUS",
    "OP_WRITE",
    "RECORD",
    "REPLY",
    "ST_AXI_TIMEOUT",
    "ST_BAD_COMMAND",
    "ST_OK",
]

CMD = struct.Struct("<BBHIQ")
"""Command: op, flags (unused), pad, arg32, arg64."""
REPLY = struct.Struct("<BBHIQ")
"""Reply: status, interrupt levels (bit 0 mm2s_introut, bit 1 s2mm_introut), pad, value,
simulated time in ns after the command."""
RECORD = 16

OP_QUIT = 0
"""End the simulation (the server also ends on end of file of its command pipe)."""
OP_READ = 1
"""AXI-Lite read of register offset arg64; reply value = data."""
OP_WRITE = 2
"""AXI-Lite write of arg32 to register offset arg64."""
OP_DELAY = 3
"""Let arg64 ns pass."""
OP_RESET = 4
"""Hold the design's reset for arg32 clocks (power-on reset)."""
OP_STATUS = 5
"""No-op: reply with the interrupt levels and time (also the start-up handshake)."""

ST_OK = 0
ST_AXI_TIMEOUT = 1
"""The register access got no AXI-Lite response (a hung slave); value holds the offset."""
ST_BAD_COMMAND = 2
"""The server did not understand the command."""

assert CMD.size == RECORD and REPLY.size == RECORD
