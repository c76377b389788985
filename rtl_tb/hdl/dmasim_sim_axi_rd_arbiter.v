/*
 * dmasim (simulation only): PORTS AXI4 read masters (the DMAs' MM2S) onto
 * one read port (DDR), standing in for the PS's HP port and interconnect.
 *
 * One burst at a time: a master's AR is granted round-robin while no burst
 * is open, its R beats go back to it, and RLAST frees the port. Buses are
 * flattened, port i in bits [i*W +: W].
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

// Simulation-only: registers start from initial values as well as from reset.
/* verilator lint_off PROCASSINIT */
/* verilator lint_off UNUSEDSIGNAL */

module dmasim_sim_axi_rd_arbiter #
(
    parameter PORTS = 2,
    parameter ADDR_WIDTH = 32,
    parameter DATA_WIDTH = 32
)
(
    input  wire                         clk,
    input  wire                         rst,

    input  wire [PORTS*ADDR_WIDTH-1:0]  s_araddr,
    input  wire [PORTS*8-1:0]           s_arlen,
    input  wire [PORTS*3-1:0]           s_arsize,
    input  wire [PORTS*2-1:0]           s_arburst,
    input  wire [PORTS-1:0]             s_arvalid,
    output wire [PORTS-1:0]             s_arready,
    output wire [PORTS*DATA_WIDTH-1:0]  s_rdata,
    output wire [PORTS*2-1:0]           s_rresp,
    output wire [PORTS-1:0]             s_rlast,
    output wire [PORTS-1:0]             s_rvalid,
    input  wire [PORTS-1:0]             s_rready,

    output wire [ADDR_WIDTH-1:0]        m_araddr,
    output wire [7:0]                   m_arlen,
    output wire [2:0]                   m_arsize,
    output wire [1:0]                   m_arburst,
    output wire                         m_arvalid,
    input  wire                         m_arready,
    input  wire [DATA_WIDTH-1:0]        m_rdata,
    input  wire [1:0]                   m_rresp,
    input  wire                         m_rlast,
    input  wire                         m_rvalid,
    output wire                         m_rready
);

localparam SEL_WIDTH = PORTS > 1 ? $clog2(PORTS) : 1;

reg busy_reg = 1'b0;
reg [SEL_WIDTH-1:0] grant_reg = {SEL_WIDTH{1'b0}};
reg [SEL_WIDTH-1:0] last_reg = {SEL_WIDTH{1'b0}};

// round-robin pick among the masters asking, starting after the last one served
reg [SEL_WIDTH-1:0] pick;
reg found;
integer i;
integer j;
always @* begin
    pick = last_reg;
    found = 1'b0;
    for (i = 1; i <= PORTS; i = i + 1) begin
        j = ({{(32-SEL_WIDTH){1'b0}}, last_reg} + i) % PORTS;
        if (!found && s_arvalid[j]) begin
            pick = j[SEL_WIDTH-1:0];
            found = 1'b1;
        end
    end
end

assign m_araddr  = s_araddr[pick*ADDR_WIDTH +: ADDR_WIDTH];
assign m_arlen   = s_arlen[pick*8 +: 8];
assign m_arsize  = s_arsize[pick*3 +: 3];
assign m_arburst = s_arburst[pick*2 +: 2];
assign m_arvalid = !busy_reg && found;
assign s_arready = (!busy_reg && found && m_arready) ? ({{PORTS-1{1'b0}}, 1'b1} << pick)
                                                      : {PORTS{1'b0}};

assign s_rdata  = {PORTS{m_rdata}};
assign s_rresp  = {PORTS{m_rresp}};
assign s_rlast  = {PORTS{m_rlast}};
assign s_rvalid = busy_reg ? ({{PORTS-1{1'b0}}, m_rvalid} << grant_reg) : {PORTS{1'b0}};
assign m_rready = busy_reg && s_rready[grant_reg];

always @(posedge clk) begin
    if (!busy_reg && found && m_arready) begin
        busy_reg <= 1'b1;
        grant_reg <= pick;
        last_reg <= pick;
    end
    if (busy_reg && m_rvalid && m_rready && m_rlast) begin
        busy_reg <= 1'b0;
    end

    if (rst) begin
        busy_reg <= 1'b0;
        last_reg <= {SEL_WIDTH{1'b0}};
    end
end

endmodule

/* verilator lint_on PROCASSINIT */
/* verilator lint_on UNUSEDSIGNAL */

`resetall
