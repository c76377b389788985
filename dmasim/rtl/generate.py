"""Generate the rtl target's design module (``dmasim_design``) from a :class:`Design`.

The simulation top (``rtl_tb/hdl/dmasim_sim_top.v``) is fixed: clock, reset, the host's
AXI-Lite master, DDR. What sits between is generated here, one readable Verilog file per
design: one wire per port of every instance (``<instance>__<port>``), one open DMA
(``hw/rtl/dmasim_dma.v``) per DMA instance, dmasim's axis_data_fifo / axis_register_slice
modules, the user's modules wired by the design's physical port names, an AXI-Lite decoder
that routes the host's physical address to every window, a round-robin arbiter putting
every DMA master (MM2S, S2MM, and the SG engine's M_AXI_SG) on DDR's read and write ports,
a monitor on every stream link (beats, packets, beats of the open packet, clocks stalled)
and the interrupt lines as one vector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..design import Design, Instance, StreamInterface, Window
from ..design.types import vlnv_name
from ..errors import DesignError
from . import protocol as p
from .sources import RtlSources

__all__ = ["DMA_AXIL_BITS", "Generated", "dma_verilog_parameters", "generate"]

MODULE = "dmasim_design"
DMA_AXIL_BITS = 10
"""Address bits the open DMA decodes; accesses above in its window read 0 on the host side."""
MAX_IRQ = 32

_DMA_PARAMS = {
    "c_addr_width": "ADDR_WIDTH",
    "c_m_axi_mm2s_data_width": "DATA_WIDTH",
    "c_sg_length_width": "LENGTH_WIDTH",
    "c_mm2s_burst_size": "MM2S_BURST_SIZE",
    "c_s2mm_burst_size": "S2MM_BURST_SIZE",
    "c_include_mm2s_dre": "INCLUDE_MM2S_DRE",
    "c_include_s2mm_dre": "INCLUDE_S2MM_DRE",
    "c_include_sg": "INCLUDE_SG",
    "c_dlytmr_resolution": "DLYTMR_RESOLUTION",
}
_DMA_WIDTHS = ("c_m_axi_mm2s_data_width", "c_m_axis_mm2s_tdata_width",
               "c_m_axi_s2mm_data_width", "c_s_axis_s2mm_tdata_width")
_LITE = ("AWADDR", "AWPROT", "AWVALID", "AWREADY", "WDATA", "WSTRB", "WVALID", "WREADY",
         "BRESP", "BVALID", "BREADY", "ARADDR", "ARPROT", "ARVALID", "ARREADY", "RDATA",
         "RRESP", "RVALID", "RREADY")
_LITE_OUT = frozenset({"AWREADY", "WREADY", "BRESP", "BVALID", "ARREADY", "RDATA", "RRESP",
                       "RVALID"})
"""AXI-Lite signals the slave drives."""


@dataclass
class Generated:
    """A generated design module and what the host needs to know about it."""

    text: str
    windows: list[tuple[str, Window, int]]
    """Routed windows: (instance, window, address bits the slave decodes)."""
    links: list[str]
    """Stream links in monitor order, as ``"src.IF -> dst.IF"``."""
    irqs: list[tuple[str, str]]
    """Interrupt lines in vector order: (instance, port)."""
    addr_width: int
    data_width: int
    instance_lines: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Line number (1-based) in ``text`` -> (instance, module) for error messages."""


def _int(inst: Instance, *names: str, default: int) -> int:
    for n in names:
        try:
            return inst.param(n)
        except (ValueError, TypeError):
            continue
    return default


def dma_verilog_parameters(inst: Instance) -> dict[str, int]:
    """dmasim_dma's Verilog parameters for a DMA instance (.hwh parameter names)."""
    params = {k.lower(): v for k, v in inst.parameters.items()}
    out: dict[str, int] = {}
    for hwh, verilog in _DMA_PARAMS.items():
        if hwh in params:
            out[verilog] = int(str(params[hwh]), 0)
    widths = {int(str(params[n]), 0) for n in _DMA_WIDTHS if n in params
              and not (("mm2s" in n and params.get("c_include_mm2s", "1") == "0")
                       or ("s2mm" in n and params.get("c_include_s2mm", "1") == "0"))}
    if len(widths) > 1:
        raise DesignError(
            f"{inst.name} ({inst.vlnv}): the rtl target needs one data width for the memory map "
            "and the streams: " + ", ".join(f"{n}={params[n]}" for n in _DMA_WIDTHS if n in params))
    if widths:
        out["DATA_WIDTH"] = widths.pop()
    if params.get("c_include_mm2s_sf", "1") not in ("1", 1):
        raise DesignError(f"{inst.name} ({inst.vlnv}): c_include_mm2s_sf=0 is not implemented "
                          "by the open RTL (supported: 1)")
    return out


