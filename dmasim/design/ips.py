"""Instances as Vivado describes them: the AXI DMA, the Zynq PS, stream FIFO/slice, user IP.

Each factory returns an :class:`~dmasim.design.Instance` with the interfaces, physical ports
and parameters the IP has in a Vivado .hwh, so a design built in Python looks like one read
from a file: the .hwh writer writes these ports and the rtl target wires them by name.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import regmap
from .params import dma_registers
from .types import Instance, Port, StreamInterface, Window

__all__ = [
    "AXI_LITE_SIGNALS",
    "AXIS_SIGNALS",
    "FIFO_VLNV",
    "INTC_VLNV",
    "PS7_VLNV",
    "SLICE_VLNV",
    "axi_lite_ports",
    "axi_master_ports",
    "axis_ports",
    "default_stream",
    "dma_instance",
    "fifo_settings",
    "intc_instance",
    "ps7_instance",
    "stream_instance",
]

PS7_VLNV = "xilinx.com:ip:processing_system7:5.5"
FIFO_VLNV = "xilinx.com:ip:axis_data_fifo:2.0"
SLICE_VLNV = "xilinx.com:ip:axis_register_slice:1.1"
INTC_VLNV = "xilinx.com:ip:axi_intc:4.1"

# (logical name, direction seen from the slave, width or None = address/data width)
AXI_LITE_SIGNALS: tuple[tuple[str, str, int | str], ...] = (
    ("AWADDR", "I", "addr"), ("AWVALID", "I", 1), ("AWREADY", "O", 1),
    ("WDATA", "I", "data"), ("WSTRB", "I", "strb"), ("WVALID", "I", 1), ("WREADY", "O", 1),
    ("BRESP", "O", 2), ("BVALID", "O", 1), ("BREADY", "I", 1),
    ("ARADDR", "I", "addr"), ("ARVALID", "I", 1), ("ARREADY", "O", 1),
    ("RDATA", "O", "data"), ("RRESP", "O", 2), ("RVALID", "O", 1), ("RREADY", "I", 1),
)
"""AXI4-Lite signals, directions as the slave (the IP's window) sees them."""

_AXI_READ: tuple[tuple[str, str, int | str], ...] = (
    ("ARADDR", "O", "addr"), ("ARLEN", "O", 8), ("ARSIZE", "O", 3), ("ARBURST", "O", 2),
    ("ARPROT", "O", 3), ("ARCACHE", "O", 4), ("ARVALID", "O", 1), ("ARREADY", "I", 1),
    ("RDATA", "I", "data"), ("RRESP", "I", 2), ("RLAST", "I", 1), ("RVALID", "I", 1),
    ("RREADY", "O", 1),
)
_AXI_WRITE: tuple[tuple[str, str, int | str], ...] = (
    ("AWADDR", "O", "addr"), ("AWLEN", "O", 8), ("AWSIZE", "O", 3), ("AWBURST", "O", 2),
    ("AWPROT", "O", 3), ("AWCACHE", "O", 4), ("AWVALID", "O", 1), ("AWREADY", "I", 1),
    ("WDATA", "O", "data"), ("WSTRB", "O", "strb"), ("WLAST", "O", 1), ("WVALID", "O", 1),
    ("WREADY", "I", 1), ("BRESP", "I", 2), ("BVALID", "I", 1), ("BREADY", "O", 1),
)

AXIS_SIGNALS = ("TDATA", "TKEEP", "TSTRB", "TLAST", "TVALID", "TREADY", "TUSER", "TID", "TDEST")
"""AXI-Stream logical signals in port-map order."""


def _width(spec: int | str, addr: int, data: int) -> int:
    if spec == "addr":
        return addr
    if spec == "data":
        return data
    if spec == "strb":
        return data // 8
    return int(spec)


def axi_lite_ports(prefix: str, addr_width: int = 32, data_width: int = 32,
                   upper: bool = False) -> tuple[dict[str, str], list[Port]]:
    """Port map and ports of an AXI-Lite slave named ``prefix`` (``s_axi_`` + ``awaddr``)."""
    pm: dict[str, str] = {}
    ports: list[Port] = []
    for logical, direction, spec in AXI_LITE_SIGNALS:
        phys = prefix + (logical if upper else logical.lower())
        pm[logical] = phys
        ports.append(Port(phys, direction, _width(spec, addr_width, data_width)))  # type: ignore[arg-type]
    return pm, ports


def axi_master_ports(prefix: str, read: bool, write: bool, addr_width: int = 32,
                     data_width: int = 32) -> list[Port]:
    """Ports of an AXI4 memory master (``m_axi_mm2s_`` + ``araddr`` ...)."""
    sigs = (_AXI_READ if read else ()) + (_AXI_WRITE if write else ())
    return [Port(prefix + lg.lower(), d, _width(s, addr_width, data_width))  # type: ignore[arg-type]
            for lg, d, s in sigs]


def axis_ports(stream: StreamInterface) -> list[Port]:
    """The physical ports of ``stream`` (directions from its own side)."""
    out = stream.direction == "out"
    widths = {"TDATA": stream.tdata_bytes * 8, "TKEEP": stream.tdata_bytes,
              "TSTRB": stream.tdata_bytes, "TUSER": stream.tuser_width,
              "TID": stream.tid_width, "TDEST": stream.tdest_width}
    ports = []
    for logical in AXIS_SIGNALS:
        phys = stream.port_map.get(logical)
        if phys is None:
            continue
        forward = logical != "TREADY"
        ports.append(Port(phys, "O" if forward == out else "I", max(1, widths.get(logical, 1))))
    return ports


def default_stream(name: str, direction: str, tdata_bytes: int = 4, *, has_tkeep: bool = True,
                   has_tstrb: bool = False, has_tlast: bool = True, tuser_width: int = 0,
                   tid_width: int = 0, tdest_width: int = 0,
                   prefix: str | None = None) -> StreamInterface:
    """A stream interface whose signals are ``prefix`` + ``tdata`` etc. (prefix: name_)."""
    base = f"{name.lower()}_" if prefix is None else prefix
    used = {"TDATA": True, "TKEEP": has_tkeep, "TSTRB": has_tstrb, "TLAST": has_tlast,
            "TVALID": True, "TREADY": True, "TUSER": tuser_width > 0, "TID": tid_width > 0,
            "TDEST": tdest_width > 0}
    return StreamInterface(
        name=name, direction="out" if direction == "out" else "in", tdata_bytes=tdata_bytes,
        has_tkeep=has_tkeep, has_tstrb=has_tstrb, has_tlast=has_tlast,
        tuser_width=tuser_width, tid_width=tid_width, tdest_width=tdest_width,
        port_map={s: base + s.lower() for s in AXIS_SIGNALS if used[s]})


def _add(inst: Instance, ports: list[Port]) -> None:
    for p in ports:
        inst.ports.setdefault(p.name, p)


def dma_instance(name: str, base: int, params: Mapping[str, str]) -> Instance:
    """An AXI DMA instance with the interfaces and ports Vivado gives it (simple or SG mode)."""
    mm2s = params.get("c_include_mm2s", "1") != "0"
    s2mm = params.get("c_include_s2mm", "1") != "0"
    addr_width = int(params.get("c_addr_width", "32"))
    streams: dict[str, StreamInterface] = {}
    masters: list[str] = []
    if params.get("c_include_sg", "0") != "0":
        masters.append("M_AXI_SG")
    if mm2s:
        streams["M_AXIS_MM2S"] = default_stream(
            "M_AXIS_MM2S", "out", int(params.get("c_m_axis_mm2s_tdata_width", "32")) // 8)
        masters.append("M_AXI_MM2S")
    if s2mm:
        streams["S_AXIS_S2MM"] = default_stream(
            "S_AXIS_S2MM", "in", int(params.get("c_s_axis_s2mm_tdata_width", "32")) // 8)
        masters.append("M_AXI_S2MM")
    lite_map, lite_ports = axi_lite_ports("s_axi_lite_", 10, 32)
    inst = Instance(
        name=name,
        vlnv="xilinx.com:ip:axi_dma:7.1",
        parameters=dict(params),
        windows=[Window("S_AXI_LITE", base, regmap.ADDR_RANGE, lite_map, addr_width=10,
                        registers=dma_registers())],
        streams=streams,
        interrupts=[p for p, on in (("mm2s_introut", mm2s), ("s2mm_introut", s2mm)) if on],
        masters=masters,
    )
    _add(inst, [Port("s_axi_lite_aclk", "I", sigis="clk")])
    if "M_AXI_SG" in masters:
        _add(inst, [Port("m_axi_sg_aclk", "I", sigis="clk")])
    if mm2s:
        _add(inst, [Port("m_axi_mm2s_aclk", "I", sigis="clk")])
    if s2mm:
        _add(inst, [Port("m_axi_s2mm_aclk", "I", sigis="clk")])
    _add(inst, [Port("axi_resetn", "I", sigis="rst")])
    _add(inst, lite_ports)
    if "M_AXI_SG" in masters:
        _add(inst, axi_master_ports("m_axi_sg_", True, True, addr_width, 32))
    if mm2s:
        _add(inst, axi_master_ports("m_axi_mm2s_", True, False, addr_width,
                                    int(params.get("c_m_axi_mm2s_data_width", "32"))))
        _add(inst, axis_ports(streams["M_AXIS_MM2S"]))
    if s2mm:
        _add(inst, axi_master_ports("m_axi_s2mm_", False, True, addr_width,
                                    int(params.get("c_m_axi_s2mm_data_width", "32"))))
        _add(inst, axis_ports(streams["S_AXIS_S2MM"]))
    _add(inst, [Port(p, "O", sigis="intr") for p in inst.interrupts])
    return inst


def ps7_parameters(clock_hz: int = 100_000_000, irq_inputs: int = 0) -> dict[str, str]:
    """The PS7 parameters pynq reads: FCLK0 at ``clock_hz``, GP0 and HP0 on, IRQ_F2P width."""
    mhz = clock_hz / 1_000_000
    mhz_text = f"{mhz:g}"
    divisor = max(1, round(1000 / mhz))
    div0, div1 = next(((a, divisor // a) for a in range(min(divisor, 63), 0, -1)
                       if divisor % a == 0 and divisor // a <= 63), (min(divisor, 63), 1))
    params = {"C_USE_S_AXI_HP0": "1", "C_USE_M_AXI_GP0": "1",
              "C_NUM_F2P_INTR_INPUTS": str(max(irq_inputs, 1)),
              "C_S_AXI_HP0_DATA_WIDTH": "64", "PCW_USE_S_AXI_HP0": "1",
              "PCW_USE_M_AXI_GP0": "1", "PCW_USE_FABRIC_INTERRUPT": "1" if irq_inputs else "0",
              "PCW_IRQ_F2P_INTR": "1" if irq_inputs else "0",
              "PCW_UIPARAM_DDR_PARTNO": "MT41K256M16 RE-125", "preset": "None"}
    for i in range(4):
        on = i == 0
        params[f"PCW_FPGA_FCLK{i}_ENABLE"] = "1" if on else "0"
        params[f"PCW_FPGA{i}_PERIPHERAL_FREQMHZ"] = mhz_text if on else "50"
        params[f"PCW_ACT_FPGA{i}_PERIPHERAL_FREQMHZ"] = f"{mhz:.6f}" if on else "10.000000"
        params[f"PCW_FCLK{i}_PERIPHERAL_DIVISOR0"] = str(div0) if on else "1"
        params[f"PCW_FCLK{i}_PERIPHERAL_DIVISOR1"] = str(div1) if on else "1"
        params[f"PCW_FCLK{i}_PERIPHERAL_CLKSRC"] = "IO PLL"
    return params


def ps7_instance(name: str = "processing_system7_0", clock_hz: int = 100_000_000,
                 irq_inputs: int = 0) -> Instance:
    """The Zynq-7000 PS: FCLK0, the M_AXI_GP0 master, IRQ_F2P when there are interrupts."""
    inst = Instance(name=name, vlnv=PS7_VLNV, parameters=ps7_parameters(clock_hz, irq_inputs),
                    masters=["M_AXI_GP0"])
    _add(inst, [Port("FCLK_CLK0", "O", sigis="clk"), Port("FCLK_RESET0_N", "O", sigis="rst"),
                Port("M_AXI_GP0_ACLK", "I", sigis="clk"), Port("S_AXI_HP0_ACLK", "I", sigis="clk")])
    if irq_inputs:
        _add(inst, [Port("IRQ_F2P", "I", irq_inputs, sigis="intr")])
    return inst


def stream_instance(name: str, vlnv: str, parameters: Mapping[str, str], tdata_bytes: int,
                    has_tkeep: bool = True, has_tlast: bool = True) -> Instance:
    """An axis_data_fifo / axis_register_slice: S_AXIS in, M_AXIS out, aclk/aresetn."""
    s_in = default_stream("S_AXIS", "in", tdata_bytes, has_tkeep=has_tkeep, has_tlast=has_tlast)
    s_out = default_stream("M_AXIS", "out", tdata_bytes, has_tkeep=has_tkeep,
                           has_tlast=has_tlast)
    clock = "s_axis_aclk" if vlnv_is_fifo(vlnv) else "aclk"
    reset = "s_axis_aresetn" if vlnv_is_fifo(vlnv) else "aresetn"
    inst = Instance(name=name, vlnv=vlnv, parameters=dict(parameters),
                    streams={"S_AXIS": s_in, "M_AXIS": s_out})
    _add(inst, [Port(clock, "I", sigis="clk"), Port(reset, "I", sigis="rst")])
    _add(inst, axis_ports(s_in) + axis_ports(s_out))
    return inst


def vlnv_is_fifo(vlnv: str) -> bool:
    """True for an axis_data_fifo VLNV."""
    return ":axis_data_fifo:" in vlnv


def intc_instance(name: str, base: int, inputs: int) -> Instance:
    """An axi_intc: S_AXI window, ``intr`` input bus, ``irq`` output to the PS."""
    lite_map, lite_ports = axi_lite_ports("s_axi_", 9, 32)
    inst = Instance(name=name, vlnv=INTC_VLNV,
                    parameters={"C_NUM_INTR_INPUTS": str(max(inputs, 1)), "C_IRQ_CONNECTION": "1",
                                "C_KIND_OF_INTR": "0xFFFFFFFF"},
                    windows=[Window("S_AXI", base, 0x1_0000, lite_map, addr_width=9)],
                    interrupts=["irq"])
    _add(inst, [Port("s_axi_aclk", "I", sigis="clk"), Port("s_axi_aresetn", "I", sigis="rst")])
    _add(inst, lite_ports)
    _add(inst, [Port("intr", "I", max(inputs, 1), sigis="intr"), Port("irq", "O", sigis="intr")])
    return inst


def fifo_settings(inst: Instance) -> tuple[int, bool]:
    """(depth, packet mode) of an axis_data_fifo instance.

    The user-set ``FIFO_DEPTH``/``FIFO_MODE`` win over the ``C_FIFO_DEPTH``/``C_FIFO_MODE``
    Vivado derives from them (a real .hwh has FIFO_DEPTH=512 beside C_FIFO_DEPTH=1024).
    """
    depth = inst.param("FIFO_DEPTH", inst.param("C_FIFO_DEPTH", 16))
    mode = inst.param("FIFO_MODE", inst.param("C_FIFO_MODE", 1))
    return depth, mode == 2
