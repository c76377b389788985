"""A table of named 32-bit registers: the usual shape of an IP's AXI-Lite window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import DmasimValueError

__all__ = ["Access", "Register", "RegisterTable"]

Access = Literal["RW", "RO", "WO", "W1C", "COR"]
"""RW read/write; RO read-only (writes ignored); WO write-only (reads 0); W1C write 1 to
clear; COR clear on read."""

_ACCESS = ("RW", "RO", "WO", "W1C", "COR")


@dataclass
class Register:
    """One register: name, offset, access, reset value, writable bits."""

    name: str
    offset: int
    access: Access = "RW"
    reset: int = 0
    mask: int = 0xFFFF_FFFF
    value: int = 0


class RegisterTable:
    """Named 32-bit registers at word offsets; unknown offsets read 0 and ignore writes.

    ``table.add("COEF0", 0x10)`` declares one; ``table["COEF0"]`` reads or sets it from the
    model's side (no access side effects); :meth:`read` / :meth:`write` are the bus side.
    """

    def __init__(self) -> None:
        self._by_offset: dict[int, Register] = {}
        self._by_name: dict[str, Register] = {}

    def add(self, name: str, offset: int, access: Access = "RW", reset: int = 0,
            mask: int = 0xFFFF_FFFF) -> Register:
        """Declare a register; raises on a clash, a bad offset or an unknown access."""
        if access not in _ACCESS:
            raise DmasimValueError(f"register {name}: access {access!r} not one of {_ACCESS}")
        if offset < 0 or offset & 3:
            raise DmasimValueError(f"register {name}: offset {offset!r} must be a multiple of 4")
        if offset in self._by_offset or name in self._by_name:
            raise DmasimValueError(f"register {name} at 0x{offset:x} clashes with another")
        reg = Register(name, offset, access, reset & 0xFFFF_FFFF, mask & 0xFFFF_FFFF,
                       reset & 0xFFFF_FFFF)
        self._by_offset[offset] = reg
        self._by_name[name] = reg
        return reg

    def reset(self) -> None:
        """Every register to its reset value."""
        for reg in self._by_offset.values():
            reg.value = reg.reset

    def read(self, offset: int) -> int:
        """A bus read: COR registers clear, WO registers read 0."""
        reg = self._by_offset.get(offset)
        if reg is None or reg.access == "WO":
            return 0
        value = reg.value
        if reg.access == "COR":
            reg.value = 0
        return value

    def write(self, offset: int, value: int) -> None:
        """A bus write, honouring each register's access and writable mask."""
        reg = self._by_offset.get(offset)
        if reg is None or reg.access in ("RO", "COR"):
            return
        if reg.access == "W1C":
            reg.value &= ~(value & reg.mask) & 0xFFFF_FFFF
        else:
            reg.value = (reg.value & ~reg.mask) | (value & reg.mask)

    def __getitem__(self, name: str) -> int:
        return self._reg(name).value

    def __setitem__(self, name: str, value: int) -> None:
        self._reg(name).value = int(value) & 0xFFFF_FFFF

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def _reg(self, name: str) -> Register:
        try:
            return self._by_name[name]
        except KeyError:
            raise DmasimValueError(
                f"no register {name!r} (have: {', '.join(self._by_name) or 'none'})"
            ) from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._by_offset.values(), key=lambda r: r.offset))
