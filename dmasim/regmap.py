"""The AXI DMA (PG021 v7.1) register map: the one source of offsets and fields.

The model, the drivers, the RTL (through the generated ``hw/rtl/dmasim_regmap.vh``), the C
driver core (through the generated ``dmasim/drivers/native/dmasim_regmap.h``) and the docs
all take offsets, bit positions and reset values from here. ``python -m dmasim.regmap
{verilog,c,markdown}`` prints the generated files; a test keeps the checked-in copies fresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ._views import print_view

__all__ = [
    "CHANNELS",
    "DMACR",
    "DMASR",
    "LENGTH",
    "MM2S",
    "S2MM",
    "Channel",
    "Field",
    "Register",
    "decode",
    "describe_status",
]


@dataclass(frozen=True)
class Field:
    """A bit field of a register.

    ``access`` names the behaviour as amaranth-soc does: ``R`` (read-only, hardware driven),
    ``RW``, ``RW1C`` (write 1 to clear; a hardware set in the same cycle wins), ``RSVD``
    (reads ``reset``, ignores writes).
    """

    name: str
    lsb: int
    width: int = 1
    access: str = "RW"
    reset: int = 0
    doc: str = ""

    @property
    def mask(self) -> int:
        """The field's bits in register position."""
        return ((1 << self.width) - 1) << self.lsb

    def get(self, value: int) -> int:
        """Extract this field from a register value."""
        return (value >> self.lsb) & ((1 << self.width) - 1)

    def put(self, value: int, field_value: int) -> int:
        """Return ``value`` with this field replaced by ``field_value``."""
        return (value & ~self.mask) | ((field_value << self.lsb) & self.mask)


