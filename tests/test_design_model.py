"""Designs beyond the loopback on the model: user IP models (Python), several DMAs.

Model-only (``@pytest.mark.targets("model")``): these need Python IP models, which only the
model target runs. Designs of dmasim's own FIFO and register slice, which every target
realises, are tested on every target in ``test_design_targets.py``.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pytest
from designs import DMA0, DMA1, IP0, IP1, design, dma, fifo, register_slice, through, user_ip
from helpers import PAD, check_canaries, guarded
from hypothesis import given, settings
from hypothesis import strategies as st

import dmasim
from dmasim import DesignError, DmasimValueError, DmaTimeoutError
from dmasim.design import Design, DesignWarning
from dmasim.ip import HlsControl, RegisterTable, StreamIP

pytestmark = pytest.mark.targets("model")

PORTS = MappingProxyType({"S_AXIS": "in", "M_AXIS": "out"})


class AddConst(StreamIP):
    """Adds the constant in register K (0x10) to every word."""

    streams = PORTS

    def __init__(self, throughput: float = 1.0) -> None:
        self.throughput = throughput
        self.registers = RegisterTable()
        self.registers.add("K", 0x10)
        self.packets = 0

    def on_packet(self, port: str, data: np.ndarray) -> None:
        self.packets += 1
        self.emit("M_AXIS", data + np.uint32(self.registers["K"]))


class Scale(HlsControl):
    """An HLS block: out = in * arg0."""

    streams = PORTS

    def process(self, port: str, data: np.ndarray) -> np.ndarray:
        return data * np.uint32(self.arg(0))


class NoTlast(StreamIP):
    """Forwards every packet but never asserts TLAST."""

    def on_packet(self, port: str, data: np.ndarray) -> None:
        self.emit("M_AXIS", data, last=False)


class Halves(StreamIP):
    """Asserts TLAST after half of each packet and drops the rest."""

    def on_packet(self, port: str, data: np.ndarray) -> None:
        self.emit("M_AXIS", data[: data.size // 2])


class WrongPort(StreamIP):
    """Emits on a port its IP does not have."""

    def on_packet(self, port: str, data: np.ndarray) -> None:
        self.emit("M_AXIS_1", data)


def _run(dma_drv, src, dst, timeout: float = 1.0, **kw: int) -> None:
    dma_drv.recvchannel.transfer(dst, **kw)
    dma_drv.sendchannel.transfer(src, **kw)
    dma_drv.sendchannel.wait(timeout=timeout)
    dma_drv.recvchannel.wait(timeout=timeout)


def _words(t, n: int, seed: int = 0):
    a = t.allocate(n, "u4")
    a[:] = np.random.default_rng(seed).integers(0, 1 << 32, n, dtype=np.uint32)
    return a


# --- the default design stays the default ----------------------------------------------------


def test_explicit_loopback_design_uses_the_engine_fast_path():
    with dmasim.open_target("model", design=Design.loopback()) as t:
        assert t.fabric is None and t.engine is t.engines["axi_dma_0"]
        assert t.ip_dict == Design.loopback().ip_dict()
        a, b = _words(t, 64), t.allocate(64, "u4")
        _run(t.dma(), a, b)
        assert np.array_equal(a, b)
        assert set(t.interrupts()) == {"mm2s_introut", "s2mm_introut"}


# --- a user IP between the channels ----------------------------------------------------------


def test_add_constant_ip_from_an_axi_lite_register():
    ip = AddConst()
    d = through()
    with dmasim.open_target("model", design=d, models={"add_0": ip}) as t:
        assert t.ip_dict == d.ip_dict()
        regs = t.ip_mmio("add_0")
        regs.write(0x10, 7)
        assert regs.read(0x10) == 7
        assert t.bus.read32(IP0 + 0x10) == 7  # the physical bus reaches the window too
        n = 3000
        src = _words(t, n)
        dst = guarded(t, 4 * n)
        drv = t.dma("axi_dma_0")
        drv.recvchannel.transfer(dst, start=PAD, nbytes=4 * n)
        drv.sendchannel.transfer(src)
        drv.sendchannel.wait()
        drv.recvchannel.wait()
        got = np.asarray(dst[PAD:PAD + 4 * n]).view(np.uint32)
        assert np.array_equal(got, np.asarray(src) + np.uint32(7))
        check_canaries(dst, PAD, 4 * n)
        assert ip.packets == 1 and drv.recvchannel.transferred == 4 * n
        assert "axi_dma_0.M_AXIS_MM2S -> add_0.S_AXIS" in t.describe()


def test_hls_block_protocol_start_done_idle_and_interrupt():
    blk = Scale()
    with dmasim.open_target("model", design=through("hls_0"), models={"hls_0": blk}) as t:
        regs = t.ip_mmio("hls_0")
        assert regs.read(0x00) == 0x4  # idle, not started
        regs.write(0x10, 3)  # argument 0
        regs.write(0x04, 1)  # GIE
        regs.write(0x08, 1)  # IER: done
        regs.write(0x00, 1)  # ap_start
        assert regs.read(0x00) & 0x5 == 0x1  # started, not idle
        src, dst = _words(t, 256), t.allocate(256, "u4")
        _run(t.dma(), src, dst)
        assert np.array_equal(dst, np.asarray(src) * np.uint32(3))
        assert t.interrupts()["hls_0/interrupt"] is True
        ctrl = regs.read(0x00)
        assert ctrl & 0x2 and ctrl & 0x4 and not ctrl & 0x1  # done, idle, start cleared
        assert regs.read(0x00) & 0x2 == 0  # ap_done clears on read
        assert regs.read(0x0C) == 1
        regs.write(0x0C, 1)  # ISR toggles on write
        assert regs.read(0x0C) == 0 and t.interrupts()["hls_0/interrupt"] is False


def test_hls_auto_restart_takes_packet_after_packet():
    blk = Scale()
    with dmasim.open_target("model", design=through("hls_0"), models={"hls_0": blk}) as t:
        regs = t.ip_mmio("hls_0")
        regs.write(0x10, 2)
        regs.write(0x00, 0x81)
        drv = t.dma()
        for seed in range(3):
            src, dst = _words(t, 100, seed), t.allocate(100, "u4")
            _run(drv, src, dst)
            assert np.array_equal(dst, np.asarray(src) * np.uint32(2))
        assert blk.runs == 3 and regs.read(0x00) & 0x81 == 0x81


# --- several DMAs, built-in FIFOs ------------------------------------------------------------


def test_two_dmas_at_once_through_a_fifo_and_an_ip():
    d = design(
        dma("axi_dma_0", DMA0), dma("axi_dma_1", DMA1), fifo("fifo_0", 256),
        user_ip("add_0", IP1),
        links=[("axi_dma_0.M_AXIS_MM2S", "fifo_0.S_AXIS"),
               ("fifo_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM"),
               ("axi_dma_1.M_AXIS_MM2S", "add_0.S_AXIS"),
               ("add_0.M_AXIS", "axi_dma_1.S_AXIS_S2MM")])
    ip = AddConst()
    with dmasim.open_target("model", design=d, models={"add_0": ip}) as t:
        assert set(t.engines) == {"axi_dma_0", "axi_dma_1"}
        t.ip_mmio("add_0").write(0x10, 1)
        d0, d1 = t.dma("axi_dma_0"), t.dma("axi_dma_1")
        a0, a1 = _words(t, 5000, 1), _words(t, 7000, 2)
        b0, b1 = t.allocate(5000, "u4"), t.allocate(7000, "u4")
        d0.recvchannel.transfer(b0)
        d1.recvchannel.transfer(b1)
        d0.sendchannel.transfer(a0)
        d1.sendchannel.transfer(a1)
        for ch in (d0.sendchannel, d1.sendchannel, d0.recvchannel, d1.recvchannel):
            ch.wait()
        assert np.array_equal(b0, a0)
        assert np.array_equal(b1, np.asarray(a1) + np.uint32(1))
        assert set(t.interrupts()) >= {"axi_dma_1/s2mm_introut", "add_0/interrupt"}


def test_model_fifo_and_slice_capacity_and_description():
    """Model internals of the built-ins (their behaviour is tested on every target in
    test_design_targets.py): link capacities and the packet-mode note in describe()."""
    d = design(dma("axi_dma_0", DMA0), fifo("fifo_0", 16, True), register_slice("rs_0"),
               links=[("axi_dma_0.M_AXIS_MM2S", "fifo_0.S_AXIS"),
                      ("fifo_0.M_AXIS", "rs_0.S_AXIS"),
                      ("rs_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM")])
    with dmasim.open_target("model", design=d) as t:
        assert t.fabric is not None
        link = t.fabric.routes[0].link
        skid = dmasim.constants.S2MM_SKID_BEATS
        assert link.capacity_beats == t.engine.fifo_beats + 16 + 2 + skid and link.packet_mode
        assert "packet mode" in t.describe()


# --- back-pressure from a slow IP ------------------------------------------------------------


def _completion_ns(throughput: float, n: int = 20_000) -> int:
    with dmasim.open_target("model", design=through(),
                            models={"add_0": AddConst(throughput)}) as t:
        src, dst = _words(t, n), t.allocate(n, "u4")
        drv = t.dma()
        drv.recvchannel.transfer(dst)
        t0 = t.now_ns
        drv.sendchannel.transfer(src)
        regs = t.ip_mmio("axi_dma_0")
        while not regs.read(0x04) & 0x2:  # MM2S idle: the IP has taken the whole packet
            t.delay(1000)
        took = t.now_ns - t0
        drv.recvchannel.wait()
        assert np.array_equal(dst, np.asarray(src))
        return took


def test_throughput_half_takes_two_clocks_per_beat():
    fast, slow = _completion_ns(1.0), _completion_ns(0.5)
    assert 1.9 < slow / fast < 2.1, (fast, slow)
    assert 20_000 * 10 <= fast < 20_000 * 10 * 1.05


# --- hangs and short packets, named --------------------------------------------------------


def test_ip_that_never_asserts_tlast_is_named():
    with dmasim.open_target("model", design=through("bad_0"), models={"bad_0": NoTlast()}) as t:
        drv = t.dma()
        src, dst = _words(t, 4096), t.allocate(8192, "u4")
        drv.recvchannel.transfer(dst)
        drv.sendchannel.transfer(src)
        drv.sendchannel.wait()
        with pytest.raises(DmaTimeoutError) as info:
            drv.recvchannel.wait(timeout=0.01)
        assert "bad_0.M_AXIS has sent 4096 beats without TLAST" in str(info.value)
        assert "unfinished packet: 4096 beats sent" in t.describe()


def test_early_tlast_completes_short_and_says_so():
    with dmasim.open_target("model", design=through("half_0"), models={"half_0": Halves()}) as t:
        drv = t.dma()
        src, dst = _words(t, 4096), t.allocate(4096, "u4")
        _run(drv, src, dst)
        assert drv.recvchannel.transferred == 8192
        assert np.array_equal(dst[:2048], src[:2048])
        assert "completed short: 8192 of 16384 programmed bytes" in t.describe()
        assert any("half_0.M_AXIS" in d.message for d in t.engine.diagnostics)


def test_ip_that_stops_taking_data_is_named_with_its_input():
    with dmasim.open_target("model", design=through("hls_0"), models={"hls_0": Scale()}) as t:
        drv = t.dma()
        src, dst = _words(t, 4096), t.allocate(4096, "u4")
        drv.recvchannel.transfer(dst)
        drv.sendchannel.transfer(src)
        with pytest.raises(DmaTimeoutError) as info:
            drv.sendchannel.wait(timeout=0.01)
        text = str(info.value)
        assert "hls_0 stopped taking data on hls_0.S_AXIS" in text and "AP_START" in text
        with pytest.raises(DmaTimeoutError) as info:
            drv.recvchannel.wait(timeout=0.01)
        assert "hls_0.S_AXIS" in str(info.value)
        t.ip_mmio("hls_0").write(0x10, 1)
        t.ip_mmio("hls_0").write(0x00, 1)  # start it: the stream drains
        drv.sendchannel.wait()
        drv.recvchannel.wait()
        assert np.array_equal(dst, src)


# --- bad input -----------------------------------------------------------------------------


def test_user_ip_without_a_model_is_an_error_at_open():
    with pytest.raises(DesignError, match=r"add_0.*models="):
        dmasim.open_target("model", design=through())


def test_model_missing_a_connected_stream_port_is_an_error_at_open():
    class OnlyOut(StreamIP):
        streams = MappingProxyType({"M_AXIS": "out"})

    with pytest.raises(DesignError, match=r"add_0\.S_AXIS.*OnlyOut.*S_AXIS"):
        dmasim.open_target("model", design=through(), models={"add_0": OnlyOut()})


def test_models_for_instances_the_design_lacks_are_an_error():
    with pytest.raises(DesignError, match="fir_9"):
        dmasim.open_target("model", design=through(), models={"add_0": AddConst(),
                                                             "fir_9": AddConst()})


def test_ip_emitting_on_a_port_it_lacks_names_it_and_the_target_stays_usable():
    with dmasim.open_target("model", design=through("w_0"), models={"w_0": WrongPort()}) as t:
        drv = t.dma()
        src, dst = _words(t, 16), t.allocate(16, "u4")
        drv.recvchannel.transfer(dst)
        with pytest.raises(DmasimValueError, match=r"w_0 emitted on 'M_AXIS_1'.*M_AXIS"):
            drv.sendchannel.transfer(src)
            drv.sendchannel.wait()
        t.reset()
        assert t.ip_mmio("axi_dma_0").read(0x04) & 1  # halted after reset, reachable


def test_stream_width_mismatch_is_an_error_at_open():
    with pytest.raises(DesignError, match="TDATA widths"):
        dmasim.open_target("model", design=through(tdata_bytes=8), models={"add_0": AddConst()})


def test_tkeep_into_an_input_without_tkeep_warns_at_open():
    # Vivado accepts it and real designs ship it (an RTL IP from the AXI template has no
    # TKEEP): a warning names the link, since a partial last beat arrives as a whole word.
    with pytest.warns(DesignWarning, match=r"axi_dma_0\.M_AXIS_MM2S has TKEEP but add_0"):
        t = dmasim.open_target("model", design=through(has_tkeep=False),
                               models={"add_0": AddConst()})
    t.close()


def test_parameters_with_a_design_is_refused():
    with pytest.raises(DmasimValueError, match="parameters="):
        dmasim.open_target("model", design=through(), models={"add_0": AddConst()},
                           parameters={"c_sg_length_width": 14})


# --- the general fabric agrees with the loopback's fast path -------------------------------


def _script(force_fabric: bool, ops: list[tuple[int, int, bool]], fault: bool):
    with dmasim.open_target("model", force_fabric=force_fabric) as t:
        drv = t.dma(level="python")
        src, dst = t.allocate(4096, "u1"), t.allocate(4096, "u1")
        src[:] = np.arange(4096) % 251
        if fault:
            t.add_fault(int(dst.physical_address) + 2048, 64)
        seen: list[object] = []
        for s_len, m_len, recv_first in ops:
            try:
                if recv_first:
                    drv.recvchannel.transfer(dst, nbytes=s_len)
                    drv.sendchannel.transfer(src, nbytes=m_len)
                else:
                    drv.sendchannel.transfer(src, nbytes=m_len)
                    drv.recvchannel.transfer(dst, nbytes=s_len)
                drv.sendchannel.wait(timeout=0.001)
                drv.recvchannel.wait(timeout=0.001)
                seen.append(("ok", t.now_ns, drv.recvchannel.transferred))
            except dmasim.DmaError as exc:
                seen.append((type(exc).__name__, t.now_ns, exc.state))
                drv.reset()
        seen.append(bytes(dst))
        seen.append(list(t.trace))
        return seen


@settings(max_examples=25)
@given(ops=st.lists(st.tuples(st.sampled_from([4, 60, 520, 524, 2000, 4096]),
                              st.sampled_from([4, 60, 520, 524, 2000, 4096]), st.booleans()),
                    min_size=1, max_size=4),
       fault=st.booleans())
def test_fabric_loopback_matches_the_fast_path_exactly(ops, fault):
    assert _script(True, ops, fault) == _script(False, ops, fault)


def test_fault_and_soft_reset_on_one_dma_of_two():
    d = design(dma("axi_dma_0", DMA0), dma("axi_dma_1", DMA1), fifo("fifo_0", 64),
               links=[("axi_dma_0.M_AXIS_MM2S", "fifo_0.S_AXIS"),
                      ("fifo_0.M_AXIS", "axi_dma_1.S_AXIS_S2MM"),
                      ("axi_dma_1.M_AXIS_MM2S", "axi_dma_0.S_AXIS_S2MM")])
    with dmasim.open_target("model", design=d) as t:
        d0, d1 = t.dma("axi_dma_0"), t.dma("axi_dma_1")
        src, dst = _words(t, 1000), t.allocate(1000, "u4")
        t.add_fault(int(dst.physical_address) + 400, 4)
        d1.recvchannel.transfer(dst)
        d0.sendchannel.transfer(src)
        with pytest.raises(dmasim.DmaSlaveError):
            d1.recvchannel.wait()
        d1.reset()
        t.faults.clear_faults()
        d0.reset()
        d1.recvchannel.transfer(dst)
        d0.sendchannel.transfer(src)
        d0.sendchannel.wait()
        d1.recvchannel.wait()
        assert np.array_equal(dst, src)
        # ...and the cross link the other way, DMA 1 into DMA 0.
        back = t.allocate(1000, "u4")
        d0.recvchannel.transfer(back)
        d1.sendchannel.transfer(dst)
        d1.sendchannel.wait()
        d0.recvchannel.wait()
        assert np.array_equal(back, src)


def test_ip_latency_delays_its_output():
    def done_at(latency: int) -> int:
        ip = AddConst()
        ip.latency_cycles = latency
        with dmasim.open_target("model", design=through(), models={"add_0": ip}) as t:
            src, dst = _words(t, 64), t.allocate(64, "u4")
            drv = t.dma()
            drv.recvchannel.transfer(dst)
            drv.sendchannel.transfer(src)
            regs = t.ip_mmio("axi_dma_0")
            while not regs.read(0x34) & 0x2:  # S2MM idle
                t.delay(100)
            return t.now_ns

    assert 9_000 <= done_at(1000) - done_at(0) <= 11_000


def test_s2mm_waiting_on_another_dma_names_it():
    d = design(dma("axi_dma_0", DMA0), dma("axi_dma_1", DMA1),
               links=[("axi_dma_0.M_AXIS_MM2S", "axi_dma_1.S_AXIS_S2MM"),
                      ("axi_dma_1.M_AXIS_MM2S", "axi_dma_0.S_AXIS_S2MM")])
    with dmasim.open_target("model", design=d) as t:
        dst = t.allocate(64, "u4")
        d1 = t.dma("axi_dma_1")
        d1.recvchannel.transfer(dst)
        with pytest.raises(DmaTimeoutError, match="start the send on axi_dma_0"):
            d1.recvchannel.wait(timeout=0.001)


def test_every_driver_level_drives_every_dma_of_a_design():
    from dmasim.drivers import LEVELS

    d = design(dma("axi_dma_0", DMA0), dma("axi_dma_1", DMA1), fifo("fifo_0", 256),
               user_ip("add_0", IP1),
               links=[("axi_dma_0.M_AXIS_MM2S", "fifo_0.S_AXIS"),
                      ("fifo_0.M_AXIS", "axi_dma_0.S_AXIS_S2MM"),
                      ("axi_dma_1.M_AXIS_MM2S", "add_0.S_AXIS"),
                      ("add_0.M_AXIS", "axi_dma_1.S_AXIS_S2MM")])
    with dmasim.open_target("model", design=d, models={"add_0": AddConst()}) as t:
        t.ip_mmio("add_0").write(0x10, 3)
        ran = 0
        for level in LEVELS:
            for name, k in (("axi_dma_0", 0), ("axi_dma_1", 3)):
                try:
                    drv = t.dma(name, level)
                except dmasim.DriverUnavailableError:
                    continue
                src, dst = _words(t, 300, ran), t.allocate(300, "u4")
                _run(drv, src, dst)
                assert np.array_equal(dst, np.asarray(src) + np.uint32(k)), (level, name)
                ran += 1
        assert ran >= 2
