/*
 * dmasim (simulation only): the DMAs' AXI4 masters onto DDR's one read port
 * and one write port, standing in for the PS's HP port and interconnect.
 *
 * RD_PORTS read masters (MM2S datamovers, SG engines) share the read port and
 * WR_PORTS write masters (S2MM datamovers, SG engines) the write port; each
 * direction is arbitrated on its own, the same way:
 *   one burst at a time: a master's AR (AW) is granted round-robin, starting
 *   after the master served last, while no burst is open; its R beats go
 *   back to it and RLAST frees the port (its W beats go to the port, W may
 *   run in the clock of the AW grant, and the B response frees the port).
 * Buses are flattened, master i in bits [i*W +: W].
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

// Simulation-only: registers start from initial values as well as from reset.
/* verilator lint_off PROCASSINIT */
/* verilator lint_off UNUSEDSIGNAL */

module dmasim_sim_axi_arbiter #
(
    parameter RD_PORTS = 2,
    parameter WR_PORTS = 2,
    parameter ADDR_WIDTH = 32,
    parameter DATA_WIDTH = 32,
    parameter STRB_WIDTH = DATA_WIDTH/8
)
(
    input  wire                            clk,
    input  wire                            rst,

    /*
     * Read masters -> read port
     */
    input  wire [RD_PORTS*ADDR_WIDTH-1:0]  s_araddr,
    input  wire [RD_PORTS*8-1:0]           s_arlen,
    input  wire [RD_PORTS*3-1:0]           s_arsize,
    input  wire [RD_PORTS*2-1:0]           s_arburst,
    input  wire [RD_PORTS-1:0]             s_arvalid,
    output wire [RD_PORTS-1:0]             s_arready,
    output wire [RD_PORTS*DATA_WIDTH-1:0]  s_rdata,
    output wire [RD_PORTS*2-1:0]           s_rresp,
    output wire [RD_PORTS-1:0]             s_rlast,
    output wire [RD_PORTS-1:0]             s_rvalid,
    input  wire [RD_PORTS-1:0]             s_rready,

    output wire [ADDR_WIDTH-1:0]           m_araddr,
    output wire [7:0]                      m_arlen,
    output wire [2:0]                      m_arsize,
    output wire [1:0]                      m_arburst,
    output wire                            m_arvalid,
    input  wire                            m_arready,
    input  wire [DATA_WIDTH-1:0]           m_rdata,
    input  wire [1:0]                      m_rresp,
    input  wire                            m_rlast,
    input  wire                            m_rvalid,
    output wire                            m_rready,

    /*
     * Write masters -> write port
     */
    input  wire [WR_PORTS*ADDR_WIDTH-1:0]  s_awaddr,
    input  wire [WR_PORTS*8-1:0]           s_awlen,
    input  wire [WR_PORTS*3-1:0]           s_awsize,
    input  wire [WR_PORTS*2-1:0]           s_awburst,
    input  wire [WR_PORTS-1:0]             s_awvalid,
    output wire [WR_PORTS-1:0]             s_awready,
    input  wire [WR_PORTS*DATA_WIDTH-1:0]  s_wdata,
    input  wire [WR_PORTS*STRB_WIDTH-1:0]  s_wstrb,
    input  wire [WR_PORTS-1:0]             s_wlast,
    input  wire [WR_PORTS-1:0]             s_wvalid,
    output wire [WR_PORTS-1:0]             s_wready,
    output wire [WR_PORTS*2-1:0]           s_bresp,
    output wire [WR_PORTS-1:0]             s_bvalid,
    input  wire [WR_PORTS-1:0]             s_bready,

    output wire [ADDR_WIDTH-1:0]           m_awaddr,
    output wire [7:0]                      m_awlen,
    output wire [2:0]                      m_awsize,
    output wire [1:0]                      m_awburst,
    output wire                            m_awvalid,
    input  wire                            m_awready,
    output wire [DATA_WIDTH-1:0]           m_wdata,
    output wire [STRB_WIDTH-1:0]           m_wstrb,
    output wire                            m_wlast,
    output wire                            m_wvalid,
    input  wire                            m_wready,
    input  wire [1:0]                      m_bresp,
    input  wire                            m_bvalid,
    output wire                            m_bready
);

// index width, enough for either direction
localparam MAX_PORTS = RD_PORTS > WR_PORTS ? RD_PORTS : WR_PORTS;
localparam SEL_WIDTH = MAX_PORTS > 1 ? $clog2(MAX_PORTS) : 1;
// index width of each direction
localparam RD_SEL = RD_PORTS > 1 ? $clog2(RD_PORTS) : 1;
localparam WR_SEL = WR_PORTS > 1 ? $clog2(WR_PORTS) : 1;