def _active_low(port: str) -> bool:
    """Reset polarity from the name (``aresetn``, ``ap_rst_n`` -> low), as Vivado infers it."""
    return port.lower().endswith("n")


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.instance_lines: dict[int, tuple[str, str]] = {}

    def __call__(self, text: str = "") -> None:
        self.lines.extend(text.split("\n"))

    def mark(self, inst: str, module: str, first: int) -> None:
        for n in range(first, len(self.lines) + 1):
            self.instance_lines[n] = (inst, module)


def _w(width: int) -> str:
    return f"[{width - 1}:0] " if width > 1 else ""


def generate(design: Design, rtl: Mapping[str, RtlSources]) -> Generated:
    """The ``dmasim_design`` module for ``design`` with the user IPs' ``rtl``."""
    dmas = design.dmas
    dma_params = {d.name: dma_verilog_parameters(d) for d in dmas}
    widths = {v.get("DATA_WIDTH", 32) for v in dma_params.values()}
    addrs = {v.get("ADDR_WIDTH", 32) for v in dma_params.values()}
    if len(widths) > 1 or len(addrs) > 1:
        raise DesignError("the rtl target's DDR port needs every DMA to use one memory data "
                          f"width and address width (have data widths {sorted(widths)}, "
                          f"address widths {sorted(addrs)})")
    dw, aw = widths.pop(), addrs.pop()
    sw = dw // 8

    # wires: name -> width, and which instance port drives or reads it
    wires: dict[str, int] = {}
    body = _Writer()
    decls = _Writer()

    def wire(inst: str, port: str, width: int) -> str:
        name = f"{inst}__{port}"
        wires.setdefault(name, width)
        return name

    # --- AXI-Lite windows ------------------------------------------------------------------
    windows: list[tuple[str, Window, int]] = []
    for inst in design.instances.values():
        if inst.kind not in ("dma", "user"):
            continue
        for win in inst.windows:
            if inst.kind == "dma":
                bits = DMA_AXIL_BITS
            else:
                port = inst.ports.get(win.port_map.get("AWADDR", ""))
                bits = port.width if port is not None and port.width > 1 else max(
                    (win.range - 1).bit_length(), 2)
            windows.append((inst.name, win, bits))

    def lite(inst: str, win: Window, logical: str) -> str:
        return f"{inst}__{win.interface.lower()}_{logical.lower()}"

    body("/*\n * AXI-Lite decoder: the host's physical address selects one window\n */")
    for i, (inst_name, win, bits) in enumerate(windows):
        sel_w, sel_r = f"sel_aw_{i}", f"sel_ar_{i}"
        decls(f"wire {sel_w} = (s_axil_awaddr - 32'h{win.base:08x}) < 32'h{win.range:08x};"
              f"  // {inst_name}.{win.interface}")
        decls(f"wire {sel_r} = (s_axil_araddr - 32'h{win.base:08x}) < 32'h{win.range:08x};")
        for lg, width in (("AWADDR", bits), ("AWPROT", 3), ("AWVALID", 1), ("AWREADY", 1),
                          ("WDATA", 32), ("WSTRB", 4), ("WVALID", 1), ("WREADY", 1),
                          ("BRESP", 2), ("BVALID", 1), ("BREADY", 1), ("ARADDR", bits),
                          ("ARPROT", 3), ("ARVALID", 1), ("ARREADY", 1), ("RDATA", 32),
                          ("RRESP", 2), ("RVALID", 1), ("RREADY", 1)):
            wires[lite(inst_name, win, lg)] = width
        def n(lg: str, inst_name: str = inst_name, win: Window = win) -> str:
            return lite(inst_name, win, lg)

        body(f"assign {n('AWADDR')} = s_axil_awaddr[{bits - 1}:0] - {bits}'h"
             f"{win.base & ((1 << bits) - 1):x};")
        body(f"assign {n('ARADDR')} = s_axil_araddr[{bits - 1}:0] - {bits}'h"
             f"{win.base & ((1 << bits) - 1):x};")
        body(f"assign {n('AWPROT')} = s_axil_awprot;")
        body(f"assign {n('ARPROT')} = s_axil_arprot;")
        body(f"assign {n('WDATA')} = s_axil_wdata;")
        body(f"assign {n('WSTRB')} = s_axil_wstrb;")
        body(f"assign {n('AWVALID')} = s_axil_awvalid && {sel_w};")
        body(f"assign {n('WVALID')} = s_axil_wvalid && {sel_w};")
        body(f"assign {n('BREADY')} = s_axil_bready && {sel_w};")
        body(f"assign {n('ARVALID')} = s_axil_arvalid && {sel_r};")
        body(f"assign {n('RREADY')} = s_axil_rready && {sel_r};")
    for sig, sel in (("awready", "aw"), ("wready", "aw"), ("bvalid", "aw"), ("arready", "ar"),
                     ("rvalid", "ar")):
        terms = [f"(sel_{sel}_{i} && {lite(w[0], w[1], sig.upper())})"
                 for i, w in enumerate(windows)]
        body(f"assign s_axil_{sig} = {' || '.join(terms) or chr(48)};")
    for sig, sel, width in (("bresp", "aw", 2), ("rresp", "ar", 2), ("rdata", "ar", 32)):
        terms = [f"({{{width}{{sel_{sel}_{i}}}}} & {lite(w[0], w[1], sig.upper())})"
                 for i, w in enumerate(windows)]
        body(f"assign s_axil_{sig} = {' | '.join(terms)};")
    body()

    # --- instances -------------------------------------------------------------------------
    irqs: list[tuple[str, str]] = []
    rd_masters: list[str] = []
    wr_masters: list[str] = []
    """Wire prefixes (``<instance>__m_axi_<port>``) of the masters on DDR's read / write port."""
    stream_wires: dict[tuple[str, str], dict[str, str]] = {}
    """(instance, interface) -> logical signal -> wire, for linking."""

    def stream_sigs(inst: Instance, s: StreamInterface, fixed: Mapping[str, str] | None = None,
                    ) -> dict[str, str]:
        sigs = {}
        for lg in ("TDATA", "TKEEP", "TLAST", "TVALID", "TREADY"):
            phys = (fixed or s.port_map).get(lg)
            if phys is None:
                continue
            width = s.tdata_bytes * 8 if lg == "TDATA" else s.tdata_bytes if lg == "TKEEP" else 1
            port = inst.ports.get(phys)
            if port is not None and lg in ("TDATA", "TKEEP") and port.width > 1:
                width = port.width
            sigs[lg] = wire(inst.name, phys, width)
        stream_wires[(inst.name, s.name)] = sigs
        return sigs

    for inst in design.instances.values():
        kind = inst.kind
        if kind == "infrastructure":
            continue
        first = len(body.lines) + 1
        if kind == "dma":
            prm = dma_params[inst.name]
            has_mm2s = "M_AXIS_MM2S" in inst.streams
            has_s2mm = "S_AXIS_S2MM" in inst.streams
            win = inst.windows[0]
            conns: list[tuple[str, str]] = [("clk", "clk"), ("rst", "rst")]
            for lg in _LITE:
                conns.append((f"s_axil_{lg.lower()}", lite(inst.name, win, lg)))
            mm = {s: f"{inst.name}__m_axis_mm2s_{s.lower()}" for s in
                  ("TDATA", "TKEEP", "TLAST", "TVALID", "TREADY")}
            ss = {s: f"{inst.name}__s_axis_s2mm_{s.lower()}" for s in
                  ("TDATA", "TKEEP", "TLAST", "TVALID", "TREADY")}
            for sigs in (mm, ss):
                for lg, name in sigs.items():
                    wires[name] = dw if lg == "TDATA" else sw if lg == "TKEEP" else 1
            if has_mm2s:
                stream_wires[(inst.name, "M_AXIS_MM2S")] = mm
            if has_s2mm:
                stream_wires[(inst.name, "S_AXIS_S2MM")] = ss
            conns += [(f"m_axis_mm2s_{s.lower()}", n) for s, n in mm.items()]
            conns += [(f"s_axis_s2mm_{s.lower()}", n) for s, n in ss.items()]
            rd = [("araddr", aw), ("arlen", 8), ("arsize", 3), ("arburst", 2), ("arcache", 4),
                  ("arprot", 3), ("arvalid", 1), ("arready", 1), ("rdata", dw), ("rresp", 2),
                  ("rlast", 1), ("rvalid", 1), ("rready", 1)]
            wr = [("awaddr", aw), ("awlen", 8), ("awsize", 3), ("awburst", 2), ("awcache", 4),
                  ("awprot", 3), ("awvalid", 1), ("awready", 1), ("wdata", dw), ("wstrb", sw),
                  ("wlast", 1), ("wvalid", 1), ("wready", 1), ("bresp", 2), ("bvalid", 1),
                  ("bready", 1)]
            for sig, width in rd:
                conns.append((f"m_axi_mm2s_{sig}", wire(inst.name, f"m_axi_mm2s_{sig}", width)))
            for sig, width in wr:
                conns.append((f"m_axi_s2mm_{sig}", wire(inst.name, f"m_axi_s2mm_{sig}", width)))
            # M_AXI_SG: read and write; idle (and left off the arbiters) without SG
            sg = prm.get("INCLUDE_SG", 0) != 0
            for sig, width in [*rd, *wr]:
                conns.append((f"m_axi_sg_{sig}", wire(inst.name, f"m_axi_sg_{sig}", width)))
            if not sg:
                for sig, width in (("arready", 1), ("rvalid", 1), ("rdata", dw), ("rresp", 2),
                                   ("rlast", 1), ("awready", 1), ("wready", 1), ("bvalid", 1),
                                   ("bresp", 2)):
                    body(f"assign {inst.name}__m_axi_sg_{sig} = {width}'d0;")
            for ch in ("mm2s", "s2mm"):
                conns.append((f"{ch}_introut", wire(inst.name, f"{ch}_introut", 1)))
            conns.append(("stream_rst", ""))
            if not has_mm2s:  # no MM2S channel in this configuration: its stream never moves
                body(f"assign {mm['TREADY']} = 1'b0;")
            if not has_s2mm:
                body(f"assign {ss['TVALID']} = 1'b0;")
                body(f"assign {ss['TDATA']} = {dw}'d0;")
                body(f"assign {ss['TKEEP']} = {sw}'d0;")
                body(f"assign {ss['TLAST']} = 1'b0;")
            if has_mm2s:
                rd_masters.append(f"{inst.name}__m_axi_mm2s")
            else:  # no MM2S channel in this configuration: its read master never gets data
                body(f"assign {inst.name}__m_axi_mm2s_arready = 1'b0;")
                body(f"assign {inst.name}__m_axi_mm2s_rvalid = 1'b0;")
                body(f"assign {inst.name}__m_axi_mm2s_rdata = {dw}'d0;")
                body(f"assign {inst.name}__m_axi_mm2s_rresp = 2'd0;")
                body(f"assign {inst.name}__m_axi_mm2s_rlast = 1'b0;")
            if has_s2mm:
                wr_masters.append(f"{inst.name}__m_axi_s2mm")
            else:
                body(f"assign {inst.name}__m_axi_s2mm_awready = 1'b0;")
                body(f"assign {inst.name}__m_axi_s2mm_wready = 1'b0;")
                body(f"assign {inst.name}__m_axi_s2mm_bvalid = 1'b0;")
                body(f"assign {inst.name}__m_axi_s2mm_bresp = 2'd0;")
            if sg:
                rd_masters.append(f"{inst.name}__m_axi_sg")
                wr_masters.append(f"{inst.name}__m_axi_sg")
            irqs += [(inst.name, i) for i in inst.interrupts]
            prm_text = ",\n".join(f"    .{k}({v})" for k, v in sorted(
                {**prm, "AXIL_ADDR_WIDTH": DMA_AXIL_BITS}.items()))
            body(f"// {inst.name}: {inst.vlnv}\ndmasim_dma #(\n{prm_text}\n)\n{inst.name} (")
            body(",\n".join(f"    .{a}({b})" for a, b in conns) + "\n);")
        elif kind == "builtin":
            s_in, s_out = inst.stream("S_AXIS"), inst.stream("M_AXIS")
            names = ("TDATA", "TKEEP", "TLAST", "TVALID", "TREADY")
            a = stream_sigs(inst, s_in, {s: f"s_axis_{s.lower()}" for s in names})
            b = stream_sigs(inst, s_out, {s: f"m_axis_{s.lower()}" for s in names})
            width = s_in.tdata_bytes
            if vlnv_name(inst.vlnv) == "axis_data_fifo":
                depth = _int(inst, "FIFO_DEPTH", "C_FIFO_DEPTH", default=512)
                mode = _int(inst, "FIFO_MODE", "C_FIFO_MODE", default=1)
                if depth < 2 or depth & (depth - 1):
                    raise DesignError(f"{inst.name} ({inst.vlnv}): FIFO_DEPTH={depth} is not "
                                      "supported: allowed a power of two >= 2")
                module = "dmasim_axis_data_fifo"
                prm_text = (f"    .DATA_WIDTH({width * 8}),\n    .KEEP_WIDTH({width}),\n"
                            f"    .DEPTH({depth}),\n    .PACKET_MODE({1 if mode == 2 else 0})")
            else:
                module = "dmasim_axis_register_slice"
                prm_text = f"    .DATA_WIDTH({width * 8}),\n    .KEEP_WIDTH({width})"
            conns = [("clk", "clk"), ("rst", "rst")]
            conns += [(f"s_axis_{s.lower()}", a[s]) for s in a]
            conns += [(f"m_axis_{s.lower()}", b[s]) for s in b]
            for sigs in (a, b):
                wires[sigs["TDATA"]] = width * 8
                wires[sigs["TKEEP"]] = width
            body(f"// {inst.name}: {inst.vlnv}\n{module} #(\n{prm_text}\n)\n{inst.name} (")
            body(",\n".join(f"    .{x}({y})" for x, y in conns) + "\n);")
        else:  # user IP
            user = rtl[inst.name]
            conns = []
            mapped: set[str] = set()
            for s in inst.streams.values():
                sigs = stream_sigs(inst, s)
                for lg, name in sigs.items():
                    phys = s.port_map[lg]
                    conns.append((phys, name))
                    mapped.add(phys)
                strb = s.port_map.get("TSTRB")
                if strb is not None and s.direction == "in":  # every byte is data
                    conns.append((strb, f"{{{s.tdata_bytes}{{1'b1}}}}"))
                    mapped.add(strb)
            for win in inst.windows:
                for lg in _LITE:
                    lite_port = win.port_map.get(lg)
                    if lite_port is None:
                        continue
                    conns.append((lite_port, lite(inst.name, win, lg)))
                    mapped.add(lite_port)
            for irq_port in inst.interrupts:
                conns.append((irq_port, wire(inst.name, irq_port, 1)))
                mapped.add(irq_port)
                irqs.append((inst.name, irq_port))
            for port in inst.ports.values():
                if port.name in mapped:
                    continue
                if port.sigis == "clk":
                    conns.append((port.name, "clk"))
                elif port.sigis == "rst":
                    conns.append((port.name, "rst_n" if _active_low(port.name) else "rst"))
                elif port.direction == "I":
                    conns.append((port.name, f"{max(port.width, 1)}'d0"))  # unused input: 0
                else:
                    conns.append((port.name, ""))
            prm_text = ",\n".join(f"    .{k}({v})" for k, v in user.parameters.items())
            head = f"{user.top} #(\n{prm_text}\n)\n" if prm_text else f"{user.top}\n"
            body(f"// {inst.name}: {inst.vlnv} (user RTL: {', '.join(f.name for f in user.files)})")
            body(f"{head}{inst.name} (")
            body(",\n".join(f"    .{x}({y})" for x, y in conns) + "\n);")
            module = user.top
        body.mark(inst.name, "dmasim_dma" if kind == "dma" else module, first)
        body()

    # --- stream links and their monitors ----------------------------------------------------
    links: list[str] = []
    body("/*\n * AXI-Stream links, each watched by a monitor the host reads\n */")
    linked: set[tuple[str, str]] = set()
    for k, c in enumerate(design.connections):
        src = stream_wires.get((c.src.instance, c.src.interface))
        dst = stream_wires.get((c.dst.instance, c.dst.interface))
        if src is None or dst is None:
            continue
        linked |= {(c.src.instance, c.src.interface), (c.dst.instance, c.dst.interface)}
        si = design.instance(c.src.instance).stream(c.src.interface)
        nbytes = si.tdata_bytes
        body(f"// link {k}: {c}")
        body(f"assign {dst['TDATA']} = {src['TDATA']};")
        if "TKEEP" in dst:
            body(f"assign {dst['TKEEP']} = "
                 f"{src['TKEEP'] if 'TKEEP' in src else f'{{{nbytes}{{1' + chr(39) + 'b1}}'};")
        if "TLAST" in dst:
            body(f"assign {dst['TLAST']} = {src.get('TLAST', chr(49) + chr(39) + 'b0')};")
        body(f"assign {dst['TVALID']} = {src['TVALID']};")
        body(f"assign {src['TREADY']} = {dst['TREADY']};")
        last = src.get("TLAST", "1'b0")
        lo = len(links) * len(p.MONITOR_FIELDS) * 32
        hi = lo + len(p.MONITOR_FIELDS) * 32 - 1
        body(f"dmasim_sim_stream_monitor link{k}_monitor (\n    .clk(clk),\n    .rst(rst),\n"
             f"    .tvalid({src['TVALID']}),\n    .tready({dst['TREADY']}),\n"
             f"    .tlast({last}),\n    .counters(mon[{hi}:{lo}])\n);")
        links.append(str(c))
    # unconnected stream ends: outputs never ready, inputs never valid
    for (inst_name, iface), sigs in stream_wires.items():
        if (inst_name, iface) in linked:
            continue
        s = design.instance(inst_name).stream(iface)
        body(f"// {inst_name}.{iface} is not connected")
        if s.direction == "out":
            body(f"assign {sigs['TREADY']} = 1'b0;")
        else:
            body(f"assign {sigs['TVALID']} = 1'b0;")
            body(f"assign {sigs['TDATA']} = {s.tdata_bytes * 8}'d0;")
            if "TKEEP" in sigs:
                body(f"assign {sigs['TKEEP']} = {s.tdata_bytes}'d0;")
            if "TLAST" in sigs:
                body(f"assign {sigs['TLAST']} = 1'b0;")
    if not links:
        body("assign mon = 128'd0;")
    body()

    # --- DDR arbitration and interrupts -----------------------------------------------------
    body("/*\n * DDR: every DMA master onto the one memory port\n */")
    _arbiter(body, rd_masters, wr_masters, aw, dw)
    if len(irqs) > MAX_IRQ:
        raise DesignError(f"the rtl target carries at most {MAX_IRQ} interrupt lines; the design "
                          f"has {len(irqs)}")
    body()
    body("/*\n * Interrupt lines, bit i = line i\n */")
    body(f"assign irq = {{{', '.join(f'{i}__{q}' for i, q in reversed(irqs))}}};" if irqs
         else "assign irq = 1'b0;")

    nirq = max(len(irqs), 1)
    nmon = max(len(links), 1) * len(p.MONITOR_FIELDS) * 32
    out = _Writer()
    out("// Generated by dmasim.rtl.generate from design "
        f"{design.name!r}{f' ({design.source})' if design.source else ''}. Do not edit.")
    out("// The design between the rtl target's host AXI-Lite master and its DDR: see")
    out("// dmasim/rtl/generate.py for what is generated and rtl_tb/hdl/dmasim_sim_top.v for")
    out("// what surrounds it.")
    out("`timescale 1ns / 1ps")
    out("// Generated wiring: some instance ports are unused or left open on purpose.")
    out("/* verilator lint_off UNUSEDSIGNAL */")
    out("/* verilator lint_off UNUSEDPARAM */")
    out("/* verilator lint_off PINCONNECTEMPTY */")
    out("/* verilator lint_off DECLFILENAME */")
    out("`default_nettype none")
    out(f"module {MODULE} #(\n    parameter ADDR_WIDTH = {aw},\n    parameter DATA_WIDTH = {dw},"
        f"\n    parameter NUM_IRQ = {nirq},\n    parameter MON_BITS = {nmon}\n) (")
    out("    input  wire clk,\n    input  wire rst,")
    for lg in _LITE:
        width = 32 if lg in ("AWADDR", "ARADDR", "WDATA", "RDATA") else 3 if "PROT" in lg else \
            4 if lg == "WSTRB" else 2 if "RESP" in lg else 1
        out(f"    {'output' if lg in _LITE_OUT else 'input '} wire {_w(width)}"
            f"s_axil_{lg.lower()},")
    for sig, width, d in [("araddr", aw, "o"), ("arlen", 8, "o"), ("arsize", 3, "o"),
                          ("arburst", 2, "o"), ("arvalid", 1, "o"), ("arready", 1, "i"),
                          ("rdata", dw, "i"), ("rresp", 2, "i"), ("rlast", 1, "i"),
                          ("rvalid", 1, "i"), ("rready", 1, "o")]:
        out(f"    {'output' if d == 'o' else 'input '} wire {_w(width)}m_axi_rd_{sig},")
    for sig, width, d in [("awaddr", aw, "o"), ("awlen", 8, "o"), ("awsize", 3, "o"),
                          ("awburst", 2, "o"), ("awvalid", 1, "o"), ("awready", 1, "i"),
                          ("wdata", dw, "o"), ("wstrb", sw, "o"), ("wlast", 1, "o"),
                          ("wvalid", 1, "o"), ("wready", 1, "i"), ("bresp", 2, "i"),
                          ("bvalid", 1, "i"), ("bready", 1, "o")]:
        out(f"    {'output' if d == 'o' else 'input '} wire {_w(width)}m_axi_wr_{sig},")
    out(f"    output wire {_w(nirq)}irq,\n    output wire [{nmon - 1}:0] mon\n);")
    out()
    out("wire rst_n = !rst;")
    out()
    out("/*\n * One wire per instance port: <instance>__<port>\n */")
    for name, width in wires.items():
        out(f"wire {_w(width)}{name};")
    out()
    offset = len(out.lines)
    out.lines += decls.lines
    out()
    offset = len(out.lines)
    out.lines += body.lines
    out()
    out("endmodule")
    out("`default_nettype wire")
    marks = {n + offset: v for n, v in body.instance_lines.items()}
    return Generated("\n".join(out.lines) + "\n", windows, links, irqs, aw, dw, marks)


