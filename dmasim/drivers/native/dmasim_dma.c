/*
 * dmasim_dma.c - the one C driver core (see dmasim_dma.h).
 *
 * The register sequences and the poll loop mirror dmasim/drivers/registers.py (and, in SG
 * mode, dmasim/drivers/sg.py) access for access, so on a simulated target the native levels
 * produce the same bus trace as the Python level. All offsets, bits and BD words come from the
 * generated dmasim_regmap.h.
 */
#define _FILE_OFFSET_BITS 64 /* physical addresses above 2 GiB on 32-bit ARM (PYNQ-Z2) */
#define _POSIX_C_SOURCE 200809L

#include "dmasim_dma.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dmasim_constants.h"

/* Poll timing (rules POLL-* in docs/axi-dma-behaviour.md), from the generated header. */
static const dmasim_timing default_timing = {
    DMASIM_POLL_FIRST_BACKOFF_NS,
    DMASIM_POLL_MAX_BACKOFF_NS,
    DMASIM_POLL_WALL_GUARD_NS,
};

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void reset_fields(dmasim_dev *dev)
{
    memset(dev, 0, sizeof(*dev));
    dev->fd = -1;
    dev->timing = default_timing;
}

int dmasim_init_callbacks(dmasim_dev *dev, const dmasim_ops *ops, uint64_t phys_base,
                          uint32_t length)
{
    if (dev == NULL || ops == NULL)
        return DMASIM_EINVAL;
    if (ops->read32 == NULL || ops->write32 == NULL || ops->delay_ns == NULL ||
        ops->now_ns == NULL)
        return DMASIM_EINVAL;
    if (length < 4 || (length & 3u) || (phys_base & 3u))
        return DMASIM_EINVAL;
    reset_fields(dev);
    dev->ops = *ops;
    dev->phys_base = phys_base;
    dev->length = length;
    return DMASIM_OK;
}

int dmasim_open_mmap(dmasim_dev *dev, const char *path, uint64_t phys_base, uint32_t length)
{
    long page;
    uint64_t map_start, map_end;
    struct stat st;
    void *addr;
    int fd;

    if (dev == NULL || path == NULL)
        return DMASIM_EINVAL;
    reset_fields(dev);
    dev->closed = 1; /* until the mapping is in place */
    if (length < 4 || (length & 3u) || (phys_base & 3u))
        return DMASIM_EINVAL;
    page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    map_start = phys_base & ~((uint64_t)page - 1u);
    map_end = phys_base + length;
    if (map_end < phys_base)
        return DMASIM_EINVAL; /* wraps around */
    map_end = (map_end + (uint64_t)page - 1u) & ~((uint64_t)page - 1u);
    if (map_end - map_start > (uint64_t)SIZE_MAX || map_start > (uint64_t)INT64_MAX)
        return DMASIM_EINVAL;

    fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
    if (fd < 0) {
        dev->os_errno = errno;
        return DMASIM_EOS;
    }
    if (fstat(fd, &st) != 0) {
        dev->os_errno = errno;
        close(fd);
        return DMASIM_EOS;
    }
    /* A regular file standing in for /dev/mem must cover the window: touching a page past
     * its end would be SIGBUS, not an error we could report. */
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < phys_base + length) {
        close(fd);
        dev->os_errno = ERANGE;
        return DMASIM_EBOUNDS;
    }
    addr = mmap(NULL, (size_t)(map_end - map_start), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                (off_t)map_start);
    if (addr == MAP_FAILED) {
        dev->os_errno = errno;
        close(fd);
        return DMASIM_EOS;
    }
    dev->fd = fd;
    dev->map_addr = addr;
    dev->map_len = (size_t)(map_end - map_start);
    dev->map_delta = (size_t)(phys_base - map_start);
    dev->regs = (volatile uint32_t *)((char *)addr + dev->map_delta);
    dev->phys_base = phys_base;
    dev->length = length;
    dev->closed = 0;
    return DMASIM_OK;
}

#if defined(__arm__) || defined(__aarch64__)
#define DMASIM_DSB() __asm__ volatile("dsb sy" ::: "memory")
#define DMASIM_IS_DSB 1
#else
#define DMASIM_DSB() __asm__ volatile("" ::: "memory")
#define DMASIM_IS_DSB 0
#endif