// round-robin: the first of `ports` masters asking, starting after `last`;
// bit SEL_WIDTH of the result says whether any asks
function [SEL_WIDTH:0] rr_pick(input [MAX_PORTS-1:0] valid, input [SEL_WIDTH-1:0] last,
                               input integer ports);
    integer k;
    integer j;
    begin
        rr_pick = {1'b0, last};
        for (k = 1; k <= MAX_PORTS; k = k + 1) begin
            j = ({{(32-SEL_WIDTH){1'b0}}, last} + k) % ports;
            if (k <= ports && !rr_pick[SEL_WIDTH] && valid[j]) begin
                rr_pick = {1'b1, j[SEL_WIDTH-1:0]};
            end
        end
    end
endfunction

/*
 * Read direction
 */
reg rd_busy_reg = 1'b0;
reg [RD_SEL-1:0] rd_grant_reg = {RD_SEL{1'b0}};
reg [SEL_WIDTH-1:0] rd_last_reg = {SEL_WIDTH{1'b0}};

localparam [RD_PORTS-1:0] RD_ONE = 1;
reg [MAX_PORTS-1:0] rd_asks;
always @* begin
    rd_asks = {MAX_PORTS{1'b0}};
    rd_asks[RD_PORTS-1:0] = s_arvalid;
end
wire [SEL_WIDTH:0] rd_pick_any = rr_pick(rd_asks, rd_last_reg, RD_PORTS);
wire rd_found = rd_pick_any[SEL_WIDTH];
wire [RD_SEL-1:0] rd_pick = rd_pick_any[RD_SEL-1:0];

assign m_araddr  = s_araddr[rd_pick*ADDR_WIDTH +: ADDR_WIDTH];
assign m_arlen   = s_arlen[rd_pick*8 +: 8];
assign m_arsize  = s_arsize[rd_pick*3 +: 3];
assign m_arburst = s_arburst[rd_pick*2 +: 2];
assign m_arvalid = !rd_busy_reg && rd_found;
assign s_arready = (!rd_busy_reg && rd_found && m_arready)
    ? (RD_ONE << rd_pick) : {RD_PORTS{1'b0}};

assign s_rdata  = {RD_PORTS{m_rdata}};
assign s_rresp  = {RD_PORTS{m_rresp}};
assign s_rlast  = {RD_PORTS{m_rlast}};
assign s_rvalid = rd_busy_reg && m_rvalid ? (RD_ONE << rd_grant_reg) : {RD_PORTS{1'b0}};
assign m_rready = rd_busy_reg && s_rready[rd_grant_reg];

always @(posedge clk) begin
    if (!rd_busy_reg && rd_found && m_arready) begin
        rd_busy_reg <= 1'b1;
        rd_grant_reg <= rd_pick;
        rd_last_reg <= rd_pick_any[SEL_WIDTH-1:0];
    end
    if (rd_busy_reg && m_rvalid && m_rready && m_rlast) begin
        rd_busy_reg <= 1'b0;
    end
    if (rst) begin
        rd_busy_reg <= 1'b0;
        rd_last_reg <= {SEL_WIDTH{1'b0}};
    end
end

/*
 * Write direction
 */
reg wr_busy_reg = 1'b0;
reg [WR_SEL-1:0] wr_grant_reg = {WR_SEL{1'b0}};
reg [SEL_WIDTH-1:0] wr_last_reg = {SEL_WIDTH{1'b0}};

localparam [WR_PORTS-1:0] WR_ONE = 1;
reg [MAX_PORTS-1:0] wr_asks;
always @* begin
    wr_asks = {MAX_PORTS{1'b0}};
    wr_asks[WR_PORTS-1:0] = s_awvalid;
end
wire [SEL_WIDTH:0] wr_pick_any = rr_pick(wr_asks, wr_last_reg, WR_PORTS);
wire wr_found = wr_pick_any[SEL_WIDTH];
wire [WR_SEL-1:0] wr_pick = wr_pick_any[WR_SEL-1:0];

// the master whose data flows: the granted one, else the one about to be granted
wire [WR_SEL-1:0] wr_cur = wr_busy_reg ? wr_grant_reg : wr_pick;
wire wr_data_on = wr_busy_reg || wr_found;
wire [WR_PORTS-1:0] wr_one_hot = WR_ONE << wr_cur;

assign m_awaddr  = s_awaddr[wr_pick*ADDR_WIDTH +: ADDR_WIDTH];
assign m_awlen   = s_awlen[wr_pick*8 +: 8];
assign m_awsize  = s_awsize[wr_pick*3 +: 3];
assign m_awburst = s_awburst[wr_pick*2 +: 2];
assign m_awvalid = !wr_busy_reg && wr_found;
assign s_awready = (!wr_busy_reg && wr_found && m_awready) ? wr_one_hot : {WR_PORTS{1'b0}};

assign m_wdata  = s_wdata[wr_cur*DATA_WIDTH +: DATA_WIDTH];
assign m_wstrb  = s_wstrb[wr_cur*STRB_WIDTH +: STRB_WIDTH];
assign m_wlast  = s_wlast[wr_cur];
assign m_wvalid = wr_data_on && s_wvalid[wr_cur];
assign s_wready = (wr_data_on && m_wready) ? wr_one_hot : {WR_PORTS{1'b0}};

assign s_bresp  = {WR_PORTS{m_bresp}};
assign s_bvalid = wr_busy_reg && m_bvalid ? (WR_ONE << wr_grant_reg) : {WR_PORTS{1'b0}};
assign m_bready = wr_busy_reg && s_bready[wr_grant_reg];

always @(posedge clk) begin
    if (!wr_busy_reg && wr_found && m_awready) begin
        wr_busy_reg <= 1'b1;
        wr_grant_reg <= wr_pick;
        wr_last_reg <= wr_pick_any[SEL_WIDTH-1:0];
    end
    if (wr_busy_reg && m_bvalid && m_bready) begin
        wr_busy_reg <= 1'b0;
    end
    if (rst) begin
        wr_busy_reg <= 1'b0;
        wr_last_reg <= {SEL_WIDTH{1'b0}};
    end
end

endmodule

/* verilator lint_on PROCASSINIT */
/* verilator lint_on UNUSEDSIGNAL */

`resetall
