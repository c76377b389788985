"""Which design the PL really holds, before the board target touches a register.

A register access to an address the loaded design does not decode is a bus fault on a Zynq:
the kernel kills the Python process (SIGBUS) or the interconnect hangs the CPU. So the board
target must not trust ``pynq.PL.bitfile_name`` alone: pynq 3.x keeps it in a global state file
(``global_pl_state.json`` in pynq 3.0, ``global_pl_state_<tag>.json`` from 3.1) that survives a
reboot, while after the reboot the PL holds the design the boot loaded. The evidence used here,
all read from files (so it is testable off the board):

- the FPGA manager's state (``/sys/class/fpga_manager/fpga0/state``): ``operating`` once Linux
  has programmed the PL since boot;
- pynq's state file: which bitstream it last loaded, when the file was written (older than the
  boot means it describes a previous boot), and the bitstream's SHA-1;
- the .hwh beside the recorded bitstream: does it decode every register window we will touch
  at the same address?
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from .errors import OverlayError

__all__ = ["FPGA_STATE", "PROC_STAT", "PlState", "boot_time", "bitstream_sha1",
           "decoded_windows", "memory_ranges", "pynq_state_files", "read_pl_state",
           "verify_loaded"]

FPGA_STATE = "/sys/class/fpga_manager/fpga0/state"
PROC_STAT = "/proc/stat"
STATE_FILE_NAMES = ("global_pl_state_.json", "global_pl_state.json")
"""pynq 3.1+ (device tag "" on a Zynq) and pynq 3.0."""


@dataclass(frozen=True)
class PlState:
    """pynq's record of the last overlay it loaded, and where it was read from."""

    path: str
    bitfile_name: str
    timestamp: str
    bitfile_hash: str
    mtime: float


def pynq_state_files(pynq: Any) -> list[str]:
    """Where this pynq keeps its global PL state (newest naming first)."""
    try:
        from pynq.pl_server import global_state
    except ImportError:
        return []
    directory = getattr(global_state, "STATE_DIR", os.path.dirname(global_state.__file__))
    return [os.path.join(directory, name) for name in STATE_FILE_NAMES]


def read_pl_state(paths: Sequence[str]) -> PlState | None:
    """The first readable pynq state file among ``paths`` (JSON as pynq writes it), or None.

    Read directly rather than through pynq's loader: pynq 3.0's loader re-hashes the recorded
    bitstream and raises if that file is gone.
    """
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            mtime = os.stat(path).st_mtime
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            raise OverlayError(f"pynq's PL state file {path} cannot be read: {exc}") from exc
        if not isinstance(data, dict) or not data.get("bitfile_name"):
            raise OverlayError(f"pynq's PL state file {path} names no bitstream: {data!r}")
        return PlState(path, str(data["bitfile_name"]), str(data.get("timestamp", "?")),
                       str(data.get("bitfile_hash") or ""), mtime)
    return None


def boot_time(path: str = PROC_STAT) -> float | None:
    """When this Linux booted (``btime`` of /proc/stat, seconds since the epoch), or None."""
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def fpga_state(path: str = FPGA_STATE) -> str | None:
    """The FPGA manager's state word (``operating``, ``unknown``...), or None if absent."""
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def bitstream_sha1(path: str) -> str:
    """SHA-1 hex digest of a file, as pynq records ``bitfile_hash``."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def decoded_windows(hwh: str) -> dict[str, tuple[int, int]]:
    """Every register window a .hwh's address map decodes: ``{instance: (base, length)}``."""
    try:
        root = ET.parse(hwh).getroot()
    except (OSError, ET.ParseError) as exc:
        raise OverlayError(f"the loaded design's {hwh} cannot be read: {exc}") from exc
    out: dict[str, tuple[int, int]] = {}
    for rng in root.iter("MEMRANGE"):
        if rng.get("MEMTYPE", "REGISTER") != "REGISTER":
            continue
        try:
            lo, hi = int(rng.get("BASEVALUE", ""), 0), int(rng.get("HIGHVALUE", ""), 0)
        except ValueError:
            continue
        out[rng.get("INSTANCE", "?")] = (lo, hi - lo + 1)
    return out