#ifdef DMASIM_TEST_HOOKS
void (*dmasim_barrier_hook)(void *ctx) = NULL;
void *dmasim_barrier_hook_ctx = NULL;
#endif

void dmasim_barrier(dmasim_dev *dev)
{
    DMASIM_DSB();
    if (dev != NULL && dev->outer_sync != NULL) {
        int spins = 0;
        *dev->outer_sync = 0u;           /* PL310 CACHE_SYNC: drain its store buffer */
        while ((*dev->outer_sync & 1u) && ++spins < 1000000)
            ;                            /* r3p0+ completes at once; older ones poll bit 0 */
        DMASIM_DSB();
    }
#ifdef DMASIM_TEST_HOOKS
    if (dmasim_barrier_hook != NULL)
        dmasim_barrier_hook(dmasim_barrier_hook_ctx);
#endif
}

int dmasim_barrier_is_dsb(void)
{
    return DMASIM_IS_DSB;
}

int dmasim_has_outer_sync(const dmasim_dev *dev)
{
    return dev != NULL && dev->outer_sync != NULL;
}

int dmasim_open_outer_sync(dmasim_dev *dev, const char *path, uint64_t sync_addr)
{
    long page;
    uint64_t map_start;
    void *addr;
    int fd;

    if (dev == NULL || path == NULL || (sync_addr & 3u))
        return DMASIM_EINVAL;
    if (dev->closed)
        return DMASIM_ECLOSED;
    if (dev->outer_map != NULL)
        return DMASIM_OK;
    page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    map_start = sync_addr & ~((uint64_t)page - 1u);
    fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
    if (fd < 0) {
        dev->os_errno = errno;
        return DMASIM_EOS;
    }
    {
        struct stat st; /* a regular file standing in for /dev/mem must cover the page */
        if (fstat(fd, &st) != 0 ||
            (S_ISREG(st.st_mode) && (uint64_t)st.st_size < map_start + (uint64_t)page)) {
            close(fd);
            dev->os_errno = ERANGE;
            return DMASIM_EBOUNDS;
        }
    }
    addr = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)map_start);
    dev->os_errno = addr == MAP_FAILED ? errno : 0;
    close(fd);
    if (addr == MAP_FAILED)
        return DMASIM_EOS;
    dev->outer_map = addr;
    dev->outer_sync = (volatile uint32_t *)((char *)addr + (sync_addr - map_start));
    return DMASIM_OK;
}

void dmasim_close(dmasim_dev *dev)
{
    if (dev == NULL || dev->closed)
        return;
    if (dev->outer_map != NULL) {
        long page = sysconf(_SC_PAGESIZE);
        munmap(dev->outer_map, (size_t)(page > 0 ? page : 4096));
        dev->outer_map = NULL;
        dev->outer_sync = NULL;
    }
    if (dev->map_addr != NULL)
        munmap(dev->map_addr, dev->map_len);
    if (dev->fd >= 0)
        close(dev->fd);
    dev->map_addr = NULL;
    dev->regs = NULL;
    dev->fd = -1;
    dev->closed = 1;
}

int dmasim_is_direct(const dmasim_dev *dev)
{
    return dev != NULL && !dev->closed && dev->regs != NULL;
}

static int check(const dmasim_dev *dev, uint32_t offset)
{
    if (dev == NULL)
        return DMASIM_EINVAL;
    if (dev->closed)
        return DMASIM_ECLOSED;
    if ((offset & 3u) || offset > dev->length - 4u)
        return DMASIM_EBOUNDS;
    return DMASIM_OK;
}

/* Unchecked accessors for offsets the core computed itself from the register map. */
static int rd(dmasim_dev *dev, uint32_t offset, uint32_t *value)
{
    if (dev->regs != NULL) {
        *value = dev->regs[offset / 4u];
        return DMASIM_OK;
    }
    return dev->ops.read32(dev->ops.ctx, dev->phys_base + offset, value) ? DMASIM_ECALLBACK
                                                                           : DMASIM_OK;
}

static int wr(dmasim_dev *dev, uint32_t offset, uint32_t value)
{
    if (dev->regs != NULL) {
        dev->regs[offset / 4u] = value;
        return DMASIM_OK;
    }
    return dev->ops.write32(dev->ops.ctx, dev->phys_base + offset, value) ? DMASIM_ECALLBACK
                                                                            : DMASIM_OK;
}

