"""Turn a DMASR snapshot into the specific exception and a likely cause.

Every driver level (python, pynq adapter, native) raises through here, so the same hardware
state gives the same exception type and the same explanation whatever code drove the DMA.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from .. import regmap
from ..errors import (
    DmaDecodeError,
    DmaError,
    DmaInternalError,
    DmaNotRunningError,
    DmaSlaveError,
    DmaState,
    DmaTimeoutError,
)

__all__ = ["Pending", "error_for", "read_state", "timeout_error"]


@dataclass
class Pending:
    """What a driver last programmed on a channel (for explanations)."""

    addr: int = 0
    nbytes: int = 0
    active: bool = False


def read_state(read: Callable[[int], int]) -> DmaState:
    """Snapshot both channels through ``read(window offset)``."""
    mm2s, s2mm = regmap.MM2S, regmap.S2MM
    return DmaState(
        mm2s_dmasr=read(mm2s.DMASR),
        s2mm_dmasr=read(s2mm.DMASR),
        mm2s_dmacr=read(mm2s.DMACR),
        s2mm_dmacr=read(s2mm.DMACR),
        s2mm_length=read(s2mm.LENGTH),
    )


def _other(channel: str) -> str:
    return "S2MM" if channel == "MM2S" else "MM2S"


def error_for(
    channel: str,
    state: DmaState,
    pending: dict[str, Pending],
    action: str,
) -> DmaError | None:
    """The exception for an error bit or a halt seen during ``action``, or None if healthy."""
    own, other = state.dmasr(channel), state.dmasr(_other(channel))
    for src, sr in ((channel, own), (_other(channel), other)):
        if not sr & regmap.DMASR_ERRORS:
            continue
        p = pending[src]
        where = f"{src} at 0x{p.addr:08x}+{p.nbytes}" if p.nbytes else src
        halted_by = "" if src == channel else f" (the error is on {src}; it halts both channels)"
        if sr & regmap.DMASR_INT_ERR:
            return DmaInternalError(
                f"{action} failed: DMAIntErr{halted_by}",
                channel=channel,
                state=state,
                cause=(
                    "the stream packet was longer than S2MM's LENGTH "
                    f"({pending['S2MM'].nbytes} bytes programmed, MM2S sent "
                    f"{pending['MM2S'].nbytes}): make the receive buffer at least as long as "
                    "the send; reset the DMA to clear the error"
                ),
            )
        if sr & regmap.DMASR_DEC_ERR:
            return DmaDecodeError(
                f"{action} failed: DMADecErr{halted_by}",
                channel=channel,
                state=state,
                cause=f"{where} decodes to no memory (outside DDR?); reset the DMA to clear it",
            )
        return DmaSlaveError(
            f"{action} failed: DMASlvErr{halted_by}",
            channel=channel,
            state=state,
            cause=f"memory answered SLVERR for {where}; reset the DMA to clear it",
        )
    if own & regmap.DMASR_HALTED:
        dmacr = state.mm2s_dmacr if channel == "MM2S" else state.s2mm_dmacr
        cause = "the channel was never started or was stopped: call start() (RS=1) first"
        if dmacr & regmap.DMACR_RESET:
            cause = "a soft reset is still in progress"
        return DmaNotRunningError(
            f"{action}: DMA channel not started", channel=channel, state=state, cause=cause
        )
    return None


def timeout_error(
    channel: str,
    state: DmaState,
    pending: dict[str, Pending],
    timeout: float,
    target: object = None,
    dma: str = "axi_dma_0",
) -> DmaTimeoutError:
    """A timeout with the most likely reason the channel did not go Idle.

    A ``target`` with ``hang_cause(dma, channel)`` (stream monitors) may name the IP at fault.
    """
    p = pending[channel]
    other = pending[_other(channel)]
    other_sr = state.dmasr(_other(channel))
    if channel == "MM2S" and not other.active:
        cause = (
            f"S2MM has no LENGTH programmed and the loopback buffer is full: MM2S can only "
            f"read ahead about 512 bytes of its {p.nbytes} before the stream stalls; start "
            "the S2MM transfer (recvchannel.transfer) before waiting on MM2S"
        )
    elif channel == "MM2S" and other_sr & regmap.DMASR_HALTED:
        cause = "S2MM is halted, so the stream back-pressures MM2S: start and program S2MM"
    elif channel == "S2MM" and not other.active:
        cause = (
            "S2MM is waiting for a stream packet with TLAST and MM2S was not given a "
            "transfer: start the send (sendchannel.transfer)"
        )
    elif channel == "S2MM" and p.nbytes and other.nbytes and other.nbytes > p.nbytes:
        cause = "the packet is longer than S2MM's LENGTH; the engine should have flagged it"
    else:
        cause = (
            f"the transfer ({p.nbytes} bytes) did not finish in {timeout} s: the timeout may "
            "be too short for this length, or the stream is stalled"
        )
    hang_cause = getattr(target, "hang_cause", None)
    if hang_cause is not None:
        # a diagnosis must never hide the timeout itself
        with contextlib.suppress(Exception):
            cause = hang_cause(dma, channel) or cause
    return DmaTimeoutError(
        f"wait timed out after {timeout} s", channel=channel, state=state, cause=cause
    )
