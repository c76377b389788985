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

#ifndef DMASIM_SIM_CLOCK_H
#define DMASIM_SIM_CLOCK_H

#include <cstdint>

#include "Vtop.h"
#include "verilated.h"

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

    // Let time run to `t`, taking every clock edge up to and including it.
    void advance_to(uint64_t t) {
        while (next_edge_ <= t) {
            now_ = next_edge_;
            ctx_->time(now_);
            if (!top_->clk && top_->axil_hs) last_hs_ = clocks_;  // a handshake at this edge
            top_->clk = !top_->clk;
            if (top_->clk) ++clocks_;
            edge();
            next_edge_ += half_;
        }
        now_ = t;
    }

    // Run to the next rising edge.
    void tick() {
        const uint64_t to_rise = top_->clk ? next_edge_ + half_ : next_edge_;
        advance_to(to_rise);
    }

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
        while (clocks_ + kAccessClocks < last_hs_ + spacing) tick();
        top_->cmd_write = write;
        top_->cmd_addr = addr;
        top_->cmd_wdata = wdata;
        top_->cmd_seq = !top_->cmd_seq;
        settle();
        do tick(); while (!top_->done);
        *rdata = top_->rsp_data;
        return !top_->rsp_timeout;
    }

    // Rising edges from starting an access to its address handshake when the slave is ready
    // at once (command register in dmasim_sim_axil_master, the DMA's register slave).
    static constexpr uint64_t kAccessClocks = 2;

private:
    VerilatedContext* ctx_;
    Vtop* top_;
    uint64_t half_;
    uint64_t now_ = 0;
    uint64_t next_edge_;
    uint64_t clocks_ = 0;
    uint64_t last_hs_ = 0;  // rising edge (counted from 0) of the last address handshake
    Waves* waves_;
};

}  // namespace dmasim_sim

#endif