int dmasim_read(dmasim_dev *dev, uint32_t offset, uint32_t *value)
{
    int rc = check(dev, offset);
    if (rc != DMASIM_OK)
        return rc;
    if (value == NULL)
        return DMASIM_EINVAL;
    return rd(dev, offset, value);
}

int64_t dmasim_read_value(dmasim_dev *dev, uint32_t offset)
{
    uint32_t v = 0;
    int rc = check(dev, offset);
    if (rc == DMASIM_OK)
        rc = rd(dev, offset, &v);
    return rc == DMASIM_OK ? (int64_t)v : (int64_t)rc;
}

int dmasim_write(dmasim_dev *dev, uint32_t offset, uint32_t value)
{
    int rc = check(dev, offset);
    return rc != DMASIM_OK ? rc : wr(dev, offset, value);
}

int dmasim_write_seq(dmasim_dev *dev, const uint32_t *offsets, const uint32_t *values,
                     uint32_t count)
{
    uint32_t i;
    int rc;
    if (dev == NULL || (count > 0 && (offsets == NULL || values == NULL)))
        return DMASIM_EINVAL;
    for (i = 0; i < count; i++) {
        rc = check(dev, offsets[i]);
        if (rc != DMASIM_OK)
            return rc;
    }
    for (i = 0; i < count; i++) {
        rc = wr(dev, offsets[i], values[i]);
        if (rc != DMASIM_OK)
            return rc;
    }
    return DMASIM_OK;
}

int dmasim_read_loop(dmasim_dev *dev, uint32_t offset, uint64_t count, uint32_t *value)
{
    uint32_t v = 0;
    uint64_t i;
    int rc = check(dev, offset);
    if (rc != DMASIM_OK)
        return rc;
    if (dev->regs != NULL) {
        volatile uint32_t *reg = dev->regs + offset / 4u;
        for (i = 0; i < count; i++)
            v = *reg;
    } else {
        for (i = 0; i < count; i++) {
            rc = rd(dev, offset, &v);
            if (rc != DMASIM_OK)
                return rc;
        }
    }
    if (value != NULL)
        *value = v;
    return DMASIM_OK;
}

int dmasim_now(dmasim_dev *dev, uint64_t *now_ns)
{
    if (dev == NULL || now_ns == NULL)
        return DMASIM_EINVAL;
    if (dev->closed)
        return DMASIM_ECLOSED;
    if (dev->regs != NULL) {
        *now_ns = monotonic_ns();
        return DMASIM_OK;
    }
    return dev->ops.now_ns(dev->ops.ctx, now_ns) ? DMASIM_ECALLBACK : DMASIM_OK;
}

int dmasim_delay(dmasim_dev *dev, uint64_t ns)
{
    if (dev == NULL)
        return DMASIM_EINVAL;
    if (dev->closed)
        return DMASIM_ECLOSED;
    if (dev->regs != NULL) {
        struct timespec req, rem;
        req.tv_sec = (time_t)(ns / 1000000000ull);
        req.tv_nsec = (long)(ns % 1000000000ull);
        while (nanosleep(&req, &rem) != 0 && errno == EINTR)
            req = rem;
        return DMASIM_OK;
    }
    return dev->ops.delay_ns(dev->ops.ctx, ns) ? DMASIM_ECALLBACK : DMASIM_OK;
}

/* The pause between two looks of a poll, shared by every wait: its deadlines (target time
 * and a wall-clock guard) start at the first look that was not enough, and the pause doubles
 * from the first back-off up to max_backoff_ns. DMASIM_TIMEOUT past either deadline. */
typedef struct {
    uint64_t deadline, wall_deadline, step;
    int started;
} backoff_t;

static backoff_t backoff_start(uint64_t first_backoff_ns)
{
    backoff_t b = {0, 0, first_backoff_ns > 0 ? first_backoff_ns : 1u, 0};
    return b;
}

