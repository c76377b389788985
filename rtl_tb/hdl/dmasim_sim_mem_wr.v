/*
 * dmasim (simulation only): AXI4 write slave over the host-shared DDR.
 *
 * Takes the S2MM master's write data one beat per clock and stores the strobed
 * bytes through C (dmasim_sim_mem.cpp) into the DDR file the host maps too.
 * Beats that hit an injected fault region or fall outside DDR are not stored;
 * the burst's B response is that of its first failing beat (a beat touching
 * several fault regions answers the worst of them, DECERR over SLVERR), or
 * OKAY. One address is held while a burst is taken, so bursts run back to
 * back.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

// Simulation-only model: DPI results go through blocking temporaries, registers
// start from initial values, and AXI side-band signals it has no use for are
// left unread.
/* verilator lint_off BLKSEQ */
/* verilator lint_off PROCASSINIT */
/* verilator lint_off UNUSEDSIGNAL */

module dmasim_sim_mem_wr #
(
    // address width in bits
    parameter ADDR_WIDTH = 32,
    // data width in bits (32 or 64)
    parameter DATA_WIDTH = 32,
    // write strobe width in bits
    parameter STRB_WIDTH = DATA_WIDTH/8
)
(
    input  wire                   clk,
    input  wire                   rst,

    input  wire [ADDR_WIDTH-1:0]  s_axi_awaddr,
    input  wire [7:0]             s_axi_awlen,
    input  wire [2:0]             s_axi_awsize,
    input  wire [1:0]             s_axi_awburst,
    input  wire                   s_axi_awvalid,
    output wire                   s_axi_awready,
    input  wire [DATA_WIDTH-1:0]  s_axi_wdata,
    input  wire [STRB_WIDTH-1:0]  s_axi_wstrb,
    input  wire                   s_axi_wlast,
    input  wire                   s_axi_wvalid,
    output wire                   s_axi_wready,
    output reg  [1:0]             s_axi_bresp,
    output reg                    s_axi_bvalid,
    input  wire                   s_axi_bready
);

import "DPI-C" function int dmasim_mem_write(input longint unsigned addr, input int nbytes,
                                             input longint unsigned data, input int strb);

initial begin
    if (DATA_WIDTH != 32 && DATA_WIDTH != 64) begin
        $error("Error: DATA_WIDTH must be 32 or 64 (instance %m)");
        $finish;
    end
end

// the burst being taken
reg busy_reg = 1'b0;
reg [63:0] addr_reg = 64'd0;
reg [2:0] size_reg = 3'd0;
reg fixed_reg = 1'b0;
reg [1:0] resp_reg = 2'b00;
// the next burst's address, accepted while the current one is taken
reg pend_reg = 1'b0;
reg [63:0] pend_addr_reg = 64'd0;
reg [2:0] pend_size_reg = 3'd0;
reg pend_fixed_reg = 1'b0;

assign s_axi_awready = !pend_reg;
// a burst can end only when its B response has a free slot
assign s_axi_wready = busy_reg && (!s_axi_bvalid || s_axi_bready);

reg [63:0] next_addr;
reg [63:0] beat_data;
integer beat_resp;
reg [1:0] burst_resp;
// still taking a burst after this clock's beat
reg load_busy;

always @(posedge clk) begin
    if (rst) begin
        busy_reg <= 1'b0;
        pend_reg <= 1'b0;
        s_axi_bvalid <= 1'b0;
        resp_reg <= 2'b00;
    end else begin
        load_busy = busy_reg;
        if (s_axi_bvalid && s_axi_bready) begin
            s_axi_bvalid <= 1'b0;
        end
        if (s_axi_wvalid && s_axi_wready) begin
            beat_data = 64'd0;
            beat_data[DATA_WIDTH-1:0] = s_axi_wdata;
            beat_resp = dmasim_mem_write(addr_reg, STRB_WIDTH, beat_data,
                                         {{(32-STRB_WIDTH){1'b0}}, s_axi_wstrb});
            burst_resp = resp_reg != 2'b00 ? resp_reg : beat_resp[1:0];
            next_addr = (addr_reg & ~((64'd1 << size_reg) - 64'd1)) + (64'd1 << size_reg);
            if (!fixed_reg) addr_reg <= next_addr;
            if (s_axi_wlast) begin
                s_axi_bresp <= burst_resp;
                s_axi_bvalid <= 1'b1;
                resp_reg <= 2'b00;
                busy_reg <= 1'b0;
                load_busy = 1'b0;
            end else begin
                resp_reg <= burst_resp;
            end
        end
        if (!load_busy && pend_reg) begin
            busy_reg <= 1'b1;
            addr_reg <= pend_addr_reg;
            size_reg <= pend_size_reg;
            fixed_reg <= pend_fixed_reg;
            pend_reg <= 1'b0;
        end else if (!load_busy && s_axi_awvalid && s_axi_awready) begin
            busy_reg <= 1'b1;
            addr_reg <= {{(64-ADDR_WIDTH){1'b0}}, s_axi_awaddr};
            size_reg <= s_axi_awsize;
            fixed_reg <= s_axi_awburst == 2'b00;
        end
        if (s_axi_awvalid && s_axi_awready && load_busy) begin
            pend_reg <= 1'b1;
            pend_addr_reg <= {{(64-ADDR_WIDTH){1'b0}}, s_axi_awaddr};
            pend_size_reg <= s_axi_awsize;
            pend_fixed_reg <= s_axi_awburst == 2'b00;
        end
    end
end

endmodule

/* verilator lint_on BLKSEQ */
/* verilator lint_on PROCASSINIT */
/* verilator lint_on UNUSEDSIGNAL */

`resetall
