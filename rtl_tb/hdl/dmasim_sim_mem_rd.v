/*
 * dmasim (simulation only): AXI4 read slave over the host-shared DDR.
 *
 * Serves the MM2S master one beat per clock. Data and responses come from C
 * (dmasim_sim_mem.cpp) over the DDR file the host process maps too, so no
 * Python runs per beat and host buffers are the simulated DDR itself. The
 * response of each beat is OKAY, or SLVERR/DECERR for an injected fault region
 * or an address outside DDR. One address is held while a burst is served, so
 * bursts run back to back.
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

module dmasim_sim_mem_rd #
(
    // address width in bits
    parameter ADDR_WIDTH = 32,
    // data width in bits (32 or 64)
    parameter DATA_WIDTH = 32
)
(
    input  wire                   clk,
    input  wire                   rst,

    input  wire [ADDR_WIDTH-1:0]  s_axi_araddr,
    input  wire [7:0]             s_axi_arlen,
    input  wire [2:0]             s_axi_arsize,
    input  wire [1:0]             s_axi_arburst,
    input  wire                   s_axi_arvalid,
    output wire                   s_axi_arready,
    output reg  [DATA_WIDTH-1:0]  s_axi_rdata,
    output reg  [1:0]             s_axi_rresp,
    output reg                    s_axi_rlast,
    output reg                    s_axi_rvalid,
    input  wire                   s_axi_rready
);

import "DPI-C" function int dmasim_mem_read(input longint unsigned addr, input int nbytes,
                                            output longint unsigned data);

initial begin
    if (DATA_WIDTH != 32 && DATA_WIDTH != 64) begin
        $error("Error: DATA_WIDTH must be 32 or 64 (instance %m)");
        $finish;
    end
end

// the burst being served
reg busy_reg = 1'b0;
reg [63:0] addr_reg = 64'd0;
reg [7:0] count_reg = 8'd0;
reg [2:0] size_reg = 3'd0;
reg fixed_reg = 1'b0;
// the next burst, accepted while the current one is served
reg pend_reg = 1'b0;
reg [63:0] pend_addr_reg = 64'd0;
reg [7:0] pend_len_reg = 8'd0;
reg [2:0] pend_size_reg = 3'd0;
reg pend_fixed_reg = 1'b0;

assign s_axi_arready = !pend_reg;

reg [63:0] beat_data;
reg [63:0] next_addr;
integer beat_resp;
// still serving a burst after this clock's beat
reg load_busy;

always @(posedge clk) begin
    if (rst) begin
        busy_reg <= 1'b0;
        pend_reg <= 1'b0;
        s_axi_rvalid <= 1'b0;
        s_axi_rlast <= 1'b0;
    end else begin
        load_busy = busy_reg;
        if (s_axi_rvalid && s_axi_rready) begin
            s_axi_rvalid <= 1'b0;
        end
        if (busy_reg && (!s_axi_rvalid || s_axi_rready)) begin
            beat_resp = dmasim_mem_read(addr_reg, DATA_WIDTH/8, beat_data);
            s_axi_rdata <= beat_data[DATA_WIDTH-1:0];
            s_axi_rresp <= beat_resp[1:0];
            s_axi_rlast <= count_reg == 8'd0;
            s_axi_rvalid <= 1'b1;
            next_addr = (addr_reg & ~((64'd1 << size_reg) - 64'd1)) + (64'd1 << size_reg);
            if (!fixed_reg) addr_reg <= next_addr;
            count_reg <= count_reg - 8'd1;
            if (count_reg == 8'd0) begin
                load_busy = 1'b0;
                busy_reg <= 1'b0;
            end
        end
        if (!load_busy && pend_reg) begin
            busy_reg <= 1'b1;
            addr_reg <= pend_addr_reg;
            count_reg <= pend_len_reg;
            size_reg <= pend_size_reg;
            fixed_reg <= pend_fixed_reg;
            pend_reg <= 1'b0;
        end else if (!load_busy && s_axi_arvalid && s_axi_arready) begin
            busy_reg <= 1'b1;
            addr_reg <= {{(64-ADDR_WIDTH){1'b0}}, s_axi_araddr};
            count_reg <= s_axi_arlen;
            size_reg <= s_axi_arsize;
            fixed_reg <= s_axi_arburst == 2'b00;
        end
        if (s_axi_arvalid && s_axi_arready && (load_busy || pend_reg)) begin
            pend_reg <= 1'b1;
            pend_addr_reg <= {{(64-ADDR_WIDTH){1'b0}}, s_axi_araddr};
            pend_len_reg <= s_axi_arlen;
            pend_size_reg <= s_axi_arsize;
            pend_fixed_reg <= s_axi_arburst == 2'b00;
        end
    end
end

endmodule

/* verilator lint_on BLKSEQ */
/* verilator lint_on PROCASSINIT */
/* verilator lint_on UNUSEDSIGNAL */

`resetall
