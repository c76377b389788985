"""The board target in scatter-gather mode and with interrupts, off-board.

pynq's real classes run as on the board: ``pynq.Overlay`` parses a .hwh with the DMA's
``introut`` lines on an ``axi_intc`` (the topology ``hw/board/dma_loopback.tcl`` builds, written
by dmasim's .hwh writer), and ``pynq.interrupt.Interrupt`` waits through pynq's own
``_InterruptController`` and ``UioController``. What the board's hardware does is played by
fakes (``board_fakes``): the model runs in a thread as the PL, the interrupt controller's
registers see the model's lines, and a pseudo-terminal stands in for ``/dev/uioN``, firing while
the controller's ``irq`` is high. Only the /dev/mem mapping and the real interrupt wiring are not
exercised (see hw/board/README.md).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pynq = pytest.importorskip("pynq")

from board_fakes import (
    BoardFakeDevice,
    FakeIntc,
    FakeUio,
    ModelWindow,
    RunningPl,
    board_files,
    dma_lines,
    overlay_dir,
    record_loaded,
)

import dmasim
from dmasim import DmasimValueError, TargetError, regmap
from dmasim.board.errors import NoInterruptRouteError, OverlayError
from dmasim.board.target import BoardTarget
from dmasim.design import Design
from dmasim.errors import DmaTimeoutError, DriverUnavailableError
from dmasim.pynq.overlay import board_design, write_overlay
from dmasim.regmap import MM2S, S2MM

ZYNQ_IRQ_F2P_0 = 61
"""The GIC interrupt ID of IRQ_F2P[0] on a Zynq-7000: the raw_irq pynq reads from the .hwh."""
SG = {"c_include_sg": 1}


@pytest.fixture(autouse=True)
def pynq_state(tmp_path, monkeypatch):
    """pynq's global PL state in a temporary directory, its interrupt registries empty."""
    from pynq.interrupt import _InterruptController
    from pynq.pl_server import global_state

    state_dir = tmp_path / "pl_server"
    state_dir.mkdir()
    monkeypatch.setattr(global_state, "STATE_DIR", str(state_dir))
    monkeypatch.setattr(_InterruptController, "_controllers", [])
    monkeypatch.setattr(_InterruptController, "_uio_devices", {})
    monkeypatch.setattr(_InterruptController, "_last_timestamp", None)
    yield
    # pynq's UioController.__del__ asks for the current event loop; give it one while the
    # registry made here is dropped (outside asyncio.run there is none).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        _InterruptController._uio_devices.clear()
        _InterruptController._controllers.clear()
        gc.collect()
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@dataclass
class Board:
    """A board target over the running fake PL, and the fakes behind it."""

    t: BoardTarget
    model: Any
    intc: FakeIntc
    uio: FakeUio
    pl: RunningPl
    uio_irqs: list[int]
    allocations: list[tuple]


def _open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, params: dict[str, Any],
          design: Design | None = None) -> Board:
    """The overlay of ``design`` (default: hw/board's with these DMA ``params``) on the board."""
    design = design if design is not None else board_design(params)
    bit = write_overlay(tmp_path, "dma_loopback_irq", design=design)
    record_loaded(bit)
    model = dmasim.open_target("model", parameters=params)
    lock = threading.RLock()
    device = BoardFakeDevice(model)
    device.lock = lock
    intc_base = design.instances["axi_intc_0"].windows[0].base \
        if "axi_intc_0" in design.instances else 0x4180_0000
    intc = FakeIntc(intc_base, dma_lines(model, ["mm2s_introut", "s2mm_introut"], lock))
    device.windows[intc_base] = intc
    uio = FakeUio()
    uio_irqs: list[int] = []

    def get_uio_irq(irq: int) -> str | None:
        uio_irqs.append(irq)
        return uio.path if irq == ZYNQ_IRQ_F2P_0 else None

    monkeypatch.setattr(pynq.interrupt, "get_uio_irq", get_uio_irq)
    monkeypatch.setattr(pynq.Device, "_active_device", device, raising=False)

    def window(base: int, length: int) -> Any:
        return intc if base == intc_base else ModelWindow(model, base, length, lock=lock)

    t = BoardTarget(bitfile=str(bit), download=False, device=device, open_window=window,
                    **board_files(tmp_path))
    # The C levels map /dev/mem themselves on the board; here they take the target's bus.
    monkeypatch.setattr(t, "native_mapping", lambda ip_name="axi_dma_0": None)
    allocations: list[tuple] = []
    real = t.buffers._allocate

    def spy(shape: Any, dtype: Any = "u4", target: Any = None, **kwargs: Any) -> Any:
        allocations.append((shape, np.dtype(dtype).str, target))
        return real(shape, dtype, target=target, **kwargs)

    monkeypatch.setattr(t.buffers, "_allocate", spy)
    pl = RunningPl(model, intc, uio, lock).start()
    return Board(t, model, intc, uio, pl, uio_irqs, allocations)


