"""cffi (API mode) build script of the C driver core: ``dmasim.drivers.native._dmasim_cffi``.

``setup.py`` names it in ``cffi_modules``; run it directly to build in place for a quick try.
The function prototypes are read from ``dmasim_dma.h``; the types below are declared for cffi
(partial, ``...``: the compiler checks them against the header when the module is built).
"""

from __future__ import annotations

import os
import re

from cffi import FFI

NATIVE_DIR = os.path.join("dmasim", "drivers", "native")
CFLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra"]

TYPES = """
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

extern "Python" int _dmasim_read32(void *ctx, uint64_t addr, uint32_t *value);
extern "Python" int _dmasim_write32(void *ctx, uint64_t addr, uint32_t value);
extern "Python" int _dmasim_delay_ns(void *ctx, uint64_t ns);
extern "Python" int _dmasim_now_ns(void *ctx, uint64_t *now);
"""



def header_prototypes(path: str = os.path.join(NATIVE_DIR, "dmasim_dma.h")) -> str:
    """Every ``dmasim_*`` function prototype of the C core's header, comments removed.

    The header is the one list of the API; its structs stay above, partial, for API mode.
    """
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    return "\n".join(re.findall(r"^[A-Za-z_][\w *]*?\bdmasim_\w+\([^;{]*\);", text, flags=re.M))


CDEF = TYPES + header_prototypes() + "\n"

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
