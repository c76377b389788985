"""The board target with pynq's real classes over a fake device, and the model behind it.

Everything BoardTarget does on the board runs here — Zynq and /dev/mem checks, pynq.Overlay
parsing the loopback .hwh, ip_dict handling, pynq.allocate, the window bus, reset, the
drivers — except the physical /dev/mem mapping, replaced by windows onto the model's bus.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

# pynq's real classes are what this module exercises (the fakes below subclass them).
pynq = pytest.importorskip("pynq")

from board_fakes import (
    BOOTED_AT,
    DATA,
    BoardFakeDevice,
    ModelWindow,
    board_files,
    overlay_dir,
    record_loaded,
)

import dmasim
from dmasim import BufferStateError, DmasimValueError, TargetError, regmap
from dmasim.board.errors import (
    DevMemPermissionError,
    NotZynqError,
    OverlayError,
    PynqMissingError,
)
from dmasim.board.hwh import render
from dmasim.board.target import BoardTarget, WindowBus
from dmasim.design import DMA_BASE

PYNQ_VERSION = tuple(int(p) for p in pynq.__version__.split(".")[:3])

DOWNLOAD_FAILS: dict[tuple[int, ...], tuple[type[BaseException], str]] = {
    # pynq's bug: Overlay.download() sets the PL clocks with clock_dict[i]["frequency"], which
    # pynq 4.0.0's metadata leaves None for a Zynq-7000 PS7 (no PSU__..._ACT_FREQMHZ).
    (4, 0, 0): (TypeError, "NoneType"),
    # Off-board only: pynq 3.0's Clocks picks its driver from the HOST's os.uname(), not from
    # the device, so no fake device makes it a Zynq here (on the board it loads).
    (3, 0): (RuntimeError, "Architecture not supported for Clocks"),
}
"""pynq releases whose own Overlay.download() fails on the fake Zynq: the exception (the
cause of our OverlayError) and a fragment of its message. pynq 3.1.2 loads it."""


@pytest.fixture(autouse=True)
def pl_state_dir(tmp_path, monkeypatch):
    """pynq's global PL state lives in a temporary directory (pynq's own STATE_DIR moved)."""
    from pynq.pl_server import global_state

    state_dir = tmp_path / "pl_server"
    state_dir.mkdir()
    monkeypatch.setattr(global_state, "STATE_DIR", str(state_dir))
    return state_dir


@pytest.fixture
def model():
    with dmasim.open_target("model") as m:
        yield m


@pytest.fixture
def device(model):
    return BoardFakeDevice(model)


@pytest.fixture
def files(tmp_path):
    return board_files(tmp_path)


@pytest.fixture
def bit(tmp_path):
    """The loopback overlay, recorded by pynq as loaded since this (fake) boot."""
    bit = overlay_dir(tmp_path)
    record_loaded(bit)
    return bit


@pytest.fixture
def log():
    return []


@pytest.fixture
def board(model, device, files, bit, log):
    def window(base, length):
        return ModelWindow(model, base, length, log)

    t = dmasim.open_target("board", bitfile=str(bit), download=False, device=device,
                           open_window=window, **files)
    yield t
    t.close()


# --- the .hwh fixture and pynq's parsing of it ---------------------------------------------


def test_fixture_is_up_to_date():
    assert DATA.read_text(encoding="utf-8") == render(), (
        "run python -m dmasim.board.hwh tests/board/data/dma_loopback_1.hwh")


def test_overlay_parses_the_loopback_design(board, bit):
    ip = board.ip_dict["axi_dma_0"]
    assert ip["type"] == "xilinx.com:ip:axi_dma:7.1"
    assert ip["phys_addr"] == DMA_BASE and ip["addr_range"] == 0x1_0000
    params = ip["parameters"]
    assert params["c_include_sg"] == "0" and params["c_sg_length_width"] == "26"
    assert params["C_INCLUDE_SG"] == "0"  # both spellings, as Vivado writes them
    assert ip["registers"]["S2MM_LENGTH"]["address_offset"] == 0x58
    assert board.dma_names == ["axi_dma_0"]
    assert board.bitfile == str(bit)
    assert isinstance(board.overlay, pynq.Overlay)
    assert board.bus.windows == [("axi_dma_0", DMA_BASE, 0x1_0000)]  # the PS has no window


def test_default_driver_config_comes_from_the_hwh(board):
    assert board.axi_dma_0.sendchannel.max_size == (1 << 26) - 1


def test_native_mapping(board, files):
    assert board.native_mapping("axi_dma_0") == (files["devmem_path"], DMA_BASE, 0x1_0000)
    with pytest.raises(DmasimValueError, match="no IP named"):
        board.native_mapping("nope")


# --- register access only inside the IP windows ---------------------------------------------


def test_register_access_goes_through_the_window(board, log):
    log.clear()
    regs = board.ip_mmio("axi_dma_0")
    regs.write(regmap.MM2S.DMACR, 1)
    assert regs.read(regmap.MM2S.DMACR) == 0x0001_0003
    assert log == [("W", DMA_BASE, 1), ("R", DMA_BASE, 0x0001_0003)]


@pytest.mark.parametrize("addr", [DMA_BASE - 4, DMA_BASE + 0x1_0000, 0xF800_0000, 0, DMA_BASE + 2])
def test_bus_refuses_addresses_outside_the_ip_windows(board, log, addr):
    log.clear()
    with pytest.raises(DmasimValueError, match="axi_dma_0: 0x40400000"):
        board.bus.read32(addr)
    with pytest.raises(DmasimValueError):
        board.bus.write32(addr, 0)
    if not DMA_BASE <= addr < DMA_BASE + 0x1_0000:
        with pytest.raises(DmasimValueError):
            board.mmio(addr & ~3, 4)
    assert log == []


def test_windows_are_mapped_lazily_and_once():
    opened = []

    class Win:
        def __init__(self, base, length):
            opened.append(base)

        def read(self, offset):
            return offset

        def write(self, offset, value):
            pass

        def close(self):
            opened.append("closed")

    bus = WindowBus([("b", 0x5000, 0x100), ("a", 0x1000, 0x100)], Win)
    assert opened == []
    assert bus.read32(0x1004) == 4 and bus.read32(0x50FC) == 0xFC and bus.read32(0x1008) == 8
    assert opened == [0x1000, 0x5000]
    bus.close()
    assert opened[2:] == ["closed", "closed"]


# --- buffers from pynq.allocate -------------------------------------------------------------


def test_allocate_goes_through_pynq_allocate(board, monkeypatch):
    calls = []
    real = pynq.allocate

    def spy(shape, dtype="u4", target=None, **kwargs):
        calls.append((shape, target, kwargs))
        return real(shape, dtype, target=target, **kwargs)

    monkeypatch.setattr(board.buffers, "_allocate", spy)
    buf = board.allocate(shape=(16,), dtype="u4", cacheable=True)
    assert calls == [((16,), board.pynq_device, {"cacheable": True})]
    assert buf.physical_address % 4 == 0 and buf.nbytes == 64


def test_ownership(board, model):
    a = board.allocate((64,), "u1")
    assert board.owns(a) and board.owns(a[8:16]) and board.memory.allocations == 1
    assert not board.owns(np.zeros(4)) and not board.owns("x")
    other = model.allocate((4,))
    assert not board.owns(other)
    a.freebuffer()
    assert not board.owns(a) and not board.owns(a[8:16])
    b = board.allocate((8,))
    board.memory.free_all()
    assert not board.owns(b) and board.memory.allocations == 0
    with pytest.raises(BufferStateError):
        board.axi_dma_0.sendchannel.transfer(b)


@pytest.mark.parametrize(("shape", "dtype"), [((0,), "u4"), ((4,), "not-a-dtype"), ("x", "u4")])
def test_allocate_bad_input(board, shape, dtype):
    with pytest.raises(DmasimValueError):
        board.allocate(shape, dtype)


def test_close_frees_buffers_and_unmaps(model, device, files, bit):
    windows = []

    def window(base, length):
        windows.append(ModelWindow(model, base, length))
        return windows[-1]

    t = BoardTarget(bitfile=str(bit), download=False, device=device, open_window=window, **files)
    buf = t.allocate((8,))
    t.close()
    t.close()
    assert buf.freed and windows and all(w.closed for w in windows)
    with pytest.raises(TargetError, match="closed"):
        t.mmio(DMA_BASE, 4)


# --- time ----------------------------------------------------------------------------------


def test_delay_is_wall_clock(board):
    t0 = board.now_ns
    board.delay(2_000_000)
    assert board.now_ns - t0 >= 2_000_000
    t1 = board.now_ns
    board.delay(5_000)
    assert board.now_ns - t1 >= 5_000
    board.delay(0)
    with pytest.raises(DmasimValueError):
        board.delay(-1)


# --- reset ---------------------------------------------------------------------------------


def test_reset_is_a_dma_soft_reset(board, log):
    regs = board.ip_mmio()
    regs.write(regmap.MM2S.DMACR, 1)
    regs.write(regmap.S2MM.ADDR, 0x1234)
    log.clear()
    board.reset()
    assert log[0] == ("W", DMA_BASE + regmap.MM2S.DMACR, regmap.DMACR_RESET)
    for ch in regmap.CHANNELS:
        assert regs.read(ch.DMACR) == 0x0001_0002 and regs.read(ch.DMASR) == 1
    assert regs.read(regmap.S2MM.ADDR) == 0


def test_reset_that_never_finishes_is_an_error(model, device, files, bit):
    class Stuck(ModelWindow):
        def read(self, offset):
            return regmap.DMACR_RESET if offset in (0x00, 0x30) else 0

    with pytest.raises(TargetError, match="soft reset did not finish"):
        BoardTarget(bitfile=str(bit), download=False, device=device,
                    open_window=lambda b, n: Stuck(model, b, n), **files)


# --- the whole flow: drivers and the suite's loopback on the model behind the fake board ----


@pytest.mark.parametrize("level", ["python", "pynq"])
@pytest.mark.parametrize("nbytes", [4, 128, 4096])
def test_loopback_through_the_board_target(board, level, nbytes):
    dma = board.driver(level)
    src = board.allocate((nbytes,), "u1")
    dst = board.allocate((nbytes + 32,), "u1")
    src[:] = np.arange(nbytes) * 7 % 251
    dst[:] = 0xAA
    dma.recvchannel.transfer(dst, 16, nbytes)
    dma.sendchannel.transfer(src)
    dma.sendchannel.wait(timeout=2.0)
    dma.recvchannel.wait(timeout=2.0)
    assert np.array_equal(dst[16:16 + nbytes], src)
    assert (dst[:16] == 0xAA).all() and (dst[16 + nbytes:] == 0xAA).all()
    assert dma.recvchannel.transferred == nbytes


def test_describe_decodes_registers(board):
    text = board.describe()
    assert "axi_dma_0 @ 0x40400000" in text and "DMASR" in text


def test_suite_capabilities(board):
    assert board.name == "board" and not board.simulated
    assert "faults" not in board.capabilities and "cache-model" not in board.capabilities
    assert board.faults is None


def test_attach_to_the_loaded_overlay(model, device, files, bit):
    device.bitfile_name = str(bit)
    with BoardTarget(device=device, open_window=lambda b, n: ModelWindow(model, b, n),
                     **files) as t:
        assert t.bitfile == str(bit) and "axi_dma_0" in t.ip_dict
        assert device.downloads == []


def test_download(model, device, files, bit, monkeypatch):
    """pynq's own Overlay.download() on the fake Zynq: loads, except where pynq has a bug."""
    from pynq.ps import Clocks

    # pynq caches its clock driver on the class (and 4.x its device): keep this test's fake
    # device out of both. raising=False: pynq 3.0 has no Clocks.device; setattr then delattr
    # leaves the attribute absent during the test and restores the prior state after.
    monkeypatch.setattr(Clocks, "device", None, raising=False)
    monkeypatch.setattr(Clocks, "_real_instance", None, raising=False)
    monkeypatch.delattr(Clocks, "_real_instance")
    bug = DOWNLOAD_FAILS.get(PYNQ_VERSION) or DOWNLOAD_FAILS.get(PYNQ_VERSION[:2])

    def open_board():
        return BoardTarget(bitfile=str(bit), device=device,
                           open_window=lambda b, n: ModelWindow(model, b, n), **files)

    if bug is None:
        with open_board() as t:
            assert device.downloads == [str(bit)] and t.overlay.is_loaded()
            assert t.loaded_by == "downloaded by this target" and t.pl_state is None
    else:
        with pytest.raises(OverlayError, match="pynq could not load") as info:
            open_board()
        assert isinstance(info.value.__cause__, bug[0]) and bug[1] in str(info.value.__cause__)


