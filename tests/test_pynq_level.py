"""The "pynq" level: pynq's unmodified DMA driver on the model through SimulatedDevice.

pynq is imported only inside tests and fixtures (it takes about a second), and every test that
needs it is skipped when it is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import time
import traceback
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dmasim
from dmasim.errors import (
    BufferStateError,
    DmaBusyError,
    DmaInternalError,
    DmasimValueError,
    DmaTimeoutError,
)
from dmasim.model.target import ModelTarget

needs_pynq = pytest.mark.skipif(find_spec("pynq") is None, reason="pynq is not installed")
CANARY = 0xAA


@pytest.fixture
def model() -> Iterator[ModelTarget]:
    with dmasim.open_target("model") as t:
        yield t  # type: ignore[misc]


@pytest.fixture
def pdma(model: ModelTarget) -> Any:
    return model.driver("pynq")


def _loopback(t: Any, dma: Any, nbytes: int, seed: int = 0) -> None:
    """Send nbytes of random data; check them and the 0xAA canaries around the destination."""
    rng = np.random.default_rng(seed)
    src = t.allocate((nbytes,), "u1")
    dst = t.allocate((nbytes + 8,), "u1")
    src[:] = rng.integers(0, 256, nbytes, dtype=np.uint8)
    dst[:] = CANARY
    dma.sendchannel.transfer(src)
    dma.recvchannel.transfer(dst, start=4, nbytes=nbytes)
    dma.sendchannel.wait()
    dma.recvchannel.wait()
    assert np.array_equal(dst[4 : 4 + nbytes], src)
    assert (dst[:4] == CANARY).all() and (dst[4 + nbytes :] == CANARY).all()
    assert dma.recvchannel.transferred == nbytes
    src.freebuffer()
    dst.freebuffer()


@pytest.mark.rule("DRV-API")
@needs_pynq
def test_level_is_pynqs_own_driver(pdma: Any) -> None:
    from pynq.lib.dma import DMA

    from dmasim.pynq_device import SimulatedDevice

    assert type(pdma.dma) is DMA
    assert isinstance(pdma.device, SimulatedDevice)
    assert pdma.sendchannel.pynq_channel is pdma.dma.sendchannel


@needs_pynq
def test_loopback_32_words(model: ModelTarget, pdma: Any) -> None:
    a = model.allocate((32,), "u4")
    b = model.allocate((34,), "u4")
    a[:] = np.arange(32, dtype=np.uint32) * 0x01010101
    b[:] = 0xAAAAAAAA
    pdma.sendchannel.transfer(a)
    pdma.recvchannel.transfer(b, start=4, nbytes=128)
    pdma.sendchannel.wait()
    pdma.recvchannel.wait()
    assert np.array_equal(b[1:33], a)
    assert b[0] == 0xAAAAAAAA and b[33] == 0xAAAAAAAA


@needs_pynq
@pytest.mark.parametrize("nbytes", [4, 8, 60, 128, 512, 516, 4096, 65_536])
def test_loopback_sizes_with_canaries(model: ModelTarget, pdma: Any, nbytes: int) -> None:
    _loopback(model, pdma, nbytes, seed=nbytes)


@needs_pynq
def test_notebook_sequence_unmodified_pynq(model: ModelTarget) -> None:
    """The notebook's cells, verbatim pynq, on SimulatedDevice (no dmasim wrapper at all)."""
    import pynq
    from pynq.lib.dma import DMA

    from dmasim.pynq_device import SimulatedDevice

    device = SimulatedDevice(model)
    dma = DMA(device.description("axi_dma_0"))
    A = pynq.allocate(shape=(32,), dtype=np.uint32, target=device)  # noqa: N806
    B = pynq.allocate(shape=(32,), dtype=np.uint32, target=device)  # noqa: N806
    A[:] = np.arange(32, dtype=np.uint32)
    dma.sendchannel.transfer(A)
    dma.recvchannel.transfer(B)
    dma.sendchannel.wait()  # MM2S first: fine for 128 bytes (the FIFO holds them)
    dma.recvchannel.wait()
    assert np.array_equal(A, B)
    assert dma.recvchannel.transferred == 128


@needs_pynq
def test_notebook_sequence_through_level(model: ModelTarget, pdma: Any) -> None:
    a = model.allocate((32,), "u4")
    b = model.allocate((32,), "u4")
    a[:] = np.arange(100, 132, dtype=np.uint32)
    for _ in range(3):
        b[:] = 0
        pdma.sendchannel.transfer(a)
        pdma.recvchannel.transfer(b)
        pdma.sendchannel.wait()
        pdma.recvchannel.wait()
        assert np.array_equal(a, b)


