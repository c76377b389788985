"""dmasim.ip on its own: the register table, the HLS control block, the built-ins' buffering."""

from __future__ import annotations

import numpy as np
import pytest
from designs import fifo, register_slice

from dmasim import DesignError, DmasimValueError, TargetError
from dmasim.ip import HlsControl, RegisterTable, StreamIP, buffering, word_dtype


def test_register_table_access_kinds():
    rt = RegisterTable()
    rt.add("CTRL", 0x00, "RW", reset=0x10, mask=0xFF)
    rt.add("ID", 0x04, "RO", reset=0xCAFE)
    rt.add("STAT", 0x08, "W1C")
    rt.add("EVT", 0x0C, "COR")
    rt.add("KEY", 0x10, "WO")
    assert rt.read(0x00) == 0x10 and rt.read(0x04) == 0xCAFE
    rt.write(0x00, 0x1234)
    assert rt.read(0x00) == 0x34  # only the writable bits
    rt.write(0x04, 1)
    assert rt.read(0x04) == 0xCAFE
    rt["STAT"] = 0b1011
    rt.write(0x08, 0b0010)
    assert rt.read(0x08) == 0b1001
    rt["EVT"] = 5
    assert rt.read(0x0C) == 5 and rt.read(0x0C) == 0
    rt.write(0x10, 7)
    assert rt.read(0x10) == 0 and rt["KEY"] == 7
    assert rt.read(0x40) == 0  # unmapped
    rt.reset()
    assert rt["CTRL"] == 0x10 and rt["KEY"] == 0


@pytest.mark.parametrize("args", [("A", 0x02), ("A", -4), ("A", 0, "XX")])
def test_register_table_bad_declarations(args):
    with pytest.raises(DmasimValueError):
        RegisterTable().add(*args)


def test_register_table_clash_and_unknown_name():
    rt = RegisterTable()
    rt.add("A", 0x0)
    with pytest.raises(DmasimValueError, match="clashes"):
        rt.add("B", 0x0)
    with pytest.raises(DmasimValueError, match=r"no register 'C'.*A"):
        rt["C"]


class Twice(HlsControl):
    def process(self, port, data):
        return {"M_AXIS": data * 2}


def test_hls_control_registers_without_a_target():
    blk = Twice()
    assert blk.read(0x00) == 0x4  # ap_idle
    blk.write(0x18, 9)  # argument 1
    assert blk.arg(1) == 9 and blk.read(0x18) == 9
    blk.write(0x08, 3)
    blk.write(0x04, 1)
    assert (blk.read(0x04), blk.read(0x08)) == (1, 3)
    assert not blk.accepting("S_AXIS") and "AP_START" in (blk.stall_reason("S_AXIS") or "")
    blk.write(0x00, 1)
    assert blk.accepting("S_AXIS") and blk.stall_reason("S_AXIS") is None
    blk.reset()
    assert blk.read(0x00) == 0x4 and blk.arg(1) == 0


def test_emit_without_a_target_is_a_clear_error():
    class Echo(StreamIP):
        def on_packet(self, port, data):
            self.emit("M_AXIS", data)

    with pytest.raises(TargetError, match="not attached"):
        Echo().on_packet("S_AXIS", np.zeros(4, np.uint32))
    with pytest.raises(NotImplementedError):
        StreamIP().on_packet("S_AXIS", np.zeros(1, np.uint32))


def test_builtin_buffering_from_parameters():
    assert buffering(fifo("f", 512)) == (512, False)
    assert buffering(fifo("f", 64, packet_mode=True)) == (64, True)
    assert buffering(register_slice("r")) == (2, False)
    old = fifo("f")
    old.parameters = {"C_FIFO_DEPTH": "32", "C_FIFO_MODE": "2"}
    assert buffering(old) == (32, True)
    bad = fifo("f")
    bad.parameters = {"FIFO_DEPTH": "100"}
    with pytest.raises(DesignError, match="FIFO_DEPTH=100"):
        buffering(bad)


def test_word_dtype():
    assert word_dtype(4) == np.dtype("<u4") and word_dtype(3) == np.dtype("u1")
