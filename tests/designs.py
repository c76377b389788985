"""Designs built from the data types for these tests (the DesignBuilder arrives separately)."""

from __future__ import annotations

from collections.abc import Mapping

from dmasim.design import (
    DEFAULT_PARAMETERS,
    Connection,
    Design,
    Endpoint,
    Instance,
    InterruptLine,
    StreamInterface,
    Window,
    dma_instance,
)

DMA0, DMA1 = 0x4040_0000, 0x4041_0000
IP0, IP1 = 0x43C0_0000, 0x43C1_0000


def dma(name: str, base: int, **params: int) -> Instance:
    """An AXI DMA with the default parameters, some overridden."""
    merged = dict(DEFAULT_PARAMETERS)
    merged.update({k: str(v) for k, v in params.items()})
    return dma_instance(name, base, merged)


def fifo(name: str, depth: int = 512, packet_mode: bool = False) -> Instance:
    """An axis_data_fifo."""
    return Instance(
        name, "xilinx.com:ip:axis_data_fifo:2.0",
        parameters={"FIFO_DEPTH": str(depth), "FIFO_MODE": "2" if packet_mode else "1"},
        streams={"S_AXIS": StreamInterface("S_AXIS", "in"),
                 "M_AXIS": StreamInterface("M_AXIS", "out")})


def register_slice(name: str) -> Instance:
    """An axis_register_slice."""
    return Instance(name, "xilinx.com:ip:axis_register_slice:1.1",
                    streams={"S_AXIS": StreamInterface("S_AXIS", "in"),
                             "M_AXIS": StreamInterface("M_AXIS", "out")})


def user_ip(name: str, base: int | None = IP0,
            streams: Mapping[str, str] | None = None, tdata_bytes: int = 4,
            has_tkeep: bool = True, interrupts: tuple[str, ...] = ("interrupt",)) -> Instance:
    """A user IP with an AXI-Lite window and stream ports (default S_AXIS in, M_AXIS out)."""
    streams = streams or {"S_AXIS": "in", "M_AXIS": "out"}
    return Instance(
        name, f"dmasim.org:user:{name}:1.0",
        windows=[Window("S_AXI", base, 0x1_0000)] if base is not None else [],
        streams={p: StreamInterface(p, d, tdata_bytes, has_tkeep=has_tkeep)  # type: ignore[arg-type]
                 for p, d in streams.items()},
        interrupts=list(interrupts))


def design(*instances: Instance, links: list[tuple[str, str]], name: str = "test") -> Design:
    """A design of ``instances`` joined by ``links`` (``("a.M_AXIS", "b.S_AXIS")``)."""
    lines = []
    for inst in instances:
        for port in inst.interrupts:
            lines.append(InterruptLine(Endpoint(inst.name, port), None, len(lines)))
    return Design(
        name=name,
        instances={i.name: i for i in instances},
        connections=[Connection(Endpoint.parse(a), Endpoint.parse(b)) for a, b in links],
        interrupt_lines=lines)


def through(ip_name: str = "add_0", dma_name: str = "axi_dma_0", base: int = DMA0,
            **ip_kwargs: object) -> Design:
    """MM2S -> one user IP -> S2MM."""
    return design(
        dma(dma_name, base), user_ip(ip_name, **ip_kwargs),  # type: ignore[arg-type]
        links=[(f"{dma_name}.M_AXIS_MM2S", f"{ip_name}.S_AXIS"),
               (f"{ip_name}.M_AXIS", f"{dma_name}.S_AXIS_S2MM")])
