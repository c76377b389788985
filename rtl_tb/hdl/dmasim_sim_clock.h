// dmasim (simulation only): the clock, reset and register access of the rtl
// target's simulator, in C++ around the Verilated dmasim_sim_top.
//
// Time is kept in ns. The clock starts low and toggles every half period
// (posedges at half, 3 half, 5 half, ...). Inputs change between edges and
// take effect at the next posedge, as non-blocking assignments in HDL would.
//
// Every edge is one evaluation of the model. Without waves a clock edge
// calls the model's own evaluation (Vtop___024root___eval, which
// Vtop::eval() calls) directly: Vtop::eval() adds a mutex (freeing class
// objects, which synthesisable RTL has none of) and a flush of other
// threads' messages (the model is built single-threaded) around it, a
// quarter of an idle clock's cost. With waves every evaluation is
// Vtop::eval(), which also marks the activity the wave writer dumps. Input
// changes (settle) and the first evaluation go through Vtop::eval() too, so
// its bookkeeping still runs; a Verilator that names the function otherwise
// leaves the weak symbol unresolved and every edge uses Vtop::eval().
//
// Idle clocks are skipped, not evaluated, when the design is at a fixed point:
// a clock period that changed no byte of the model's state (the whole
// Vtop___024root: every register, memory and trigger) and called no DPI
// function (no DDR beat) would repeat itself exactly with the same inputs, so
// the next N periods can only leave everything as it is, and time and the
// clock count jump over them. Inputs change only between commands, and a
// command runs to its end before the host touches DDR or the fault table, so
// within one wait the inputs are constant. The build (dmasim/rtl/build.py)
// turns this off (DMASIM_IDLE_SKIP 0 in dmasim_sim_idle.h) for a design whose
// evaluation has effects outside that state ($random, $time, $display, DPI
// calls of its own, state in classes or modules not inlined into the root);
// waves turn it off (every edge is dumped), and so does DMASIM_RTL_IDLE_SKIP=0.

#ifndef DMASIM_SIM_CLOCK_H
#define DMASIM_SIM_CLOCK_H

#include <cstdint>
#include <cstring>
#include <vector>

#include "Vtop.h"
#include "dmasim_sim_idle.h"
#include "verilated.h"
#if DMASIM_IDLE_SKIP
#include "Vtop___024root.h"
#endif

// DPI calls into the DDR so far (dmasim_sim_mem.cpp): a clock that made one is not idle.
extern "C" uint64_t dmasim_mem_calls;

class Vtop___024root;
void Vtop___024root___eval(Vtop___024root* vlSelf) __attribute__((weak));

namespace dmasim_sim {

// Something that records waves; nullptr when the simulator runs without.
class Waves {
public:
    virtual ~Waves() = default;
    virtual void dump(uint64_t time_ns) = 0;
};

class Clock {
public:
    Clock(VerilatedContext* ctx, Vtop* top, uint64_t half_ns, Waves* waves)
        : ctx_(ctx), top_(top), half_(half_ns < 1 ? 1 : half_ns), next_edge_(half_), waves_(waves) {
        top_->clk = 0;
        top_->rst = 1;
        settle();
    }

    uint64_t now_ns() const { return now_; }
    uint64_t clocks() const { return clocks_; }

    // Re-evaluate after an input change (no time passes).
    void settle() {
        top_->eval();
        if (waves_ != nullptr) waves_->dump(now_);
    }

    // Evaluate a clock edge (the clock input has just changed).
    void edge() {
        if (waves_ != nullptr) {
            settle();
        } else if (Vtop___024root___eval != nullptr) {
            Vtop___024root___eval(top_->rootp);
        } else {
            top_->eval();
        }
    }

    // Let time run to `t`, taking every clock edge up to and including it (skipping idle
    // periods where it may).
    void advance_to(uint64_t t) {
        while (next_edge_ <= t) {
            // just after a rising edge, with at least kSkipMin more rising edges up to t
            if (skip_ && top_->clk && clocks_ >= next_check_ && next_edge_ + half_ <= t) {
                const uint64_t rises = (t - next_edge_ - half_) / (2 * half_) + 1;
                if (rises >= kSkipMin) {
                    skip_idle(rises);
                    continue;
                }
            }
            step();
        }
        now_ = t;
    }

    // Run to the next rising edge.
    void tick() { ticks(1); }

    // Run `rises` rising edges (skipping idle periods where it may).
    void ticks(uint64_t rises) {
        if (rises == 0) return;
        const uint64_t to_rise = (top_->clk ? next_edge_ + half_ : next_edge_) +
                                 (rises - 1) * 2 * half_;
        advance_to(to_rise);
    }