static int backoff_pause(dmasim_dev *dev, backoff_t *b, uint64_t timeout_ns)
{
    uint64_t now, wait;
    int rc = dmasim_now(dev, &now);
    if (rc != DMASIM_OK)
        return rc;
    if (!b->started) {
        b->started = 1;
        b->deadline = now + timeout_ns;
        if (b->deadline < now)
            b->deadline = UINT64_MAX;
        b->wall_deadline = monotonic_ns() + dev->timing.wall_guard_ns;
    }
    if (now >= b->deadline || monotonic_ns() > b->wall_deadline)
        return DMASIM_TIMEOUT;
    wait = b->deadline - now;
    rc = dmasim_delay(dev, b->step < wait ? b->step : wait);
    if (rc != DMASIM_OK)
        return rc;
    if (b->step < dev->timing.max_backoff_ns)
        b->step *= 2u;
    return DMASIM_OK;
}

static int poll_from(dmasim_dev *dev, uint32_t offset, uint32_t done_mask, int want_set,
                     uint32_t stop_mask, uint64_t timeout_ns, uint64_t first_backoff_ns,
                     uint32_t *value)
{
    backoff_t pause = backoff_start(first_backoff_ns);
    uint32_t v = 0;
    int rc, hit;

    rc = check(dev, offset);
    if (rc != DMASIM_OK)
        return rc;
    for (;;) {
        rc = rd(dev, offset, &v);
        if (rc != DMASIM_OK)
            return rc;
        if (value != NULL)
            *value = v;
        hit = want_set ? (v & done_mask) == done_mask : !(v & done_mask);
        if (hit || (v & stop_mask))
            return DMASIM_OK; /* the common case is done on the first look */
        rc = backoff_pause(dev, &pause, timeout_ns);
        if (rc != DMASIM_OK)
            return rc;
    }
}

int dmasim_poll(dmasim_dev *dev, uint32_t offset, uint32_t done_mask, int want_set,
                uint32_t stop_mask, uint64_t timeout_ns, uint32_t *value)
{
    if (dev == NULL)
        return DMASIM_EINVAL;
    return poll_from(dev, offset, done_mask, want_set, stop_mask, timeout_ns,
                     dev->timing.first_backoff_ns, value);
}

int dmasim_reset(dmasim_dev *dev, uint64_t timeout_ns)
{
    static const uint32_t channels[2] = {DMASIM_MM2S_DMACR, DMASIM_S2MM_DMACR};
    uint32_t v;
    int rc, i, timed_out = 0;

    for (i = 0; i < 2; i++) {
        rc = dmasim_write(dev, channels[i], DMASIM_DMACR_RESET_MASK);
        if (rc != DMASIM_OK)
            return rc;
    }
    for (i = 0; i < 2; i++) {
        rc = dmasim_poll(dev, channels[i], DMASIM_DMACR_RESET_MASK, 0, 0, timeout_ns, &v);
        if (rc == DMASIM_TIMEOUT)
            timed_out = 1;
        else if (rc != DMASIM_OK)
            return rc;
    }
    return timed_out ? DMASIM_TIMEOUT : DMASIM_OK;
}

static int check_channel(const dmasim_dev *dev, uint32_t channel)
{
    if (channel != DMASIM_MM2S_DMACR && channel != DMASIM_S2MM_BASE)
        return DMASIM_EINVAL;
    return check(dev, channel + DMASIM_REG_LENGTH);
}

int dmasim_dmasr(dmasim_dev *dev, uint32_t channel, uint32_t *dmasr)
{
    int rc = check_channel(dev, channel);
    if (rc != DMASIM_OK)
        return rc;
    if (dmasr == NULL)
        return DMASIM_EINVAL;
    return rd(dev, channel + DMASIM_REG_DMASR, dmasr);
}

int dmasim_start(dmasim_dev *dev, uint32_t channel, uint64_t timeout_ns, uint32_t irq_enables,
                 uint32_t *dmasr)
{
    uint32_t cr;
    int rc = check_channel(dev, channel);
    if (rc != DMASIM_OK)
        return rc;
    rc = rd(dev, channel + DMASIM_REG_DMACR, &cr);
    if (rc != DMASIM_OK)
        return rc;
    rc = wr(dev, channel + DMASIM_REG_DMACR,
            (cr & ~DMASIM_DMACR_RESET_MASK) | DMASIM_DMACR_RS_MASK | irq_enables);
    if (rc != DMASIM_OK)
        return rc;
    rc = dmasim_poll(dev, channel + DMASIM_REG_DMASR, DMASIM_DMASR_HALTED_MASK, 0,
                     DMASIM_DMASR_ERRORS_MASK, timeout_ns, dmasr);
    if (rc == DMASIM_OK && dmasr != NULL && (*dmasr & DMASIM_DMASR_ERRORS_MASK))
        return DMASIM_DMA_ERROR;
    return rc;
}