def _close(b: Board) -> None:
    b.pl.stop()
    b.t.close()
    b.uio.close()
    b.model.close()


@pytest.fixture
def board_irq(tmp_path, monkeypatch):
    """Simple mode, both DMA lines on axi_intc_0."""
    b = _open(tmp_path, monkeypatch, {})
    yield b
    _close(b)


@pytest.fixture
def board_sg(tmp_path, monkeypatch):
    """Scatter-gather mode (``c_include_sg=1``), both DMA lines on axi_intc_0."""
    b = _open(tmp_path, monkeypatch, SG)
    yield b
    _close(b)


def _simple_transfer(m: Any, src: Any, dst: Any, nbytes: int) -> None:
    m.write(S2MM.ADDR, dst.physical_address)
    m.write(S2MM.LENGTH, nbytes)
    m.write(MM2S.ADDR, src.physical_address)
    m.write(MM2S.LENGTH, nbytes)


def _pattern(buf: Any, seed: int) -> None:
    buf[:] = (np.arange(buf.size, dtype=np.uint32) * 7 + seed).astype(np.uint8)


# --- what pynq reads from the .hwh --------------------------------------------------------


def test_the_overlay_routes_both_lines_through_the_intc(board_irq):
    t = board_irq.t
    assert t.capabilities == frozenset({"irq"})
    assert t.irq_pins == {("axi_dma_0", "mm2s_introut"): "axi_dma_0/mm2s_introut",
                          ("axi_dma_0", "s2mm_introut"): "axi_dma_0/s2mm_introut"}
    assert t.ip_dict["axi_intc_0"]["type"].startswith("xilinx.com:ip:axi_intc:")
    assert t.overlay.interrupt_controllers["axi_intc_0"]["raw_irq"] == ZYNQ_IRQ_F2P_0
    assert t.interrupts() == {"mm2s_introut": False, "s2mm_introut": False}


# --- t.interrupt through pynq's Interrupt, the axi_intc and its UIO ------------------------


def test_interrupt_wakes_through_pynqs_uio(board_irq):
    b = board_irq
    t, m = b.t, b.t.ip_mmio()
    src, dst = t.allocate(4096, "u1"), t.allocate(4096 + 64, "u1")
    _pattern(src, 3)
    dst[:] = 0xAA
    for ch in regmap.CHANNELS:
        m.write(ch.DMACR, regmap.DMACR_RS | regmap.DMACR_IOC_IRQEN)

    async def run() -> None:
        waiters = [asyncio.ensure_future(t.interrupt("axi_dma_0", port, timeout_ns=2 * 10**9))
                   for port in ("mm2s_introut", "s2mm_introut")]
        while b.intc.ier != 0b11:  # pynq enabled both inputs: the waits sleep in pynq
            await asyncio.sleep(0.001)
        assert not t.interrupts()["s2mm_introut"]
        _simple_transfer(m, src, dst[32:], 4096)
        await asyncio.gather(*waiters)

    asyncio.run(run())
    assert b.uio_irqs and set(b.uio_irqs) == {ZYNQ_IRQ_F2P_0}
    assert b.uio.events >= 1, "the waits must have been woken by the UIO device"
    assert ("W", FakeIntc.MER, 3) in b.intc.log  # pynq's controller enabled its output
    assert m.read(S2MM.DMASR) & regmap.DMASR_IOC_IRQ
    assert np.array_equal(dst[32:32 + 4096], src)
    assert (dst[:32] == 0xAA).all() and (dst[32 + 4096:] == 0xAA).all()


