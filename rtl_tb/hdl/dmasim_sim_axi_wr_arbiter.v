/*
 * dmasim (simulation only): PORTS AXI4 write masters (the DMAs' S2MM) onto
 * one write port (DDR), standing in for the PS's HP port and interconnect.
 *
 * One burst at a time: a master's AW is granted round-robin while no burst
 * is open; its W beats go to the port and the B response back to it, which
 * frees the port. Buses are flattened, port i in bits [i*W +: W].
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

// Simulation-only: registers start from initial values as well as from reset.
/* verilator lint_off PROCASSINIT */
/* verilator lint_off UNUSEDSIGNAL */

module dmasim_sim_axi_wr_arbiter #
(
    parameter PORTS = 2,
    parameter ADDR_WIDTH = 32,
    parameter DATA_WIDTH = 32,
    parameter STRB_WIDTH = DATA_WIDTH/8
)
(
    input  wire                         clk,
    input  wire                         rst,

    input  wire [PORTS*ADDR_WIDTH-1:0]  s_awaddr,
    input  wire [PORTS*8-1:0]           s_awlen,
    input  wire [PORTS*3-1:0]           s_awsize,
    input  wire [PORTS*2-1:0]           s_awburst,
    input  wire [PORTS-1:0]             s_awvalid,
    output wire [PORTS-1:0]             s_awready,
    input  wire [PORTS*DATA_WIDTH-1:0]  s_wdata,
    input  wire [PORTS*STRB_WIDTH-1:0]  s_wstrb,
    input  wire [PORTS-1:0]             s_wlast,
    input  wire [PORTS-1:0]             s_wvalid,
    output wire [PORTS-1:0]             s_wready,
    output wire [PORTS*2-1:0]           s_bresp,
    output wire [PORTS-1:0]             s_bvalid,
    input  wire [PORTS-1:0]             s_bready,

    output wire [ADDR_WIDTH-1:0]        m_awaddr,
    output wire [7:0]                   m_awlen,
    output wire [2:0]                   m_awsize,
    output wire [1:0]                   m_awburst,
    output wire                         m_awvalid,
    input  wire                         m_awready,
    output wire [DATA_WIDTH-1:0]        m_wdata,
    output wire [STRB_WIDTH-1:0]        m_wstrb,
    output wire                         m_wlast,
    output wire                         m_wvalid,
    input  wire                         m_wready,
    input  wire [1:0]                   m_bresp,
    input  wire                         m_bvalid,
    output wire                         m_bready
);

localparam SEL_WIDTH = PORTS > 1 ? $clog2(PORTS) : 1;

reg busy_reg = 1'b0;
reg [SEL_WIDTH-1:0] grant_reg = {SEL_WIDTH{1'b0}};
reg [SEL_WIDTH-1:0] last_reg = {SEL_WIDTH{1'b0}};

reg [SEL_WIDTH-1:0] pick;
reg found;
integer i;
integer j;
always @* begin
    pick = last_reg;
    found = 1'b0;
    for (i = 1; i <= PORTS; i = i + 1) begin
        j = ({{(32-SEL_WIDTH){1'b0}}, last_reg} + i) % PORTS;
        if (!found && s_awvalid[j]) begin
            pick = j[SEL_WIDTH-1:0];
            found = 1'b1;
        end
    end
end

// the master whose data flows: the granted one, else the one about to be granted
wire [SEL_WIDTH-1:0] cur = busy_reg ? grant_reg : pick;
wire data_on = busy_reg || found;
wire [PORTS-1:0] one_hot = {{PORTS-1{1'b0}}, 1'b1} << cur;

assign m_awaddr  = s_awaddr[pick*ADDR_WIDTH +: ADDR_WIDTH];
assign m_awlen   = s_awlen[pick*8 +: 8];
assign m_awsize  = s_awsize[pick*3 +: 3];
assign m_awburst = s_awburst[pick*2 +: 2];
assign m_awvalid = !busy_reg && found;
assign s_awready = (!busy_reg && found && m_awready) ? one_hot : {PORTS{1'b0}};

assign m_wdata  = s_wdata[cur*DATA_WIDTH +: DATA_WIDTH];
assign m_wstrb  = s_wstrb[cur*STRB_WIDTH +: STRB_WIDTH];
assign m_wlast  = s_wlast[cur];
assign m_wvalid = data_on && s_wvalid[cur];
assign s_wready = (data_on && m_wready) ? one_hot : {PORTS{1'b0}};

assign s_bresp  = {PORTS{m_bresp}};
assign s_bvalid = busy_reg ? ({{PORTS-1{1'b0}}, m_bvalid} << grant_reg) : {PORTS{1'b0}};
assign m_bready = busy_reg && s_bready[grant_reg];

always @(posedge clk) begin
    if (!busy_reg && found && m_awready) begin
        busy_reg <= 1'b1;
        grant_reg <= pick;
        last_reg <= pick;
    end
    if (busy_reg && m_bvalid && m_bready) begin
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
