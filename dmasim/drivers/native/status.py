"""Status codes of the C driver core and the dmasim exceptions they become.

The values are those of ``enum dmasim_status`` in ``dmasim_dma.h``; a test checks that both
bindings agree with them. Positive codes are outcomes a caller decodes (a timeout, a DMASR
error bit); negative codes are failures that :func:`raise_status` turns into exceptions, the
same types for both bindings.
"""

from __future__ import annotations

import errno as _errno
import os
from typing import NoReturn

from ...errors import DmasimValueError, TargetError

__all__ = [
    "DMA_ERROR",
    "EBOUNDS",
    "ECALLBACK",
    "ECLOSED",
    "EINVAL",
    "EOS",
    "HALTED",
    "OK",
    "TIMEOUT",
    "raise_status",
]

OK = 0
TIMEOUT = 1
DMA_ERROR = 2
HALTED = 3
EBOUNDS = -1
EINVAL = -2
EOS = -3
ECALLBACK = -4
ECLOSED = -5

NAMES: dict[int, str] = {
    OK: "OK",
    TIMEOUT: "TIMEOUT",
    DMA_ERROR: "DMA_ERROR",
    HALTED: "HALTED",
    EBOUNDS: "EBOUNDS",
    EINVAL: "EINVAL",
    EOS: "EOS",
    ECALLBACK: "ECALLBACK",
    ECLOSED: "ECLOSED",
}


def raise_status(status: int, os_errno: int, what: str, phys_base: int, length: int) -> NoReturn:
    """Raise the dmasim exception for a negative core ``status`` seen during ``what``."""
    window = f"0x{phys_base:08x}+[0, 0x{length:x})"
    if status == EBOUNDS and os_errno == _errno.ERANGE and what.startswith("open"):
        raise TargetError(
            f"{what}: the file is too short to hold the register window {window} "
            "(a regular file standing in for /dev/mem must reach phys_base + length)"
        )
    if status == EBOUNDS:
        raise DmasimValueError(
            f"{what}: register offset is not a 4-byte aligned offset inside the window "
            f"{window}: allowed 0..0x{max(length - 4, 0):x} in steps of 4"
        )
    if status == EINVAL:
        raise DmasimValueError(
            f"{what}: invalid argument for the native driver core (window {window}; base and "
            "length must be multiples of 4, length >= 4)"
        )
    if status == EOS:
        hint = ""
        if os_errno in (_errno.EACCES, _errno.EPERM):
            hint = " (mapping /dev/mem needs root: run as root or with CAP_SYS_RAWIO)"
        raise TargetError(f"{what}: {os.strerror(os_errno)} [errno {os_errno}]{hint}")
    if status == ECLOSED:
        raise TargetError(f"{what}: the native device for {window} is closed")
    if status == ECALLBACK:
        raise TargetError(f"{what}: a target callback failed without an exception")
    raise TargetError(f"{what}: native driver core returned status {status}")