@pytest.mark.rule("DRV-ERRORS", "XFER-S2MM-OVERFLOW")
@needs_pynq
def test_s2mm_overflow_is_internal_error_not_not_started(model: ModelTarget, pdma: Any) -> None:
    a = model.allocate((64,), "u4")
    b = model.allocate((32,), "u4")
    pdma.sendchannel.transfer(a)
    pdma.recvchannel.transfer(b)
    with pytest.raises(DmaInternalError) as info:
        pdma.sendchannel.wait()
        pdma.recvchannel.wait()
    assert "not started" not in str(info.value)
    with pytest.raises(DmaInternalError, match="DMAIntErr"):
        pdma.recvchannel.wait()
    # Further transfers report the error too (pynq alone would say "not started").
    with pytest.raises(DmaInternalError):
        pdma.sendchannel.transfer(a)
    pdma.reset()
    _loopback(model, pdma, 128)


@pytest.mark.rule("POLL-TIMEOUT")
@needs_pynq
def test_stall_times_out_within_timeout(model: ModelTarget, pdma: Any) -> None:
    big = model.allocate((16_384,), "u4")  # 64 KiB; S2MM never programmed
    pdma.sendchannel.transfer(big)
    t0_sim, t0 = model.now_ns, time.monotonic()
    with pytest.raises(DmaTimeoutError) as info:
        pdma.sendchannel.wait(timeout=1.0)
    assert time.monotonic() - t0 < 30
    assert 1_000_000_000 <= model.now_ns - t0_sim < 1_100_000_000
    assert "recvchannel.transfer" in str(info.value)
    # Starting S2MM late releases the stalled send.
    sink = model.allocate((16_384,), "u4")
    pdma.recvchannel.transfer(sink)
    pdma.sendchannel.wait()
    pdma.recvchannel.wait()
    assert pdma.recvchannel.transferred == 65_536


@needs_pynq
def test_too_long_transfer_is_value_error(pdma: Any, model: ModelTarget) -> None:
    with dmasim.open_target("model", parameters={"c_sg_length_width": 14}) as t:
        drv = t.driver("pynq")
        buf = t.allocate((4096,), "u4")  # 16,384 bytes > 16,383
        with pytest.raises(DmasimValueError, match="16383"):
            drv.sendchannel.transfer(buf)
        with pytest.raises(DmasimValueError, match="16383"):
            drv.recvchannel.transfer(buf)
        _loopback(t, drv, 16_380)


@pytest.mark.rule("DRV-BAD-INPUT")
@needs_pynq
def test_bad_input_same_errors_as_other_levels(model: ModelTarget, pdma: Any) -> None:
    with pytest.raises(BufferStateError):
        pdma.sendchannel.transfer(np.zeros(8, dtype=np.uint32))
    buf = model.allocate((8,), "u4")
    with pytest.raises(DmasimValueError):
        pdma.sendchannel.transfer(buf, start=2)  # unaligned, no DRE
    with pytest.raises(DmasimValueError):
        pdma.sendchannel.transfer(buf, start=0, nbytes=64)
    buf.freebuffer()
    with pytest.raises(BufferStateError):
        pdma.sendchannel.transfer(buf)


@pytest.mark.rule("DRV-STATE-CHECKS")
@needs_pynq
def test_busy_is_dma_busy_error(model: ModelTarget, pdma: Any) -> None:
    b = model.allocate((32,), "u4")
    pdma.recvchannel.transfer(b)  # waits for a packet that never comes
    with pytest.raises(DmaBusyError):
        pdma.recvchannel.transfer(b)
    with pytest.raises(DmaTimeoutError, match=r"sendchannel\.transfer"):
        pdma.recvchannel.wait(timeout=0.001)


def _callers(log: list[list[str]]) -> Any:
    def record(*args: Any, **kwargs: Any) -> None:
        log.append([f.filename for f in traceback.extract_stack()])
    return record