def test_pynq_error_is_wrapped_not_a_traceback(model, device, files, bit, monkeypatch):
    """Whatever pynq raises while loading becomes an OverlayError (its own failure, not a
    pynq release's bug: reading the design fails as an unreadable .hwh would)."""
    def metadata(bitfile_name, partial=False):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(device, "get_bitfile_metadata", metadata)
    with pytest.raises(OverlayError, match="pynq could not load the overlay") as info:
        BoardTarget(bitfile=str(bit), device=device, **files)
    assert isinstance(info.value.__cause__, OSError)
    assert "Input/output error" in str(info.value)


# --- the clear errors ----------------------------------------------------------------------


def test_not_a_zynq(tmp_path, files, bit):
    with pytest.raises(NotZynqError, match=r"cannot be read.*--target=model"):
        BoardTarget(bitfile=str(bit), dt_compatible_path=str(tmp_path / "none"),
                    devmem_path=files["devmem_path"])
    other = tmp_path / "compat"
    other.write_bytes(b"raspberrypi,4-model-b\0brcm,bcm2711\0")
    with pytest.raises(NotZynqError, match="brcm,bcm2711"):
        BoardTarget(bitfile=str(bit), dt_compatible_path=str(other),
                    devmem_path=files["devmem_path"])


def test_this_machine_is_not_a_zynq():
    if os.path.exists("/proc/device-tree/compatible"):
        pytest.skip("this machine has a device tree")
    with pytest.raises(NotZynqError):
        dmasim.open_target("board", bitfile="/home/xilinx/overlays/dma_loopback_1.bit")


