// dmasim (simulation only): the command pipe of the rtl target's simulator,
// for the host loop in dmasim_sim_top.v (DPI-C).
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

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dmasim_sim_protocol.h"

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

}  // namespace

extern "C" {

// Clock period in ns (DMASIM_CLOCK_NS, default 10).
int dmasim_host_clock_ns() {
    const char* text = std::getenv("DMASIM_CLOCK_NS");
    return text != nullptr ? std::atoi(text) : 10;
}

// Next command's opcode and arguments; OP_QUIT when the host closed the pipe.
int dmasim_host_next(unsigned int* a32, unsigned long long* a64) {
    if (g_in < 0) {
        g_in = env_fd("DMASIM_CMD_FD");
        g_out = env_fd("DMASIM_RSP_FD");
        ::fcntl(g_in, F_SETFL, ::fcntl(g_in, F_GETFL) | O_NONBLOCK);
        const char* spin = std::getenv("DMASIM_SPIN_US");
        if (spin != nullptr) g_spin_ns = std::atol(spin) * 1000L;
    }
    if (!fill()) {
        *a32 = 0;
        *a64 = 0;
        return kOpQuit;
    }
    const uint8_t* rec = g_buf + g_pos;
    g_pos += kRecord;
    *a32 = get<uint32_t>(rec + 4);
    *a64 = get<uint64_t>(rec + 8);
    return rec[0];
}

// Queue the reply to the command just served.
void dmasim_host_reply(int status, unsigned int value, unsigned long long time_ns) {
    uint8_t rec[kRecord] = {};
    rec[0] = static_cast<uint8_t>(status);
    std::memcpy(rec + 4, &value, 4);
    const uint64_t t = time_ns;
    std::memcpy(rec + 8, &t, 8);
    g_replies.insert(g_replies.end(), rec, rec + kRecord);
}

}  // extern "C"