    // Allow or forbid skipping idle clocks (always forbidden with waves or when the build
    // says the design cannot be skipped).
    void allow_idle_skip(bool on) {
        skip_ = on && kIdleSkipBuilt && waves_ == nullptr;
        snapshot_.resize(skip_ ? kStateBytes : 0);
    }
    // Clock periods skipped so far.
    uint64_t skipped() const { return skipped_; }

    // `cycles` clocks (at least one) of reset, then one clock out of it.
    void reset(uint32_t cycles) {
        top_->rst = 1;
        settle();
        for (uint32_t i = 0; i < (cycles == 0 ? 1 : cycles); ++i) tick();
        top_->rst = 0;
        settle();
        tick();
    }

    // One AXI-Lite access through dmasim_sim_axil_master; false when the slave never
    // answered (the master's own timeout). `spacing` is the bus access time in clocks: the
    // access starts late enough that its address handshake comes that many clocks after the
    // previous access's, or as soon as the bus allows when that is later (0: at once).
    bool access(bool write, uint32_t addr, uint32_t wdata, uint32_t* rdata,
                uint32_t spacing = 0) {
        if (clocks_ + kAccessClocks < last_hs_ + spacing) {
            ticks(last_hs_ + spacing - kAccessClocks - clocks_);
        }
        top_->cmd_write = write;
        top_->cmd_addr = addr;
        top_->cmd_wdata = wdata;
        top_->cmd_seq = !top_->cmd_seq;
        // The next edge's evaluation starts with the logic fed by inputs, so a settle here
        // only matters to waves (the change shows at its own time).
        if (waves_ != nullptr) settle();
        do tick(); while (!top_->done);
        *rdata = top_->rsp_data;
        return !top_->rsp_timeout;
    }

    // Rising edges from starting an access to its address handshake when the slave is ready
    // at once (command register in dmasim_sim_axil_master, the DMA's register slave).
    static constexpr uint64_t kAccessClocks = 2;

private:
#if DMASIM_IDLE_SKIP
    static constexpr bool kIdleSkipBuilt = true;
    static constexpr size_t kStateBytes = sizeof(Vtop___024root);
#else
    static constexpr bool kIdleSkipBuilt = false;
    static constexpr size_t kStateBytes = 0;
#endif
    // Fewest rising edges worth a fixed-point check (one period is evaluated to make it).
    static constexpr uint64_t kSkipMin = 4;
    // After a check that found the design busy, the next comes this many clocks later at
    // most (doubling from 1): a long transfer pays a state copy every 64 clocks.
    static constexpr uint64_t kMaxCheckGap = 64;

    // One clock edge: time moves to it, the clock input flips, the model evaluates.
    void step() {
        now_ = next_edge_;
        ctx_->time(now_);
        if (!top_->clk && top_->axil_hs) last_hs_ = clocks_;  // a handshake at this edge
        top_->clk = !top_->clk;
        if (top_->clk) ++clocks_;
        edge();
        next_edge_ += half_;
    }

    // Just after a rising edge, with `rises` more wanted: run one period; when it changed
    // no state and made no DPI call, jump over the other rises - 1 (see the file's header).
    void skip_idle(uint64_t rises) {
        const unsigned char* state = reinterpret_cast<const unsigned char*>(top_->rootp);
        std::memcpy(snapshot_.data(), state, kStateBytes);
        const uint64_t calls = dmasim_mem_calls;
        step();
        step();
        if (dmasim_mem_calls == calls && !top_->axil_hs &&
            std::memcmp(snapshot_.data(), state, kStateBytes) == 0) {
            const uint64_t n = rises - 1;
            clocks_ += n;
            next_edge_ += n * 2 * half_;
            now_ = next_edge_ - half_;  // the last skipped rising edge
            ctx_->time(now_);
            skipped_ += n;
            check_gap_ = 1;
            next_check_ = clocks_;
        } else {  // busy: check again at once the first time (a pulse such as an AXI-Lite
                  // master's `done` takes one clock to fall), then after 1, 3, 7 ... clocks
            next_check_ = clocks_ + check_gap_ - 1;
            check_gap_ = check_gap_ * 2 > kMaxCheckGap ? kMaxCheckGap : check_gap_ * 2;
        }
    }

    VerilatedContext* ctx_;
    Vtop* top_;
    uint64_t half_;
    uint64_t now_ = 0;
    uint64_t next_edge_;
    uint64_t clocks_ = 0;
    uint64_t last_hs_ = 0;  // rising edge (counted from 0) of the last address handshake
    Waves* waves_;
    bool skip_ = false;
    uint64_t next_check_ = 0;  // no fixed-point check before this clock count
    uint64_t check_gap_ = 1;
    uint64_t skipped_ = 0;
    std::vector<unsigned char> snapshot_;
};

}  // namespace dmasim_sim

#endif