def test_devmem_missing(tmp_path, files, bit):
    with pytest.raises(TargetError, match="no such file"):
        BoardTarget(bitfile=str(bit), dt_compatible_path=files["dt_compatible_path"],
                    devmem_path=str(tmp_path / "nope"))


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_not_root(tmp_path, bit):
    """As nobody, the /dev/mem stand-in (0600, root's) is refused before pynq is touched."""
    import pwd

    nobody = pwd.getpwnam("nobody").pw_uid
    public = Path(tempfile.mkdtemp(prefix="dmasim-board-"))  # pytest's tmp is 0700
    public.chmod(0o755)
    paths = board_files(public)
    os.chmod(paths["devmem_path"], 0o600)
    os.chmod(paths["dt_compatible_path"], 0o644)
    code = (
        "import os, sys\n"
        "import dmasim, dmasim.board.target\n"
        "from dmasim.board.errors import DevMemPermissionError\n"
        f"os.setgid({nobody}); os.setuid({nobody})\n"
        "try:\n"
        f"    dmasim.open_target('board', bitfile={str(bit)!r}, **{paths!r})\n"
        "except DevMemPermissionError as exc:\n"
        "    print(exc); sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    shutil.rmtree(public)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "not root" in out.stdout and "sudo" in out.stdout


def test_devmem_permission_denied(monkeypatch, files, bit):
    import dmasim.board.devmem as devmem

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(devmem.os, "open", deny)
    with pytest.raises(DevMemPermissionError, match="permission denied"):
        BoardTarget(bitfile=str(bit), **files)


def test_pynq_not_installed(monkeypatch, files, bit):
    monkeypatch.setitem(sys.modules, "pynq", None)  # import pynq -> ImportError
    with pytest.raises(PynqMissingError, match=r"pip install dmasim\[pynq\]"):
        BoardTarget(bitfile=str(bit), **files)


def test_bitfile_missing(tmp_path, files):
    with pytest.raises(OverlayError, match="does not exist"):
        BoardTarget(bitfile=str(tmp_path / "nope.bit"), **files)


def test_hwh_missing(tmp_path, files, device):
    bit = overlay_dir(tmp_path, "nohwh", hwh=False)
    with pytest.raises(OverlayError, match=r"nohwh\.hwh is missing"):
        BoardTarget(bitfile=str(bit), device=device, **files)


def test_nothing_loaded_and_no_bitfile(files, device):
    with pytest.raises(OverlayError, match="no overlay is loaded"):
        BoardTarget(device=device, **files)


def _edited_overlay(tmp_path, old, new, name="edited"):
    bit = overlay_dir(tmp_path, name, hwh=False)
    text = DATA.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / f"{name}.hwh").write_text(text.replace(old, new), encoding="utf-8")
    record_loaded(bit)
    return bit


