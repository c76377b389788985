"""What is specific to the native levels: the C core over a file-backed mapping, the build and
import errors, the callback path on the model, and that pybind11/cffi behave exactly like the
python level (same bus trace, same exception types and messages)."""

from __future__ import annotations

import mmap
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import dmasim
from dmasim import regmap
from dmasim.design import DMA_BASE
from dmasim.drivers import native
from dmasim.drivers.native import status
from dmasim.drivers.native.bench import bench_registers, make_devmem_file
from dmasim.errors import (
    DmaInternalError,
    DmasimValueError,
    DmaTimeoutError,
    DriverUnavailableError,
    TargetError,
)
from dmasim.model.target import ModelTarget
from dmasim.target import NativeMapping

BINDINGS = ("pybind11", "cffi")
NATIVE_DIR = Path(native.__file__).parent
SPAN = regmap.ADDR_RANGE
MS = 1_000_000


def device_class(binding: str):
    try:
        return native.load_binding(binding).Device
    except DriverUnavailableError as exc:  # pragma: no cover - only without a build
        pytest.fail(f"native extension not built: {exc}")


@pytest.fixture(params=BINDINGS)
def binding(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def devmem(tmp_path: Path) -> str:
    """A sparse file standing in for /dev/mem, covering the DMA window at DMA_BASE."""
    return make_devmem_file(str(tmp_path / "devmem"), DMA_BASE, SPAN)


def peek(path: str, addr: int) -> int:
    with open(path, "rb") as f:
        f.seek(addr)
        return struct.unpack("<I", f.read(4))[0]  # type: ignore[no-any-return]


def poke(path: str, addr: int, value: int) -> None:
    with open(path, "r+b") as f:
        f.seek(addr)
        f.write(struct.pack("<I", value))


# --- the C core over a file-backed mapping -------------------------------------------------


def test_writes_land_at_file_offsets(binding: str, devmem: str) -> None:
    dev = device_class(binding)(devmem, DMA_BASE, SPAN)
    assert dev.direct
    for off, value in ((0x00, 0x0001_0003), (0x58, 0x1234_5678), (SPAN - 4, 0xFFFF_FFFF)):
        dev.write(off, value)
        assert peek(devmem, DMA_BASE + off) == value
    poke(devmem, DMA_BASE + regmap.S2MM.DMASR, 0xCAFE_F00D)
    assert dev.read(regmap.S2MM.DMASR) == 0xCAFE_F00D
    assert dev.read_loop(regmap.S2MM.DMASR, 1000) == 0xCAFE_F00D
    assert peek(devmem, DMA_BASE - 4) == 0  # nothing written before the window
    dev.close()


def test_program_writes_address_msb_then_length(binding: str, devmem: str) -> None:
    dev = device_class(binding)(devmem, DMA_BASE, SPAN)
    dev.program(regmap.S2MM.base, 0x1_2345_6780, 256)
    assert peek(devmem, DMA_BASE + regmap.S2MM.ADDR) == 0x2345_6780
    assert peek(devmem, DMA_BASE + regmap.S2MM.ADDR_MSB) == 0x1
    assert peek(devmem, DMA_BASE + regmap.S2MM.LENGTH) == 256
    assert peek(devmem, DMA_BASE + regmap.MM2S.LENGTH) == 0
    dev.close()


def test_mapping_is_page_aligned(binding: str, tmp_path: Path) -> None:
    page = mmap.PAGESIZE
    base = 5 * page + 0x40  # not page aligned
    path = make_devmem_file(str(tmp_path / "mem"), base, 0x100)
    dev = device_class(binding)(path, base, 0x100)
    addr, length, delta = dev.mapping()
    assert addr % page == 0
    assert length % page == 0 and length >= delta + 0x100
    assert delta == 0x40
    dev.write(0, 0xA5A5_0001)
    dev.write(0xFC, 0xA5A5_0002)
    assert peek(path, base) == 0xA5A5_0001
    assert peek(path, base + 0xFC) == 0xA5A5_0002
    with pytest.raises(DmasimValueError):
        dev.read(0x100)  # the rest of the mapped page is still outside the window
    dev.close()


@pytest.mark.parametrize("offset", [SPAN, SPAN + 4, 2, 0x31, 0xFFFF_FFFC])
def test_bounds_refused(binding: str, devmem: str, offset: int) -> None:
    dev = device_class(binding)(devmem, DMA_BASE, SPAN)
    with pytest.raises(DmasimValueError, match="window"):
        dev.read(offset)
    with pytest.raises(DmasimValueError, match="window"):
        dev.write(offset, 1)
    with pytest.raises(DmasimValueError):
        dev.read_loop(offset, 10)
    dev.close()


def test_open_errors(binding: str, tmp_path: Path, devmem: str) -> None:
    cls = device_class(binding)
    with pytest.raises(TargetError, match="No such file"):
        cls(str(tmp_path / "missing"), DMA_BASE, SPAN)
    short = make_devmem_file(str(tmp_path / "short"), 0, 0x1000)
    with pytest.raises(TargetError, match="too short"):
        cls(short, DMA_BASE, SPAN)
    with pytest.raises(DmasimValueError):
        cls(devmem, DMA_BASE + 2, SPAN)  # unaligned base
    with pytest.raises(DmasimValueError):
        cls(devmem, DMA_BASE, 0)
    dev = cls(devmem, DMA_BASE, SPAN)
    dev.close()
    dev.close()  # idempotent
    with pytest.raises(TargetError, match="closed"):
        dev.read(0)


def test_direct_poll_times_out_in_wall_time(binding: str, devmem: str) -> None:
    """A file never clears DMACR.Reset: the reset poll gives up at its deadline."""
    dev = device_class(binding)(devmem, DMA_BASE, SPAN)
    t0 = time.monotonic()
    assert dev.reset(20 * MS) == status.TIMEOUT
    assert 0.015 < time.monotonic() - t0 < 5.0
    for ch in regmap.CHANNELS:
        assert peek(devmem, DMA_BASE + ch.DMACR) == regmap.DMACR_RESET
    dev.close()


def test_direct_start_stop_wait_decode(binding: str, devmem: str) -> None:
    dev = device_class(binding)(devmem, DMA_BASE, SPAN)
    ch = regmap.MM2S
    poke(devmem, DMA_BASE + ch.DMACR, regmap.DMACR.reset | regmap.DMACR_RESET)
    rc, sr = dev.start(ch.base, MS, regmap.DMACR_IOC_IRQEN)
    assert (rc, sr) == (status.OK, 0)  # DMASR reads 0: running
    cr = peek(devmem, DMA_BASE + ch.DMACR)
    assert cr & regmap.DMACR_RS and cr & regmap.DMACR_IOC_IRQEN and not cr & regmap.DMACR_RESET
    cases = [
        (regmap.DMASR_IDLE, status.OK),
        (regmap.DMASR_INT_ERR | regmap.DMASR_HALTED, status.DMA_ERROR),
        (regmap.DMASR_HALTED, status.HALTED),
        (0, status.TIMEOUT),
    ]
    for value, expected in cases:
        poke(devmem, DMA_BASE + ch.DMASR, value)
        assert dev.wait_idle(ch.base, MS) == (expected, value)
    rc, _ = dev.stop(ch.base, MS)
    assert rc == status.TIMEOUT  # the file never shows Halted
    assert not peek(devmem, DMA_BASE + ch.DMACR) & regmap.DMACR_RS
    assert dev.dmasr(ch.base) == 0
    with pytest.raises(DmasimValueError):
        dev.dmasr(0x10)  # not a channel base
    dev.close()


def test_direct_poll_releases_the_gil(binding: str, devmem: str) -> None:
    """While the core polls a mapping, another Python thread runs and its store is seen."""
    dev = device_class(binding)(devmem, DMA_BASE, SPAN)
    result: list[tuple[int, int]] = []
    waiter = threading.Thread(
        target=lambda: result.append(dev.wait_idle(regmap.S2MM.base, 5_000 * MS))
    )
    waiter.start()
    time.sleep(0.05)
    assert waiter.is_alive()
    with open(devmem, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
        m[DMA_BASE + regmap.S2MM.DMASR:DMA_BASE + regmap.S2MM.DMASR + 4] = struct.pack(
            "<I", regmap.DMASR_IDLE | regmap.DMASR_IOC_IRQ)
    waiter.join(timeout=5)
    assert not waiter.is_alive()
    assert result == [(status.OK, regmap.DMASR_IDLE | regmap.DMASR_IOC_IRQ)]
    dev.close()


def test_status_codes_match_the_header(binding: str) -> None:
    if binding == "pybind11":
        mod = native.load_binding("pybind11")
        values = {name: getattr(mod, name) for name in status.NAMES.values()}
    else:
        from dmasim.drivers.native._dmasim_cffi import lib

        values = {name: getattr(lib, f"DMASIM_{name}") for name in status.NAMES.values()}
    assert values == {name: code for code, name in status.NAMES.items()}


# --- build and import errors ---------------------------------------------------------------


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc")
def test_core_compiles_without_warnings(tmp_path: Path) -> None:
    units = (("c", "-std=c11", "dmasim_dma.c"), ("c++", "-std=c++17", "dmasim_dma.h"))
    for lang, std, src in units:
        cmd = ["gcc", "-x", lang, std, "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-c",
               str(NATIVE_DIR / src), "-o", str(tmp_path / f"{lang}.o")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr


def test_core_has_no_magic_offsets() -> None:
    """Offsets and bits come from the generated dmasim_regmap.h, not literals in the core."""
    src = (NATIVE_DIR / "dmasim_dma.c").read_text()
    assert '#include "dmasim_dma.h"' in src
    for literal in ("0x30", "0x34", "0x58", "0x28", "0x18", "0x04u", "0x1000"):
        assert literal not in src.lower(), literal


@pytest.mark.parametrize("module", ["dmasim.drivers.native._dmasim_pybind11",
                                    "dmasim.drivers.native._dmasim_cffi"])
def test_missing_extension_says_how_to_rebuild(monkeypatch: pytest.MonkeyPatch,
                                                module: str) -> None:
    binding = "pybind11" if "pybind11" in module else "cffi"
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.delitem(sys.modules, "dmasim.drivers.native.cffi_device", raising=False)
    with pytest.raises(DriverUnavailableError) as info:
        native.load_binding(binding)
    assert "pip install -e ." in str(info.value)
    assert "pip install --force-reinstall dmasim" in str(info.value)
    with dmasim.open_target("model") as t, pytest.raises(DriverUnavailableError):
        t.driver(binding)


# --- the drivers on the model (callbacks) --------------------------------------------------


def loopback(t: dmasim.Target, lvl: str, words: int = 32) -> None:
    d = t.driver(lvl)
    a = t.allocate(shape=(words,), dtype="u4")
    b = t.allocate(shape=(words + 2,), dtype="u4")
    a[:] = np.arange(words, dtype="u4") * 0x0101_0101
    b[:] = 0xAAAA_AAAA
    d.recvchannel.transfer(b, nbytes=words * 4)
    d.sendchannel.transfer(a)
    d.sendchannel.wait()
    d.recvchannel.wait()
    assert np.array_equal(b[:words], a)
    assert (b[words:] == 0xAAAA_AAAA).all()
    assert d.recvchannel.transferred == words * 4


@pytest.mark.rule("DRV-API")
def test_loopback_on_the_model(binding: str) -> None:
    with dmasim.open_target("model") as t:
        loopback(t, binding)
        assert not t.driver(binding).direct
        loopback(t, binding, 300)


@pytest.mark.rule("POLL-BACKOFF")
def test_same_bus_trace_as_the_python_level(binding: str) -> None:
    traces = {}
    for lvl in ("python", binding):
        with dmasim.open_target("model") as t:
            loopback(t, lvl)
            t.driver(lvl).reset()
            loopback(t, lvl, 8)
            traces[lvl] = list(t.trace)
    assert traces[binding] == traces["python"]


def failure(lvl: str, scenario: str) -> tuple[type, str]:
    params = {"c_sg_length_width": 14} if scenario == "too_long" else None
    with dmasim.open_target("model", parameters=params) as t:
        d = t.driver(lvl)
        try:
            if scenario == "overflow":  # S2MM packet longer than LENGTH
                a = t.allocate(shape=(64,), dtype="u4")
                b = t.allocate(shape=(32,), dtype="u4")
                d.recvchannel.transfer(b)
                d.sendchannel.transfer(a)
                d.recvchannel.wait()
            elif scenario == "no_s2mm":  # MM2S sends 64 KiB, S2MM never started
                a = t.allocate(shape=(16384,), dtype="u4")
                d.sendchannel.transfer(a)
                d.sendchannel.wait(timeout=0.002)
            elif scenario == "too_long":
                a = t.allocate(shape=(4096,), dtype="u4")  # 16384 B > 16383
                d.sendchannel.transfer(a)
        except dmasim.DmasimError as exc:
            return type(exc), str(exc)
    raise AssertionError(f"{scenario} raised nothing on {lvl}")


@pytest.mark.parametrize(("scenario", "expected"), [
    ("overflow", DmaInternalError),
    ("no_s2mm", DmaTimeoutError),
    ("too_long", DmasimValueError),
])
@pytest.mark.rule("DRV-ERRORS")
def test_errors_as_the_python_level(binding: str, scenario: str, expected: type) -> None:
    got = failure(binding, scenario)
    assert got[0] is expected
    assert got == failure("python", scenario)


@pytest.mark.rule("ERR-STICKY")
def test_reset_clears_an_error(binding: str) -> None:
    with dmasim.open_target("model") as t:
        d = t.driver(binding)
        a, b = t.allocate(shape=(64,), dtype="u4"), t.allocate(shape=(32,), dtype="u4")
        d.recvchannel.transfer(b)
        d.sendchannel.transfer(a)
        with pytest.raises(DmaInternalError):
            d.recvchannel.wait()
        assert d.recvchannel.error
        d.reset()
        assert not d.recvchannel.error
        loopback(t, binding)


class BoomError(Exception):
    pass


def test_callback_exception_propagates_unchanged(binding: str) -> None:
    with dmasim.open_target("model") as t:
        real = t.bus.read32
        calls = {"n": 0}

        def read32(addr: int) -> int:
            calls["n"] += 1
            if calls["n"] > 3:
                raise BoomError(f"bus fault at 0x{addr:08x}")
            return real(addr)

        t.bus.read32 = read32  # type: ignore[method-assign]
        d = t.driver(binding)
        with pytest.raises(BoomError, match="bus fault"):
            loopback(t, binding)
        t.bus.read32 = real  # type: ignore[method-assign]
        d.close()


def test_bad_register_offset_on_the_driver(binding: str) -> None:
    with dmasim.open_target("model") as t:
        d = t.driver(binding)
        for bad in (-4, 2, SPAN, "0x04"):
            with pytest.raises(DmasimValueError):
                d.read(bad)  # type: ignore[arg-type]
        assert d.read(np.int64(regmap.MM2S.DMACR)) == regmap.DMACR.reset


# --- direct mapping chosen through the target ----------------------------------------------


class FileBackedModel(ModelTarget):
    """A model target that also offers a native mapping (as the board target does)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.asked: list[str] = []

    def native_mapping(self, ip_name: str) -> tuple[str, int, int]:
        self.asked.append(ip_name)
        return self.path, DMA_BASE, SPAN

    def native_outer_sync(self) -> None:
        return None


def test_native_mapping_selects_direct_access(binding: str, devmem: str) -> None:
    t = FileBackedModel(devmem)
    assert isinstance(t, NativeMapping)
    try:
        d = t.driver(binding)
        assert d.direct
        poke(devmem, DMA_BASE + regmap.S2MM.LENGTH, 1234)
        assert d.recvchannel.transferred == 1234
        assert t.trace == type(t.trace)(maxlen=t.trace.maxlen)  # the model bus was not used
        assert t.asked == ["axi_dma_0"]
    finally:
        t.close()
    with pytest.raises(TargetError, match="closed"):
        d.read(0)


# --- the register-access benchmark ---------------------------------------------------------


def test_bench_reports_all_levels(tmp_path: Path) -> None:
    path = make_devmem_file(str(tmp_path / "devmem"))
    res = bench_registers(loop_reads=200_000, calls=2_000, repeats=2, path=path)
    assert set(res.results) == {"python", "pybind11", "cffi"}
    for level in BINDINGS:
        r = res.results[level]
        assert r.loop_per_s > 0 and r.call_per_s > 0
        # The goal: the C levels reach >= 20x the python level's register accesses/s.
        assert res.speedup(level) >= 20, res.format()
    assert "python" in res.format()
    assert os.path.getsize(path) == DMA_BASE + SPAN


def test_missing_cffi_runtime_says_install_cffi(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_backend(name: str) -> None:
        raise ModuleNotFoundError("No module named '_cffi_backend'", name="_cffi_backend")

    monkeypatch.setattr(native.importlib, "import_module", no_backend)
    with pytest.raises(DriverUnavailableError, match="pip install cffi"):
        native.load_binding("cffi")


def test_closed_driver_lets_the_target_go(binding: str) -> None:
    """The callbacks hold the target; closing drops them (pybind11 objects hide cycles)."""
    import gc
    import weakref

    t = dmasim.open_target("model")
    assert t.driver(binding).sendchannel.running
    ref = weakref.ref(t)
    t.close()
    del t
    gc.collect()
    assert ref() is None
