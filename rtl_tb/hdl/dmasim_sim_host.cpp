// dmasim (simulation only): the main of the rtl target's simulator. It clocks
// the Verilated dmasim_sim_top in a plain C++ loop (dmasim_sim_clock.h) and
// serves the host's commands between clock edges: no timing scheduler, no
// VPI, no Python in the simulator.
//
// Commands come through a mailbox in the control area after the shared DDR
// (layout: dmasim_sim_shared.h, generated from dmasim/rtl/shared.py; records:
// dmasim_sim_protocol.h, generated from dmasim/rtl/protocol.py). The host
// writes a command record and then bumps CMD_SEQ; the simulator runs it,
// writes the reply record and sets RSP_SEQ to the same number. Each side
// waits for the other by polling the sequence word for a short while
// (DMASIM_SPIN_US, default 30 us: the next command usually follows within
// microseconds), then sleeps on it with a futex, having said so in its
// SLEEPING word so that the other side wakes it. Polling that keeps finding
// nothing (both processes on one CPU) is paused for a while. No pipe and no system call
// in the common case. A futex sleep is limited to 50 ms, after which the
// simulator checks that its parent (the host) still lives and exits if not.
//
// Usage (dmasim/rtl/process.py starts it):
//   dmasim_sim_top [--trace --trace-file <path>]
//       serve commands; DDR and the control area from DMASIM_DDR_FD /
//       DMASIM_DDR_SIZE (dmasim_sim_mem.cpp); clock period DMASIM_CLOCK_NS
//   dmasim_sim_top --bare <dma base> <bytes> <seconds> [<access clocks>]
//       the simulator's limit: the same design, no host. Loop back <bytes>
//       (S2MM, then MM2S, as the drivers do) again and again for about
//       <seconds> of wall time in a private DDR, and print
//       "clocks <n> seconds <s> clocks_per_s <r> bytes_per_clock <b>",
//       counting the clocks from the MM2S LENGTH write until both channels
//       are Idle (DMASR read every 256 clocks); the first loopback, which
//       touches the buffers' pages, is not counted. Then read MM2S DMASR
//       again and again for about a quarter of <seconds>, each access
//       <access clocks> (default 1) after the one before as the host's
//       reads are, and add "reads_per_s <r> clocks_per_read <c>": the most
//       register reads a second the target could do with no host at all.

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "Vtop.h"
#include "dmasim_regmap.h"
#include "dmasim_sim_clock.h"
#include "dmasim_sim_protocol.h"
#include "dmasim_sim_shared.h"
#include "dmasim_sim_spin.h"
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

extern "C" unsigned char* dmasim_mem_control();  // dmasim_sim_mem.cpp

namespace {

namespace p = dmasim_protocol;
namespace sh = dmasim_shared;
using dmasim_spin::cpu_relax;
using dmasim_spin::now_ns;

// The mailbox page, shared with the host.
class Mailbox {
public:
    Mailbox() : base_(dmasim_mem_control() + sh::kMAILBOX), parent_(::getppid()) {
        const char* spin = std::getenv("DMASIM_SPIN_US");
        if (spin != nullptr) spin_ns_ = std::atol(spin) * 1000L;
    }

    // Wait for the next command; false when the host is gone.
    bool next(int* op, uint32_t* a32, uint64_t* a64) {
        const long start = now_ns();
        const bool spin = skip_ == 0;
        if (!spin) --skip_;
        bool slept = false;
        // The next command is exactly seen_ + 1: any other value is a sequence number caught
        // half-written (a host storing it byte by byte), never a command to run.
        const uint32_t next_seq = seen_ + 1u;
        uint32_t now_seq = 0;
        while ((now_seq = load(sh::kCMD_SEQ)) != next_seq) {
            if (spin && now_ns() - start < spin_ns_) {
                cpu_relax();  // not sched_yield: under load it lets others in ahead (ms)
                continue;
            }
            slept = true;
            store(sh::kSIM_SLEEPING, 1);
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
            now_seq = load(sh::kCMD_SEQ);
            if (now_seq != next_seq) {  // the kernel sleeps only while the word holds now_seq
                timespec limit = {0, 50000000};  // 50 ms, then look for the parent
                ::syscall(SYS_futex, word(sh::kCMD_SEQ), FUTEX_WAIT, now_seq, &limit, nullptr, 0);
            }
            store(sh::kSIM_SLEEPING, 0);
            if (::getppid() != parent_) return false;
        }
        if (spin && slept && ++misses_ >= kSpinMisses) {  // polling does not pay: pause it
            skip_ = kSpinPause;
            misses_ = 0;
        } else if (spin && !slept) {
            misses_ = 0;
        }
        seen_ = next_seq;
        const uint8_t* rec = base_ + sh::kCMD;
        *op = rec[0];
        std::memcpy(a32, rec + 4, 4);
        std::memcpy(a64, rec + 8, 8);
        return true;
    }

