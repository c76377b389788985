/*
 * dmasim_dma.h - the one C driver core for the Xilinx AXI DMA (PG021), simple and SG mode.
 *
 * The same compiled code drives every dmasim target. Registers are reached through a small
 * ops table: either a direct pointer into an mmap of /dev/mem (the board; a regular file can
 * stand in for /dev/mem in tests and benchmarks) or callbacks supplied by a binding (the model
 * and the RTL: read32/write32 on the target bus at physical addresses, delay and now on the
 * target clock). The core holds no Python: the pybind11 and cffi bindings are thin layers
 * over these functions.
 *
 * Every function returns a dmasim_status. Polls return DMASIM_TIMEOUT when the deadline (in
 * the target's time) passed first, and hand back the last DMASR read so the caller can decode
 * it. Offsets are relative to the DMA's register window, channels are named by their window
 * base (DMASIM_MM2S_DMACR or DMASIM_S2MM_BASE from dmasim_regmap.h).
 */
#ifndef DMASIM_DMA_H
#define DMASIM_DMA_H

#include <stddef.h>
#include <stdint.h>

#include "dmasim_regmap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dmasim_status {
    DMASIM_OK = 0,          /* done; for waits: the condition was met */
    DMASIM_TIMEOUT = 1,     /* a poll ran out of (target) time; *dmasr holds the last read */
    DMASIM_DMA_ERROR = 2,   /* a poll stopped on a DMASR error bit (DMAIntErr/SlvErr/DecErr) */
    DMASIM_HALTED = 3,      /* a wait stopped because the channel halted */
    DMASIM_EBOUNDS = -1,    /* offset unaligned or outside the register window */
    DMASIM_EINVAL = -2,     /* bad argument (NULL handle, zero length, unaligned base...) */
    DMASIM_EOS = -3,        /* open/mmap/fstat failed: see dmasim_dev.os_errno */
    DMASIM_ECALLBACK = -4,  /* a binding callback reported an error (e.g. a Python exception) */
    DMASIM_ECLOSED = -5     /* the device was closed */
} dmasim_status;

/* Callbacks a binding supplies for simulated targets. Each returns 0 on success and non-zero
 * when it failed (the binding keeps the reason); the core then stops and returns
 * DMASIM_ECALLBACK. Addresses are physical (window base + offset). */
typedef struct dmasim_ops {
    int (*read32)(void *ctx, uint64_t addr, uint32_t *value);
    int (*write32)(void *ctx, uint64_t addr, uint32_t value);
    int (*delay_ns)(void *ctx, uint64_t ns);
    int (*now_ns)(void *ctx, uint64_t *now);
    void *ctx;
} dmasim_ops;

/* Poll tuning; defaults mirror dmasim/drivers/registers.py and bindings set them from it. */
typedef struct dmasim_timing {
    uint64_t first_backoff_ns;
    uint64_t max_backoff_ns;
    uint64_t wall_guard_ns;    /* a poll gives up after this much wall time, whatever the clock */
} dmasim_timing;

typedef struct dmasim_dev {
    volatile uint32_t *regs;   /* direct access: the register window, or NULL for callbacks */
    void *map_addr;            /* page-aligned start of the mmap (direct access only) */
    size_t map_len;            /* its length in bytes, a multiple of the page size */
    size_t map_delta;          /* window start - map start */
    int fd;                    /* the mapped file, -1 for callbacks or when closed */
    int os_errno;              /* errno of the last DMASIM_EOS */
    int closed;
    uint64_t phys_base;        /* physical address of the register window */
    uint32_t length;           /* window length in bytes */
    dmasim_ops ops;            /* callbacks (ops.read32 == NULL for direct access) */
    dmasim_timing timing;
    uint64_t programmed_ns[2]; /* when each channel's last transfer was programmed */
    volatile uint32_t *outer_sync; /* the PL310's CACHE_SYNC register, or NULL (see barrier) */
    void *outer_map;           /* its page mapping */
} dmasim_dev;

/* Set up `dev` for callbacks. `ops` must provide all four functions. */
int dmasim_init_callbacks(dmasim_dev *dev, const dmasim_ops *ops, uint64_t phys_base,
                          uint32_t length);

/* Set up `dev` for direct access: open `path` O_RDWR|O_SYNC and map the page-aligned range
 * covering [phys_base, phys_base + length). A regular file must be long enough to hold it. */
int dmasim_open_mmap(dmasim_dev *dev, const char *path, uint64_t phys_base, uint32_t length);

