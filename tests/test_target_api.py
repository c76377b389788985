"""The public contract's plumbing: registry, context manager, ip_dict, closing."""

from __future__ import annotations

import numpy as np
import pytest

import dmasim
from dmasim import DmasimValueError, TargetError
from dmasim.model import ModelTarget


def test_third_party_target_registration():
    class Narrow(ModelTarget):
        name = "narrow-model"

    dmasim.register_target("narrow-model", lambda **kw: Narrow(
        parameters={"c_sg_length_width": 12}, **kw))
    assert "narrow-model" in dmasim.available_targets()
    with dmasim.open_target("narrow-model") as t:
        assert t.axi_dma_0.sendchannel.max_size == 4095
    assert t._closed
    with pytest.raises(TargetError, match="closed"):
        t.allocate(4)


def test_ip_dict_is_pynq_shaped(target):
    ip = target.ip_dict["axi_dma_0"]
    assert ip["type"].startswith("xilinx.com:ip:axi_dma:")
    assert ip["phys_addr"] == 0x4040_0000 and ip["addr_range"] == 0x1_0000
    assert ip["parameters"]["c_include_sg"] == "0"
    assert int(ip["parameters"]["c_sg_length_width"]) in range(8, 27)


def test_model_options_are_checked():
    with pytest.raises(DmasimValueError, match="c_sg_length_width=30 is not supported"):
        dmasim.open_target("model", parameters={"c_sg_length_width": 30})
    with pytest.raises(DmasimValueError, match="unknown parameter"):
        dmasim.open_target("model", parameters={"c_bogus": 1})
    with pytest.raises(DmasimValueError, match="bus_access_ns"):
        dmasim.open_target("model", bus_access_ns=0)


def test_driver_is_cached_per_level(target):
    assert target.driver("python") is target.axi_dma_0
    with pytest.raises(DmasimValueError, match="no IP named"):
        target.driver("python", ip_name="axi_dma_9")


def test_capabilities_are_declared_protocols(target):
    """What a target says it offers is what the contract's protocols find on it."""
    from dmasim.target import Allocator, Clock, Describes, FaultInjector, RegisterBus, Traces

    assert isinstance(target.bus, RegisterBus)
    assert isinstance(target.memory, Allocator)
    assert isinstance(target.clock, Clock)
    assert isinstance(target, Describes)  # every built-in target explains its state
    assert ("faults" in target.capabilities) == isinstance(target.faults, FaultInjector)
    assert ("trace" in target.capabilities) == isinstance(target, Traces)


def test_the_contract_does_not_import_the_drivers():
    """dmasim.target knows the driver levels only by their protocol: no import circle."""
    import subprocess
    import sys

    code = ("import sys, dmasim.target; "
            "print(sorted(m for m in sys.modules if m.startswith('dmasim.drivers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_bus_refuses_addresses_outside_the_windows(target):
    """The physical bus checks what it decodes, on every target, and stays usable."""
    base = int(target.ip_dict["axi_dma_0"]["phys_addr"])
    with pytest.raises(DmasimValueError, match="0x40400006"):
        target.bus.read32(base + 6)
    with pytest.raises(DmasimValueError, match="0x00001000"):
        target.bus.write32(0x1000, 0)
    target.bus.write32(base + 0x18, 0x1000)  # MM2S_SA
    assert target.bus.read32(base + 0x18) == 0x1000


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True, None])
def test_delay_is_checked_on_every_target(target, bad):
    """Target.delay is final: the same check on every target, before the clock sees it."""
    with pytest.raises(DmasimValueError, match="whole number"):
        target.delay(bad)
    before = target.now_ns
    target.delay(np.int64(2_000))
    assert target.now_ns >= before + (2_000 if target.simulated else 0)


def test_parameters_configure_only_the_loopback(target):
    """One rule on every simulated target: parameters= with design= is refused, the same way."""
    if not target.simulated:
        pytest.skip("the board's parameters are its bitstream's")
    from dmasim import Design

    with pytest.raises(DmasimValueError, match="parameters= configures the default loopback"):
        dmasim.open_target(target.name, design=Design.loopback(),
                           parameters={"c_sg_length_width": 20})
