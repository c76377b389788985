"""DevMem against a file-backed mapping: page arithmetic, offsets, bounds, errors, access width."""

from __future__ import annotations

import mmap
import os
import subprocess
import sys

import pytest

from dmasim import DmasimValueError, TargetError
from dmasim.board.devmem import DevMem, page_span
from dmasim.board.errors import DevMemError, DevMemPermissionError

PAGE = mmap.PAGESIZE


@pytest.fixture
def phys(tmp_path):
    """A 4-page file standing in for physical memory, filled with a byte pattern."""
    path = tmp_path / "mem"
    path.write_bytes(bytes(i & 0xFF for i in range(4 * PAGE)))
    return path


def word(path, addr: int) -> int:
    return int.from_bytes(path.read_bytes()[addr:addr + 4], "little")


@pytest.mark.parametrize(("base", "length", "expected"), [
    (0x4040_0000, 0x1_0000, (0x4040_0000, 0, 0x1_0000)),
    (0x4040_0010, 0x20, (0x4040_0000, 0x10, PAGE)),
    (0x4040_0FFC, 8, (0x4040_0000, 0xFFC, 2 * PAGE)),
    (PAGE - 4, 4, (0, PAGE - 4, PAGE)),
    (PAGE, PAGE, (PAGE, 0, PAGE)),
])
def test_page_span(base, length, expected):
    assert page_span(base, length, PAGE) == expected


def test_unaligned_base_maps_from_the_page_and_keeps_the_offset(phys):
    base = PAGE + 0x10
    with DevMem(base, 0x20, str(phys)) as m:
        assert m.page_offset == 0x10
        assert m.read(0) == word(phys, base)
        assert m.read(0x1C) == word(phys, base + 0x1C)
        m.write(0x8, 0xDEADBEEF)
    assert word(phys, base + 8) == 0xDEADBEEF


def test_window_across_a_page_boundary(phys):
    base = 2 * PAGE - 8
    with DevMem(base, 16, str(phys)) as m:
        m.write(4, 0x1122_3344)
        m.write(8, 0x5566_7788)
    assert word(phys, 2 * PAGE - 4) == 0x1122_3344
    assert word(phys, 2 * PAGE) == 0x5566_7788


def test_write_touches_exactly_one_little_endian_word(phys):
    before = phys.read_bytes()
    with DevMem(PAGE, 0x100, str(phys)) as m:
        m.write(0x40, 0x0403_0201)
    after = phys.read_bytes()
    assert after[PAGE + 0x40:PAGE + 0x44] == b"\x01\x02\x03\x04"
    assert after[:PAGE + 0x40] == before[:PAGE + 0x40]
    assert after[PAGE + 0x44:] == before[PAGE + 0x44:]


class _Spy:
    """Records every element access on the word view."""

    def __init__(self, words):
        self.words, self.calls = words, []

    def __getitem__(self, index):
        self.calls.append(("get", index))
        return self.words[index]

    def __setitem__(self, index, value):
        self.calls.append(("set", index, value))
        self.words[index] = value


def test_accesses_are_single_32_bit_words(phys):
    m = DevMem(PAGE + 8, 0x40, str(phys))
    assert m._words.format == "I" and m._words.itemsize == 4
    spy = m._words = _Spy(m._words)
    m.read(0x10)
    m.write(0x14, 7)
    m.read(0x3C)
    # one whole-word element per access, by index: no slices, no byte copies
    assert spy.calls == [("get", 4), ("set", 5, 7), ("get", 15)]
    m._words = spy.words
    m.close()


@pytest.mark.parametrize("offset", [-4, 2, 0x41, 0x40, 0x1000, 1.0, "0", None, True])
def test_bad_offsets_name_the_window(phys, offset):
    with DevMem(PAGE, 0x40, str(phys)) as m:
        with pytest.raises(DmasimValueError, match=r"0x00001000|not an integer"):
            m.read(offset)
        with pytest.raises(DmasimValueError):
            m.write(offset, 0)


@pytest.mark.parametrize("value", [-1, 1 << 32, 1.5, "1", None, False])
def test_bad_values(phys, value):
    before = phys.read_bytes()
    with DevMem(PAGE, 0x40, str(phys)) as m, pytest.raises(DmasimValueError, match="32 bits"):
        m.write(0, value)
    assert phys.read_bytes() == before


def test_numpy_integers_are_accepted(phys):
    import numpy as np

    with DevMem(PAGE, 0x40, str(phys)) as m:
        m.write(np.uint32(4), np.uint32(0xFFFF_FFFF))
        assert m.read(np.int64(4)) == 0xFFFF_FFFF


@pytest.mark.parametrize(("base", "length"), [(2, 8), (0, 6), (0, 0), (-4, 8)])
def test_bad_windows(phys, base, length):
    with pytest.raises(DmasimValueError):
        DevMem(base, length, str(phys))


def test_window_past_the_end_of_the_file(phys):
    with pytest.raises(DevMemError, match="cannot map"):
        DevMem(8 * PAGE, 0x10, str(phys))


def test_missing_path(tmp_path):
    with pytest.raises(DevMemError, match="no such file"):
        DevMem(0, 4, str(tmp_path / "nope"))


def test_closed_window_refuses_access_and_close_is_idempotent(phys):
    m = DevMem(0, 8, str(phys))
    m.close()
    m.close()
    assert m.closed
    with pytest.raises(TargetError, match="closed"):
        m.read(0)
    with pytest.raises(TargetError, match="closed"):
        m.write(0, 1)


def test_permission_denied_file_mode_000(phys):
    """As root a 000 file still opens (CAP_DAC_OVERRIDE), so only assert where it bites."""
    phys.chmod(0)
    try:
        if os.geteuid() == 0:
            with DevMem(0, 4, str(phys)) as m:
                assert m.read(0) == 0x0302_0100
        else:
            with pytest.raises(DevMemPermissionError, match="permission denied"):
                DevMem(0, 4, str(phys))
    finally:
        phys.chmod(0o600)


@pytest.mark.skipif(not hasattr(os, "setuid") or os.geteuid() != 0,
                    reason="dropping privileges needs root")
def test_permission_denied_as_nobody(phys):
    """A real EACCES: open the 0600 root-owned file after setuid(nobody) in a subprocess."""
    import pwd

    nobody = pwd.getpwnam("nobody").pw_uid
    phys.chmod(0o600)
    code = (
        "import os, sys\n"
        "from dmasim.board.devmem import DevMem\n"  # import first: nobody may not read them
        "from dmasim.board.errors import DevMemPermissionError\n"
        f"os.setgid({nobody}); os.setuid({nobody})\n"
        "try:\n"
        f"    DevMem(0, 4, {str(phys)!r})\n"
        "except DevMemPermissionError as exc:\n"
        "    print('DENIED', exc); sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert f"uid {nobody}, not root" in out.stdout
    assert "sudo" in out.stdout


def test_permission_error_from_open_is_translated(phys, monkeypatch):
    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(DevMemPermissionError) as info:
        DevMem(0, 4, str(phys))
    assert isinstance(info.value, PermissionError) and isinstance(info.value, TargetError)
