"""Design constants other than the register map: the one source for every language.

The model, the Python drivers, the C driver core (through the generated
``dmasim/drivers/native/dmasim_constants.h``) and the RTL (through the generated
``hw/rtl/dmasim_constants.vh``) take these numbers from here; ``python -m dmasim.constants
{verilog,c}`` prints the generated files and a test keeps the checked-in copies fresh.
The behaviour they set is specified in ``docs/axi-dma-behaviour.md`` (rules ``FLOW-*``,
``POLL-*`` and ``CACHE-*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._views import print_view

__all__ = [
    "CACHE_LINE",
    "IRQ_WAIT_TIMEOUT_NS",
    "MM2S_SF_BURSTS",
    "MM2S_SF_MIN_BEATS",
    "PAGE",
    "POLL_FIRST_BACKOFF_NS",
    "POLL_MAX_BACKOFF_NS",
    "POLL_MAX_FIRST_WAIT_NS",
    "POLL_NS_PER_BYTE",
    "POLL_WALL_GUARD_NS",
    "S2MM_SKID_BEATS",
    "SG_BD_FETCH_CYCLES",
    "SG_DELAY_EXTRA_TICKS",
    "SG_DLYTMR_RESOLUTION",
    "SG_PREFETCH_BDS",
    "c_header",
    "mm2s_fifo_beats",
    "readahead_bytes",
    "verilog_header",
]

# --- loopback flow control (rules FLOW-SF-DEPTH, FLOW-SKID) ------------------------------

MM2S_SF_BURSTS = 6
"""MM2S's store-and-forward FIFO holds (4 + 2) bursts, rounded up to a power of two..."""
MM2S_SF_MIN_BEATS = 128
"""...and at least this many beats."""
S2MM_SKID_BEATS = 2
"""Beats S2MM's input skid buffer takes before LENGTH is written (the IP takes 4: a known
departure, see the behaviour document)."""

# --- scatter-gather engine (rules SG-*) ---------------------------------------------------

SG_PREFETCH_BDS = 2
"""BDs a channel's fetcher reads ahead of the one in the data mover (uncertain: the IP's
depth is read as 1-2; settle by reading CURDESC on a board while S2MM waits for data)."""
SG_BD_FETCH_CYCLES = 24
"""SG clocks one BD fetch takes: an 8-beat read burst plus about 16 clocks of DDR latency
(uncertain: settle by vendor-RTL simulation of a BD fetch on the PYNQ-Z2's HP port)."""
SG_DLYTMR_RESOLUTION = 125
"""Default ``c_dlytmr_resolution``: SG clocks per delay-timer tick."""
SG_DELAY_EXTRA_TICKS = 1
"""Dly_Irq sets (IRQDelay + this) ticks after a packet's end. Read from the IP's RTL as 1;
PG021 says IRQDelay ticks, i.e. 0 (uncertain: settle by vendor-RTL simulation or board
timing of IRQDelay=1 against IRQDelay=2)."""

IRQ_WAIT_TIMEOUT_NS = 1_000_000_000
"""Target time ``Target.interrupt()`` waits for a line by default before it raises."""

# --- driver polling (rules POLL-*) -------------------------------------------------------

POLL_FIRST_BACKOFF_NS = 100
"""First pause between two reads of a polled register; it doubles after each read..."""
POLL_MAX_BACKOFF_NS = 100_000
"""...up to this."""
POLL_NS_PER_BYTE = 2
"""A wait for Idle sleeps this long per byte (500 MB/s, a little faster than the design's
~400 MB/s) after the transfer was programmed before its first read..."""
POLL_MAX_FIRST_WAIT_NS = 100_000_000
"""...but never longer than this (a 50 MB transfer)."""
POLL_WALL_GUARD_NS = 120_000_000_000
"""A poll whose simulator makes no progress for this much wall time gives up."""

# --- CPU cache (rules CACHE-*) -----------------------------------------------------------

CACHE_LINE = 32
"""Cortex-A9 L1/L2 cache line, bytes."""
PAGE = 4096
"""MMU page: a cacheable buffer's CPU and physical addresses agree modulo this."""


