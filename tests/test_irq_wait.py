"""Simple mode: the driver levels' interrupt-driven wait, ``wait(interrupt=True)`` and
``await ch.wait_async()``, on every target with interrupt lines.

The wait enables IOC and Err interrupts, sleeps in ``target.interrupt`` on the channel's
introut line, then looks at DMASR as the polling wait does; the scatter-gather channels use the
same loop (``ChannelBase._sleep_until_over``). A spy on ``target.interrupt`` proves the waits
slept on the line rather than polling.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest
from helpers import PAD, check_canaries, guarded
from hypothesis import given, settings
from hypothesis import strategies as st

from dmasim import DmasimValueError, regmap
from dmasim.drivers.base import IRQ_ENABLES, interrupt_target
from dmasim.errors import (
    DmaDecodeError,
    DmaSlaveError,
    DmaTimeoutError,
    DriverUnavailableError,
)
from dmasim.pytest_plugin import fresh

LEVELS = ["python", "pybind11", "cffi", "pynq"]
SIZE_CAP = {"model": 1 << 16, "rtl": 1 << 12}


def _driver(t: Any, level: str) -> Any:
    try:
        return t.driver(level)
    except DriverUnavailableError as exc:
        pytest.skip(f"driver level {level!r} unavailable: {exc}")


class _Spy:
    """Counts the ``target.interrupt`` sleeps of each port (and still sleeps)."""

    def __init__(self, target: Any, monkeypatch: pytest.MonkeyPatch):
        self.ports: list[str] = []
        real = target.interrupt

        async def interrupt(ip: str = "axi_dma_0", port: str = "s2mm_introut", *,
                            timeout_ns: int | None = None) -> None:
            self.ports.append(port)
            await real(ip, port, timeout_ns=timeout_ns)

        monkeypatch.setattr(target, "interrupt", interrupt)


@pytest.mark.rule("DRV-IRQ-WAIT")
@pytest.mark.needs("irq")
@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=12)
@given(data=st.data())
def test_interrupt_wait_moves_any_length(target, level, data):
    """Any length and offset: data, canaries, transferred; the waits slept on the lines (when
    the transfer takes long enough to need it), left IOC and Err enabled and acknowledged IOC,
    so the next wait sleeps again."""
    fresh(target)
    dma = _driver(target, level)
    with pytest.MonkeyPatch.context() as mp:
        spy = _Spy(target, mp)
        for k in range(data.draw(st.integers(1, 3), label="transfers")):
            n = data.draw(st.integers(1, SIZE_CAP.get(target.name, 1 << 12)), label=f"n{k}")
            off = data.draw(st.integers(0, 8), label=f"off{k}") * 4
            payload = np.random.default_rng(n + k).integers(0, 256, n, dtype=np.uint8)
            src = target.allocate(n, "u1")
            src[:] = payload
            dst = guarded(target, n, off)
            slept = len(spy.ports)
            dma.recvchannel.transfer(dst, start=PAD + off, nbytes=n)
            dma.sendchannel.transfer(src)
            dma.sendchannel.wait(interrupt=True)
            dma.recvchannel.wait(interrupt=True)
            assert np.array_equal(dst[PAD + off:PAD + off + n], payload)
            check_canaries(dst, PAD + off, n)
            assert dma.recvchannel.transferred == n
            if n >= 2048:  # shorter ones may be over before the first look (no sleep needed)
                assert len(spy.ports) > slept, "the waits never slept on an interrupt line"
            assert set(spy.ports) <= {"mm2s_introut", "s2mm_introut"}
            for ch in regmap.CHANNELS:
                assert dma.mmio.read(ch.DMACR) & IRQ_ENABLES == IRQ_ENABLES
                assert not dma.mmio.read(ch.DMASR) & regmap.DMASR_IOC_IRQ, "IOC not acknowledged"
            assert not any(target.interrupts().values())


@pytest.mark.rule("DRV-IRQ-WAIT")
@pytest.mark.needs("irq")
@pytest.mark.parametrize("level", ["python", "pybind11", "cffi"])
def test_wait_async_of_both_channels_together(target, level):
    dma = _driver(target, level)
    for round_ in range(3):
        src = target.allocate(3000, "u1")
        src[:] = round_ + 1
        dst = guarded(target, 3000)

        async def both(src: Any = src, dst: Any = dst) -> None:
            dma.recvchannel.transfer(dst, start=PAD, nbytes=3000)
            dma.sendchannel.transfer(src)
            await asyncio.gather(dma.sendchannel.wait_async(), dma.recvchannel.wait_async())

        asyncio.run(both())
        assert (dst[PAD:PAD + 3000] == round_ + 1).all()
        check_canaries(dst, PAD, 3000)


@pytest.mark.rule("DRV-IRQ-WAIT", "DRV-ERRORS")
@pytest.mark.needs("irq", "faults")
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("kind", ["slverr", "decerr"])
def test_an_error_wakes_the_wait_through_err_irq(target, level, kind, monkeypatch):
    """A faulting destination: Err_Irq wakes the receive wait long before its timeout and it
    raises the specific exception with both channels decoded; a reset makes it usable."""
    dma = _driver(target, level)
    spy = _Spy(target, monkeypatch)
    src = target.allocate(512, "u1")
    dst = target.allocate(512, "u1")
    target.faults.add_fault(dst.physical_address, 512, kind)
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)
    start = target.now_ns
    exc = DmaDecodeError if kind == "decerr" else DmaSlaveError
    with pytest.raises(exc, match=r"wait failed: DMA(Dec|Slv)Err") as err:
        dma.recvchannel.wait(timeout=1.0, interrupt=True)
    assert target.now_ns - start < 100_000_000, "woke by the timeout, not by Err_Irq"
    assert "s2mm_introut" in spy.ports
    text = str(err.value)
    assert "MM2S_DMASR=0x" in text and "S2MM_DMASR=0x" in text and "Err_Irq" in text
    assert err.value.state is not None and err.value.state.s2mm_dmasr & regmap.DMASR_ERR_IRQ
    target.faults.clear_faults()
    dma.reset()
    dst[:] = 0
    src[:] = 0x42
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait(interrupt=True)
    dma.recvchannel.wait(interrupt=True)
    assert (dst == 0x42).all()


@pytest.mark.rule("DRV-IRQ-WAIT", "POLL-TIMEOUT")
@pytest.mark.needs("irq")
@pytest.mark.parametrize("level", LEVELS)
def test_receive_without_data_times_out_with_decoded_state(target, level):
    dma = _driver(target, level)
    dst = guarded(target, 256)
    dma.recvchannel.transfer(dst, start=PAD, nbytes=256)  # nothing is sent
    start = target.now_ns
    with pytest.raises(DmaTimeoutError) as err:
        dma.recvchannel.wait(timeout=0.002, interrupt=True)
    waited = target.now_ns - start
    assert 2_000_000 <= waited < 50_000_000, f"waited {waited} ns of target time"
    text = str(err.value)
    assert text.startswith("S2MM") and "MM2S_DMASR=0x" in text and "S2MM_DMASR=0x" in text
    assert "Likely cause" in text and "sendchannel.transfer" in text
    check_canaries(dst, PAD, 0)


@pytest.mark.rule("DRV-IRQ-WAIT")
@pytest.mark.needs("irq")
def test_interrupt_wait_inside_an_event_loop_is_refused(target):
    dma = target.driver("python")
    dst = target.allocate(64, "u1")
    src = target.allocate(64, "u1")
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)

    async def inside() -> None:
        with pytest.raises(DmasimValueError, match=r"inside a running event loop.*wait_async"):
            dma.recvchannel.wait(interrupt=True)
        await dma.recvchannel.wait_async()

    asyncio.run(inside())
    dma.sendchannel.wait()


@pytest.mark.rule("DRV-IRQ-WAIT")
@pytest.mark.parametrize("level", ["python", "cffi"])
def test_a_target_without_interrupt_lines_is_a_clear_error(target, level, monkeypatch):
    """Without the 'irq' capability, interrupt=True names what is missing; polling works."""
    dma = _driver(target, level)
    monkeypatch.setattr(target, "capabilities", target.capabilities - {"irq"})
    src = target.allocate(128, "u1")
    dst = target.allocate(128, "u1")
    src[:] = 5
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)
    with pytest.raises(DmasimValueError, match=rf"the {target.name} target lacks the 'irq' "
                                               r"capability.*allowed: targets with 'irq'"):
        dma.sendchannel.wait(interrupt=True)
    with pytest.raises(DmasimValueError, match="use wait"):
        asyncio.run(dma.recvchannel.wait_async())
    dma.sendchannel.wait()
    dma.recvchannel.wait()
    assert (dst == 5).all()


def test_interrupt_target_names_a_missing_interrupt_coroutine():
    class Lines:  # claims 'irq' but has no interrupt() to await
        name = "custom"
        capabilities = frozenset({"irq"})

    with pytest.raises(DmasimValueError, match=r"custom target lacks an `await target\.interrupt"
                                               r"\(ip, port\)` coroutine"):
        interrupt_target(Lines())  # type: ignore[arg-type]


def test_benchmark_figures_for_every_level_and_mode():
    """``dmasim bench`` prints polled vs interrupt waits (figures, never a timed assertion)."""
    from dmasim import bench

    figures = bench.irq_wait_figures("model", quick=True)
    text = bench.format_irq_waits(figures)
    import importlib.util

    levels = ["python"] + (["pynq"] if importlib.util.find_spec("pynq") else [])
    for mode in ("simple", "sg"):
        for level in levels:
            key = f"irq_wait_{mode}_{level}"
            assert figures[f"{key}_poll_us"] > 0 and figures[f"{key}_irq_us"] > 0
            assert f"{mode:<7} {level:<9}" in text
