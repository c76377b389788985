"""cffi (API mode) build script of the C driver core: ``dmasim.drivers.native._dmasim_cffi``.

``setup.py`` names it in ``cffi_modules``; run it directly to build in place for a quick try.
The declarations below are checked against ``dmasim_dma.h`` by the compiler when the module
is built (API mode), and the enum values are taken from the header (``...``).
"""

from __future__ import annotations

import os

from cffi import FFI

NATIVE_DIR = os.path.join("dmasim", "drivers", "native")
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra"]

CDEF = """
typedef enum dmasim_status {
    DMASIM_OK, DMASIM_TIMEOUT, DMASIM_DMA_ERROR, DMASIM_HALTED, DMASIM_EBOUNDS, DMASIM_EINVAL,
    DMASIM_EOS, DMASIM_ECALLBACK, DMASIM_ECLOSED, ...
} dmasim_status;

typedef struct dmasim_ops {
    int (*read32)(void *ctx, uint64_t addr, uint32_t *value);
    int (*write32)(void *ctx, uint64_t addr, uint32_t value);
    int (*delay_ns)(void *ctx, uint64_t ns);
    int (*now_ns)(void *ctx, uint64_t *now);
    void *ctx;
} dmasim_ops;

typedef struct dmasim_timing {
    uint64_t first_backoff_ns;
    uint64_t max_backoff_ns;
    uint64_t wall_guard_ns;
} dmasim_timing;

typedef struct dmasim_dev {
    void *map_addr;
    size_t map_len;
    size_t map_delta;
    int fd;
    int os_errno;
    int closed;
    uint64_t phys_base;
    uint32_t length;
    dmasim_timing timing;
    ...;
} dmasim_dev;

int dmasim_init_callbacks(dmasim_dev *dev, const dmasim_ops *ops, uint64_t phys_base,
                          uint32_t length);
int dmasim_open_mmap(dmasim_dev *dev, const char *path, uint64_t phys_base, uint32_t length);
void dmasim_close(dmasim_dev *dev);
int dmasim_is_direct(const dmasim_dev *dev);
int dmasim_read(dmasim_dev *dev, uint32_t offset, uint32_t *value);
int dmasim_write(dmasim_dev *dev, uint32_t offset, uint32_t value);
int64_t dmasim_read_value(dmasim_dev *dev, uint32_t offset);
int dmasim_write_seq(dmasim_dev *dev, const uint32_t *offsets, const uint32_t *values,
                     uint32_t count);
int dmasim_read_loop(dmasim_dev *dev, uint32_t offset, uint64_t count, uint32_t *value);
int dmasim_now(dmasim_dev *dev, uint64_t *now_ns);
int dmasim_delay(dmasim_dev *dev, uint64_t ns);
int dmasim_poll(dmasim_dev *dev, uint32_t offset, uint32_t done_mask, int want_set,
                uint32_t stop_mask, uint64_t timeout_ns, uint32_t *value);
int dmasim_reset(dmasim_dev *dev, uint64_t timeout_ns);
int dmasim_dmasr(dmasim_dev *dev, uint32_t channel, uint32_t *dmasr);
int dmasim_start(dmasim_dev *dev, uint32_t channel, uint64_t timeout_ns, uint32_t irq_enables,
                 uint32_t *dmasr);
int dmasim_stop(dmasim_dev *dev, uint32_t channel, uint64_t timeout_ns, uint32_t *dmasr);
int dmasim_program(dmasim_dev *dev, uint32_t channel, uint64_t addr, uint32_t nbytes,
                   int write_msb);
int dmasim_wait_idle(dmasim_dev *dev, uint32_t channel, uint64_t timeout_ns, uint32_t nbytes,
                     uint32_t *dmasr);
const char *dmasim_strstatus(int status);
int dmasim_sg_link(uint32_t *bds, uint64_t phys, uint32_t count);
int dmasim_sg_fill(uint32_t *bds, uint32_t count, uint32_t first, uint64_t addr, uint64_t nbytes,
                   uint32_t bd_max, int framing, uint32_t *used);
int dmasim_sg_result(const uint32_t *bds, uint32_t count, uint32_t first, uint32_t n,
                     uint32_t len_mask, uint32_t eof_mask, uint64_t *transferred, uint32_t *end);
int dmasim_sg_start(dmasim_dev *dev, uint32_t channel, uint64_t curdesc, uint32_t dmacr_bits,
                    int write_msb, uint64_t timeout_ns, uint32_t *dmasr);
int dmasim_sg_kick(dmasim_dev *dev, uint32_t channel, uint64_t taildesc, int write_msb);
int dmasim_sg_wait(dmasim_dev *dev, uint32_t channel, const uint32_t *bds, uint32_t count,
                   uint32_t first, uint32_t n, uint32_t len_mask, uint32_t eof_mask,
                   uint64_t nbytes, uint64_t timeout_ns, uint32_t *dmasr);
void dmasim_barrier(dmasim_dev *dev);
int dmasim_open_outer_sync(dmasim_dev *dev, const char *path, uint64_t sync_addr);
int dmasim_has_outer_sync(const dmasim_dev *dev);
int dmasim_barrier_is_dsb(void);

extern "Python" int _dmasim_read32(void *ctx, uint64_t addr, uint32_t *value);
extern "Python" int _dmasim_write32(void *ctx, uint64_t addr, uint32_t value);
extern "Python" int _dmasim_delay_ns(void *ctx, uint64_t ns);
extern "Python" int _dmasim_now_ns(void *ctx, uint64_t *now);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "dmasim.drivers.native._dmasim_cffi",
    '#include "dmasim_dma.h"',
    sources=[os.path.join(NATIVE_DIR, "dmasim_dma.c")],
    include_dirs=[NATIVE_DIR],
    depends=[os.path.join(NATIVE_DIR, n) for n in (
        "dmasim_dma.h", "dmasim_regmap.h", "dmasim_constants.h")],
    extra_compile_args=CFLAGS,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