/* Unmap and close; idempotent. Later calls return DMASIM_ECLOSED. */
void dmasim_close(dmasim_dev *dev);

/* 1 when `dev` uses a direct mapping (polling then needs no binding callbacks). */
int dmasim_is_direct(const dmasim_dev *dev);

/* One register access at window `offset`. */
int dmasim_read(dmasim_dev *dev, uint32_t offset, uint32_t *value);
int dmasim_write(dmasim_dev *dev, uint32_t offset, uint32_t value);

/* dmasim_read for callers where an out-pointer costs more than the access (cffi): the value
 * (0..0xFFFFFFFF), or a negative dmasim_status. */
int64_t dmasim_read_value(dmasim_dev *dev, uint32_t offset);

/* `count` reads of `offset` in a tight loop (benchmarks); *value is the last value read. */
int dmasim_read_loop(dmasim_dev *dev, uint32_t offset, uint64_t count, uint32_t *value);

/* `count` register writes back to back, as fast as the bus takes them (dmasim probe's timing
 * experiments): offsets[i] <- values[i]. Offsets are checked first; nothing is written if one
 * is bad. */
int dmasim_write_seq(dmasim_dev *dev, const uint32_t *offsets, const uint32_t *values,
                     uint32_t count);

/* Time as the target sees it (callbacks) or CLOCK_MONOTONIC (direct access). */
int dmasim_now(dmasim_dev *dev, uint64_t *now_ns);
int dmasim_delay(dmasim_dev *dev, uint64_t ns);

/* Read `offset` until all `done_mask` bits are set (want_set) or clear (!want_set), or any
 * `stop_mask` bit is set; back off first_backoff_ns doubling to max_backoff_ns between reads.
 * The clock is consulted only after a first read that did not finish the poll, and the
 * deadline counts from then.
 * DMASIM_OK with *value = the last read, or DMASIM_TIMEOUT after timeout_ns of target time. */
int dmasim_poll(dmasim_dev *dev, uint32_t offset, uint32_t done_mask, int want_set,
                uint32_t stop_mask, uint64_t timeout_ns, uint32_t *value);

/* Soft-reset the whole engine: Reset on both channels, then poll until it reads 0 in both.
 * DMASIM_OK, or DMASIM_TIMEOUT if either channel still shows Reset. */
int dmasim_reset(dmasim_dev *dev, uint64_t timeout_ns);

/* The channel's DMASR. `channel` is its window base (0 for MM2S, DMASIM_S2MM_BASE). */
int dmasim_dmasr(dmasim_dev *dev, uint32_t channel, uint32_t *dmasr);

/* RS=1 by read-modify-write (plus irq_enables), then wait for Halted=0. DMASIM_OK when
 * running, DMASIM_DMA_ERROR if an error bit shows, DMASIM_TIMEOUT; *dmasr = last DMASR. */
int dmasim_start(dmasim_dev *dev, uint32_t channel, uint64_t timeout_ns, uint32_t irq_enables,
                 uint32_t *dmasr);

/* RS=0 and wait for Halted=1 (an S2MM transfer waiting for data never halts). */
int dmasim_stop(dmasim_dev *dev, uint32_t channel, uint64_t timeout_ns, uint32_t *dmasr);

/* Address (low word, then the MSB word if write_msb: XAxiDma writes it only on designs with
 * addresses wider than 32 bits, PYNQ always), then LENGTH, which starts the transfer. */
int dmasim_program(dmasim_dev *dev, uint32_t channel, uint64_t addr, uint32_t nbytes,
                   int write_msb);

/* Poll DMASR until Idle, an error bit or Halted. DMASIM_OK (Idle), DMASIM_DMA_ERROR,
 * DMASIM_HALTED or DMASIM_TIMEOUT; *dmasr = the last DMASR read. `nbytes` is the length of
 * the transfer waited for: until it could be done at 500 MB/s (a little faster than this
 * design) after dmasim_program wrote LENGTH, the wait sleeps instead of reading; then pauses
 * start at the timing's first back-off and double. */
int dmasim_wait_idle(dmasim_dev *dev, uint32_t channel, uint64_t timeout_ns, uint32_t nbytes,
                     uint32_t *dmasr);

