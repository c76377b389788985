"""The BD ring of the SG driver levels: the Python and C cores write identical BDs.

These check the descriptor memory only (no engine runs), so they hold on every target.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmasim import DmasimValueError, regmap
from dmasim.drivers import sg
from dmasim.errors import DriverUnavailableError
from dmasim.pytest_plugin import fresh

W = {name: off // 4 for name, off in regmap.BD.words().items()}


def _device(target, binding):
    from dmasim.drivers.native import open_device

    try:
        return open_device(binding, target)
    except DriverUnavailableError as exc:
        pytest.skip(f"{binding}: {exc}")


def _relative(ring):
    """The ring's words with NXTDESC(+MSB) as offsets from the ring's first BD."""
    words = ring.bds.astype(np.int64)
    nxt = (words[:, W["NXTDESC_MSB"]] << 32) | words[:, W["NXTDESC"]]
    words[:, W["NXTDESC"]] = nxt - ring.phys
    words[:, W["NXTDESC_MSB"]] = 0
    return words


@pytest.mark.rule("DRV-SG-RING")
@pytest.mark.parametrize("binding", ["pybind11", "cffi"])
@given(count=st.integers(1, 40), first=st.integers(0, 39), nbytes=st.integers(1, 5000),
       bd_max=st.sampled_from([4, 60, 252, 1024, (1 << 26) - 4]), framing=st.booleans(),
       addr=st.integers(0, (1 << 40) - 1))
def test_c_core_and_python_write_the_same_ring(target, binding, count, first, nbytes, bd_max,
                                               framing, addr):
    fresh(target)
    first %= count
    if -(-nbytes // bd_max) > count:
        nbytes = count * bd_max
    dev = _device(target, binding)
    py_ring, c_ring = sg.BdRing(target, count), sg.BdRing(target, count)
    py_ring.link()
    dev.sg_link(c_ring.cpu_address, c_ring.phys, count)
    assert np.array_equal(_relative(py_ring), _relative(c_ring))  # the same links, rebased
    used_py = py_ring.fill(first, addr, nbytes, bd_max, framing)
    used_c = dev.sg_fill(c_ring.cpu_address, count, first, addr, nbytes, bd_max, framing)
    assert used_py == used_c == -(-nbytes // bd_max)
    assert np.array_equal(_relative(py_ring), _relative(c_ring))
    # The chain: lengths add up, SOF/EOF only at the ends when framed, STATUS cleared.
    words = [py_ring.words(first + i) for i in range(used_py)]
    lengths = [int(w[W["CONTROL"]]) & regmap.BD_LENGTH_MASK for w in words]
    assert sum(lengths) == nbytes and all(0 < n <= bd_max for n in lengths)
    sof = [bool(int(w[W["CONTROL"]]) & regmap.BD_TXSOF) for w in words]
    eof = [bool(int(w[W["CONTROL"]]) & regmap.BD_TXEOF) for w in words]
    assert sof == [framing and i == 0 for i in range(used_py)]
    assert eof == [framing and i == used_py - 1 for i in range(used_py)]
    assert all(int(w[W["STATUS"]]) == 0 for w in words)
    assert py_ring.guards_intact() and c_ring.guards_intact()


@pytest.mark.rule("DRV-SG-RING")
@pytest.mark.parametrize("binding", ["pybind11", "cffi"])
@given(statuses=st.lists(st.integers(0, 0xFFFF_FFFF), min_size=1, max_size=12),
       s2mm=st.booleans(), width=st.integers(8, 26), first=st.integers(0, 11),
       n=st.integers(0, 12))
def test_chain_result_is_the_same_in_c_and_python(target, binding, statuses, s2mm, width,
                                                  first, n):
    fresh(target)
    dev = _device(target, binding)
    count = len(statuses)
    first %= count
    n = min(n, count)
    ring = sg.BdRing(target, count)
    ring.bds[:, W["STATUS"]] = np.array(statuses, dtype=np.uint32)
    eof = regmap.BD_RXEOF if s2mm else 0
    mask = (1 << width) - 1
    want = ring.result(first, n, mask, eof)
    assert dev.sg_result(ring.cpu_address, count, first, n, mask, eof) == want
    # Reference: complete up to the first EOF (or the last BD) when all before have Cmplt.
    assert want == sg.chain_result(lambda i: statuses[(first + i) % count], n, mask, eof)
    total = 0
    for i in range(n):
        s = statuses[(first + i) % count]
        if not s & regmap.BD_CMPLT:
            assert want == (False, total, i)
            break
        total += s & mask
        if s & eof or i == n - 1:
            assert want == (True, total, i)
            break


@pytest.mark.rule("DRV-BAD-INPUT")
def test_ring_rejects_bad_sizes_and_unaligned_buffers(target):
    for bad in (0, -1, sg.MAX_RING_BDS + 1, 2.5, True):
        with pytest.raises(DmasimValueError, match=r"allowed 1\.\."):
            sg.BdRing(target, bad)
    buf = target.allocate(shape=(4096,), dtype="u1")
    with pytest.raises(DmasimValueError, match=r"0x[0-9a-f]+ is not aligned to 0x40 bytes: "
                                               r"allowed multiples of 0x40"):
        sg.BdRing(target, 4, buffer=buf[8:])
    with pytest.raises(DmasimValueError, match=r"at least 384 bytes"):
        sg.BdRing(target, 4, buffer=buf[:320])
    ring = sg.BdRing(target, 4, buffer=buf[64:64 + 6 * 64 + 3])  # 0x40-aligned view: fine
    assert ring.phys == buf.physical_address + 128 and ring.guards_intact()
    with pytest.raises(DmasimValueError, match=r"NXTDESC of BD 0 0x00000044 is not aligned"):
        sg.check_bd_address(0x44, "NXTDESC of BD 0")