int dmasim_stop(dmasim_dev *dev, uint32_t channel, uint64_t timeout_ns, uint32_t *dmasr)
{
    uint32_t cr;
    int rc = check_channel(dev, channel);
    if (rc != DMASIM_OK)
        return rc;
    rc = rd(dev, channel + DMASIM_REG_DMACR, &cr);
    if (rc != DMASIM_OK)
        return rc;
    rc = wr(dev, channel + DMASIM_REG_DMACR,
            cr & ~(DMASIM_DMACR_RS_MASK | DMASIM_DMACR_RESET_MASK));
    if (rc != DMASIM_OK)
        return rc;
    return dmasim_poll(dev, channel + DMASIM_REG_DMASR, DMASIM_DMASR_HALTED_MASK, 1, 0,
                       timeout_ns, dmasr);
}

int dmasim_program(dmasim_dev *dev, uint32_t channel, uint64_t addr, uint32_t nbytes,
                   int write_msb)
{
    int rc = check_channel(dev, channel);
    if (rc != DMASIM_OK)
        return rc;
    rc = wr(dev, channel + DMASIM_REG_ADDR, (uint32_t)(addr & 0xFFFFFFFFu));
    if (rc != DMASIM_OK)
        return rc;
    if (write_msb) {
        rc = wr(dev, channel + DMASIM_REG_ADDR_MSB, (uint32_t)(addr >> 32));
        if (rc != DMASIM_OK)
            return rc;
    }
    dmasim_barrier(dev); /* buffer writes before the write that starts the DMA */
    rc = wr(dev, channel + DMASIM_REG_LENGTH, nbytes);
    if (rc != DMASIM_OK)
        return rc;
    return dmasim_now(dev, &dev->programmed_ns[channel ? 1 : 0]);
}

/* Until a transfer of nbytes could be done at 500 MB/s (a little faster than this design's
 * ~400 MB/s) after it was programmed, sleep instead of reading: the Python level's
 * registers.wait_idle rule, the first step of every wait. Takes the nap off *timeout_ns. */
static int first_nap(dmasim_dev *dev, uint32_t channel, uint64_t nbytes, uint64_t *timeout_ns)
{
    uint64_t ready = DMASIM_POLL_NS_PER_BYTE * nbytes, now, nap;
    int rc;
    if (ready > DMASIM_POLL_MAX_FIRST_WAIT_NS)
        ready = DMASIM_POLL_MAX_FIRST_WAIT_NS;
    if (*timeout_ns == 0 || ready == 0)
        return DMASIM_OK;
    ready += dev->programmed_ns[channel ? 1 : 0];
    rc = dmasim_now(dev, &now);
    if (rc != DMASIM_OK || ready <= now)
        return rc;
    nap = ready - now < *timeout_ns ? ready - now : *timeout_ns;
    rc = dmasim_delay(dev, nap);
    if (rc == DMASIM_OK)
        *timeout_ns -= nap;
    return rc;
}

int dmasim_wait_idle(dmasim_dev *dev, uint32_t channel, uint64_t timeout_ns, uint32_t nbytes,
                     uint32_t *dmasr)
{
    uint32_t v = 0;
    int rc = check_channel(dev, channel);
    if (rc != DMASIM_OK)
        return rc;
    rc = first_nap(dev, channel, nbytes, &timeout_ns);
    if (rc != DMASIM_OK)
        return rc;
    rc = poll_from(dev, channel + DMASIM_REG_DMASR, DMASIM_DMASR_IDLE_MASK, 1,
                   DMASIM_DMASR_ERRORS_MASK | DMASIM_DMASR_HALTED_MASK, timeout_ns,
                   dev->timing.first_backoff_ns, &v);
    if (dmasr != NULL)
        *dmasr = v;
    if (rc != DMASIM_OK)
        return rc;
    if (v & DMASIM_DMASR_ERRORS_MASK)
        return DMASIM_DMA_ERROR;
    if (v & DMASIM_DMASR_HALTED_MASK)
        return DMASIM_HALTED;
    return DMASIM_OK;
}