def mm2s_fifo_beats(burst_size: int) -> int:
    """MM2S store-and-forward FIFO depth in beats for ``c_mm2s_burst_size``."""
    depth = 1
    while depth < MM2S_SF_BURSTS * burst_size:
        depth *= 2
    return max(depth, MM2S_SF_MIN_BEATS)


def readahead_bytes(params: Mapping[str, Any]) -> int:
    """Bytes MM2S moves with S2MM not started: its FIFO plus S2MM's skid, for ``params``.

    ``params`` are the DMA's .hwh parameters (strings or integers); missing ones take the
    IP defaults (16-beat bursts, 32-bit data).
    """

    def get(name: str, default: int) -> int:
        value = params.get(name, default)
        return int(value, 0) if isinstance(value, str) else int(value)

    beat = get("c_m_axi_mm2s_data_width", 32) // 8
    return (mm2s_fifo_beats(get("c_mm2s_burst_size", 16)) + S2MM_SKID_BEATS) * beat


def _constants() -> list[tuple[str, int, str]]:
    """(name, value, comment) for every constant the Verilog and C headers carry."""
    return [
        ("MM2S_SF_BURSTS", MM2S_SF_BURSTS, "MM2S FIFO: this many bursts, next power of two"),
        ("MM2S_SF_MIN_BEATS", MM2S_SF_MIN_BEATS, "MM2S FIFO: at least this many beats"),
        ("S2MM_SKID_BEATS", S2MM_SKID_BEATS, "S2MM input skid buffer, beats"),
        ("SG_PREFETCH_BDS", SG_PREFETCH_BDS, "SG: BDs fetched ahead of the data mover"),
        ("SG_BD_FETCH_CYCLES", SG_BD_FETCH_CYCLES, "SG: clocks per BD fetch"),
        ("SG_DLYTMR_RESOLUTION", SG_DLYTMR_RESOLUTION, "SG: default clocks per delay tick"),
        ("SG_DELAY_EXTRA_TICKS", SG_DELAY_EXTRA_TICKS, "SG: Dly_Irq after IRQDelay+this"),
        ("POLL_FIRST_BACKOFF_NS", POLL_FIRST_BACKOFF_NS, "first pause between polls"),
        ("POLL_MAX_BACKOFF_NS", POLL_MAX_BACKOFF_NS, "pauses double up to this"),
        ("POLL_NS_PER_BYTE", POLL_NS_PER_BYTE, "wait_idle sleeps this per byte first"),
        ("POLL_MAX_FIRST_WAIT_NS", POLL_MAX_FIRST_WAIT_NS, "wait_idle's first sleep at most"),
        ("POLL_WALL_GUARD_NS", POLL_WALL_GUARD_NS, "wall time a stuck poll waits"),
        ("CACHE_LINE", CACHE_LINE, "Cortex-A9 cache line, bytes"),
        ("PAGE", PAGE, "MMU page, bytes"),
    ]


def verilog_header() -> str:
    """The constants as Verilog ``define``s (``hw/rtl/dmasim_constants.vh``)."""
    lines = [
        "// Generated by `python -m dmasim.constants verilog` from dmasim/constants.py. "
        "Do not edit.",
        "`ifndef DMASIM_CONSTANTS_VH",
        "`define DMASIM_CONSTANTS_VH",
    ]
    for name, value, comment in _constants():
        if value < 1 << 31:  # Verilog integers: the RTL needs only the small ones
            lines.append(f"`define DMASIM_{name} {value}  // {comment}")
    lines.append("`endif")
    return "\n".join(lines) + "\n"


def c_header() -> str:
    """The constants as C ``#define``s (``dmasim/drivers/native/dmasim_constants.h``)."""
    lines = [
        "/* Generated by `python -m dmasim.constants c` from dmasim/constants.py. Do not edit. */",
        "#ifndef DMASIM_CONSTANTS_H",
        "#define DMASIM_CONSTANTS_H",
    ]
    for name, value, comment in _constants():
        lines.append(f"#define DMASIM_{name} {value}ull  /* {comment} */")
    lines.append("#endif")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print a generated view: ``verilog`` or ``c``."""
    return print_view("dmasim.constants", {"verilog": verilog_header, "c": c_header}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
