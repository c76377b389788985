"""The AXI DMA (PG021 v7.1) register map: the one source of offsets and fields.

Simple (direct-register) mode uses DMACR, DMASR, SA/DA(+MSB) and LENGTH; scatter-gather mode
(``c_include_sg=1``) uses DMACR, DMASR, CURDESC(+MSB) and TAILDESC(+MSB) and reads buffer
descriptors (BDs, layout :data:`BD`) from memory.

The model, the drivers, the RTL (through the generated ``hw/rtl/dmasim_regmap.vh``), the C
driver core (through the generated ``dmasim/drivers/native/dmasim_regmap.h``) and the docs
all take offsets, bit positions and reset values from here. ``python -m dmasim.regmap
{verilog,c,markdown}`` prints the generated files; a test keeps the checked-in copies fresh.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ._views import print_view

__all__ = [
    "BD",
    "BD_ALIGN",
    "BD_CONTROL",
    "BD_SIZE",
    "BD_STATUS",
    "CHANNELS",
    "DMACR",
    "DMASR",
    "LENGTH",
    "MM2S",
    "S2MM",
    "BdLayout",
    "Channel",
    "Field",
    "Register",
    "decode",
    "decode_bd",
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
        Field("Cyclic", 4, doc="SG: fetched BDs' Cmplt bits count as 0 (cyclic BD mode)"),
        Field("IOC_IrqEn", 12, doc="interrupt on complete enable"),
        Field("Dly_IrqEn", 13, doc="delay interrupt enable"),
        Field("Err_IrqEn", 14, doc="error interrupt enable"),
        Field("IRQThreshold", 16, 8, reset=1,
              doc="SG: IOC events per IOC_Irq; a write of 0 stores 1"),
        Field("IRQDelay", 24, 8, doc="SG: delay timeout after a packet end; 0 disables"),
    ),
    "DMA control register",
)

DMASR = Register(
    "DMASR",
    0x04,
    (
        Field("Halted", 0, access="R", reset=1, doc="channel halted"),
        Field("Idle", 1, access="R",
              doc="last programmed transfer complete (SG: fetcher stopped at the tail)"),
        Field("SGIncld", 3, access="R", doc="1 in SG mode, 0 in simple mode"),
        Field("DMAIntErr", 4, access="R", doc="internal error (S2MM packet > LENGTH)"),
        Field("DMASlvErr", 5, access="R", doc="memory answered SLVERR"),
        Field("DMADecErr", 6, access="R", doc="memory answered DECERR"),
        Field("SGIntErr", 8, access="R", doc="SG: fetched BD already had Cmplt=1"),
        Field("SGSlvErr", 9, access="R", doc="SG: SLVERR on a BD fetch or status write"),
        Field("SGDecErr", 10, access="R", doc="SG: DECERR on a BD fetch or status write"),
        Field("IOC_Irq", 12, access="RW1C", doc="transfer (or halt) complete"),
        Field("Dly_Irq", 13, access="RW1C", doc="SG: delay timeout (never in simple mode)"),
        Field("Err_Irq", 14, access="RW1C", doc="set on the rising edge of any error"),
        Field("IRQThresholdSts", 16, 8, access="R",
              doc="SG: threshold counter (reset 1); 0 in simple mode"),
        Field("IRQDelaySts", 24, 8, access="R", doc="SG: delay counter; 0 in simple mode"),
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
# Scatter-gather registers: reserved (read 0) in simple mode. In SG mode SA/DA(+MSB) and
# LENGTH are the reserved ones. Bits 5:0 of the descriptor pointers are not stored.
CURDESC = Register(
    "CURDESC", 0x08, (Field("Address", 6, 26, doc="BD address; 5:0 read 0"),),
    "SG: current BD; written only while halted")
CURDESC_MSB = Register(
    "CURDESC_MSB", 0x0C, (Field("Address", 0, 32),), "SG: upper bits (c_addr_width > 32)")
TAILDESC = Register(
    "TAILDESC", 0x10, (Field("Address", 6, 26, doc="BD address; 5:0 read 0"),),
    "SG: tail BD; the write that kicks the fetcher (the MSB one in 64-bit builds)")
TAILDESC_MSB = Register(
    "TAILDESC_MSB", 0x14, (Field("Address", 0, 32),), "SG: upper bits (c_addr_width > 32)")

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
SG_MODE_REGISTERS: tuple[Register, ...] = (
    DMACR, DMASR, CURDESC, CURDESC_MSB, TAILDESC, TAILDESC_MSB)


def mode_registers(sg: bool) -> tuple[Register, ...]:
    """The registers a channel has in SG mode (``sg``) or in simple mode."""
    return SG_MODE_REGISTERS if sg else SIMPLE_MODE_REGISTERS

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
DMACR_CYCLIC = DMACR.field("Cyclic").mask
DMACR_DLY_IRQEN = DMACR.field("Dly_IrqEn").mask
DMASR_SG_INCLD = DMASR.field("SGIncld").mask
DMASR_SG_INT_ERR = DMASR.field("SGIntErr").mask
DMASR_SG_SLV_ERR = DMASR.field("SGSlvErr").mask
DMASR_SG_DEC_ERR = DMASR.field("SGDecErr").mask
DMASR_SG_ERRORS = DMASR_SG_INT_ERR | DMASR_SG_SLV_ERR | DMASR_SG_DEC_ERR
DMASR_ALL_ERRORS = DMASR_ERRORS | DMASR_SG_ERRORS
DESC_ADDR_MASK = 0xFFFF_FFC0
"""The stored bits of CURDESC/TAILDESC (and of a BD's NXTDESC word)."""


# --- buffer descriptors (SG mode) --------------------------------------------------------

BD_SIZE = 0x40
"""Bytes of one BD (16 words) and the stride the engine assumes nothing about."""
BD_ALIGN = 0x40
"""BDs must sit on this boundary: the engine ignores address bits 5:0."""

BD_CONTROL = Register(
    "CONTROL",
    0x18,
    (
        Field("LENGTH", 0, 26, doc="buffer bytes; masked to c_sg_length_width"),
        Field("TXEOF", 26, doc="MM2S: last BD of a packet (TLAST on its last beat)"),
        Field("TXSOF", 27, doc="MM2S: first BD of a packet"),
    ),
    "BD word the engine reads: buffer length and packet framing",
)
BD_STATUS = Register(
    "STATUS",
    0x1C,
    (
        Field("TRANSFERRED", 0, 26, access="R", doc="bytes moved for this BD"),
        Field("RXEOF", 26, access="R", doc="S2MM: this buffer holds a packet's last byte"),
        Field("RXSOF", 27, access="R", doc="S2MM: this buffer holds a packet's first byte"),
        Field("DMAIntErr", 28, access="R", doc="zero length (after masking)"),
        Field("DMASlvErr", 29, access="R", doc="SLVERR on the data buffer"),
        Field("DMADecErr", 30, access="R", doc="DECERR on the data buffer"),
        Field("Cmplt", 31, access="R", doc="the engine finished this BD"),
    ),
    "BD word the engine writes after the BD's data completed",
)
BD_CMPLT = BD_STATUS.field("Cmplt").mask
BD_TXSOF = BD_CONTROL.field("TXSOF").mask
BD_TXEOF = BD_CONTROL.field("TXEOF").mask
BD_RXSOF = BD_STATUS.field("RXSOF").mask
BD_RXEOF = BD_STATUS.field("RXEOF").mask
BD_LENGTH_MASK = BD_CONTROL.field("LENGTH").mask


@dataclass(frozen=True)
class BdLayout:
    """Byte offsets of a BD's words (PG021's descriptor table); ``BD.CONTROL == 0x18``."""

    NXTDESC: int = 0x00
    NXTDESC_MSB: int = 0x04
    BUFFER_ADDRESS: int = 0x08
    BUFFER_ADDRESS_MSB: int = 0x0C
    CONTROL: int = 0x18
    STATUS: int = 0x1C
    APP0: int = 0x20
    APP1: int = 0x24
    APP2: int = 0x28
    APP3: int = 0x2C
    APP4: int = 0x30
    SIZE: int = BD_SIZE
    ALIGN: int = BD_ALIGN
    FETCH_WORDS: int = 8
    """Words the engine reads per BD (without the status/control stream)."""

    def words(self) -> dict[str, int]:
        """Word name -> byte offset, in layout order."""
        return {k: v for k, v in self.__dict__.items() if k not in ("SIZE", "ALIGN",
                                                                     "FETCH_WORDS")}


BD = BdLayout()
"""The BD layout: word offsets by PG021's names."""


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
    CURDESC: int = field(init=False)
    CURDESC_MSB: int = field(init=False)
    TAILDESC: int = field(init=False)
    TAILDESC_MSB: int = field(init=False)

    def __post_init__(self) -> None:
        for reg in CHANNEL_REGISTERS:
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


def register_at(offset: int, sg: bool | None = None) -> tuple[Channel, Register] | None:
    """The channel register at window ``offset``, or None (reserved / SG_CTL).

    ``sg`` picks the mode's registers (the other mode's offsets are reserved); None knows both.
    """
    regs = CHANNEL_REGISTERS if sg is None else mode_registers(sg)
    for ch in CHANNELS:
        rel = offset - ch.base
        for reg in regs:
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


def read_channel(read: Callable[[int], int], ch: Channel, sg: bool = False) -> dict[str, int]:
    """Read a channel's registers (SG-mode ones when ``sg``) through ``read(offset)``."""
    return {ch.register_name(reg): read(ch.base + reg.offset) for reg in mode_registers(sg)}


def format_registers(values: Mapping[str, int]) -> str:
    """Registers read by :func:`read_channel` as decoded lines, one register a line."""
    lines = []
    for name, value in values.items():
        kind = name.split("_", 1)[1]
        reg = {"DMACR": DMACR, "DMASR": DMASR, "LENGTH": LENGTH}.get(kind)
        if kind in ("CURDESC", "TAILDESC"):
            lines.append(f"{name:<14} 0x{value:08x}")
            continue
        fields = ""
        if reg is not None:
            fields = "  " + " ".join(f"{k}={v:#x}" if v > 1 else f"{k}={v}"
                                     for k, v in decode(reg, value).items())
        lines.append(f"{name:<14} 0x{value:08x}{fields}")
    return "\n".join(lines)


def decode_bd(words: Sequence[int], *, at: int | None = None) -> str:
    """A BD's words (at least up to STATUS) as one readable line, e.g. for a timeout message.

    ``at`` is the BD's address, printed first when given.
    """
    def word(offset: int) -> int:
        i = offset // 4
        return int(words[i]) & 0xFFFF_FFFF if i < len(words) else 0

    nxt = (word(BD.NXTDESC_MSB) << 32) | word(BD.NXTDESC)
    buf = (word(BD.BUFFER_ADDRESS_MSB) << 32) | word(BD.BUFFER_ADDRESS)
    ctl, sts = word(BD.CONTROL), word(BD.STATUS)
    flags = [f.name for f in BD_CONTROL.fields if f.width == 1 and f.get(ctl)]
    sflags = [f.name for f in BD_STATUS.fields if f.width == 1 and f.get(sts)]
    head = f"BD@0x{at:x} " if at is not None else "BD "
    return (f"{head}next=0x{nxt:x} buffer=0x{buf:x} "
            f"CONTROL=0x{ctl:08x} (length={BD_CONTROL.field('LENGTH').get(ctl)}"
            f"{' ' + ' '.join(flags) if flags else ''}) "
            f"STATUS=0x{sts:08x} (transferred={BD_STATUS.field('TRANSFERRED').get(sts)}"
            f"{' ' + ' '.join(sflags) if sflags else ''})")


def format_accesses(trace: Iterable[tuple[int, str, int, int]], last: int = 32,
                    sg: bool | None = None) -> str:
    """A register access log ``(time ns, "R"/"W", window offset, value)`` as named lines."""
    lines = []
    for t, kind, off, value in list(trace)[-last:]:
        where = register_at(off, sg)
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
    out.append(("DMASR_SG_ERRORS_MASK", DMASR_SG_ERRORS, "SGIntErr | SGSlvErr | SGDecErr"))
    out.append(("DESC_ADDR_MASK", DESC_ADDR_MASK, "stored bits of CURDESC/TAILDESC/NXTDESC"))
    for ch in CHANNELS:
        for reg in (CURDESC, CURDESC_MSB, TAILDESC, TAILDESC_MSB):
            out.append((ch.register_name(reg), ch.base + reg.offset, "window offset (SG mode)"))
    out.append(("BD_SIZE", BD_SIZE, "bytes per buffer descriptor"))
    out.append(("BD_ALIGN", BD_ALIGN, "BD address alignment"))
    for name, offset in BD.words().items():
        out.append((f"BD_{name}", offset, "BD word byte offset"))
    for reg in (BD_CONTROL, BD_STATUS):
        for f in reg.fields:
            out.append((f"BD_{reg.name}_{f.name.upper()}_BIT", f.lsb, f.doc))
            out.append((f"BD_{reg.name}_{f.name.upper()}_MASK", f.mask, ""))
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
        for reg in CHANNEL_REGISTERS:
            mode = ("SG only: " if reg in (CURDESC, CURDESC_MSB, TAILDESC, TAILDESC_MSB)
                    else "simple only: " if reg not in SG_MODE_REGISTERS else "")
            for f in reg.fields:
                bits = f"{f.lsb}" if f.width == 1 else f"{f.lsb + f.width - 1}:{f.lsb}"
                lines.append(
                    f"| 0x{ch.base + reg.offset:02X} | {mode}{ch.register_name(reg)} | "
                    f"{f.name} | {bits} | {f.access} | {f.reset:#x} |"
                )
    lines += ["", "| BD offset | word | field | bits |", "|---|---|---|---|"]
    for name, offset in BD.words().items():
        word = {BD.CONTROL: BD_CONTROL, BD.STATUS: BD_STATUS}.get(offset)
        if word is None:
            lines.append(f"| 0x{offset:02X} | {name} | | 31:0 |")
            continue
        for f in word.fields:
            bits = f"{f.lsb}" if f.width == 1 else f"{f.lsb + f.width - 1}:{f.lsb}"
            lines.append(f"| 0x{offset:02X} | {name} | {f.name} | {bits} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print a generated view: ``verilog``, ``c`` or ``markdown``."""
    views = {"verilog": verilog_header, "c": c_header, "markdown": markdown_table}
    return print_view("dmasim.regmap", views, argv)


if __name__ == "__main__":
    raise SystemExit(main())
