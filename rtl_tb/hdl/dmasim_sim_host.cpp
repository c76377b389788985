// dmasim (simulation only): the main of the rtl target's simulator. It clocks
// the Verilated dmasim_sim_top in a plain C++ loop (dmasim_sim_clock.h) and
// serves the host's commands from a pipe between clock edges: no timing
// scheduler, no VPI, no Python in the simulator.
//
// Records are 16 bytes, little-endian; layout and opcodes come from
// dmasim_sim_protocol.h, generated from dmasim/rtl/protocol.py:
//   command: u8 op, u8 flags, u16 pad, u32 arg32, u64 arg64
//   reply:   u8 status, u8 pad, u16 pad, u32 value, u64 time_ns
// Commands are read in bulk; replies are buffered and written out only when
// the simulator is about to wait for more commands, so a burst of posted
// register writes costs one pipe write each way.
//
// Before blocking on the pipe the simulator polls it for a short while
// (DMASIM_SPIN_US, default 100 us): the host's next command usually follows
// within microseconds, and waking a process that went to sleep costs tens of
// microseconds on an idle virtual machine, several times a register access.
// The polling loop yields the CPU, so it costs little when processes compete.
//
// Usage (dmasim/rtl/process.py starts it):
//   dmasim_sim_top [--trace --trace-file <path>]
//       serve commands from DMASIM_CMD_FD, replies to DMASIM_RSP_FD; DDR from
//       DMASIM_DDR_FD / DMASIM_DDR_SIZE (dmasim_sim_mem.cpp); DMASIM_CLOCK_NS
//   dmasim_sim_top --bare <dma base> <bytes> <seconds>
//       the simulator's limit: the same design, no host. Loop back <bytes>
//       (S2MM, then MM2S, as the drivers do) again and again for about
//       <seconds> of wall time in a private DDR, and print
//       "clocks <n> seconds <s> clocks_per_s <r> bytes_per_clock <b>",
//       counting the clocks from the MM2S LENGTH write until both channels
//       are Idle (DMASR read every 256 clocks).

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "Vtop.h"
#include "dmasim_regmap.h"
#include "dmasim_sim_clock.h"
#include "dmasim_sim_protocol.h"
#include "verilated.h"
#if VM_TRACE
#if VM_TRACE_FST
#include "verilated_fst_c.h"
using TraceFile = VerilatedFstC;
#else
#include "verilated_vcd_c.h"
using TraceFile = VerilatedVcdC;
#endif
#endif

