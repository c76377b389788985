// dmasim (simulation only): what both ends of the rtl target's mailbox use to
// poll it (the simulator, dmasim_sim_host.cpp, and the host's C++ end,
// dmasim/rtl/_mailbox.cpp): a monotonic clock in ns and the CPU's spin hint.
#ifndef DMASIM_SIM_SPIN_H
#define DMASIM_SIM_SPIN_H

#include <time.h>

namespace dmasim_spin {

// CLOCK_MONOTONIC in ns (a vDSO call: no system call).
inline long long now_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// Tell the CPU this is a spin loop (cheaper for the other hardware thread), not
// sched_yield: on a loaded machine a yield lets other processes in ahead (ms).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

}  // namespace dmasim_spin

#endif