_RD_SIGS = [("araddr", "o"), ("arlen", "o"), ("arsize", "o"), ("arburst", "o"),
            ("arvalid", "o"), ("arready", "i"), ("rdata", "i"), ("rresp", "i"), ("rlast", "i"),
            ("rvalid", "i"), ("rready", "o")]
_WR_SIGS = [("awaddr", "o"), ("awlen", "o"), ("awsize", "o"), ("awburst", "o"),
            ("awvalid", "o"), ("awready", "i"), ("wdata", "o"), ("wstrb", "o"), ("wlast", "o"),
            ("wvalid", "o"), ("wready", "i"), ("bresp", "i"), ("bvalid", "i"), ("bready", "o")]


def _arbiter(body: _Writer, rd: list[str], wr: list[str], aw: int, dw: int) -> None:
    """DDR's ports ``m_axi_rd_*`` / ``m_axi_wr_*`` from the masters ``<prefix>_<signal>``.

    Wires when each direction has at most one master; else one round-robin arbiter
    (``dmasim_sim_axi_arbiter``) for both directions. A direction without masters reads
    as idle.
    """
    widths = {"araddr": aw, "awaddr": aw, "arlen": 8, "awlen": 8, "arsize": 3, "awsize": 3,
              "arburst": 2, "awburst": 2, "rdata": dw, "wdata": dw, "wstrb": dw // 8,
              "rresp": 2, "bresp": 2}
    if len(rd) <= 1 and len(wr) <= 1:
        for kind, masters, sigs in (("rd", rd, _RD_SIGS), ("wr", wr, _WR_SIGS)):
            for sig, d in sigs:
                a = f"m_axi_{kind}_{sig}"
                if not masters:
                    if d == "o":
                        body(f"assign {a} = {widths.get(sig, 1)}'d0;")
                    continue
                b = f"{masters[0]}_{sig}"
                body(f"assign {a} = {b};" if d == "o" else f"assign {b} = {a};")
        return
    conns = [("clk", "clk"), ("rst", "rst")]
    for kind, masters, sigs in (("rd", rd, _RD_SIGS), ("wr", wr, _WR_SIGS)):
        for sig, d in sigs:
            if masters:
                src = "{" + ", ".join(f"{m}_{sig}" for m in reversed(masters)) + "}"
            else:  # no master this way: one that never asks
                src = f"{widths.get(sig, 1)}'d0" if d == "o" else ""
            conns.append((f"s_{sig}", src))
            conns.append((f"m_{sig}", f"m_axi_{kind}_{sig}"))
    body(f"dmasim_sim_axi_arbiter #(\n    .RD_PORTS({max(len(rd), 1)}),\n"
         f"    .WR_PORTS({max(len(wr), 1)}),\n    .ADDR_WIDTH({aw}),\n    .DATA_WIDTH({dw})\n)\n"
         "ddr_arbiter (")
    body(",\n".join(f"    .{a}({b})" for a, b in conns) + "\n);")