namespace {

constexpr size_t kRecord = dmasim_protocol::kRECORD_BYTES;
constexpr int kOpQuit = dmasim_protocol::kOP_QUIT;

int g_in = -1;
int g_out = -1;
long g_spin_ns = 100000;
uint8_t g_buf[1 << 16];
size_t g_len = 0;
size_t g_pos = 0;
std::vector<uint8_t> g_replies;

int env_fd(const char* name) {
    const char* text = std::getenv(name);
    if (text == nullptr) {
        std::fprintf(stderr, "dmasim_sim_host: %s is not set (start the simulator through "
                             "dmasim's rtl target)\n", name);
        std::fflush(stderr);
        std::abort();
    }
    return std::atoi(text);
}

long now_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

void flush_replies() {
    size_t done = 0;
    while (done < g_replies.size()) {
        const ssize_t n = ::write(g_out, g_replies.data() + done, g_replies.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::perror("dmasim_sim_host: reply pipe");
            std::exit(3);  // the host is gone
        }
        done += static_cast<size_t>(n);
    }
    g_replies.clear();
}

// Make at least one whole record available; false on end of file.
bool fill() {
    if (g_len - g_pos >= kRecord) return true;
    std::memmove(g_buf, g_buf + g_pos, g_len - g_pos);
    g_len -= g_pos;
    g_pos = 0;
    flush_replies();
    const long start = now_ns();
    while (g_len < kRecord) {
        const ssize_t n = ::read(g_in, g_buf + g_len, sizeof(g_buf) - g_len);
        if (n > 0) {
            g_len += static_cast<size_t>(n);
            continue;
        }
        if (n == 0) return false;  // end of file: the host is done
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
        if (now_ns() - start < g_spin_ns) {
            ::sched_yield();  // let a runnable process (the host, say) have this CPU
            continue;
        }
        pollfd pfd = {g_in, POLLIN, 0};
        ::poll(&pfd, 1, -1);
    }
    return true;
}

template <typename T>
T get(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

namespace p = dmasim_protocol;

// Next command's opcode and arguments; OP_QUIT when the host closed the pipe.
int next_command(uint32_t* a32, uint64_t* a64) {
    if (!fill()) {
        *a32 = 0;
        *a64 = 0;
        return p::kOP_QUIT;
    }
    const uint8_t* rec = g_buf + g_pos;
    g_pos += kRecord;
    *a32 = get<uint32_t>(rec + 4);
    *a64 = get<uint64_t>(rec + 8);
    return rec[0];
}

// Queue the reply to the command just served.
void reply(int status, uint32_t value, uint64_t time_ns) {
    uint8_t rec[kRecord] = {};
    rec[0] = static_cast<uint8_t>(status);
    std::memcpy(rec + 4, &value, 4);
    std::memcpy(rec + 8, &time_ns, 8);
    g_replies.insert(g_replies.end(), rec, rec + kRecord);
}

#if VM_TRACE
class FileWaves : public dmasim_sim::Waves {
public:
    FileWaves(Vtop* top, const char* path) {
        file_.set_time_unit("1ns");
        file_.set_time_resolution("1ns");
        top->trace(&file_, 99);
        file_.open(path);
    }
    ~FileWaves() override { file_.close(); }
    void dump(uint64_t time_ns) override { file_.dump(time_ns); }

private:
    TraceFile file_;
};
#endif

int serve(dmasim_sim::Clock& clock, Vtop* top) {
    g_in = env_fd("DMASIM_CMD_FD");
    g_out = env_fd("DMASIM_RSP_FD");
    ::fcntl(g_in, F_SETFL, ::fcntl(g_in, F_GETFL) | O_NONBLOCK);
    const char* spin = std::getenv("DMASIM_SPIN_US");
    if (spin != nullptr) g_spin_ns = std::atol(spin) * 1000L;
    constexpr uint64_t kMonWords = sizeof(top->mon) / sizeof(uint32_t);
    for (;;) {
        uint32_t a32 = 0;
        uint64_t a64 = 0;
        const int op = next_command(&a32, &a64);
        int status = p::kST_OK;
        uint32_t value = 0;
        switch (op) {
            case p::kOP_QUIT:
                flush_replies();
                return 0;
            case p::kOP_READ:
            case p::kOP_WRITE:
                if (!clock.access(op == p::kOP_WRITE, static_cast<uint32_t>(a64), a32, &value)) {
                    status = p::kST_AXI_TIMEOUT;
                    value = static_cast<uint32_t>(a64);
                }
                break;
            case p::kOP_DELAY:
                clock.advance_to(clock.now_ns() + a64);
                break;
            case p::kOP_RESET:
                clock.reset(a32);
                break;
            case p::kOP_STATUS:
                value = top->irq_out;
                break;
            case p::kOP_MONITOR:
                if (a64 < kMonWords) {
                    value = top->mon[static_cast<size_t>(a64)];
                } else {
                    status = p::kST_BAD_COMMAND;
                }
                break;
            default:
                status = p::kST_BAD_COMMAND;
        }
        reply(status, value, clock.now_ns());
    }
}

double wall_s() {
    return 1e-9 * static_cast<double>(now_ns());
}

int bare(dmasim_sim::Clock& clock, int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s --bare <dma base> <bytes> <seconds>\n", argv[0]);
        return 2;
    }
    const uint32_t base = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 0));
    const uint32_t bytes = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 0)) & ~3u;
    const double seconds = std::atof(argv[4]);
    constexpr uint32_t kSrc = 0x01000000;
    constexpr uint32_t kDst = 0x02000000;
    constexpr uint32_t kErrors =
        DMASIM_DMASR_DMAINTERR_MASK | DMASIM_DMASR_DMASLVERR_MASK | DMASIM_DMASR_DMADECERR_MASK;
    uint32_t unused = 0;
    clock.access(true, base + DMASIM_MM2S_DMACR, DMASIM_DMACR_RS_MASK, &unused);
    clock.access(true, base + DMASIM_S2MM_DMACR, DMASIM_DMACR_RS_MASK, &unused);
    uint64_t streaming = 0;
    uint64_t transfers = 0;
    double spent = 0.0;
    const double start = wall_s();
    while ((spent < seconds || transfers == 0) && wall_s() - start < 10 * seconds + 10) {
        clock.access(true, base + DMASIM_S2MM_DA, kDst, &unused);
        clock.access(true, base + DMASIM_S2MM_LENGTH, bytes, &unused);
        clock.access(true, base + DMASIM_MM2S_SA, kSrc, &unused);
        const double t0 = wall_s();
        const uint64_t c0 = clock.clocks();
        clock.access(true, base + DMASIM_MM2S_LENGTH, bytes, &unused);
        for (;;) {
            for (int i = 0; i < 256; ++i) clock.tick();
            uint32_t mm2s = 0;
            uint32_t s2mm = 0;
            clock.access(false, base + DMASIM_MM2S_DMASR, 0, &mm2s);
            clock.access(false, base + DMASIM_S2MM_DMASR, 0, &s2mm);
            if ((mm2s & s2mm & DMASIM_DMASR_IDLE_MASK) != 0) break;
            if (((mm2s | s2mm) & kErrors) != 0) {
                std::fprintf(stderr, "dmasim_sim_top --bare: DMA error, DMASR 0x%08x 0x%08x\n",
                             mm2s, s2mm);
                return 1;
            }
        }
        streaming += clock.clocks() - c0;
        spent += wall_s() - t0;
        ++transfers;
    }
    std::printf("clocks %llu seconds %.6f clocks_per_s %.0f bytes_per_clock %.4f\n",
                static_cast<unsigned long long>(streaming), spent,
                static_cast<double>(streaming) / spent,
                static_cast<double>(bytes) * static_cast<double>(transfers) /
                    static_cast<double>(streaming));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const bool is_bare = argc > 1 && std::strcmp(argv[1], "--bare") == 0;
    const char* trace_file = nullptr;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--trace-file") == 0) trace_file = argv[i + 1];
    }
    if (is_bare) {  // a private DDR, big enough for the loop's two buffers
        constexpr uint64_t kSize = 64ull << 20;
        const int fd = ::memfd_create("dmasim-bare-ddr", 0);
        if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(kSize + 4096)) != 0) {
            std::perror("dmasim_sim_top --bare: DDR");
            return 1;
        }
        ::setenv("DMASIM_DDR_FD", std::to_string(fd).c_str(), 1);
        ::setenv("DMASIM_DDR_SIZE", std::to_string(kSize).c_str(), 1);
        ::unsetenv("DMASIM_DDR_PATH");
    }
    const char* clock_text = std::getenv("DMASIM_CLOCK_NS");
    const long clock_ns = clock_text != nullptr ? std::atol(clock_text) : 10;
    auto ctx = std::make_unique<VerilatedContext>();
    std::unique_ptr<dmasim_sim::Waves> waves;
#if VM_TRACE
    if (trace_file != nullptr && !is_bare) ctx->traceEverOn(true);
#endif
    auto top = std::make_unique<Vtop>(ctx.get());
#if VM_TRACE
    if (trace_file != nullptr && !is_bare) waves = std::make_unique<FileWaves>(top.get(), trace_file);
#else
    if (trace_file != nullptr) {
        std::fprintf(stderr, "dmasim_sim_top: built without wave support, no %s\n", trace_file);
    }
#endif
    dmasim_sim::Clock clock(ctx.get(), top.get(), static_cast<uint64_t>(clock_ns / 2), waves.get());
    clock.reset(16);  // power-on reset
    const int rc = is_bare ? bare(clock, argc, argv) : serve(clock, top.get());
    top->final();
    waves.reset();
    std::fflush(stdout);
    return rc;
}