def test_each_asyncio_run_is_woken(board_irq):
    """pynq's UIO reader stays on the first event loop; the target re-registers it per loop."""
    b = board_irq
    t, m = b.t, b.t.ip_mmio()
    for ch in regmap.CHANNELS:
        m.write(ch.DMACR, regmap.DMACR_RS | regmap.DMACR_IOC_IRQEN)
    for round_ in range(3):
        src, dst = t.allocate(256, "u1"), t.allocate(256, "u1")
        _pattern(src, round_)
        before = b.uio.events

        async def run(src: Any = src, dst: Any = dst) -> None:
            waiter = asyncio.ensure_future(t.interrupt(timeout_ns=2 * 10**9))
            while not b.intc.ier & 0b10:
                await asyncio.sleep(0.001)
            _simple_transfer(m, src, dst, 256)
            await waiter

        asyncio.run(run())
        assert b.uio.events > before, f"round {round_}: not woken by the UIO device"
        assert np.array_equal(dst, src)
        m.write(S2MM.DMASR, regmap.DMASR_IOC_IRQ)
        m.write(MM2S.DMASR, regmap.DMASR_IOC_IRQ)


def test_without_rebinding_a_second_event_loop_is_never_woken(board_irq, monkeypatch):
    """Why the target re-registers pynq's UIO reader: pynq alone wakes only the first loop."""
    b = board_irq
    t, m = b.t, b.t.ip_mmio()
    monkeypatch.setattr(t, "_bind_uio_to_running_loop", lambda: None)
    for ch in regmap.CHANNELS:
        m.write(ch.DMACR, regmap.DMACR_RS | regmap.DMACR_IOC_IRQEN)
    outcomes = []
    for _ in range(2):
        src, dst = t.allocate(256, "u1"), t.allocate(256, "u1")

        async def run(src: Any = src, dst: Any = dst) -> None:
            waiter = asyncio.ensure_future(t.interrupt(timeout_ns=300_000_000))
            while not b.intc.ier & 0b10:
                await asyncio.sleep(0.001)
            _simple_transfer(m, src, dst, 256)
            await waiter

        try:
            asyncio.run(run())
            outcomes.append("woken")
        except DmaTimeoutError:
            outcomes.append("timed out")
        m.write(S2MM.DMASR, regmap.DMASR_IOC_IRQ)
    assert outcomes == ["woken", "timed out"]


def test_interrupt_already_high_returns_at_once(board_irq):
    b = board_irq
    t, m = b.t, b.t.ip_mmio()
    m.write(S2MM.DMACR, regmap.DMACR_RS | regmap.DMACR_IOC_IRQEN)
    m.write(MM2S.DMACR, regmap.DMACR_RS)
    src, dst = t.allocate(64, "u1"), t.allocate(64, "u1")
    _simple_transfer(m, src, dst, 64)
    deadline = t.now_ns + 2 * 10**9
    while not t.interrupts()["s2mm_introut"]:
        assert t.now_ns < deadline
        t.delay(100_000)
    enables = b.uio.enables
    asyncio.run(t.interrupt(timeout_ns=10**9))
    assert b.uio.enables == enables  # no sleep in pynq was needed


def test_interrupt_times_out_with_decoded_state(board_irq):
    t, m = board_irq.t, board_irq.t.ip_mmio()
    m.write(S2MM.DMACR, regmap.DMACR_RS | regmap.DMACR_IOC_IRQEN)
    start = t.now_ns
    with pytest.raises(DmaTimeoutError, match=r"S2MM: interrupt axi_dma_0/s2mm_introut stayed "
                                              r"low .*S2MM_DMASR=.*Likely cause: the transfer "
                                              r"has not finished"):
        asyncio.run(t.interrupt(timeout_ns=50_000_000))
    assert t.now_ns - start >= 50_000_000
    with pytest.raises(DmaTimeoutError, match="no interrupt is enabled"):
        asyncio.run(t.interrupt("axi_dma_0", "mm2s_introut", timeout_ns=10_000_000))
    # The timed-out waits left their events with pynq's controller; the next wait still wakes.
    m.write(MM2S.DMACR, regmap.DMACR_RS)
    src, dst = t.allocate(128, "u1"), t.allocate(128, "u1")
    _pattern(src, 1)
    events = board_irq.uio.events

    async def run() -> None:
        waiter = asyncio.ensure_future(t.interrupt(timeout_ns=2 * 10**9))
        await asyncio.sleep(0.01)
        _simple_transfer(m, src, dst, 128)
        await waiter

    asyncio.run(run())
    assert board_irq.uio.events > events and np.array_equal(dst, src)


