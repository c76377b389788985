"""dmasim's exceptions: one base, bad input as ``ValueError``, DMA failures that decode DMASR.

Every DMA failure carries a :class:`DmaState` snapshot (both channels' DMASR, decoded) and a
sentence saying what probably caused it, so a failing test explains itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import regmap

__all__ = [
    "DesignError",
    "BufferStateError",
    "DmaBusyError",
    "DmaDecodeError",
    "DmaError",
    "DmaInternalError",
    "DmaNotRunningError",
    "DmaSlaveError",
    "DmaState",
    "DmaTimeoutError",
    "DmasimError",
    "DmasimValueError",
    "DriverUnavailableError",
    "OutOfMemoryError",
    "PynqMissingError",
    "TargetError",
    "pynq_missing",
]


class DmasimError(Exception):
    """Base of every error dmasim raises."""


class DmasimValueError(DmasimError, ValueError):
    """Bad input: the message names the value and the allowed range. The target stays usable."""


class BufferStateError(DmasimValueError):
    """A buffer this target did not allocate, or one already freed."""


class OutOfMemoryError(DmasimError, MemoryError):
    """The buffer region cannot hold the requested allocation."""


class DesignError(DmasimValueError):
    """A design dmasim cannot read or realise: names the instance, interface or parameter."""


class TargetError(DmasimError):
    """A target cannot be opened or used (missing file, permission, simulator crash)."""


class DriverUnavailableError(TargetError):
    """A driver level cannot be loaded here; the message says how to get it."""


class PynqMissingError(DriverUnavailableError, ImportError):
    """pynq cannot be imported (the pynq level, SimulatedDevice, the board targets).

    The one error for it everywhere; the message names the extra that installs pynq.
    """


PYNQ_INSTALL_HINT = ("pip install dmasim[pynq] (on a PYNQ image, use its venv: "
                     "source /etc/profile.d/pynq_venv.sh)")


def pynq_missing(what: str, exc: ImportError) -> PynqMissingError:
    """The error for ``what`` (e.g. "the board target") failing to import pynq with ``exc``."""
    return PynqMissingError(f"{what} needs pynq, which cannot be imported ({exc}): "
                            f"{PYNQ_INSTALL_HINT}")


@dataclass(frozen=True)
class DmaState:
    """What the hardware said when a DMA operation failed: both DMASRs and lengths."""

    mm2s_dmasr: int
    s2mm_dmasr: int
    mm2s_dmacr: int = 0
    s2mm_dmacr: int = 0
    s2mm_length: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def dmasr(self, channel: str) -> int:
        """DMASR of ``"MM2S"`` or ``"S2MM"``."""
        return self.mm2s_dmasr if channel == "MM2S" else self.s2mm_dmasr

    def describe(self) -> str:
        """Both channels' DMASR decoded into PG021 field names."""
        return (
            f"MM2S_DMASR={regmap.describe_status(self.mm2s_dmasr)}, "
            f"S2MM_DMASR={regmap.describe_status(self.s2mm_dmasr)}"
        )


class DmaError(DmasimError):
    """A DMA operation failed. ``state`` has the decoded registers, ``cause`` the likely reason."""

    def __init__(self, message: str, *, channel: str, state: DmaState | None, cause: str = ""):
        self.channel = channel
        self.state = state
        self.cause = cause
        text = f"{channel}: {message}"
        if state is not None:
            text += f" [{state.describe()}]"
        if cause:
            text += f" Likely cause: {cause}"
        super().__init__(text)


class DmaInternalError(DmaError):
    """DMAIntErr: in simple mode, an S2MM packet longer than the programmed LENGTH."""


class DmaSlaveError(DmaError):
    """DMASlvErr: memory answered SLVERR."""


class DmaDecodeError(DmaError):
    """DMADecErr: an address decoded to no memory (DECERR)."""


class DmaTimeoutError(DmaError, TimeoutError):
    """A wait ran out of time; the hardware state says what it was waiting for."""


class DmaNotRunningError(DmaError):
    """The channel is halted (RS=0, never started, or stopped by an error)."""


class DmaBusyError(DmaError):
    """A transfer was requested while the channel still had one in flight."""