/* --- scatter-gather mode ------------------------------------------------------------------ */

#define BD_WORDS (DMASIM_BD_SIZE / 4u)
#define BD_WORD(bds, i, off) ((bds)[(size_t)(i) * BD_WORDS + (off) / 4u])
#define SG_STOP_MASK (DMASIM_DMASR_ERRORS_MASK | DMASIM_DMASR_SG_ERRORS_MASK)

int dmasim_sg_link(uint32_t *bds, uint64_t phys, uint32_t count)
{
    volatile uint32_t *v = bds;
    uint32_t i, w;
    uint64_t next;
    if (bds == NULL || count == 0 || (phys & (DMASIM_BD_ALIGN - 1u)))
        return DMASIM_EINVAL;
    for (i = 0; i < count; i++) {
        for (w = 0; w < BD_WORDS; w++)
            v[(size_t)i * BD_WORDS + w] = 0u;
        next = phys + (uint64_t)((i + 1u) % count) * DMASIM_BD_SIZE;
        BD_WORD(v, i, DMASIM_BD_NXTDESC) = (uint32_t)(next & 0xFFFFFFFFu);
        BD_WORD(v, i, DMASIM_BD_NXTDESC_MSB) = (uint32_t)(next >> 32);
    }
    return DMASIM_OK;
}

int dmasim_sg_fill(uint32_t *bds, uint32_t count, uint32_t first, uint64_t addr, uint64_t nbytes,
                   uint32_t bd_max, int framing, uint32_t *used)
{
    volatile uint32_t *v = bds;
    uint64_t n, i, size, a;
    uint32_t ctl, k;
    if (bds == NULL || count == 0 || bd_max == 0 || nbytes == 0 || first >= count ||
        (bd_max & ~DMASIM_BD_CONTROL_LENGTH_MASK))
        return DMASIM_EINVAL;
    n = (nbytes + bd_max - 1u) / bd_max;
    if (n > count)
        return DMASIM_EINVAL;
    for (i = 0; i < n; i++) {
        k = (uint32_t)((first + i) % count);
        size = nbytes - i * bd_max < bd_max ? nbytes - i * bd_max : bd_max;
        a = addr + i * bd_max;
        ctl = (uint32_t)size & DMASIM_BD_CONTROL_LENGTH_MASK;
        if (framing && i == 0)
            ctl |= DMASIM_BD_CONTROL_TXSOF_MASK;
        if (framing && i == n - 1u)
            ctl |= DMASIM_BD_CONTROL_TXEOF_MASK;
        BD_WORD(v, k, DMASIM_BD_BUFFER_ADDRESS) = (uint32_t)(a & 0xFFFFFFFFu);
        BD_WORD(v, k, DMASIM_BD_BUFFER_ADDRESS_MSB) = (uint32_t)(a >> 32);
        BD_WORD(v, k, DMASIM_BD_CONTROL) = ctl;
        BD_WORD(v, k, DMASIM_BD_STATUS) = 0u;
    }
    if (used != NULL)
        *used = (uint32_t)n;
    return DMASIM_OK;
}

int dmasim_sg_result(const uint32_t *bds, uint32_t count, uint32_t first, uint32_t n,
                     uint32_t len_mask, uint32_t eof_mask, uint64_t *transferred, uint32_t *end)
{
    const volatile uint32_t *v = bds;
    uint64_t total = 0;
    uint32_t i, st;
    int complete = n == 0;
    if (bds == NULL || count == 0)
        return DMASIM_EINVAL;
    if (end != NULL)
        *end = 0;
    for (i = 0; i < n; i++) {
        st = BD_WORD(v, (first + i) % count, DMASIM_BD_STATUS);
        if (end != NULL)
            *end = i;
        if (!(st & DMASIM_BD_STATUS_CMPLT_MASK))
            break;
        total += st & len_mask;
        if ((st & eof_mask) || i == n - 1u) {
            complete = 1;
            break;
        }
    }
    if (transferred != NULL)
        *transferred = total;
    return complete;
}

