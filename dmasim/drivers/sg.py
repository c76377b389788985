"""Scatter-gather mode of the driver levels: a BD ring in target memory, cyclic, per-BD status.

When the DMA has ``c_include_sg=1`` the ``python``, ``pybind11`` and ``cffi`` levels use the
channel classes built on :class:`SgChannelMixin`: the same API as simple mode (``transfer``,
``wait``, ``transferred``, ``start``, ``stop``) plus ``transfer(buf, cyclic=True)``,
``ch.bds`` (the last chain's descriptors, decoded) and ``wait(interrupt=True)`` /
``await ch.wait_async()`` where the target has interrupt lines.

How it drives the engine (the way Linux' ``xilinx_dma`` does):

- Each channel owns a :class:`BdRing`: BDs in a buffer from ``target.allocate``, linked into a
  ring once (NXTDESC of BD i names BD i+1, the last names the first). A canary BD sits before
  and after the ring; the one after doubles as the cyclic TAILDESC, which the engine never
  fetches.
- Starting a channel writes CURDESC (the ring's next free BD) while halted, then RS=1.
- A transfer fills the next BDs of the ring (a transfer longer than one BD's maximum, the
  length field's maximum rounded down to the data width, is split; MM2S marks TXSOF on the first
  and TXEOF on the last BD), clears their STATUS, then writes TAILDESC = the last one. A running
  engine that stopped at the previous tail resumes at that tail's NXTDESC, the new first BD.
- A wait ends when every BD of the chain shows Cmplt (S2MM: or the BD that holds the packet's
  end, RXEOF), or on an error bit (also the SG ones, 8-10), or when the channel halts.

This module holds the Python level's register sequences and BD handling; the native levels run
the same steps in the C core (``dmasim_sg_*`` in ``native/dmasim_dma.c``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import constants, regmap
from ..errors import (
    BufferStateError,
    DmaBusyError,
    DmaDecodeError,
    DmaError,
    DmaInternalError,
    DmasimValueError,
    DmaSlaveError,
    DmaTimeoutError,
)
from . import registers
from .base import ChannelBase, _ns
from .diagnose import error_for, timeout_error
from .python import PythonChannel
from .registers import Clock, Window

if TYPE_CHECKING:
    from ..buffer import Buffer
    from ..errors import DmaState

__all__ = [
    "BD_WORDS",
    "DEFAULT_RING_BDS",
    "GUARD_WORD",
    "MAX_RING_BDS",
    "BdRing",
    "BdStatus",
    "PythonSgChannel",
    "SgChannelMixin",
    "chain_result",
    "kick",
    "sg_error",
    "start_sg",
    "wait_chain",
]

BD_WORDS = regmap.BD_SIZE // 4
DEFAULT_RING_BDS = 64
"""BDs of a channel's ring until a transfer needs more (Linux uses 512)."""
MAX_RING_BDS = 1 << 16
"""The most BDs one ring (and so one transfer) may use."""
GUARD_WORD = 0xAAAA_AAAA
"""The canary the BD before and after a ring hold: the engine must never write them."""
_LEN_FIELD = regmap.BD_STATUS.field("TRANSFERRED")
_SG_ALL_ERRORS = regmap.DMASR_ALL_ERRORS
_W = {name: off // 4 for name, off in regmap.BD.words().items()}
_STATUS_WORD = regmap.BD.STATUS // 4
_BD_ERRORS = (regmap.BD_STATUS.field("DMAIntErr").mask | regmap.BD_STATUS.field("DMASlvErr").mask
              | regmap.BD_STATUS.field("DMADecErr").mask)
BD_ERROR_SETTLE_NS = 10_000
"""How long a wait gives DMASR to show the error a completed BD's STATUS already carries."""


# --- BDs in memory ------------------------------------------------------------------------


class BdRing:
    """``count`` BDs in a target buffer, pre-linked into a ring, with a canary BD either side.

    ``BdRing(target, count)`` allocates it; ``BdRing(target, count, buffer=buf)`` uses a buffer
    of yours (its first byte must be 0x40-aligned and it must hold ``count + 2`` BDs). BD ``i``
    is at :meth:`address`; :attr:`outside` is the canary BD after the ring (never part of it).
    """

    def __init__(self, target: Any, count: int, *, buffer: Buffer | None = None):
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) \
                or not 1 <= count <= MAX_RING_BDS:
            raise DmasimValueError(f"a BD ring of {count!r} BDs: allowed 1..{MAX_RING_BDS}")
        count = int(count)
        need = (count + 2) * regmap.BD_SIZE
        self.owned = buffer is None
        if buffer is None:
            # On the board this is pynq.allocate: CMA memory, page-aligned, not cached.
            buffer = target.allocate(shape=((count + 2) * BD_WORDS,), dtype="u4")
        elif not target.owns(buffer):
            raise BufferStateError("a BD ring needs a buffer from target.allocate() that "
                                   "is not freed")
        addr = int(buffer.physical_address)
        if addr % regmap.BD_ALIGN:
            if self.owned:
                buffer.freebuffer()
            raise DmasimValueError(
                f"BD address 0x{addr:08x} is not aligned to 0x{regmap.BD_ALIGN:x} bytes: "
                f"allowed multiples of 0x{regmap.BD_ALIGN:x} (the engine ignores bits 5:0)")
        if not self.owned and (buffer.nbytes < need or not buffer.flags.c_contiguous):
            raise DmasimValueError(
                f"a ring of {count} BDs needs a contiguous buffer of at least {need} bytes "
                f"({count} BDs + 2 canary BDs of {regmap.BD_SIZE}), got {buffer.nbytes}")
        self.target = target
        self.buffer = buffer
        self.count = count
        raw = np.asarray(buffer).reshape(-1).view(np.uint8)[:need]
        self.rows = raw.view(np.uint32).reshape(count + 2, BD_WORDS)
        self.bds = self.rows[1:count + 1]
        self.phys = int(buffer.physical_address) + regmap.BD_SIZE
        self.outside = self.phys + count * regmap.BD_SIZE
        self.cpu_address = int(self.rows.ctypes.data) + regmap.BD_SIZE
        self.rows[0, :] = GUARD_WORD
        self.rows[count + 1, :] = GUARD_WORD

    @property
    def alive(self) -> bool:
        """False once its buffer was freed (e.g. by a test fixture between tests)."""
        return bool(self.target.owns(self.buffer))

    def address(self, index: int) -> int:
        """Physical address of BD ``index``."""
        return self.phys + (index % self.count) * regmap.BD_SIZE

    def index_of(self, addr: int) -> int | None:
        """The index of the BD at ``addr``, or None when it is not a BD of this ring."""
        rel = addr - self.phys
        if rel < 0 or rel % regmap.BD_SIZE or rel // regmap.BD_SIZE >= self.count:
            return None
        return rel // regmap.BD_SIZE

    def link(self) -> None:
        """Zero every BD and link them into a ring (NXTDESC of the last names the first)."""
        self.bds[:] = 0
        nxt = self.phys + ((np.arange(self.count, dtype=np.uint64) + 1) % self.count) \
            * regmap.BD_SIZE
        self.bds[:, _W["NXTDESC"]] = (nxt & 0xFFFF_FFFF).astype(np.uint32)
        self.bds[:, _W["NXTDESC_MSB"]] = (nxt >> 32).astype(np.uint32)

    def set_bd(self, index: int, addr: int, nbytes: int, control: int = 0) -> None:
        """BD ``index``: buffer ``addr``, CONTROL = ``nbytes`` | ``control`` flags, STATUS 0."""
        row = self.bds[index % self.count]
        row[_W["BUFFER_ADDRESS"]] = addr & 0xFFFF_FFFF
        row[_W["BUFFER_ADDRESS_MSB"]] = (addr >> 32) & 0xFFFF_FFFF
        row[_W["CONTROL"]] = (nbytes & regmap.BD_LENGTH_MASK) | control
        row[_W["STATUS"]] = 0

    def fill(self, first: int, addr: int, nbytes: int, bd_max: int, framing: bool) -> int:
        """Describe ``nbytes`` at ``addr`` in BDs from ``first`` on, each at most ``bd_max``.

        ``framing`` (MM2S) sets TXSOF on the first and TXEOF on the last. Returns the BD count.
        """
        used = -(-nbytes // bd_max)
        for i in range(used):
            size = min(bd_max, nbytes - i * bd_max)
            ctl = 0
            if framing and i == 0:
                ctl |= regmap.BD_TXSOF
            if framing and i == used - 1:
                ctl |= regmap.BD_TXEOF
            self.set_bd(first + i, addr + i * bd_max, size, ctl)
        return used

    def words(self, index: int) -> np.ndarray:
        """A copy of BD ``index``'s 16 words."""
        return self.bds[index % self.count].copy()

    def guards_intact(self) -> bool:
        """True while both canary BDs still hold :data:`GUARD_WORD` in every word."""
        return bool((self.rows[0] == GUARD_WORD).all()
                    and (self.rows[self.count + 1] == GUARD_WORD).all())

    def result(self, first: int, n: int, len_mask: int, eof_mask: int) -> tuple[bool, int, int]:
        """``(complete, bytes, end)`` of the chain of ``n`` BDs from ``first``.

        :func:`chain_result`'s rule, on the STATUS column at once (numpy).
        """
        if n <= 0:
            return n == 0, 0, 0
        first %= self.count
        col = self.bds[:, _W["STATUS"]]
        st = col[first:first + n] if first + n <= self.count else \
            np.concatenate((col[first:], col[:first + n - self.count]))
        pending = np.flatnonzero(~st & regmap.BD_CMPLT)
        stop = int(pending[0]) if pending.size else n
        ends = np.flatnonzero(st[:stop] & eof_mask) if eof_mask else np.empty(0, np.intp)
        end = int(ends[0]) if ends.size else (n - 1 if stop == n else -1)
        if end >= 0:
            return True, int((st[:end + 1] & len_mask).sum(dtype=np.uint64)), end
        return False, int((st[:stop] & len_mask).sum(dtype=np.uint64)), stop

    def release(self) -> None:
        """Free the ring's buffer if the ring allocated it."""
        if self.owned and self.alive:
            self.buffer.freebuffer()


def chain_result(status: Callable[[int], int], n: int, len_mask: int,
                 eof_mask: int) -> tuple[bool, int, int]:
    """Walk a chain's STATUS words: ``(complete, bytes transferred, index of its last BD)``.

    Complete when every BD up to the last shows Cmplt, or (S2MM, ``eof_mask`` = RXEOF) up to
    the BD that holds the packet's end. Bytes are ``STATUS & len_mask`` summed (XAxiDma's
    GetActualLength); the index is the BD that ended the chain, or the first incomplete one.
    """
    total = 0
    for i in range(n):
        st = status(i)
        if not st & regmap.BD_CMPLT:
            return False, total, i
        total += st & len_mask
        if st & eof_mask or i == n - 1:
            return True, total, i
    return n == 0, total, 0


@dataclass(frozen=True)
class BdStatus:
    """One BD as the engine left it (``ch.bds``); ``str()`` decodes it with the register map."""

    index: int
    address: int
    words: tuple[int, ...]

    def _word(self, name: str) -> int:
        return self.words[_W[name]]

    @property
    def buffer_address(self) -> int:
        """Where the BD's data is."""
        return (self._word("BUFFER_ADDRESS_MSB") << 32) | self._word("BUFFER_ADDRESS")

    @property
    def length(self) -> int:
        """CONTROL's length field."""
        return regmap.BD_CONTROL.field("LENGTH").get(self._word("CONTROL"))

    @property
    def status(self) -> int:
        """The STATUS word."""
        return self._word("STATUS")

    @property
    def transferred(self) -> int:
        """STATUS's transferred-bytes field."""
        return _LEN_FIELD.get(self.status)

    @property
    def complete(self) -> bool:
        """STATUS.Cmplt."""
        return bool(self.status & regmap.BD_CMPLT)

    @property
    def flags(self) -> list[str]:
        """Single-bit CONTROL and STATUS fields that are set, by PG021 name."""
        out = [f.name for f in regmap.BD_CONTROL.fields if f.width == 1
               and f.get(self._word("CONTROL"))]
        return out + [f.name for f in regmap.BD_STATUS.fields if f.width == 1
                      and f.get(self.status)]

    @property
    def errors(self) -> list[str]:
        """Error bits of STATUS (DMAIntErr, DMASlvErr, DMADecErr)."""
        return [f for f in self.flags if f.endswith("Err")]

    def __str__(self) -> str:
        return regmap.decode_bd(self.words, at=self.address)


# --- register sequences (the Python level; the C core mirrors them) -------------------------


def check_bd_address(addr: int, what: str = "BD address") -> int:
    """``addr`` if 0x40-aligned and non-negative, else a DmasimValueError naming it."""
    if isinstance(addr, bool) or not isinstance(addr, (int, np.integer)) or addr < 0:
        raise DmasimValueError(f"{what} {addr!r} must be a physical address (an int >= 0)")
    if addr % regmap.BD_ALIGN:
        raise DmasimValueError(
            f"{what} 0x{int(addr):08x} is not aligned to 0x{regmap.BD_ALIGN:x} bytes: allowed "
            f"multiples of 0x{regmap.BD_ALIGN:x} (the engine ignores bits 5:0)")
    return int(addr)


def start_sg(mmio: Window, ch: regmap.Channel, curdesc: int, clock: Clock,
             timeout_ns: int = 1_000_000, dmacr_bits: int = 0, msb: bool = False) -> int | None:
    """CURDESC (+MSB) while halted, RS=1 with ``dmacr_bits`` by read-modify-write, poll Halted=0.

    CURDESC is written first because the engine takes it on the RS 0->1 edge and ignores
    writes while running. Returns DMASR once running (or with an error bit), None on timeout.
    """
    mmio.write(ch.CURDESC, curdesc & 0xFFFF_FFFF)
    if msb:
        mmio.write(ch.CURDESC_MSB, (curdesc >> 32) & 0xFFFF_FFFF)
    cr = mmio.read(ch.DMACR) & ~(regmap.DMACR_RESET | regmap.DMACR_CYCLIC)
    mmio.write(ch.DMACR, cr | regmap.DMACR_RS | dmacr_bits)
    return registers.poll(mmio, ch.DMASR, regmap.DMASR_HALTED, clock, timeout_ns,
                          want_set=False, stop_mask=_SG_ALL_ERRORS)


def kick(mmio: Window, ch: regmap.Channel, tail: int, msb: bool = False,
         barrier: Callable[[], None] | None = None) -> None:
    """``barrier()`` (BD and buffer writes first), then TAILDESC (LSB, then MSB: that kicks)."""
    if barrier is not None:
        barrier()
    mmio.write(ch.TAILDESC, tail & 0xFFFF_FFFF)
    if msb:
        mmio.write(ch.TAILDESC_MSB, (tail >> 32) & 0xFFFF_FFFF)


def wait_chain(mmio: Window, ch: regmap.Channel, clock: Clock, timeout_ns: int,
               done: Callable[[], bool], nbytes: int = 0, started_ns: int | None = None
               ) -> int | None:
    """Poll until ``done()`` (the chain's BDs say so), an error bit or Halted.

    As :func:`registers.wait_idle`: sleeps first for as long as ``nbytes`` take at 500 MB/s,
    then reads with doubling pauses. Returns the last DMASR, None on timeout.
    """
    now = clock.now_ns
    first_wait = min(constants.POLL_NS_PER_BYTE * nbytes, constants.POLL_MAX_FIRST_WAIT_NS)
    ready = (now if started_ns is None else started_ns) + first_wait
    if ready > now:
        nap = min(ready - now, timeout_ns)
        clock.delay(nap)
        timeout_ns -= nap
    stop = regmap.DMASR_HALTED | _SG_ALL_ERRORS  # not Idle: it may still be the last chain's
    deadline = -1
    wall = 0.0
    step = registers.FIRST_BACKOFF_NS
    while True:
        sr = mmio.read(ch.DMASR)
        if sr & stop or done():
            return sr
        now = clock.now_ns
        if deadline < 0:
            deadline = now + timeout_ns
            wall = time.monotonic() + registers.WALL_GUARD_S
        if now >= deadline or time.monotonic() > wall:
            return None
        clock.delay(min(step, deadline - now))
        if step < registers.MAX_BACKOFF_NS:
            step *= 2


# --- errors -------------------------------------------------------------------------------


def sg_error(channel: str, state: DmaState, action: str, read: Callable[[int], int],
             bd_text: Callable[[int], str | None]) -> DmaError | None:
    """The exception for an error bit of either channel in SG mode, or None.

    ``read`` reads a register of the DMA (for CURDESC), ``bd_text(addr)`` decodes the BD at a
    physical address when the driver knows it.
    """
    other = "S2MM" if channel == "MM2S" else "MM2S"
    for src in (channel, other):
        sr = state.dmasr(src)
        if not sr & _SG_ALL_ERRORS:
            continue
        ch = regmap.MM2S if src == "MM2S" else regmap.S2MM
        cur = read(ch.CURDESC) | (read(ch.CURDESC_MSB) << 32)
        bd = bd_text(cur)
        at = f"CURDESC=0x{cur:08x}" + (f" ({bd})" if bd else "")
        halted_by = "" if src == channel else f" (the error is on {src}; it halts both channels)"
        reset = "; reset the DMA (driver.reset()) to clear it"
        if sr & regmap.DMASR_SG_INT_ERR:
            return DmaInternalError(
                f"{action} failed: SGIntErr{halted_by}", channel=channel, state=state,
                cause=f"the engine fetched a BD that already had Cmplt=1 at {at}: a BD reused "
                      "without clearing STATUS, or a restart without rewriting CURDESC" + reset)
        if sr & (regmap.DMASR_SG_DEC_ERR | regmap.DMASR_SG_SLV_ERR):
            dec = bool(sr & regmap.DMASR_SG_DEC_ERR)
            cls = DmaDecodeError if dec else DmaSlaveError
            name = "SGDecErr" if dec else "SGSlvErr"
            return cls(f"{action} failed: {name}{halted_by}", channel=channel, state=state,
                       cause=f"a BD fetch or status write answered {'DECERR' if dec else 'SLVERR'}"
                             f" near {at}: BDs must lie in DDR" + reset)
        if sr & regmap.DMASR_INT_ERR:
            return DmaInternalError(
                f"{action} failed: DMAIntErr{halted_by}", channel=channel, state=state,
                cause=f"a BD's length is 0 after masking to c_sg_length_width, near {at}" + reset)
        dec = bool(sr & regmap.DMASR_DEC_ERR)
        cls = DmaDecodeError if dec else DmaSlaveError
        return cls(f"{action} failed: {'DMADecErr' if dec else 'DMASlvErr'}{halted_by}",
                   channel=channel, state=state,
                   cause=f"a BD's data buffer answered {'DECERR' if dec else 'SLVERR'} (outside "
                         f"DDR?), near {at}" + reset)
    return None


# --- the channel --------------------------------------------------------------------------


class SgChannelMixin(ChannelBase):
    """The SG half of a channel; a level supplies the ``_sg_*`` primitives.

    Primitives: ``_sg_link(ring)``, ``_sg_fill(ring, first, addr, nbytes, framing) -> BDs``,
    ``_sg_start(curdesc, dmacr_bits, timeout_ns) -> DMASR | None``, ``_sg_kick(tail)``,
    ``_sg_wait(ring, first, n, nbytes, timeout_ns) -> DMASR | None`` and
    ``_sg_result(ring, first, n) -> (complete, bytes, end)``.
    """

    sg = True

    def __init__(self, driver: Any, ch: regmap.Channel):
        super().__init__(driver, ch)
        cfg = driver.config
        width = max(cfg[f"{'mm2s' if ch is regmap.MM2S else 's2mm'}_align"], 1)
        self.bd_max = cfg["max_size"] - cfg["max_size"] % width
        """The most bytes one BD carries: the length field's maximum, whole data words."""
        self.max_size = self.bd_max * MAX_RING_BDS
        self.len_mask = cfg["max_size"]
        self._eof_mask = regmap.BD_RXEOF if ch is regmap.S2MM else 0
        self._msb = cfg["addr_width"] > 32
        self._ring: BdRing | None = None
        self._head = 0
        self._chain: tuple[BdRing, int, int] | None = None
        self._cyclic: BdRing | None = None
        self._transferred = 0
        self._stale = 0  # BDs left queued by a short S2MM packet the engine could not drop
        self._programmed_ns = 0
        self._restart = False  # the engine last ran a chain of another ring: rewrite CURDESC
        self._old_loop: BdRing | None = None  # a stopped cyclic loop's ring, freed on the next
        self._mode = "ring"

    # --- level primitives ---

    def _sg_link(self, ring: BdRing) -> None:
        raise NotImplementedError

    def _sg_fill(self, ring: BdRing, first: int, addr: int, nbytes: int, framing: bool) -> int:
        raise NotImplementedError

    def _sg_start(self, curdesc: int, dmacr_bits: int, timeout_ns: int) -> int | None:
        raise NotImplementedError

    def _sg_kick(self, tail: int) -> None:
        raise NotImplementedError

    def _sg_wait(self, ring: BdRing, first: int, n: int, nbytes: int,
                 timeout_ns: int) -> int | None:
        raise NotImplementedError

    def _sg_result(self, ring: BdRing, first: int, n: int) -> tuple[bool, int, int]:
        raise NotImplementedError

    # --- ChannelBase primitives in SG mode ---

    def _ensure_ring(self, need: int = 1) -> BdRing:
        ring = self._ring
        if ring is None or not ring.alive or ring.count < need:
            if ring is not None:
                ring.release()
            count = DEFAULT_RING_BDS
            while count < need:
                count *= 2
            ring = BdRing(self._driver.target, min(count, MAX_RING_BDS))
            self._sg_link(ring)
            self._ring, self._head = ring, 0
        return ring

    def _start(self, timeout_ns: int) -> int | None:
        ring = self._ensure_ring()
        return self._sg_start(ring.address(self._head), self._irq_bits, timeout_ns)

    def _program(self, addr: int, nbytes: int) -> None:
        need = -(-nbytes // self.bd_max)
        ring = self._ring
        if self._mode == "chain":
            self._restart = True  # each transfer from a halted channel with a fresh CURDESC
        if ring is None or not ring.alive or ring.count < need or self._restart:
            # CURDESC can only change while halted: stop (nothing is in flight), new ring, start.
            if self._stop(_ns(1.0)) is None:
                self._raise_state("transfer")
            ring = self._ensure_ring(need)
            sr = self._start(_ns(1.0))
            if sr is None or sr & (_SG_ALL_ERRORS | regmap.DMASR_HALTED):
                self._raise_state("transfer")
            self._restart = False
        first = self._head
        used = self._sg_fill(ring, first, addr, nbytes, self._ch is regmap.MM2S)
        self._chain = (ring, first, used)
        self._head = (first + used) % ring.count
        self._transferred = 0
        self._sg_kick(ring.address(first + used - 1))
        self._programmed_ns = self._driver.target.clock.now_ns

    def _wait(self, timeout_ns: int) -> int | None:
        if self._chain is None:
            return registers.poll(self._driver.mmio, self._ch.DMASR, regmap.DMASR_IDLE,
                                  self._driver.target.clock, timeout_ns,
                                  stop_mask=regmap.DMASR_HALTED | _SG_ALL_ERRORS)
        ring, first, n = self._chain
        return self._sg_wait(ring, first, n, self._pending.nbytes, timeout_ns)

    # --- the public API ---

    MODES = ("ring", "chain")

    @property
    def mode(self) -> str:
        """How transfers reach the engine: ``"ring"`` (default) or ``"chain"``.

        ``"ring"`` extends the running ring by TAILDESC, as Linux does; ``"chain"`` starts each
        transfer as its own chain (stop, CURDESC, RS, TAILDESC), as PYNQ's ``_SGDMAChannel`` and
        XAxiDma's examples do.
        """
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in self.MODES:
            raise DmasimValueError(f"SG mode {value!r}: allowed {', '.join(self.MODES)}")
        self._mode = value

    @property
    def error(self) -> bool:
        """True when an error bit is set on this channel, SGIntErr/SGSlvErr/SGDecErr included."""
        return bool(self._dmasr() & _SG_ALL_ERRORS)

    @property
    def transferred(self) -> int:
        """Bytes the last completed transfer moved: the sum of its BDs' transferred fields."""
        return self._transferred

    @property
    def bds(self) -> list[BdStatus]:
        """The descriptors of the last transfer (cyclic: of the loop) as the engine left them."""
        if self._cyclic is not None:
            ring, first, n = self._cyclic, 0, self._cyclic.count
        elif self._chain is not None:
            ring, first, n = self._chain
        else:
            return []
        if not ring.alive:
            return []
        return [BdStatus((first + i) % ring.count, ring.address(first + i),
                         tuple(int(w) for w in ring.words(first + i))) for i in range(n)]

    @property
    def ring(self) -> BdRing | None:
        """The channel's BD ring (None before the first start)."""
        return self._ring

    def transfer(self, buffer: Buffer, start: int = 0, nbytes: int = 0, *,
                 cyclic: bool = False) -> None:
        """Move ``nbytes`` (0: to the end) of ``buffer`` from byte ``start``.

        ``cyclic=True`` loops over the buffer until :meth:`stop` (DMACR.Cyclic; MM2S sends one
        packet per lap); wait() does not apply to it.
        """
        if self._cyclic is not None:
            raise DmaBusyError("transfer: a cyclic transfer is running on this channel",
                               channel=self.name, state=self._driver.state(),
                               cause="stop() it first (a soft reset of the engine)")
        if self._stale:
            raise DmaBusyError(
                "transfer: the previous receive chain still has BDs queued", channel=self.name,
                state=self._driver.state(),
                cause=f"a short packet ended it {self._stale} BDs before its tail while MM2S "
                      "was busy; the engine only drops them on a reset: call driver.reset()")
        if not cyclic:
            super().transfer(buffer, start, nbytes)
            return
        if not self._driver._started:
            self._driver.ensure_started()
        addr, nbytes = self.check_transfer(buffer, start, nbytes)
        sr = self._dmasr()
        if sr & (_SG_ALL_ERRORS | regmap.DMASR_HALTED):
            self._raise_state("transfer")
        if not sr & regmap.DMASR_IDLE and not self._first_transfer:
            raise self._busy_error(self._driver.state())
        if getattr(buffer, "cacheable", False):
            self._clean_for_dma(buffer)
        if self._stop(_ns(1.0)) is None:  # CURDESC and Cyclic are set while halted
            self._raise_state("transfer")
        if self._old_loop is not None:  # the previous loop's BDs, kept for bds until now
            self._old_loop.release()
            self._old_loop = None
        ring = BdRing(self._driver.target, -(-nbytes // self.bd_max))
        self._sg_link(ring)  # the ring closes the loop; its canary BD after it is the tail
        self._sg_fill(ring, 0, addr, nbytes, self._ch is regmap.MM2S)
        got = self._sg_start(ring.address(0), self._irq_bits | regmap.DMACR_CYCLIC, _ns(1.0))
        if got is None or got & (_SG_ALL_ERRORS | regmap.DMASR_HALTED):
            ring.release()
            self._raise_state("transfer")
        self._sg_kick(ring.outside)
        self._cyclic = ring
        self._buffer = buffer
        self._pending.addr, self._pending.nbytes, self._pending.active = addr, nbytes, True
        self._first_transfer = False

    def stop(self, timeout: float = 1.0) -> None:
        """Clear RS and wait for Halted; a cyclic transfer stops by a soft reset, as drivers do.

        The soft reset resets the whole engine: a transfer on the other channel is dropped
        (its channel restarts on next use).
        """
        if self._cyclic is None:
            super().stop(timeout)
            return
        ring, self._cyclic = self._cyclic, None
        cr = self._driver.mmio.read(self._ch.DMACR)
        self._driver.mmio.write(self._ch.DMACR, cr & ~(regmap.DMACR_RS | regmap.DMACR_RESET))
        self._driver.reset(timeout)
        self._chain = (ring, 0, ring.count)  # bds shows the last lap until the next transfer
        self._old_loop = ring

    def _submit(self, buffer: Buffer, start: int, addr: int, nbytes: int) -> None:
        sr = self._dmasr()
        if sr & (_SG_ALL_ERRORS | regmap.DMASR_HALTED):
            self._raise_state("transfer")
        if not self._first_transfer and self._chain is not None:
            ring, first, n = self._chain
            if not sr & regmap.DMASR_IDLE and not self._sg_result(ring, first, n)[0]:
                raise self._busy_error(self._driver.state())
        if getattr(buffer, "cacheable", False):
            self._clean_for_dma(buffer)
        self._program(addr, nbytes)
        self._buffer = buffer

    def _before_wait(self) -> None:
        super()._before_wait()
        if self._cyclic is not None:
            raise DmasimValueError(
                f"{self.name}: a cyclic transfer never completes, so wait() cannot return: "
                "read ch.bds for its progress and stop() it")

    def _finish(self, sr: int | None, timeout: float) -> None:
        if sr is None:
            raise self._timeout(timeout)
        if self._chain is None:
            if sr & (_SG_ALL_ERRORS | regmap.DMASR_HALTED) or not sr & regmap.DMASR_IDLE:
                self._raise_state("wait", timeout)
            return
        ring, first, n = self._chain
        complete, moved, end = self._sg_result(ring, first, n)
        if not sr & _SG_ALL_ERRORS and any(
                int(ring.words(first + i)[_STATUS_WORD]) & _BD_ERRORS for i in range(end + 1)):
            # A BD's STATUS carries its error before DMASR does (the engine sets DMASR's
            # error bits on that status write's response): give DMASR those clocks.
            later = registers.poll(self._driver.mmio, self._ch.DMASR, _SG_ALL_ERRORS,
                                   self._driver.target.clock, BD_ERROR_SETTLE_NS)
            sr = later if later is not None else sr | _SG_ALL_ERRORS
        if sr & _SG_ALL_ERRORS or not complete:
            self._raise_state("wait", timeout)
        self._transferred = moved
        self._pending.active = False
        if end < n - 1:
            self._drop_rest(n - 1 - end)
        buf = self._buffer
        if (self._ch is regmap.S2MM and buf is not None and getattr(buf, "cacheable", False)
                and self._driver.target.owns(buf)):
            buf.invalidate()

    def _timeout(self, timeout: float) -> DmaTimeoutError:
        """The timeout with the target's account, else one in SG terms (the first pending BD)."""
        d = self._driver
        state = d.state()
        cause = None
        with suppress(Exception):  # a diagnosis must never hide the timeout itself
            cause = self._coalesced() or d.target.stall_cause(d.ip_name, self.name)
        if cause is None:
            other = d.recvchannel if self._ch is regmap.MM2S else d.sendchannel
            where = ""
            if self._chain is not None and self._chain[0].alive:
                ring, first, n = self._chain
                end = self._sg_result(ring, first, n)[2]
                words = [int(w) for w in ring.words(first + end)]
                where = (f"; BD {end + 1} of {n} has not completed: "
                         f"{regmap.decode_bd(words, at=ring.address(first + end))}")
            if self._ch is regmap.MM2S and not other._pending.active:
                cause = (f"S2MM has no BDs queued, so the stream back-pressures MM2S once about "
                         f"{d.config['readahead']} bytes are read ahead: start the receive "
                         f"(recvchannel.transfer) before waiting on the send{where}")
            elif self._ch is regmap.S2MM and not other._pending.active:
                cause = ("S2MM waits for a stream packet and no send was started "
                         f"(sendchannel.transfer){where}")
            else:
                cause = (f"the chain ({self._pending.nbytes} bytes) did not complete in {timeout} "
                         f"s: the timeout may be too short for this length, or the stream is "
                         f"stalled{where}")
        return timeout_error(self.name, state, d.pending, timeout, cause)

    def _coalesced(self) -> str | None:
        """Why an interrupt wait slept past a chain that completed: the coalescing, named."""
        if self._chain is None or not self._chain[0].alive:
            return None
        ring, first, n = self._chain
        if not self._sg_result(ring, first, n)[0]:
            return None
        mmio = self._driver.mmio
        cr, sr = mmio.read(self._ch.DMACR), mmio.read(self._ch.DMASR)
        left = regmap.DMASR.field("IRQThresholdSts").get(sr)
        delay = regmap.DMACR.field("IRQDelay").get(cr)
        if not cr & regmap.DMACR_DLY_IRQEN or not delay:
            timer = "no delay interrupt (Dly_IrqEn=0 or IRQDelay=0)"
        else:
            timer = (f"the delay timer (IRQDelay={delay}) did not fire: the next packet's first "
                     "beat stops it")
        return (f"the chain completed (its BDs show Cmplt) but {self._port} stayed low: "
                f"interrupt coalescing held it back (IRQThresholdSts={left}: IOC_Irq comes "
                f"{left} packet(s) later; {timer}); set IRQThreshold to the packets waited for, "
                "or IRQDelay with Dly_IrqEn, or wait() by polling")

    def _drop_rest(self, left: int) -> None:
        """A short S2MM packet ended the chain ``left`` BDs early: the engine still holds them.

        Only a reset drops them (RS=0 does not halt a channel waiting for stream data). It
        resets MM2S too, so it is done only when MM2S has nothing in flight.
        """
        other = self._driver.sendchannel
        mm2s_busy = other._pending.active and not other._dmasr() & regmap.DMASR_IDLE
        if mm2s_busy or getattr(other, "_cyclic", None) is not None:
            self._stale = left
            return
        chain, moved = self._chain, self._transferred
        self._driver.reset()
        self._chain, self._transferred = chain, moved

    def _forget(self) -> None:
        """After a reset: no cyclic loop, no queued BDs; the ring is kept."""
        if self._cyclic is not None:
            self._chain = (self._cyclic, 0, self._cyclic.count)
            self._old_loop = self._cyclic
        self._cyclic = None
        self._stale = 0
        self._irq_bits = 0
        self._restart = False

    def _bd_text(self, addr: int) -> str | None:
        for ring in (self._ring, self._cyclic, self._chain[0] if self._chain else None):
            if ring is not None and ring.alive:
                i = ring.index_of(addr)
                if i is not None:
                    return regmap.decode_bd([int(w) for w in ring.words(i)], at=addr)
        return None

    def _raise_state(self, action: str, timeout: float = 1.0) -> None:
        d = self._driver
        state = d.state()
        err = sg_error(self.name, state, action, d.mmio.read, self._any_bd_text)
        if err is None:
            err = error_for(self.name, state, d.pending, action)
        if err is None:
            err = d.timeout_error(self.name, state, timeout)
        raise err

    def _any_bd_text(self, addr: int) -> str | None:
        for chan in (self._driver.sendchannel, self._driver.recvchannel):
            text = chan._bd_text(addr) if isinstance(chan, SgChannelMixin) else None
            if text:
                return text
        return None

    # --- chains you build yourself (XAxiDma-style) ---

    def submit(self, ring: BdRing, first: int, last: int, timeout: float = 1.0) -> None:
        """Run BDs ``first`` .. ``last`` of a ring you filled (:meth:`BdRing.set_bd`).

        Checked first: the chain from ``first`` must reach ``last`` through NXTDESC words that
        name 0x40-aligned BDs of ``ring``, and no BD may have length 0 or Cmplt=1. The channel
        is stopped, CURDESC set to ``first``, restarted, and TAILDESC set to ``last``.
        """
        n = self._check_chain(ring, first, last)
        if not self._driver._started:
            self._driver.ensure_started()
        sr = self._dmasr()
        if sr & _SG_ALL_ERRORS:
            self._raise_state("submit")
        if self._stop(_ns(timeout)) is None:
            self._raise_state("submit", timeout)
        got = self._sg_start(ring.address(first), self._irq_bits, _ns(timeout))
        if got is None or got & (_SG_ALL_ERRORS | regmap.DMASR_HALTED):
            self._raise_state("submit", timeout)
        self._chain = (ring, first, n)
        self._transferred = 0
        self._pending.nbytes = sum(int(ring.words(first + i)[_W["CONTROL"]])
                                   & self.len_mask for i in range(n))
        self._pending.active = True
        self._sg_kick(ring.address(last))
        self._programmed_ns = self._driver.target.clock.now_ns
        if self._ring is ring:
            self._head = (last + 1) % ring.count
        else:
            self._restart = True
        self._first_transfer = False

    def _check_chain(self, ring: BdRing, first: int, last: int) -> int:
        if not isinstance(ring, BdRing) or not ring.alive:
            raise DmasimValueError("submit needs a live BdRing (its buffer freed?)")
        for name, i in (("first", first), ("last", last)):
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) \
                    or not 0 <= i < ring.count:
                raise DmasimValueError(f"{name}={i!r} is not a BD of the ring: allowed "
                                       f"0..{ring.count - 1}")
        i, seen = int(first), 0
        while True:
            words = ring.words(i)
            length = int(words[_W["CONTROL"]]) & self.len_mask
            if length == 0:
                raise DmasimValueError(
                    f"BD {i} at 0x{ring.address(i):08x} has length 0 (CONTROL="
                    f"0x{int(words[_W['CONTROL']]):08x}, masked to c_sg_length_width="
                    f"{self._driver.config['length_width']}): allowed 1..{self.len_mask}")
            if int(words[_W["STATUS"]]) & regmap.BD_CMPLT:
                raise DmasimValueError(
                    f"BD {i} at 0x{ring.address(i):08x} already has Cmplt=1 (STATUS="
                    f"0x{int(words[_W['STATUS']]):08x}): clear STATUS before handing it to the "
                    "engine (it would stop with SGIntErr)")
            seen += 1
            if i == last:
                return seen
            nxt = (int(words[_W["NXTDESC_MSB"]]) << 32) | int(words[_W["NXTDESC"]])
            check_bd_address(nxt, f"NXTDESC of BD {i}")
            j = ring.index_of(nxt)
            if j is None:
                raise DmasimValueError(
                    f"NXTDESC of BD {i} is 0x{nxt:08x}, outside the ring: allowed "
                    f"0x{ring.phys:08x}..0x{ring.address(ring.count - 1):08x}")
            if seen >= ring.count:
                raise DmasimValueError(
                    f"the tail BD {last} (0x{ring.address(last):08x}) is not reachable from BD "
                    f"{first} (0x{ring.address(first):08x}) through NXTDESC: the chain loops "
                    f"after {seen} BDs; allowed tails: BDs on the chain from {first}")
            i = j


class PythonSgChannel(SgChannelMixin, PythonChannel):
    """The ``python`` level in SG mode: BDs written with numpy, registers through ``t.mmio``."""

    def _sg_link(self, ring: BdRing) -> None:
        ring.link()

    def _sg_fill(self, ring: BdRing, first: int, addr: int, nbytes: int, framing: bool) -> int:
        return ring.fill(first, addr, nbytes, self.bd_max, framing)

    def _sg_start(self, curdesc: int, dmacr_bits: int, timeout_ns: int) -> int | None:
        d = self._driver
        return start_sg(d.mmio, self._ch, curdesc, d.target.clock, timeout_ns, dmacr_bits,
                        self._msb)

    def _sg_kick(self, tail: int) -> None:
        kick(self._driver.mmio, self._ch, tail, self._msb, self._barrier)

    def _sg_wait(self, ring: BdRing, first: int, n: int, nbytes: int,
                 timeout_ns: int) -> int | None:
        d = self._driver
        len_mask, eof = self.len_mask, self._eof_mask
        return wait_chain(d.mmio, self._ch, d.target.clock, timeout_ns,
                          lambda: ring.result(first, n, len_mask, eof)[0],
                          nbytes if timeout_ns else 0, self._programmed_ns)

    def _sg_result(self, ring: BdRing, first: int, n: int) -> tuple[bool, int, int]:
        return ring.result(first, n, self.len_mask, self._eof_mask)