def memory_ranges(hwh: str, instance: str) -> list[tuple[int, int]]:
    """``[(low, high)]`` of the memory an instance's masters reach, from a .hwh's address map."""
    root = ET.parse(hwh).getroot()
    out = []
    for module in root.iter("MODULE"):
        if module.get("INSTANCE") != instance:
            continue
        for rng in module.iter("MEMRANGE"):
            if rng.get("MEMTYPE") == "MEMORY":
                out.append((int(rng.get("BASEVALUE", "0"), 0), int(rng.get("HIGHVALUE", "0"), 0)))
    return out


def _how_to_load(bitfile: str) -> str:
    return (f"load the overlay first: open_target('board', bitfile={bitfile!r}) (downloads it; "
            f"pytest: --bitfile={bitfile}), or pynq.Overlay({bitfile!r}) in Python")


def verify_loaded(bitfile: str, windows: Sequence[tuple[str, int, int]], *,
                  state_files: Sequence[str], fpga_state_path: str = FPGA_STATE,
                  proc_stat: str = PROC_STAT) -> PlState:
    """Prove the PL holds a design that decodes every ``(name, base, length)`` window.

    Returns pynq's record of the loaded overlay; raises :class:`OverlayError` saying what is
    loaded instead and how to load ``bitfile`` otherwise. Never touches the bus.
    """
    how = _how_to_load(bitfile)
    state = fpga_state(fpga_state_path)
    if state is not None and state != "operating":
        raise OverlayError(
            f"the PL has not been programmed since boot (FPGA manager state {state!r} in "
            f"{fpga_state_path}): it holds whatever the boot loader put there, not {bitfile}; "
            f"{how}")
    record = read_pl_state(state_files)
    if record is None:
        raise OverlayError(
            f"pynq has no record of a loaded overlay (none of {', '.join(state_files) or '-'} "
            f"exists), so nothing proves that {bitfile} is in the PL; {how}")
    booted = boot_time(proc_stat)
    if booted is not None and record.mtime < booted:
        raise OverlayError(
            f"pynq's state file {record.path} says {record.bitfile_name} was loaded at "
            f"{record.timestamp}, but the board has rebooted since: the PL holds the design "
            f"the boot loaded (a clock set by NTP after the load also looks like this: loading "
            f"again settles it); {how}")
    if os.path.abspath(record.bitfile_name) == os.path.abspath(bitfile):
        if record.bitfile_hash and os.path.isfile(bitfile):
            now = bitstream_sha1(bitfile)
            if now != record.bitfile_hash:
                raise OverlayError(
                    f"{bitfile} changed since pynq loaded it at {record.timestamp} (SHA-1 "
                    f"{record.bitfile_hash[:12]}, now {now[:12]}): the PL holds the old build; "
                    f"{how}")
        return record
    # Another bitstream is loaded: fine only if its design decodes the same windows.
    hwh = os.path.splitext(record.bitfile_name)[0] + ".hwh"
    if not os.path.isfile(hwh):
        raise OverlayError(
            f"the PL holds {record.bitfile_name} (loaded at {record.timestamp}), not {bitfile}, "
            f"and its .hwh is missing, so its address map is unknown; {how}")
    decoded = decoded_windows(hwh)
    for name, base, length in windows:
        got = decoded.get(name)
        if got is None or got[0] != base or got[1] < length:
            where = "absent" if got is None else f"0x{got[0]:08x}+0x{got[1]:x}"
            raise OverlayError(
                f"the PL holds {record.bitfile_name} (loaded at {record.timestamp}), not "
                f"{bitfile}: {name} at 0x{base:08x}+0x{length:x} is not in it ({name}: "
                f"{where}); touching it would be a bus fault; {how}")
    return record