def test_interrupt_bad_arguments(board_irq):
    t = board_irq.t
    with pytest.raises(DmasimValueError, match=r"no interrupt line axi_dma_0/irq"):
        asyncio.run(t.interrupt("axi_dma_0", "irq"))
    with pytest.raises(DmasimValueError, match="delay -1 ns"):
        asyncio.run(t.interrupt(timeout_ns=-1))


def test_no_uio_device_for_the_controller_is_a_clear_error(board_irq, monkeypatch):
    monkeypatch.setattr(pynq.interrupt, "get_uio_irq", lambda irq: None)
    with pytest.raises(TargetError, match=r"pynq cannot wait on axi_dma_0/s2mm_introut: "
                                          r"ValueError: Could not find UIO device.*61.*"
                                          r"/proc/interrupts"):
        asyncio.run(board_irq.t.interrupt(timeout_ns=10**9))


LEVELS = ["python", "cffi", "pybind11"]


# --- simple mode: the driver levels' interrupt wait through pynq's UIO machinery ------------


def _woken_loopback(b, level, nbytes, sg):
    """Loop ``nbytes`` back with ``level``'s interrupt waits; the receive wait must be woken
    through the UIO device (nothing is sent before it sleeps). Checks data, canaries, count."""
    t = b.t
    try:
        dma = t.driver(level)
    except DriverUnavailableError as exc:
        pytest.skip(f"driver level {level!r} unavailable: {exc}")
    assert dma.recvchannel.sg == sg
    src, dst = t.allocate(nbytes, "u1"), t.allocate(nbytes + 128, "u1")
    _pattern(src, nbytes)
    dst[:] = 0xAA
    dma.recvchannel.transfer(dst[64:64 + nbytes])
    events = b.uio.events
    # Nothing is sent until the receive wait sleeps in pynq (its input enabled on the intc).
    b.pl.when(lambda: b.intc.ier & 0b10 != 0, lambda: dma.sendchannel.transfer(src))
    dma.recvchannel.wait(timeout=5.0, interrupt=True)
    assert b.pl.fired and b.uio.events > events, "the wait was not woken by the UIO device"
    dma.sendchannel.wait(timeout=5.0, interrupt=True)
    assert np.array_equal(dst[64:64 + nbytes], src)
    assert (dst[:64] == 0xAA).all() and (dst[64 + nbytes:] == 0xAA).all()
    assert dma.recvchannel.transferred == nbytes
    return dma


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("nbytes", [64, 5000])
def test_simple_mode_wait_sleeps_on_the_interrupt(board_irq, level, nbytes):
    """``wait(interrupt=True)`` in simple mode: IOC/Err enabled, woken by the UIO device, IOC
    acknowledged so the next wait sleeps again."""
    b = board_irq
    _woken_loopback(b, level, nbytes, sg=False)
    m = b.t.ip_mmio()
    enables = regmap.DMACR_IOC_IRQEN | regmap.DMACR_ERR_IRQEN
    for ch in regmap.CHANNELS:
        assert m.read(ch.DMACR) & enables == enables
        assert not m.read(ch.DMASR) & regmap.DMASR_IOC_IRQ


@pytest.mark.parametrize("board", ["board_irq", "board_sg"])
def test_interrupt_wait_times_out_with_decoded_state(request, board):
    """Simple and SG mode: an interrupt wait with nothing sent ends in a timeout that decodes
    both channels."""
    t = request.getfixturevalue(board).t
    dma = t.driver("python")
    dst = t.allocate(256, "u1")
    dma.recvchannel.transfer(dst)  # nothing is sent: S2MM waits for stream data
    with pytest.raises(DmaTimeoutError, match=r"S2MM.*MM2S_DMASR=0x.*S2MM_DMASR=0x"):
        dma.recvchannel.wait(timeout=0.05, interrupt=True)
    t.reset()