int dmasim_sg_start(dmasim_dev *dev, uint32_t channel, uint64_t curdesc, uint32_t dmacr_bits,
                    int write_msb, uint64_t timeout_ns, uint32_t *dmasr)
{
    uint32_t cr;
    int rc = check_channel(dev, channel);
    if (rc != DMASIM_OK)
        return rc;
    rc = wr(dev, channel + DMASIM_REG_CURDESC, (uint32_t)(curdesc & 0xFFFFFFFFu));
    if (rc == DMASIM_OK && write_msb)
        rc = wr(dev, channel + DMASIM_REG_CURDESC_MSB, (uint32_t)(curdesc >> 32));
    if (rc == DMASIM_OK)
        rc = rd(dev, channel + DMASIM_REG_DMACR, &cr);
    if (rc != DMASIM_OK)
        return rc;
    cr &= ~(DMASIM_DMACR_RESET_MASK | DMASIM_DMACR_CYCLIC_MASK);
    rc = wr(dev, channel + DMASIM_REG_DMACR, cr | DMASIM_DMACR_RS_MASK | dmacr_bits);
    if (rc != DMASIM_OK)
        return rc;
    rc = dmasim_poll(dev, channel + DMASIM_REG_DMASR, DMASIM_DMASR_HALTED_MASK, 0, SG_STOP_MASK,
                     timeout_ns, dmasr);
    if (rc == DMASIM_OK && dmasr != NULL && (*dmasr & SG_STOP_MASK))
        return DMASIM_DMA_ERROR;
    return rc;
}

int dmasim_sg_kick(dmasim_dev *dev, uint32_t channel, uint64_t taildesc, int write_msb)
{
    int rc = check_channel(dev, channel);
    if (rc != DMASIM_OK)
        return rc;
    dmasim_barrier(dev); /* BDs and buffer data before the write that starts the fetch */
    rc = wr(dev, channel + DMASIM_REG_TAILDESC, (uint32_t)(taildesc & 0xFFFFFFFFu));
    if (rc == DMASIM_OK && write_msb)
        rc = wr(dev, channel + DMASIM_REG_TAILDESC_MSB, (uint32_t)(taildesc >> 32));
    if (rc != DMASIM_OK)
        return rc;
    return dmasim_now(dev, &dev->programmed_ns[channel ? 1 : 0]);
}

int dmasim_sg_wait(dmasim_dev *dev, uint32_t channel, const uint32_t *bds, uint32_t count,
                   uint32_t first, uint32_t n, uint32_t len_mask, uint32_t eof_mask,
                   uint64_t nbytes, uint64_t timeout_ns, uint32_t *dmasr)
{
    backoff_t pause = backoff_start(dev->timing.first_backoff_ns);
    uint32_t v = 0;
    int rc, done;
    rc = check_channel(dev, channel);
    if (rc != DMASIM_OK)
        return rc;
    if (bds == NULL || count == 0)
        return DMASIM_EINVAL;
    rc = first_nap(dev, channel, nbytes, &timeout_ns);
    if (rc != DMASIM_OK)
        return rc;
    for (;;) {
        rc = rd(dev, channel + DMASIM_REG_DMASR, &v);
        if (rc != DMASIM_OK)
            return rc;
        if (dmasr != NULL)
            *dmasr = v;
        if (v & SG_STOP_MASK)
            return DMASIM_DMA_ERROR;
        done = dmasim_sg_result(bds, count, first, n, len_mask, eof_mask, NULL, NULL);
        if (done > 0)
            return DMASIM_OK;
        if (v & DMASIM_DMASR_HALTED_MASK)
            return DMASIM_HALTED;
        rc = backoff_pause(dev, &pause, timeout_ns);
        if (rc != DMASIM_OK)
            return rc;
    }
}

const char *dmasim_strstatus(int status)
{
    switch (status) {
    case DMASIM_OK: return "ok";
    case DMASIM_TIMEOUT: return "timeout";
    case DMASIM_DMA_ERROR: return "DMA error bit set";
    case DMASIM_HALTED: return "channel halted";
    case DMASIM_EBOUNDS: return "offset outside the register window or unaligned";
    case DMASIM_EINVAL: return "invalid argument";
    case DMASIM_EOS: return "operating system error";
    case DMASIM_ECALLBACK: return "callback failed";
    case DMASIM_ECLOSED: return "device closed";
    default: return "unknown status";
    }
}