@pytest.mark.rule("DRV-CACHE-MAINT")
@needs_pynq
def test_cacheable_buffers_maintained_by_pynqs_driver(
    model: ModelTarget, pdma: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mem = model.memory_model
    flushes: list[list[str]] = []
    invalidates: list[list[str]] = []
    real_flush, real_invalidate = mem.flush, mem.invalidate

    def flush(buf: Any) -> None:
        _callers(flushes)()
        real_flush(buf)

    def invalidate(buf: Any) -> None:
        _callers(invalidates)()
        real_invalidate(buf)

    monkeypatch.setattr(mem, "flush", flush)
    monkeypatch.setattr(mem, "invalidate", invalidate)
    src = model.allocate((32,), "u4", cacheable=True)
    dst = model.allocate((32,), "u4", cacheable=True)
    src[:] = np.arange(1, 33, dtype=np.uint32)  # only in the CPU cache until flushed
    pdma.sendchannel.transfer(src)
    pdma.recvchannel.transfer(dst)
    pdma.sendchannel.wait()
    pdma.recvchannel.wait()
    assert np.array_equal(dst, src)  # needs both the flush and the invalidate
    assert len(flushes) == 1 and len(invalidates) == 1  # once each: not repeated by dmasim
    assert any(f.endswith("pynq/lib/dma.py") for f in flushes[0])
    assert any(f.endswith("pynq/lib/dma.py") for f in invalidates[0])


@pytest.mark.rule("DRV-API")
@needs_pynq
def test_state_api(model: ModelTarget, pdma: Any) -> None:
    s = pdma.sendchannel
    assert s.running and not s.error
    s.stop()
    assert not s.running
    s.start()
    assert s.running
    _loopback(model, pdma, 64)
    assert s.idle and pdma.recvchannel.idle
    pdma.recvchannel.wait()  # nothing pending: returns at once, like the other levels
    model.reset()  # power-on reset: the level restarts the channels (pynq's start()) on use
    _loopback(model, pdma, 64)


# --- the device adapter itself --------------------------------------------------------------


@needs_pynq
def test_device_is_a_register_rw_pynq_device(model: ModelTarget) -> None:
    import pynq

    from dmasim.pynq_device import SimulatedDevice

    dev = SimulatedDevice(model)
    assert isinstance(dev, pynq.Device)
    assert dev.has_capability("REGISTER_RW") and not dev.has_capability("MEMORY_MAPPED")
    assert dev.name == "dmasim-model"
    base = model.ip_dict["axi_dma_0"]["phys_addr"]
    mmio = pynq.MMIO(base, 0x10000, device=dev)
    assert mmio.read(0x00) == 0x0001_0002  # DMACR reset value
    mmio.write(0x18, 0x1234_5678)
    assert mmio.read(0x18) == 0x1234_5678
    assert mmio.read(0x18, 2) == 0x5678
    assert dev.read_registers(base + 0x19, 2) == b"\x56\x34"
    words = [0x11, 0xCAFEF00D, 0x22]  # reserved 0x44, S2MM_DA 0x48, DA_MSB 0x4C
    mmio.write(0x44, b"".join(w.to_bytes(4, "little") for w in words))
    assert [(off, v) for _, kind, off, v in list(model.trace)[-3:] if kind == "W"] == [
        (0x44, 0x11), (0x48, 0xCAFEF00D), (0x4C, 0x22)]
    assert mmio.read(0x48) == 0xCAFEF00D
    with pytest.raises(DmasimValueError, match="whole 32-bit"):
        dev.write_registers(base + 0x18, b"\x01\x02")
    with pytest.raises(DmasimValueError):
        dev.read_registers(base + 0x1_0000, 4)  # outside the IP window


@needs_pynq
def test_pynq_allocate_and_device_flush(model: ModelTarget) -> None:
    import pynq

    from dmasim.pynq_device import SimulatedDevice

    dev = SimulatedDevice(model)
    buf = pynq.allocate((16,), "u4", target=dev, cacheable=True)
    assert model.owns(buf) and buf.cacheable
    assert buf.physical_address % 4096 == 0
    buf[:] = 5
    ddr = model.memory_model.ddr
    addr = buf.physical_address
    assert not ddr[addr : addr + 64].any()
    dev.flush(buf, 0, buf.virtual_address, 32)  # pynq's device-level call: first 32 bytes
    assert ddr[addr : addr + 32].view(np.uint32).tolist() == [5] * 8
    assert not ddr[addr + 32 : addr + 64].any()
    ddr[addr : addr + 4] = 9
    dev.invalidate(buf, 0, buf.virtual_address, 4)
    assert buf[0] == 0x09090909
    with pytest.raises(DmasimValueError, match="unsupported"):
        pynq.allocate((4,), "u4", target=dev, pointer=1)


@pytest.mark.rule("POLL-TIMEOUT")
@needs_pynq
def test_unarmed_pynq_stall_raises_instead_of_hanging(model: ModelTarget) -> None:
    from pynq.lib.dma import DMA

    from dmasim.pynq_device import RegisterPollTimeoutError, SimulatedDevice

    dev = SimulatedDevice(model, max_poll_s=0.5)
    dma = DMA(dev.description())
    big = dev.allocate((16_384,), "u4")
    dma.sendchannel.transfer(big)
    t0 = time.monotonic()
    with pytest.raises(RegisterPollTimeoutError):
        dma.sendchannel.wait()  # pynq's own loop, no timeout of its own
    assert time.monotonic() - t0 < 30


class _FakeBoard(ModelTarget):
    """A target that brings its own pynq device, as the board target does."""

    def __init__(self) -> None:
        super().__init__()
        from dmasim.pynq_device import SimulatedDevice

        # Pure spinning, as on the board's mmap: only a wall-clock watchdog can stop it.
        self.pynq_device = SimulatedDevice(self, poll_backoff=False, max_poll_s=None)


@needs_pynq
def test_board_path_uses_given_device_and_wall_clock_watchdog() -> None:
    with _FakeBoard() as t:
        drv = t.driver("pynq")
        assert drv.device is t.pynq_device and drv._watchdog is not None
        _loopback(t, drv, 256)
        drv.sendchannel.transfer(t.allocate((16_384,), "u4"))
        t0 = time.monotonic()
        with pytest.raises(DmaTimeoutError):
            drv.sendchannel.wait(timeout=0.2)
        assert 0.2 <= time.monotonic() - t0 < 5
        # The watchdog left nothing pending behind: normal work continues.
        for _ in range(20):
            time.sleep(0)
        drv.reset()
        _loopback(t, drv, 128)


def test_missing_pynq_names_the_extra() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pynq"] = None  # as if not installed
        import dmasim
        from dmasim.errors import DriverUnavailableError
        with dmasim.open_target("model") as t:
            try:
                t.driver("pynq")
            except DriverUnavailableError as exc:
                assert "pip install dmasim[pynq]" in str(exc), exc
                print("OK")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "OK", out.stderr


HWH = Path(__file__).parent / "board" / "data" / "dma_loopback_1.hwh"


@needs_pynq
@pytest.mark.skipif(not HWH.exists(), reason="the board tests' generated .hwh is not present")
def test_overlay_flow_on_simulated_device(model: ModelTarget, tmp_path: Path) -> None:
    """pynq.Overlay parsing + pynq.allocate + the notebook, all pynq, on the model."""
    import warnings

    import pynq

    from dmasim.pynq_device import SimulatedDevice

    bit = tmp_path / "dma_loopback_1.bit"
    bit.write_bytes(b"\x00\x09placeholder")
    shutil.copy(HWH, tmp_path / "dma_loopback_1.hwh")
    dev = SimulatedDevice(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ol = pynq.Overlay(str(bit), download=False, device=dev)
    dma = ol.axi_dma_0
    a = pynq.allocate((32,), "u4", target=dev)
    b = pynq.allocate((32,), "u4", target=dev)
    a[:] = np.arange(32, dtype=np.uint32)
    dma.sendchannel.transfer(a)
    dma.recvchannel.transfer(b)
    dma.sendchannel.wait()
    dma.recvchannel.wait()
    assert np.array_equal(a, b)


def test_notebook_cells_on_a_generated_overlay(target) -> None:
    """The notebook verbatim on pynq.Overlay + pynq.allocate + pynq's DMA, on every target."""
    pynq = pytest.importorskip("pynq")
    if not target.simulated:
        pytest.skip("on the board the overlay is the real bitstream's")
    from dmasim.pynq_device import overlay

    ol = overlay(target)
    dma = ol.axi_dma_0
    A = pynq.allocate(shape=(32,), dtype=np.uint32, target=ol.device)  # noqa: N806
    B = pynq.allocate(shape=(32,), dtype=np.uint32, target=ol.device)  # noqa: N806
    A[:] = np.random.default_rng(7).integers(0, 100000, 32)
    B[:] = 0
    dma.sendchannel.transfer(A)
    dma.recvchannel.transfer(B)
    dma.sendchannel.wait()
    dma.recvchannel.wait()
    assert np.array_equal(A, B)
    assert ol.ip_dict["axi_dma_0"]["parameters"]["c_sg_length_width"] == \
        target.ip_dict["axi_dma_0"]["parameters"]["c_sg_length_width"]


def test_notebook_raw_registers_through_pynq_mmio(target) -> None:
    """Level (ii) as a notebook writes it with pynq.MMIO: reset, start, MM2S first, poll."""
    pynq = pytest.importorskip("pynq")
    if not target.simulated:
        pytest.skip("on the board pynq.MMIO maps /dev/mem itself")
    from dmasim.pynq_device import SimulatedDevice

    dev = SimulatedDevice(target)
    mmio = pynq.MMIO(0x4040_0000, 0x1_0000, device=dev)
    a = pynq.allocate((32,), "u4", target=dev)
    b = pynq.allocate((32,), "u4", target=dev)
    a[:] = np.arange(32, dtype=np.uint32) * 7
    mmio.write(0x00, 0x4)
    mmio.write(0x30, 0x4)
    mmio.write(0x00, 0x1)
    mmio.write(0x30, 0x1)
    assert mmio.read(0x00) == 0x0001_0003
    mmio.write(0x18, a.physical_address)
    mmio.write(0x28, 128)
    while not mmio.read(0x04) & 0x2:  # a bare spin, as in the notebook; bounded by the device
        pass
    mmio.write(0x48, b.physical_address)
    mmio.write(0x58, 128)
    while not mmio.read(0x34) & 0x2:
        pass
    assert np.array_equal(a, b)
    assert mmio.read(0x58) == 128