    // Answer the command last returned by next().
    void reply(int status, uint32_t value, uint64_t time_ns) {
        uint8_t* rec = base_ + sh::kRSP;
        std::memset(rec, 0, p::kRECORD_BYTES);
        rec[0] = static_cast<uint8_t>(status);
        std::memcpy(rec + 4, &value, 4);
        std::memcpy(rec + 8, &time_ns, 8);
        store(sh::kRSP_SEQ, seen_);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (load(sh::kHOST_SLEEPING) != 0) {
            ::syscall(SYS_futex, word(sh::kRSP_SEQ), FUTEX_WAKE, 1, nullptr, nullptr, 0);
        }
    }

private:
    uint32_t* word(uint32_t off) { return reinterpret_cast<uint32_t*>(base_ + off); }
    uint32_t load(uint32_t off) { return __atomic_load_n(word(off), __ATOMIC_ACQUIRE); }
    void store(uint32_t off, uint32_t v) { __atomic_store_n(word(off), v, __ATOMIC_RELEASE); }

    uint8_t* base_;
    pid_t parent_;
    long spin_ns_ = 30000;
    uint32_t seen_ = 0;  // the host zeroes the mailbox before it starts the simulator
    // With host and simulator on one CPU, polling only delays the host: after kSpinMisses
    // polls in a row that found nothing, sleep at once for the next kSpinPause commands.
    static constexpr int kSpinMisses = 4;
    static constexpr int kSpinPause = 256;
    int misses_ = 0;
    int skip_ = 0;
};

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
    Mailbox mailbox;
    constexpr uint64_t kMonWords = sizeof(top->mon) / sizeof(uint32_t);
    for (;;) {
        int op = p::kOP_QUIT;
        uint32_t a32 = 0;
        uint64_t a64 = 0;
        if (!mailbox.next(&op, &a32, &a64)) {
            std::fprintf(stderr, "dmasim_sim_top: the host process is gone; exiting\n");
            return 0;
        }
        int status = p::kST_OK;
        uint32_t value = 0;
        switch (op) {
            case p::kOP_QUIT:
                return 0;
            case p::kOP_READ:
            case p::kOP_WRITE:
                if (!clock.access(op == p::kOP_WRITE, static_cast<uint32_t>(a64), a32, &value,
                                  static_cast<uint32_t>(a64 >> 32))) {
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
            case p::kOP_SKIPPED:
                value = clock.skipped() > 0xffffffffull ? 0xffffffffu
                                                        : static_cast<uint32_t>(clock.skipped());
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
        mailbox.reply(status, value, clock.now_ns());
    }
}

double wall_s() {
    return 1e-9 * static_cast<double>(now_ns());
}

int bare(dmasim_sim::Clock& clock, int argc, char** argv) {
    if (argc != 5 && argc != 6) {
        std::fprintf(stderr, "usage: %s --bare <dma base> <bytes> <seconds> [<access clocks>]\n",
                     argv[0]);
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
    bool warm = false;  // the first loopback touches the buffers' pages: not counted
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
        if (warm) {
            streaming += clock.clocks() - c0;
            spent += wall_s() - t0;
            ++transfers;
        }
        warm = true;
    }
    // Register reads as the host makes them: one at a time, <access clocks> apart.
    const uint32_t spacing =
        argc == 6 ? static_cast<uint32_t>(std::strtoul(argv[5], nullptr, 0)) : 1;
    uint64_t reads = 0;
    const uint64_t r0 = clock.clocks();
    const uint64_t skipped0 = clock.skipped();
    const double t_reads = wall_s();
    double read_s = 0.0;
    while (read_s < seconds / 4 || reads == 0) {
        for (int i = 0; i < 1000; ++i) {
            uint32_t value = 0;
            clock.access(false, base + DMASIM_MM2S_DMASR, 0, &value, spacing);
        }
        reads += 1000;
        read_s = wall_s() - t_reads;
    }
    std::printf("clocks %llu seconds %.6f clocks_per_s %.0f bytes_per_clock %.4f "
                "reads_per_s %.0f clocks_per_read %.2f skipped_per_read %.2f\n",
                static_cast<unsigned long long>(streaming), spent,
                static_cast<double>(streaming) / spent,
                static_cast<double>(bytes) * static_cast<double>(transfers) /
                    static_cast<double>(streaming),
                static_cast<double>(reads) / read_s,
                static_cast<double>(clock.clocks() - r0) / static_cast<double>(reads),
                static_cast<double>(clock.skipped() - skipped0) / static_cast<double>(reads));
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
        if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(kSize + sh::kCONTROL_SIZE)) != 0) {
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
    const char* skip_text = std::getenv("DMASIM_RTL_IDLE_SKIP");
    clock.allow_idle_skip(skip_text == nullptr || std::strcmp(skip_text, "0") != 0);
    clock.reset(16);  // power-on reset
    const int rc = is_bare ? bare(clock, argc, argv) : serve(clock, top.get());
    top->final();
    waves.reset();
    std::fflush(stdout);
    return rc;
}