@dataclass(frozen=True)
class Register:
    """A channel register: its offset from the channel base, fields and reset value."""

    name: str
    offset: int
    fields: tuple[Field, ...]
    doc: str = ""

    @property
    def reset(self) -> int:
        """Reset value, assembled from the fields' reset values."""
        value = 0
        for f in self.fields:
            value = f.put(value, f.reset)
        return value

    def field(self, name: str) -> Field:
        """The field called ``name``."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    def mask(self, access: str) -> int:
        """All bits whose access is ``access``."""
        m = 0
        for f in self.fields:
            if f.access == access:
                m |= f.mask
        return m


DMACR = Register(
    "DMACR",
    0x00,
    (
        Field("RS", 0, doc="run/stop; held at 0 while an error is set or a reset runs"),
        Field("RSVD1", 1, access="RSVD", reset=1, doc="reads 1"),
        Field("Reset", 2, doc="soft reset of the whole engine; reads 1 until it is done"),
        Field("Keyhole", 3, doc="FIXED bursts for the following transfers"),
        Field("Cyclic_BD_Enable", 4, doc="stored, unused in simple mode"),
        Field("IOC_IrqEn", 12, doc="interrupt on complete enable"),
        Field("Dly_IrqEn", 13, doc="delay interrupt enable"),
        Field("Err_IrqEn", 14, doc="error interrupt enable"),
        Field("IRQThreshold", 16, 8, reset=1, doc="a write of 0 stores 1"),
        Field("IRQDelay", 24, 8, doc="no effect in simple mode"),
    ),
    "DMA control register",
)

DMASR = Register(
    "DMASR",
    0x04,
    (
        Field("Halted", 0, access="R", reset=1, doc="channel halted"),
        Field("Idle", 1, access="R", doc="last programmed transfer complete"),
        Field("SGIncld", 3, access="R", doc="0 in simple mode"),
        Field("DMAIntErr", 4, access="R", doc="internal error (S2MM packet > LENGTH)"),
        Field("DMASlvErr", 5, access="R", doc="memory answered SLVERR"),
        Field("DMADecErr", 6, access="R", doc="memory answered DECERR"),
        Field("SGIntErr", 8, access="R", doc="0 in simple mode"),
        Field("SGSlvErr", 9, access="R", doc="0 in simple mode"),
        Field("SGDecErr", 10, access="R", doc="0 in simple mode"),
        Field("IOC_Irq", 12, access="RW1C", doc="transfer (or halt) complete"),
        Field("Dly_Irq", 13, access="RW1C", doc="never set in simple mode"),
        Field("Err_Irq", 14, access="RW1C", doc="set on the rising edge of any error"),
        Field("IRQThresholdSts", 16, 8, access="R", doc="0 in simple mode"),
        Field("IRQDelaySts", 24, 8, access="R", doc="0 in simple mode"),
    ),
    "DMA status register",
)

ADDR = Register("ADDR", 0x18, (Field("Address", 0, 32),), "SA (MM2S) / DA (S2MM)")
ADDR_MSB = Register("ADDR_MSB", 0x1C, (Field("Address", 0, 32),), "upper address bits")
LENGTH = Register(
    "LENGTH",
    0x28,
    (Field("Length", 0, 26, doc="bytes; stored masked to c_sg_length_width"),),
    "transfer length; writing it starts the transfer",
)
# Scatter-gather registers: reserved (read 0) in simple mode, listed so the map is whole.
CURDESC = Register("CURDESC", 0x08, (Field("Address", 0, 32),), "SG mode only")
CURDESC_MSB = Register("CURDESC_MSB", 0x0C, (Field("Address", 0, 32),), "SG mode only")
TAILDESC = Register("TAILDESC", 0x10, (Field("Address", 0, 32),), "SG mode only")
TAILDESC_MSB = Register("TAILDESC_MSB", 0x14, (Field("Address", 0, 32),), "SG mode only")

CHANNEL_REGISTERS: tuple[Register, ...] = (
    DMACR,
    DMASR,
    CURDESC,
    CURDESC_MSB,
    TAILDESC,
    TAILDESC_MSB,
    ADDR,
    ADDR_MSB,
    LENGTH,
)
SIMPLE_MODE_REGISTERS: tuple[Register, ...] = (DMACR, DMASR, ADDR, ADDR_MSB, LENGTH)

SG_CTL_OFFSET = 0x2C
ADDR_RANGE = 0x1_0000
"""Size of the AXI-Lite window PYNQ designs give the DMA."""
MAX_LENGTH_WIDTH = 26
MIN_LENGTH_WIDTH = 8

# Bit masks drivers and models use by name.
DMACR_RS = DMACR.field("RS").mask
DMACR_RESET = DMACR.field("Reset").mask
DMACR_IOC_IRQEN = DMACR.field("IOC_IrqEn").mask
DMACR_ERR_IRQEN = DMACR.field("Err_IrqEn").mask
DMACR_IRQEN_ALL = DMACR_IOC_IRQEN | DMACR.field("Dly_IrqEn").mask | DMACR_ERR_IRQEN
DMASR_HALTED = DMASR.field("Halted").mask
DMASR_IDLE = DMASR.field("Idle").mask
DMASR_INT_ERR = DMASR.field("DMAIntErr").mask
DMASR_SLV_ERR = DMASR.field("DMASlvErr").mask
DMASR_DEC_ERR = DMASR.field("DMADecErr").mask
DMASR_ERRORS = DMASR_INT_ERR | DMASR_SLV_ERR | DMASR_DEC_ERR
DMASR_IOC_IRQ = DMASR.field("IOC_Irq").mask
DMASR_DLY_IRQ = DMASR.field("Dly_Irq").mask
DMASR_ERR_IRQ = DMASR.field("Err_Irq").mask
DMASR_IRQS = DMASR.mask("RW1C")


@dataclass(frozen=True)
class Channel:
    """One DMA channel: its base offset in the window and the name of its address register.

    The window offsets of its registers are plain attributes (``MM2S.DMASR == 0x04``), not
    computed on each use: drivers read them in their polling loops.
    """

    name: str
    base: int
    addr_name: str
    direction: str
    DMACR: int = field(init=False)  # register names are PG021's
    DMASR: int = field(init=False)
    ADDR: int = field(init=False)
    ADDR_MSB: int = field(init=False)
    LENGTH: int = field(init=False)

    def __post_init__(self) -> None:
        for reg in SIMPLE_MODE_REGISTERS:
            object.__setattr__(self, reg.name, self.base + reg.offset)

    def register_name(self, reg: Register) -> str:
        """PG021's name for ``reg`` on this channel, e.g. ``S2MM_DA``."""
        if reg is ADDR:
            return f"{self.name}_{self.addr_name}"
        if reg is ADDR_MSB:
            return f"{self.name}_{self.addr_name}_MSB"
        return f"{self.name}_{reg.name}"


MM2S = Channel("MM2S", 0x00, "SA", "memory to stream")
S2MM = Channel("S2MM", 0x30, "DA", "stream to memory")
CHANNELS: tuple[Channel, Channel] = (MM2S, S2MM)


def register_at(offset: int) -> tuple[Channel, Register] | None:
    """The channel register at window ``offset``, or None (reserved / SG_CTL)."""
    for ch in CHANNELS:
        rel = offset - ch.base
        for reg in CHANNEL_REGISTERS:
            if reg.offset == rel:
                return ch, reg
    return None


def decode(reg: Register, value: int) -> dict[str, int]:
    """Split ``value`` into ``reg``'s named fields (reserved-bit fields left out)."""
    return {f.name: f.get(value) for f in reg.fields if f.access != "RSVD"}


def describe_status(value: int) -> str:
    """A DMASR value as PG021 names, e.g. ``0x00001002 (Idle IOC_Irq)``."""
    flags = [
        f.name
        for f in DMASR.fields
        if f.width == 1 and f.get(value)
    ]
    running = "running" if not value & DMASR_HALTED else ""
    words = " ".join(flags) if flags else "running, busy"
    if running and flags:
        words = "running " + words
    return f"0x{value:08x} ({words})"


