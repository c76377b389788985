// dmasim (simulation only): DDR storage of the rtl target's simulator, for the
// AXI slaves in dmasim_sim_mem_rd.v / dmasim_sim_mem_wr.v (DPI-C).
//
// DDR is a file (a memfd) that the host process maps too (MAP_SHARED), so the
// host's numpy buffers are the simulated DDR: no copies, no messages per word.
// Layout of the file (dmasim_sim_shared.h, generated from dmasim/rtl/shared.py):
//   [0, ddr_size)                          DDR bytes, physical address = offset
//   [ddr_size, ddr_size + kCONTROL_SIZE)   control area: injected fault regions,
//                                          then the host's mailbox (dmasim_sim_host.cpp)
// The host writes the fault table only while the simulator waits for a
// command, so no locking is needed.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstddef>
#include <cstring>

#include "dmasim_sim_shared.h"

namespace {

namespace s = dmasim_shared;
constexpr uint32_t kCtlMagic = s::kCTL_MAGIC;
constexpr int kMaxFaults = static_cast<int>(s::kMAX_FAULTS);
constexpr int kRespOkay = 0;
constexpr int kRespDecerr = 3;

struct Fault {
    uint64_t lo;    // first faulting byte
    uint64_t hi;    // one past the last
    uint32_t resp;  // AXI response: 2 SLVERR, 3 DECERR
    uint32_t pad;
};

struct Control {
    uint32_t magic;
    uint32_t nfaults;
    uint64_t pad;
    Fault faults[kMaxFaults];
};
static_assert(sizeof(Fault) == s::kFAULT_BYTES, "fault region layout");
static_assert(offsetof(Control, faults) == s::kFAULT_REGIONS, "fault table layout");
static_assert(s::kFAULTS + sizeof(Control) <= s::kMAILBOX, "fault page overflows");

uint8_t* g_ddr = nullptr;
uint64_t g_ddr_size = 0;
const volatile Control* g_ctl = nullptr;

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "dmasim_sim_mem: %s: %s\n", what, std::strerror(errno));
    std::fflush(stderr);
    std::abort();
}

// Map the DDR file on first use: the inherited descriptor DMASIM_DDR_FD, or
// the file DMASIM_DDR_PATH (for running the simulator by hand); DMASIM_DDR_SIZE
// bytes of DDR followed by the control area.
void open_ddr() {
    const char* fd_text = std::getenv("DMASIM_DDR_FD");
    const char* path = std::getenv("DMASIM_DDR_PATH");
    const char* size = std::getenv("DMASIM_DDR_SIZE");
    if ((fd_text == nullptr && path == nullptr) || size == nullptr) {
        errno = EINVAL;
        die("DMASIM_DDR_FD (or DMASIM_DDR_PATH) and DMASIM_DDR_SIZE must name the shared DDR");
    }
    g_ddr_size = std::strtoull(size, nullptr, 0);
    const int fd = fd_text != nullptr ? std::atoi(fd_text) : ::open(path, O_RDWR);
    if (fd < 0) die(path != nullptr ? path : "DMASIM_DDR_FD");
    void* p = ::mmap(nullptr, g_ddr_size + s::kCONTROL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                     fd, 0);
    if (p == MAP_FAILED) die("mmap of the DDR file");
    ::close(fd);
    g_ddr = static_cast<uint8_t*>(p);
    g_ctl = reinterpret_cast<const volatile Control*>(g_ddr + g_ddr_size + s::kFAULTS);
}

// AXI response for the bytes [addr, addr + n): DECERR outside DDR, else the
// worst injected fault overlapping them (DECERR over SLVERR, whatever the order
// they were injected), else OKAY. This is rule FAULT-PRECEDENCE of
// docs/axi-dma-behaviour.md, which dmasim/memory.py applies on the model too.
inline int response(uint64_t addr, uint64_t n) {
    if (addr >= g_ddr_size || n > g_ddr_size - addr) return kRespDecerr;
    const uint32_t count = g_ctl->magic == kCtlMagic ? g_ctl->nfaults : 0;
    int resp = kRespOkay;
    for (uint32_t i = 0; i < count && i < kMaxFaults; ++i) {
        const volatile Fault& f = g_ctl->faults[i];
        if (f.lo < addr + n && addr < f.hi && static_cast<int>(f.resp) > resp) {
            resp = static_cast<int>(f.resp);
        }
    }
    return resp;
}

}  // namespace

extern "C" {

// DPI calls so far: the clock (dmasim_sim_clock.h) skips only periods that made none.
uint64_t dmasim_mem_calls = 0;

// The control area after DDR (mapping it on first use), for the host mailbox.
unsigned char* dmasim_mem_control() {
    if (g_ddr == nullptr) open_ddr();
    return g_ddr + g_ddr_size;
}

// One read beat: the bus word holding `addr` (nbytes = bus width, 4 or 8).
int dmasim_mem_read(unsigned long long addr, int nbytes, unsigned long long* data) {
    ++dmasim_mem_calls;
    if (g_ddr == nullptr) open_ddr();
    const uint64_t word = addr & ~static_cast<uint64_t>(nbytes - 1);
    const int resp = response(word, static_cast<uint64_t>(nbytes));
    uint64_t value = 0;
    if (resp == kRespOkay) std::memcpy(&value, g_ddr + word, static_cast<size_t>(nbytes));
    *data = value;
    return resp;
}

// One write beat: the strobed bytes of the bus word holding `addr`. A beat
// that faults stores nothing.
int dmasim_mem_write(unsigned long long addr, int nbytes, unsigned long long data, int strb) {
    ++dmasim_mem_calls;
    if (g_ddr == nullptr) open_ddr();
    const uint64_t word = addr & ~static_cast<uint64_t>(nbytes - 1);
    int resp = kRespOkay;
    for (int i = 0; i < nbytes; ++i) {
        if ((strb >> i) & 1) {
            const int r = response(word + static_cast<uint64_t>(i), 1);
            if (r > resp) resp = r;
        }
    }
    if (resp != kRespOkay) return resp;
    if ((strb & ((1 << nbytes) - 1)) == (1 << nbytes) - 1) {
        std::memcpy(g_ddr + word, &data, static_cast<size_t>(nbytes));
    } else {
        for (int i = 0; i < nbytes; ++i) {
            if ((strb >> i) & 1) g_ddr[word + i] = static_cast<uint8_t>(data >> (8 * i));
        }
    }
    return resp;
}

}  // extern "C"