# --- scatter-gather on the board, waits on the interrupt -----------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("nbytes", [64, 5000])
def test_sg_transfer_waits_on_the_interrupt(board_sg, level, nbytes):
    b = board_sg
    t = b.t
    dma = _woken_loopback(b, level, nbytes, sg=True)
    # The BD rings are board buffers: pynq.allocate on the overlay's device, 0x40-aligned.
    rings = [ch._ring for ch in (dma.sendchannel, dma.recvchannel)]
    assert all(r is not None and t.owns(r.buffer) for r in rings)
    assert all(int(r.buffer.physical_address) % regmap.BD_ALIGN == 0 for r in rings)
    assert sum(1 for shape, _dt, dev in b.allocations
               if dev is t.pynq_device and np.prod(shape) == (rings[0].count + 2) * 16) == 2
    assert all(r.guards_intact() for r in rings)


def test_sg_wait_async(board_sg):
    b = board_sg
    t = b.t
    dma = t.driver("python")
    for round_ in range(2):
        src, dst = t.allocate(3000, "u1"), t.allocate(3000, "u1")
        _pattern(src, round_)
        events = b.uio.events

        async def run(src: Any = src, dst: Any = dst) -> None:
            dma.recvchannel.transfer(dst)
            b.pl.when(lambda: b.intc.ier & 0b10 != 0, lambda: dma.sendchannel.transfer(src))
            await dma.recvchannel.wait_async(5.0)
            await dma.sendchannel.wait_async(5.0)

        asyncio.run(run())
        assert b.pl.fired and b.uio.events > events, "the wait was not woken by the UIO device"
        assert np.array_equal(dst, src)
        assert dma.recvchannel.bds and all(bd.complete for bd in dma.recvchannel.bds)




def test_pynq_level_on_the_intc_overlay_after_an_asyncio_run(board_irq):
    """pynq's DMA builds its Interrupts (and opens the UIO) even when a previous asyncio.run
    left the thread without a current event loop; its polling waits move the data, and
    dmasim's interrupt wait then wakes in a new loop on the UIO device pynq opened."""
    b = board_irq
    t = b.t
    asyncio.run(asyncio.sleep(0))
    dma = t.driver("pynq")
    assert dma.dma.recvchannel._interrupt is not None  # pynq found the pin on the intc
    src, dst = t.allocate(3000, "u1"), t.allocate(3000, "u1")
    _pattern(src, 11)
    dma.recvchannel.transfer(dst)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait(timeout=5.0)
    dma.recvchannel.wait(timeout=5.0)
    assert np.array_equal(dst, src) and dma.recvchannel.transferred == 3000
    m = t.ip_mmio()
    assert m.read(S2MM.DMACR) & regmap.DMACR_IOC_IRQEN  # pynq enables IOC when it has the pin
    for ch in regmap.CHANNELS:
        m.write(ch.DMASR, regmap.DMASR_IRQS)
    src2, dst2 = t.allocate(512, "u1"), t.allocate(512, "u1")
    _pattern(src2, 12)
    events = b.uio.events

    async def run() -> None:
        waiter = asyncio.ensure_future(t.interrupt(timeout_ns=2 * 10**9))
        while not b.intc.ier & 0b10:
            await asyncio.sleep(0.001)
        dma.recvchannel.transfer(dst2)
        dma.sendchannel.transfer(src2)
        await waiter

    asyncio.run(run())
    assert b.uio.events > events
    dma.recvchannel.wait(timeout=5.0)
    assert np.array_equal(dst2, src2)


# --- what the overlay lacks: clear errors -------------------------------------------------


@pytest.fixture
def plain_board(tmp_path, monkeypatch):
    """The checked-in loopback .hwh: introut lines straight to IRQ_F2P, no axi_intc."""
    model = dmasim.open_target("model")
    device = BoardFakeDevice(model)
    monkeypatch.setattr(pynq.Device, "_active_device", device, raising=False)
    bit = overlay_dir(tmp_path)
    record_loaded(bit)
    t = BoardTarget(bitfile=str(bit), download=False, device=device,
                    open_window=lambda base, n: ModelWindow(model, base, n),
                    **board_files(tmp_path))
    yield t
    t.close()
    model.close()