/* Order the CPU's earlier writes to DMA buffers before the next register write. On ARM (the
 * PYNQ-Z2's Cortex-A9) a write to the register that starts the DMA can reach the device
 * before buffer data still sitting in the CPU's store buffer or the PL310 outer cache's store
 * buffer reaches DDR: issue DSB, then (when dmasim_open_outer_sync mapped it) a PL310
 * CACHE_SYNC and its completion poll, then DSB again. Elsewhere it is a compiler barrier only:
 * x86 keeps stores in order, and simulated targets have no store buffers. dmasim_program calls
 * it before the LENGTH write; dev may be NULL (no outer sync). */
void dmasim_barrier(dmasim_dev *dev);

/* Map the PL310 CACHE_SYNC register at physical `sync_addr` (Zynq-7000: 0xF8F02730) through
 * `path` (/dev/mem) so dmasim_barrier drains the outer cache's store buffer too. */
int dmasim_open_outer_sync(dmasim_dev *dev, const char *path, uint64_t sync_addr);

/* 1 when the barrier includes the PL310 sync; 1 in dmasim_barrier_is_dsb on ARM builds. */
int dmasim_has_outer_sync(const dmasim_dev *dev);
int dmasim_barrier_is_dsb(void);

#ifdef DMASIM_TEST_HOOKS
/* Test builds only: called by dmasim_barrier, so a host test can see where it comes. */
extern void (*dmasim_barrier_hook)(void *ctx);
extern void *dmasim_barrier_hook_ctx;
#endif

/* --- scatter-gather mode (c_include_sg=1) ---------------------------------------------------
 *
 * BDs live in target memory the CPU reaches through `bds`, a pointer to BD 0 of a ring of
 * `count` BDs at physical address `phys` (a non-cacheable mapping: pynq.allocate's default,
 * the simulated targets' DDR). Offsets and fields come from dmasim_regmap.h (DMASIM_BD_*). */

/* Zero `count` BDs and link them into a ring: NXTDESC(+MSB) of BD i names BD i+1, the last
 * names BD 0 (Linux' pre-linked ring). */
int dmasim_sg_link(uint32_t *bds, uint64_t phys, uint32_t count);

/* Describe `nbytes` at `addr` in BDs from index `first` on (modulo `count`), at most `bd_max`
 * bytes each: BUFFER_ADDRESS(+MSB), CONTROL = length (+TXSOF on the first and TXEOF on the last
 * when `framing`), STATUS = 0. *used = the number of BDs. */
int dmasim_sg_fill(uint32_t *bds, uint32_t count, uint32_t first, uint64_t addr, uint64_t nbytes,
                   uint32_t bd_max, int framing, uint32_t *used);

/* Walk the STATUS words of the chain of `n` BDs from `first`: 1 when complete (every BD up to
 * the last has Cmplt, or up to one with an `eof_mask` bit: RXEOF for S2MM), else 0.
 * *transferred = sum of STATUS & len_mask; *end = the BD that ended it or the first pending. */
int dmasim_sg_result(const uint32_t *bds, uint32_t count, uint32_t first, uint32_t n,
                     uint32_t len_mask, uint32_t eof_mask, uint64_t *transferred, uint32_t *end);

/* CURDESC (+MSB if write_msb) while halted, then RS=1 | dmacr_bits by read-modify-write (Reset
 * and Cyclic cleared first), then wait for Halted=0. Status as dmasim_start (SG errors too). */
int dmasim_sg_start(dmasim_dev *dev, uint32_t channel, uint64_t curdesc, uint32_t dmacr_bits,
                    int write_msb, uint64_t timeout_ns, uint32_t *dmasr);

/* The barrier (BD and buffer writes first), then TAILDESC (LSB, then MSB if write_msb: the
 * last write kicks the fetcher). */
int dmasim_sg_kick(dmasim_dev *dev, uint32_t channel, uint64_t taildesc, int write_msb);

/* Wait until the chain is complete (dmasim_sg_result), an error bit (DMA or SG) shows, or the
 * channel halts; Idle alone does not end it (it may be the previous chain's). Sleeps first as
 * dmasim_wait_idle does for `nbytes`. DMASIM_OK (complete), DMASIM_DMA_ERROR, DMASIM_HALTED or
 * DMASIM_TIMEOUT; *dmasr = the last DMASR read. */
int dmasim_sg_wait(dmasim_dev *dev, uint32_t channel, const uint32_t *bds, uint32_t count,
                   uint32_t first, uint32_t n, uint32_t len_mask, uint32_t eof_mask,
                   uint64_t nbytes, uint64_t timeout_ns, uint32_t *dmasr);

/* A short name for a status code. */
const char *dmasim_strstatus(int status);

#ifdef __cplusplus
}
#endif

#endif /* DMASIM_DMA_H */
