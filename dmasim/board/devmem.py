"""Physical memory through an mmap of ``/dev/mem``: the board's register transport.

The same small contract as ``pynq.MMIO`` (``read(offset)``, ``write(offset, value)``) and as
LiteX's ``comm_devmem``: open the file with ``O_RDWR | O_SYNC`` (uncached on ARM), map the
pages that cover the window, and touch registers only as aligned 32-bit words through a
``memoryview`` cast to ``"I"`` (one load or store per access, never a byte-wise copy). Any file
works in place of ``/dev/mem``, which is how the tests exercise it.
"""

from __future__ import annotations

import mmap
import os
from typing import Any

from ..errors import DmasimValueError, TargetError
from .errors import DevMemError, DevMemPermissionError

__all__ = ["DEVMEM", "DevMem", "open_devmem", "page_span"]

DEVMEM = "/dev/mem"


def page_span(base: int, length: int, page: int = mmap.PAGESIZE) -> tuple[int, int, int]:
    """``(map_base, in_page_offset, map_length)``: the whole pages covering ``[base, +length)``."""
    map_base = base & ~(page - 1)
    offset = base - map_base
    map_length = -(-(offset + length) // page) * page
    return map_base, offset, map_length


def _who() -> str:
    euid = os.geteuid()
    return "root" if euid == 0 else f"uid {euid}, not root"


def open_devmem(path: str = DEVMEM) -> int:
    """Open ``path`` with ``O_RDWR | O_SYNC``; failures become dmasim errors."""
    try:
        return os.open(path, os.O_RDWR | os.O_SYNC)
    except PermissionError as exc:
        raise DevMemPermissionError(
            f"cannot open {path} read/write: permission denied (running as {_who()}). The board "
            "target maps the DMA's registers through /dev/mem: run as root, e.g. "
            "`sudo -E pytest --target=board ...` (PYNQ images: `sudo -i` then the pynq venv)"
        ) from exc
    except FileNotFoundError as exc:
        raise DevMemError(f"cannot open {path}: no such file (is this the board?)") from exc
    except OSError as exc:
        raise DevMemError(f"cannot open {path} read/write: {exc.strerror}") from exc


class _Closed:
    """Stands in for the word view after close(), so the fast path needs no extra check."""

    def __getitem__(self, index: Any) -> int:
        raise TargetError("DevMem window is closed")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TargetError("DevMem window is closed")


class DevMem:
    """``length`` bytes of physical memory from ``base``, as aligned 32-bit words.

    ``base`` need not be page aligned: the mapping starts at its page and the in-page offset
    is kept. Offsets passed to :meth:`read` / :meth:`write` are relative to ``base``, must be
    multiples of 4 and inside the window.
    """

    def __init__(self, base: int, length: int, path: str = DEVMEM):
        for label, value in (("base", base), ("length", length)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise DmasimValueError(f"DevMem {label}={value!r} must be an integer >= 0")
        if base % 4 or length % 4 or length == 0:
            raise DmasimValueError(
                f"DevMem window 0x{base:x}+0x{length:x} must be non-empty and 4-byte aligned"
            )
        self.base = base
        self.length = length
        self.path = path
        map_base, self.page_offset, map_length = page_span(base, length)
        fd = open_devmem(path)
        try:
            self._mmap = mmap.mmap(fd, map_length, mmap.MAP_SHARED,
                                   mmap.PROT_READ | mmap.PROT_WRITE, offset=map_base)
        except PermissionError as exc:
            raise DevMemPermissionError(
                f"cannot map {path} at 0x{map_base:x}+0x{map_length:x}: permission denied "
                f"(running as {_who()}; the kernel may restrict /dev/mem to I/O ranges)"
            ) from exc
        except (OSError, ValueError) as exc:
            raise DevMemError(
                f"cannot map {path} at 0x{map_base:x}+0x{map_length:x}: {exc}"
            ) from exc
        finally:
            os.close(fd)
        self._bytes = memoryview(self._mmap)[self.page_offset:self.page_offset + length]
        self._words: Any = self._bytes.cast("I")

    def _index(self, offset: object) -> int:
        """Word index of a valid offset, or a :class:`DmasimValueError` naming the window."""
        if isinstance(offset, bool) or not hasattr(offset, "__index__"):
            raise DmasimValueError(f"DevMem offset {offset!r} is not an integer")
        off = int(offset)  # type: ignore[call-overload]
        if off & 3 or not 0 <= off < self.length:
            raise DmasimValueError(
                f"DevMem offset 0x{off:x} is not a 4-byte aligned offset inside the window "
                f"0x{self.base:08x}+[0, 0x{self.length:x}): allowed 0..0x{self.length - 4:x}"
            )
        return off >> 2

    def read(self, offset: int) -> int:
        """Read the 32-bit word at ``offset``."""
        if type(offset) is int and not offset & 3 and 0 <= offset < self.length:
            return self._words[offset >> 2]  # type: ignore[no-any-return]
        return self._words[self._index(offset)]  # type: ignore[no-any-return]

    def write(self, offset: int, value: int) -> None:
        """Store the 32-bit ``value`` at ``offset``."""
        if type(value) is not int or not 0 <= value <= 0xFFFF_FFFF:
            value = self._value(value, offset)
        if type(offset) is int and not offset & 3 and 0 <= offset < self.length:
            self._words[offset >> 2] = value
        else:
            self._words[self._index(offset)] = value

    @staticmethod
    def _value(value: object, offset: object) -> int:
        if not isinstance(value, bool) and hasattr(value, "__index__"):
            number = int(value)  # type: ignore[call-overload]
            if 0 <= number <= 0xFFFF_FFFF:
                return number
        raise DmasimValueError(
            f"DevMem value {value!r} at offset {offset!r} does not fit 32 bits: "
            "allowed 0..0xffffffff"
        )

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return isinstance(self._words, _Closed)

    def close(self) -> None:
        """Unmap; idempotent. Later accesses raise :class:`TargetError`."""
        if self.closed:
            return
        self._words.release()
        self._bytes.release()
        self._words = _Closed()
        self._mmap.close()

    def __enter__(self) -> DevMem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<DevMem {self.path} 0x{self.base:08x}+0x{self.length:x}{state}>"