def test_no_axi_dma_in_the_overlay(tmp_path, files, device):
    bit = _edited_overlay(tmp_path, 'VLNV="xilinx.com:ip:axi_dma:7.1"',
                          'VLNV="xilinx.com:ip:axi_cdma:4.1"')
    with pytest.raises(OverlayError, match="no AXI DMA"):
        BoardTarget(bitfile=str(bit), download=False, device=device, **files)


def test_scatter_gather_dma_is_accepted(tmp_path, files):
    """An SG overlay opens; the drivers run it in SG mode (tests/board/test_board_irq.py moves
    data through it)."""
    bit = _edited_overlay(tmp_path, '<PARAMETER NAME="c_include_sg" VALUE="0" />',
                          '<PARAMETER NAME="c_include_sg" VALUE="1" />')
    with dmasim.open_target("model", parameters={"c_include_sg": 1}) as sg_model, \
            BoardTarget(bitfile=str(bit), download=False, device=BoardFakeDevice(sg_model),
                        open_window=lambda b, n: ModelWindow(sg_model, b, n), **files) as t:
        assert t.ip_dict["axi_dma_0"]["parameters"]["c_include_sg"] == "1"
        assert t.driver("python").recvchannel.sg
        assert "CURDESC" in t.describe()


def test_importing_the_board_package_does_not_import_pynq():
    code = ("import sys, dmasim, dmasim.board, dmasim.board.target, dmasim.board.devmem\n"
            "assert 'pynq' not in sys.modules, 'pynq imported eagerly'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr


# --- a wrong or stale overlay is refused before any register access -------------------------


def _attach(model, device, files, bit, opened):
    def window(base, length):
        opened.append(base)
        return ModelWindow(model, base, length)

    return BoardTarget(bitfile=str(bit), download=False, device=device, open_window=window,
                       **files)


def test_state_file_is_pynqs_own_for_this_version(bit, pl_state_dir):
    """The fixture wrote the file with this pynq's own code; the name differs by release."""
    names = [p.name for p in pl_state_dir.iterdir()]
    expected = "global_pl_state.json" if PYNQ_VERSION < (3, 1) else "global_pl_state_.json"
    assert names == [expected]


def test_attach_proves_the_overlay_is_loaded(model, device, files, bit, pl_state_dir):
    opened = []
    with _attach(model, device, files, bit, opened) as t:
        assert t.pl_state is not None and t.pl_state.bitfile_name == str(bit)
        assert t.loaded_by.startswith("pynq's state file") and str(pl_state_dir) in t.loaded_by
    assert opened == [DMA_BASE]


def test_stale_state_after_a_reboot_is_refused(model, device, files, bit, pl_state_dir):
    """pynq 3.x's state file survives a reboot; the PL then holds the boot design."""
    (state,) = pl_state_dir.iterdir()
    os.utime(state, (BOOTED_AT - 3600, BOOTED_AT - 3600))
    # pynq itself still says the loopback is loaded:
    assert pynq.pl_server.global_state.load_global_state().bitfile_name == str(bit)
    opened = []
    with pytest.raises(OverlayError, match=r"rebooted since.*boot loaded.*bitfile=") as info:
        _attach(model, device, files, bit, opened)
    assert opened == [], "a register window was mapped before the overlay was proved loaded"
    assert "download" in str(info.value)


def test_pl_not_programmed_since_boot_is_refused(model, device, files, bit):
    Path(files["fpga_state_path"]).write_text("unknown\n")
    opened = []
    with pytest.raises(OverlayError, match="not been programmed since boot"):
        _attach(model, device, files, bit, opened)
    assert opened == []


def test_no_record_of_any_overlay_is_refused(model, device, files, bit, pl_state_dir):
    for p in pl_state_dir.iterdir():
        p.unlink()
    opened = []
    with pytest.raises(OverlayError, match="no record of a loaded overlay"):
        _attach(model, device, files, bit, opened)
    assert opened == []


def test_rebuilt_bitstream_is_refused(model, device, files, bit):
    bit.write_bytes(b"\x00\x09a newer build")
    opened = []
    with pytest.raises(OverlayError, match="changed since pynq loaded it"):
        _attach(model, device, files, bit, opened)
    assert opened == []


def test_another_overlay_without_the_dma_window_is_refused(model, device, files, bit,
                                                            tmp_path):
    other = tmp_path / "base"
    other.mkdir()
    _edited_overlay(other, 'BASEVALUE="0x40400000"', 'BASEVALUE="0x41E00000"', name="base")
    opened = []
    with pytest.raises(OverlayError, match=r"holds .*base\.bit.*axi_dma_0 at 0x40400000.*"
                                           r"not in it.*0x41e00000"):
        _attach(model, device, files, bit, opened)
    assert opened == []


def test_another_overlay_with_the_same_window_is_accepted(model, device, files, bit,
                                                           tmp_path):
    """A different build of the same design (same address map) decodes the same window."""
    other = tmp_path / "copy"
    other.mkdir()
    loaded = overlay_dir(other, "dma_loopback_copy")
    record_loaded(loaded)
    opened = []
    with _attach(model, device, files, bit, opened) as t:
        assert t.pl_state is not None and t.pl_state.bitfile_name == str(loaded)


# --- dmasim probe on the board target (the model behind the fake) ---------------------------


def test_probe_on_the_board_records_the_bitstream_and_pynq(board, bit, model, monkeypatch):
    import hashlib

    from dmasim import probe

    # The model behind the fake moves only when its own clock does: let the probe's bounded
    # waits run on it instead of the wall clock.
    monkeypatch.setattr(board, "clock", model)
    report = probe.run_probe(board)
    meta = report["meta"]
    assert meta["target"] == "board" and meta["pynq"] == pynq.__version__
    assert meta["bitfile"] == str(bit)
    assert meta["bitstream_sha256"] == hashlib.sha256(bit.read_bytes()).hexdigest()
    results = report["results"]
    assert not [k for k, v in results.items() if "error" in v], results
    # The .hwh maps the DMA's masters to DDR only, so the out-of-DDR read is allowed...
    assert "skipped" not in results["read_outside_ddr"]
    assert results["read_outside_ddr"]["MM2S_DMASR"] != "0x00000000"
    # ...and the native C loop cannot map the /dev/mem stand-in there, so Python writes.
    assert results["soft_reset_window"]["writes_from"].startswith("Python")
    with dmasim.open_target("model") as m:
        diffs = probe.compare(probe.run_probe(m), report)
    assert len(diffs) == 1 and diffs[0].startswith(
        "soft_reset_window.writes_from: model='C loop (cffi)' board='Python writes")


def test_probe_skips_the_out_of_ddr_read_when_the_map_is_unknown(model, device, files,
                                                                   tmp_path):
    from dmasim import probe

    bit = _edited_overlay(tmp_path, 'HIGHVALUE="0x1FFFFFFF"', 'HIGHVALUE="0x3FFFFFFF"',
                          name="wide")
    with BoardTarget(bitfile=str(bit), download=False, device=device,
                     open_window=lambda b, n: ModelWindow(model, b, n), **files) as t:
        report = probe.run_probe(t, ["read_outside_ddr"])
    assert "might reach another slave" in report["results"]["read_outside_ddr"]["skipped"]
