"""The ``model`` target: a block design (DMAs, stream IPs, links, DDR, CPU cache) in pure Python.

The default design is the loopback (one DMA whose MM2S feeds its own S2MM), stepped by the
engine itself on its fast path. Any other :class:`~dmasim.design.Design` is realised as a
:class:`~dmasim.model.fabric.Fabric`: one engine per DMA, the user's IP models and the built-in
stream IPs, joined by stream links, all on one clock and one DDR.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .. import constants, regmap
from ..design import (
    DEFAULT_PARAMETERS,
    DMA_BASE,
    Design,
    Instance,
    check_design,
    check_parameters,
    design_option,
)
from ..drivers.streams import never_ended, stopped_taking
from ..errors import DesignError, DmasimValueError
from ..ip.base import StreamIP
from ..ip.builtin import buffering
from ..memory import CMA_BASE, CMA_SIZE, DDR_SIZE, Memory
from ..target import Target
from .bus import ModelBus, ModelClock
from .dma import SKID_BEATS, AxiDmaModel
from .fabric import IP_SKID_BEATS, Fabric, IpNode, Route
from .stream import StreamFifo

__all__ = ["ModelTarget"]


def _dma_params(inst: Instance) -> dict[str, int]:
    """The engine's integer parameters: the defaults overridden by the instance's."""
    params = dict(DEFAULT_PARAMETERS)
    params["c_dlytmr_resolution"] = str(constants.SG_DLYTMR_RESOLUTION)
    for key, value in inst.parameters.items():
        if key.lower() in params:
            params[key.lower()] = value
    return check_parameters(params)


def _is_plain_loopback(design: Design) -> bool:
    """One DMA, its MM2S wired straight into its S2MM, nothing else in the data path."""
    dmas = design.dmas
    if len(dmas) != 1 or design.of_kind("user") or design.of_kind("builtin"):
        return False
    name = dmas[0].name
    return [(str(c.src), str(c.dst)) for c in design.connections] == [
        (f"{name}.M_AXIS_MM2S", f"{name}.S_AXIS_S2MM")]


class ModelTarget(Target):
    """Register-level model of a PYNQ block design; deterministic simulated time.

    Options: ``design`` (a :class:`~dmasim.design.Design` or a .hwh path; default the loopback),
    ``models`` (``{instance: StreamIP}`` for each user IP of the design), ``parameters``
    (PYNQ ``ip_dict`` parameter overrides for the default loopback, e.g.
    ``{"c_sg_length_width": 14}``), ``bus_access_ns`` (modelled cost of one register
    access: default a Cortex-A9 access on the PYNQ-Z2; settable later as the attribute of
    the same name),
    ``clock_ns`` (stream clock period; one beat per cycle), ``trace_depth`` (DMA register
    accesses kept in :attr:`trace`), ``cma_size`` (bytes of the buffer region),
    ``force_fabric`` (run even the loopback through the general fabric: a cross-check of the
    loopback's fast path).
    """

    name = "model"
    simulated = True
    capabilities = frozenset({"faults", "cache-model", "irq", "trace", "diagnostics"})

    def __init__(
        self,
        *,
        design: Design | str | Path | None = None,
        models: Mapping[str, StreamIP] | None = None,
        parameters: dict[str, Any] | None = None,
        bus_access_ns: int = constants.BUS_ACCESS_NS,
        clock_ns: int = 10,
        trace_depth: int = 1024,
        cma_size: int = CMA_SIZE,
        phys_addr: int = DMA_BASE,
        force_fabric: bool = False,
    ):
        super().__init__()
        for label, value in (("bus_access_ns", bus_access_ns), ("clock_ns", clock_ns)):
            if not isinstance(value, int) or value < 1:
                raise DmasimValueError(f"{label}={value!r} must be an integer >= 1")
        design = design_option(design, parameters, phys_addr)
        models = dict(models or {})
        check_design(design, supplied=models.keys(), target="model")
        self._check_models(design, models)
        self.design = design
        self.ip_dict = design.ip_dict()
        self.memory_model = Memory(size=DDR_SIZE, cma_base=CMA_BASE, cma_size=cma_size)
        self.memory = self.memory_model
        self.faults = self.memory_model
        self.clock_ns = clock_ns
        self.trace: deque[tuple[int, str, int, int]] = deque(maxlen=trace_depth)
        self.clock = self.model_clock = ModelClock()
        self.bus = self.model_bus = ModelBus(self.model_clock, bus_access_ns, self.trace)
        self.bus_access_ns = bus_access_ns
        self.engines: dict[str, AxiDmaModel] = {
            inst.name: AxiDmaModel(self.memory_model, _dma_params(inst), clock_ns=clock_ns)
            for inst in design.dmas
        }
        self.engine = next(iter(self.engines.values()))
        """The first DMA's engine (the loopback's only one)."""
        self.fabric: Fabric | None = None
        if force_fabric or not _is_plain_loopback(design):
            self.fabric = self._build_fabric(design, models)
        self.models = models
        self.model_clock.catch_up = self._catch_up_fabric if self.fabric is not None \
            else self._loopback_catch_up()
        for inst, win in design.windows():
            engine = self.engines.get(inst.name)
            ops = (self.model_bus.engine_ops(engine) if engine is not None
                   else self.model_bus.ip_ops(inst.name, models.get(inst.name)))
            self.model_bus.add_window(win.base, win.end, inst.name, ops)

    @property
    def bus_access_ns(self) -> int:
        """Modelled time of one register access (rule BUS-ACCESS); settable (a faster CPU)."""
        return self.model_bus.cost_ns

    @bus_access_ns.setter
    def bus_access_ns(self, ns: int) -> None:
        if not isinstance(ns, int) or isinstance(ns, bool) or ns < 1:
            raise DmasimValueError(f"bus_access_ns={ns!r} must be an integer >= 1")
        self.model_bus.cost_ns = ns

    # --- building a design --------------------------------------------------------------

    @staticmethod
    def _check_models(design: Design, models: Mapping[str, StreamIP]) -> None:
        users = {i.name for i in design.of_kind("user")}
        for name, model in models.items():
            if name not in users:
                raise DesignError(
                    f"models[{name!r}]: the design has no user IP named {name!r} "
                    f"(user IPs: {', '.join(sorted(users)) or 'none'})")
            if not isinstance(model, StreamIP):
                raise DesignError(
                    f"models[{name!r}] is a {type(model).__name__}, not a dmasim.ip.StreamIP")
            declared = type(model).streams
            if declared is None:
                continue
            inst = design.instance(name)
            for c in design.connections:
                for end in (c.src, c.dst):
                    if end.instance != name:
                        continue
                    iface = inst.streams[end.interface]
                    if declared.get(end.interface) != iface.direction:
                        have = ", ".join(f"{p} ({d})" for p, d in declared.items()) or "none"
                        raise DesignError(
                            f"{name}: the design connects {end} ({iface.direction}put stream, "
                            f"link {c}) but the model {type(model).__name__} has no "
                            f"{iface.direction}put port {end.interface!r} (its streams: {have})")

    def _build_fabric(self, design: Design, models: Mapping[str, StreamIP]) -> Fabric:
        fabric = Fabric(self.clock_ns)
        fabric.engines = dict(self.engines)
        for e in self.engines.values():
            e.fabric = fabric
        for name, model in models.items():
            fabric.nodes[name] = IpNode(fabric, design.instance(name), model)
        downstream = {(c.src.instance, c.src.interface): c.dst for c in design.connections}
        in_links: dict[tuple[str, str], StreamFifo] = {}
        out_links: dict[tuple[str, str], StreamFifo] = {}
        for inst in design.instances.values():
            if inst.kind not in ("dma", "user"):
                continue
            for iface in inst.streams.values():
                if iface.direction != "out":
                    continue
                route = self._trace_route(design, inst, iface.name, downstream, fabric)
                out_links[(inst.name, iface.name)] = route.link
                if route.cons_engine is not None or route.cons_node is not None:
                    in_links[(route.consumer.rpartition(".")[0],
                              route.consumer.rpartition(".")[2])] = route.link
                fabric.routes.append(route)
        for name, e in self.engines.items():
            out = out_links.get((name, "M_AXIS_MM2S"))
            inp = in_links.get((name, "S_AXIS_S2MM"))
            e.out_link = out if out is not None else StreamFifo(e.beat, e.fifo_beats)
            e.in_link = inp if inp is not None else StreamFifo(e.s2mm_beat, SKID_BEATS)
            e.stream = e.out_link
            e.loopback = False
        for (inst_name, port), link in in_links.items():
            if inst_name in fabric.nodes:
                fabric.nodes[inst_name].in_links[port] = link
        for (inst_name, port), link in out_links.items():
            if inst_name in fabric.nodes:
                fabric.nodes[inst_name].out_links[port] = link
        return fabric

    def _trace_route(self, design: Design, inst: Instance, port: str,
                     downstream: dict[tuple[str, str], Any], fabric: Fabric) -> Route:
        """Follow ``inst.port`` through built-ins to its consumer: one link."""
        iface = inst.streams[port]
        hops = [f"{inst.name}.{port}"]
        route = Route(StreamFifo(iface.tdata_bytes, 0))
        if inst.kind == "dma":
            route.prod_engine = self.engines[inst.name]
            capacity = route.prod_engine.fifo_beats
        else:
            route.prod_node = fabric.nodes[inst.name]
            capacity = IP_SKID_BEATS
        packet_mode = False
        end = downstream.get((inst.name, port))
        while end is not None:
            peer = design.instance(end.instance)
            if peer.kind != "builtin":
                break
            beats, pm = buffering(peer)
            capacity += beats
            packet_mode = packet_mode or pm
            hops.append(peer.name)
            outs = [s.name for s in peer.streams.values() if s.direction == "out"]
            end = downstream.get((peer.name, outs[0])) if outs else None
        if end is not None:
            peer = design.instance(end.instance)
            hops.append(str(end))
            if peer.kind == "dma" and end.interface == "S_AXIS_S2MM":
                route.cons_engine = self.engines[peer.name]
                capacity += SKID_BEATS
            elif peer.kind == "user":
                route.cons_node, route.cons_port = fabric.nodes[peer.name], end.interface
                capacity += IP_SKID_BEATS
        else:
            hops.append("(unconnected)")
        link = route.link
        link.capacity_beats = max(capacity, 1)
        link.packet_mode = packet_mode
        link.name = " -> ".join(hops)
        link.source = hops[0]
        route.hops = hops
        if route.prod_engine is not None:
            link.producer_busy = route.prod_engine._mm2s_busy
        else:
            node, out_port = route.prod_node, port
            assert node is not None
            link.note_short = True
            link.producer_busy = lambda: node.sending(out_port)
        return route

    # --- time: one helper brings the design up to the clock ------------------------------

    def _loopback_catch_up(self) -> Callable[[int], None]:
        """The loopback's catch-up: its engine steps itself; with nothing to do it just follows.

        A closure over the engine: drivers poll through it on every register access.
        """
        dma, clock_ns = self.engine, self.clock_ns
        mm2s, s2mm = dma.mm2s, dma.s2mm
        if dma.sg is not None:  # SG mode: straight to the SG engine's time loop
            run = dma.sg.run_until

            def catch_up_sg(now_ns: int) -> None:
                cycle = now_ns // clock_ns
                if cycle > dma.cycle:
                    run(cycle)

            return catch_up_sg

        def catch_up(now_ns: int) -> None:
            cycle = now_ns // clock_ns
            if dma.reset_until >= 0 or mm2s.busy or s2mm.busy or dma.sg is not None:
                dma.run_until(cycle)
            else:
                dma.cycle = cycle

        return catch_up

    def _catch_up_fabric(self, now_ns: int) -> None:
        """Every engine, IP model and link of a general design, to ``now_ns``."""
        assert self.fabric is not None
        self.fabric.run_until(now_ns // self.clock_ns)

    def _advance(self) -> None:
        """Bring the design up to the current time (before reading its state)."""
        self.model_clock.delay(0)

    # --- the rest of the contract -------------------------------------------------------

    def _reset_design(self) -> None:
        if self.fabric is not None:
            self.fabric.reset()
        else:
            self.engine.power_on_reset()
        self.memory_model.clear_faults()

    def _close(self) -> None:
        for model in self.models.values():
            model._attach(model.name, None)
        self.memory_model.close()

    def add_fault(self, addr: int, nbytes: int, kind: str = "slverr") -> None:
        """Make a memory region answer SLVERR or DECERR."""
        self.memory_model.add_fault(addr, nbytes, kind)

    def interrupts(self) -> dict[str, bool]:
        """Interrupt levels now, by ``"instance/port"``.

        The loopback keeps its two lines' bare names, ``mm2s_introut`` and ``s2mm_introut``.
        """
        if self.fabric is None:
            mm2s, s2mm = self.engine.interrupts()
            return {"mm2s_introut": mm2s, "s2mm_introut": s2mm}
        self._advance()
        out: dict[str, bool] = {}
        for inst in self.design.instances.values() if self.design else ():
            if inst.name in self.engines:
                levels = dict(zip(("mm2s_introut", "s2mm_introut"),
                                  self.engines[inst.name].interrupts(), strict=True))
                for port in inst.interrupts:
                    out[f"{inst.name}/{port}"] = levels.get(port, False)
            elif inst.name in self.fabric.nodes:
                for port, level in self.fabric.nodes[inst.name].irq.items():
                    out[f"{inst.name}/{port}"] = level
        return out

    def format_trace(self, last: int = 32) -> str:
        """The last DMA register accesses, decoded, with modelled timestamps."""
        return regmap.format_accesses(self.trace, last, self.engine.sg is not None)

    def describe(self) -> str:
        """Decoded registers, bytes moved, data in flight on every link, and diagnostics."""
        out = []
        many = len(self.engines) > 1 or self.fabric is not None
        for name, d in self.engines.items():
            if many:
                out.append(f"{name}:")
            sg = d.sg is not None
            out.append(regmap.format_registers(
                {**regmap.read_channel(d.read, regmap.MM2S, sg),
                 **regmap.read_channel(d.read, regmap.S2MM, sg)}))
            if d.sg is not None:
                out.extend(d.sg.describe())
            held = f"stream holds {d.stream.nbytes} B" if self.fabric is None else (
                f"MM2S -> {d.out_link.name.rpartition(' -> ')[2]}")
            out.append(
                f"time {self.now_ns} ns; moved MM2S {d.mm2s.moved} B in {d.mm2s.transfers} "
                f"transfers, S2MM {d.s2mm.moved} B in {d.s2mm.transfers}; {held}")
            out.extend(f"{x.time_ns} ns {(name + ' ') if many else ''}{x.channel}: {x.message}"
                       for x in d.diagnostics)
        if self.fabric is not None:
            out.append("links:")
            for r in self.fabric.routes:
                out.append("  " + self._link_state(r))
            for node in self.fabric.nodes.values():
                for port in node.inst.streams:
                    n = node.beats_assembling(port) if port in node.assembling else 0
                    if n:
                        out.append(f"  {node.name}.{port} has received {n} beats of a packet "
                                   "without TLAST")
        return "\n".join(out)

    @staticmethod
    def _link_state(r: Route) -> str:
        link = r.link
        text = (f"{link.name}: {link.nbytes} B queued in {len(link.packets)} packet(s), "
                f"{link.beats()}/{link.capacity_beats} beats"
                + (", packet mode" if link.packet_mode else ""))
        if link.packets and not link.packets[-1].complete:
            p = link.packets[-1]
            text += f"; unfinished packet: {-(-p.read // link.beat)} beats sent, no TLAST yet"
        return text

    # --- hang diagnosis -----------------------------------------------------------------

    def stall_cause(self, dma: str, channel: str, *, programmed: int = 0) -> str | None:
        """The design-level reason ``dma``'s ``channel`` is stuck, naming the IP.

        None when the generic explanation applies (the loopback), unless the S2MM
        one-spare-beat erratum swallowed a packet the transfer may be waiting for.
        """
        if dma not in self.engines:
            return None
        self._advance()
        e = self.engines[dma]
        if e.sg is not None:
            e.sg.settle()  # the engine's inner state, not only what registers show
        if channel == "S2MM" and e.s2mm.busy and not e.in_link.nbytes:
            cause = e.erratum_cause()
            if cause is not None:
                return cause
        if self.fabric is None:
            return None
        route = next((r for r in self.fabric.routes
                      if (r.cons_engine is e if channel == "S2MM" else r.prod_engine is e)), None)
        if route is None:
            return (f"{dma}.{'S_AXIS_S2MM' if channel == 'S2MM' else 'M_AXIS_MM2S'} is not "
                    "connected in the design")
        link = route.link
        if channel == "S2MM":
            return self._s2mm_cause(dma, e, route)
        if e.mm2s.busy and link.beats() >= link.capacity_beats:
            if route.cons_node is not None:
                node, port = route.cons_node, route.cons_port
                return stopped_taking(node.name, f"{node.name}.{port}",
                                      f"{node.stall_reason(port)}; {link.beats()} beats wait in "
                                      f"{link.name}")
            if route.cons_engine is not None:
                return (f"{route.consumer} is not taking data (S2MM of "
                        f"{route.consumer.partition('.')[0]} not programmed or halted), so "
                        f"{link.name} is full ({link.beats()} beats) and MM2S stalls: start the "
                        "receive transfer before waiting on the send")
        return None

    def _s2mm_cause(self, dma: str, e: AxiDmaModel, route: Route) -> str | None:
        link = route.link
        s = e.s2mm
        if not s.busy:
            return None
        p = link.packets[0] if link.packets else None
        if route.prod_node is not None and p is not None and not p.complete and p.available == 0:
            beats = -(-p.read // link.beat)
            return (never_ended(route.hops[0], beats, link.beat, s.xlen)
                    + " (a model ends it with emit(..., last=True))")
        # Nothing arrives: look upstream for an IP holding or refusing data.
        assert self.fabric is not None
        src = route.prod_engine
        if src is not None and src is not e and not src.mm2s.busy and not link.nbytes:
            name = route.hops[0].partition(".")[0]
            return (f"{dma} S2MM waits for a packet from {route.hops[0]} and {name} has no "
                    f"MM2S transfer in flight: start the send on {name}")
        node = route.prod_node
        if node is not None:
            for port, inlink in node.in_links.items():
                if inlink.nbytes and not node.accepting(port):
                    return stopped_taking(node.name, f"{node.name}.{port}",
                                          f"{node.stall_reason(port)}; {inlink.beats()} beats "
                                          f"wait in {inlink.name}")
                n = node.beats_assembling(port) if port in node.assembling else 0
                if n:
                    return (f"{node.name}.{port} has received {n} beats without TLAST, so "
                            f"{node.name} has no packet to process and {dma} S2MM gets no data")
            return (f"{dma} S2MM waits for a packet from {route.hops[0]}; {node.name} has not "
                    "sent one (did its input get a packet? is it started?)")
        return None