def read_channel(read: Callable[[int], int], ch: Channel) -> dict[str, int]:
    """Read a channel's simple-mode registers through ``read(offset)``."""
    return {ch.register_name(reg): read(ch.base + reg.offset) for reg in SIMPLE_MODE_REGISTERS}


def format_registers(values: Mapping[str, int]) -> str:
    """Registers read by :func:`read_channel` as decoded lines, one register a line."""
    lines = []
    for name, value in values.items():
        kind = name.split("_", 1)[1]
        reg = {"DMACR": DMACR, "DMASR": DMASR, "LENGTH": LENGTH}.get(kind)
        fields = ""
        if reg is not None:
            fields = "  " + " ".join(f"{k}={v:#x}" if v > 1 else f"{k}={v}"
                                     for k, v in decode(reg, value).items())
        lines.append(f"{name:<14} 0x{value:08x}{fields}")
    return "\n".join(lines)


def format_accesses(trace: Iterable[tuple[int, str, int, int]], last: int = 32) -> str:
    """A register access log ``(time ns, "R"/"W", window offset, value)`` as named lines."""
    lines = []
    for t, kind, off, value in list(trace)[-last:]:
        where = register_at(off)
        name = where[0].register_name(where[1]) if where else f"0x{off:02x}"
        lines.append(f"{t:>12} ns  {kind}  {name:<14} 0x{value:08x}")
    return "\n".join(lines)


# --- generated views ---------------------------------------------------------------------


def _constants() -> list[tuple[str, int, str]]:
    """(name, value, comment) for every constant the Verilog and C headers carry."""
    out: list[tuple[str, int, str]] = [
        ("S2MM_BASE", S2MM.base, "S2MM channel base in the window"),
        ("SG_CTL", SG_CTL_OFFSET, "multichannel only, reads 0"),
    ]
    for reg in CHANNEL_REGISTERS:
        out.append((f"REG_{reg.name}", reg.offset, f"{reg.doc} (channel-relative)"))
    for ch in CHANNELS:
        for reg in SIMPLE_MODE_REGISTERS:
            out.append((ch.register_name(reg), ch.base + reg.offset, "window offset"))
    for reg in (DMACR, DMASR):
        out.append((f"{reg.name}_RESET_VALUE", reg.reset, f"{reg.name} after reset"))
        out.append((f"{reg.name}_RW1C_MASK", reg.mask("RW1C"), "write-1-to-clear bits"))
        for f in reg.fields:
            if f.access == "RSVD":
                continue
            out.append((f"{reg.name}_{f.name.upper()}_BIT", f.lsb, f.doc))
            out.append((f"{reg.name}_{f.name.upper()}_MASK", f.mask, ""))
    out.append(("DMASR_ERRORS_MASK", DMASR_ERRORS, "DMAIntErr | DMASlvErr | DMADecErr"))
    return out


def verilog_header() -> str:
    """The register map as Verilog ``define``s (``hw/rtl/dmasim_regmap.vh``)."""
    lines = [
        "// Generated by `python -m dmasim.regmap verilog` from dmasim/regmap.py. Do not edit.",
        "`ifndef DMASIM_REGMAP_VH",
        "`define DMASIM_REGMAP_VH",
    ]
    for name, value, comment in _constants():
        tail = f"  // {comment}" if comment else ""
        lines.append(f"`define DMASIM_{name} 32'h{value:08x}{tail}")
    lines.append("`endif")
    return "\n".join(lines) + "\n"


def c_header() -> str:
    """The register map as C ``#define``s (``dmasim/drivers/native/dmasim_regmap.h``)."""
    lines = [
        "/* Generated by `python -m dmasim.regmap c` from dmasim/regmap.py. Do not edit. */",
        "#ifndef DMASIM_REGMAP_H",
        "#define DMASIM_REGMAP_H",
    ]
    for name, value, comment in _constants():
        tail = f"  /* {comment} */" if comment else ""
        lines.append(f"#define DMASIM_{name} 0x{value:08x}u{tail}")
    lines.append("#endif")
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The register map as a Markdown table for the docs."""
    lines = ["| offset | register | field | bits | access | reset |", "|---|---|---|---|---|---|"]
    for ch in CHANNELS:
        for reg in SIMPLE_MODE_REGISTERS:
            for f in reg.fields:
                bits = f"{f.lsb}" if f.width == 1 else f"{f.lsb + f.width - 1}:{f.lsb}"
                lines.append(
                    f"| 0x{ch.base + reg.offset:02X} | {ch.register_name(reg)} | {f.name} | "
                    f"{bits} | {f.access} | {f.reset:#x} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print a generated view: ``verilog``, ``c`` or ``markdown``."""
    views = {"verilog": verilog_header, "c": c_header, "markdown": markdown_table}
    return print_view("dmasim.regmap", views, argv)


if __name__ == "__main__":
    raise SystemExit(main())