def test_no_intc_no_irq_capability_and_a_clear_error(plain_board):
    t = plain_board
    assert "irq" not in t.capabilities and t.irq_pins == {}
    assert t.interrupts() == {"mm2s_introut": False, "s2mm_introut": False}
    with pytest.raises(NoInterruptRouteError, match=r"axi_dma_0/s2mm_introut cannot be awaited.*"
                                                    r"no AXI interrupt controller \(axi_intc\)"
                                                    r".*IRQ_F2P.*dma_loopback.tcl"):
        asyncio.run(t.interrupt())
    with pytest.raises(NoInterruptRouteError, match="axi_dma_0/mm2s_introut"):
        asyncio.run(t.interrupt("axi_dma_0", "mm2s_introut"))


def test_a_line_missing_from_the_intc_is_named(tmp_path, monkeypatch):
    design = board_design()
    design.interrupt_lines = [ln for ln in design.interrupt_lines
                              if ln.source.interface != "s2mm_introut"]
    b = _open(tmp_path, monkeypatch, {}, design)
    try:
        assert "irq" not in b.t.capabilities
        assert list(b.t.irq_pins) == [("axi_dma_0", "mm2s_introut")]
        with pytest.raises(NoInterruptRouteError,
                           match=r"s2mm_introut .*interrupt controllers \(axi_intc_0\) do not "
                                 r"have it as an input"):
            asyncio.run(b.t.interrupt())
    finally:
        _close(b)


def test_sg_overlay_without_intc_polls_and_refuses_interrupt_waits(tmp_path, monkeypatch):
    """SG mode needs no interrupt controller; only the interrupt waits do."""
    b = _open(tmp_path, monkeypatch, SG, Design.loopback(SG))
    try:
        t = b.t
        assert t.ip_dict["axi_dma_0"]["parameters"]["c_include_sg"] == "1"
        assert "irq" not in t.capabilities and "axi_intc_0" not in t.ip_dict
        dma = t.driver("python")
        src, dst = t.allocate(1024, "u1"), t.allocate(1024, "u1")
        _pattern(src, 9)
        dma.recvchannel.transfer(dst)
        dma.sendchannel.transfer(src)
        dma.sendchannel.wait(timeout=5.0)
        dma.recvchannel.wait(timeout=5.0)
        assert np.array_equal(dst, src) and dma.recvchannel.transferred == 1024
        with pytest.raises(DmasimValueError, match=r"interrupt lines.*capabilities"):
            dma.recvchannel.wait(interrupt=True)
        with pytest.raises(NoInterruptRouteError, match="s2mm_introut"):
            asyncio.run(t.interrupt())
    finally:
        _close(b)


def test_sg_status_control_streams_are_refused(tmp_path, monkeypatch):
    bit = write_overlay(tmp_path, "stscntrl", design=board_design(SG))
    hwh = bit.with_suffix(".hwh")
    text = hwh.read_text(encoding="utf-8")
    sg_param = '<PARAMETER NAME="c_include_sg" VALUE="1" />'
    assert sg_param in text
    hwh.write_text(text.replace(sg_param, sg_param +
                                '<PARAMETER NAME="c_sg_include_stscntrl_strm" VALUE="1" />'),
                   encoding="utf-8")
    record_loaded(bit)
    with dmasim.open_target("model", parameters=SG) as model, \
            pytest.raises(OverlayError, match=r"c_sg_include_stscntrl_strm=1.*allowed 0"):
        BoardTarget(bitfile=str(bit), download=False, device=BoardFakeDevice(model),
                    **board_files(tmp_path))


def test_sg_bitfile_must_hold_a_scatter_gather_dma(plain_board):
    """``--sg-bitfile`` with the simple overlay fails the SG tests with what to build."""
    from dmasim.pytest_plugin import check_sg_overlay

    with pytest.raises(pytest.fail.Exception, match=r"--sg-bitfile x\.bit: axi_dma_0 has "
                                                    r"c_include_sg=0.*-tclargs sg"):
        check_sg_overlay(plain_board, "x.bit")
    check_sg_overlay(plain_board, None)  # not a board SG run: nothing to check


def test_sg_bitfile_with_a_scatter_gather_dma_passes(board_sg):
    from dmasim.pytest_plugin import check_sg_overlay

    assert board_sg.t.ip_dict["axi_dma_0"]["parameters"]["c_include_sg"] == "1"
    check_sg_overlay(board_sg.t, "dma_loopback_sg.bit")  # raises pytest's Failed otherwise
