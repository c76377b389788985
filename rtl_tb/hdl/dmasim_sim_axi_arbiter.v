/*
 * dmasim (simulation only): the DMAs' AXI4 masters onto DDR's one read port
 * and one write port, standing in for the PS's HP port and interconnect.
 *
 * RD_PORTS read masters (MM2S datamovers, SG engines) share the read port and
 * WR_PORTS write masters (S2MM datamovers, SG engines) the write port; each
 * direction is arbitrated on its own, the same way: a master's AR (AW) is
 * granted round-robin, starting after the master served last, while fewer
 * than MAX_OUT bursts are open (so a burst queues behind the one being
 * served, as with a single master); the port answers in order, so R beats
 * go to the oldest open burst's master until its RLAST (W beats come from
 * the oldest burst's master until its WLAST, and B responses go back in AW
 * order).
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
// bursts granted and not finished, per direction (the DDR slave takes one while it serves one)
localparam [1:0] MAX_OUT = 2'd2;

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
 * Read direction: granted masters in AR order; R beats go to the oldest
 */
reg [RD_SEL-1:0] rd_q0_reg = {RD_SEL{1'b0}};
reg [RD_SEL-1:0] rd_q1_reg = {RD_SEL{1'b0}};
reg [1:0] rd_cnt_reg = 2'd0;
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
wire rd_room = rd_cnt_reg < MAX_OUT;
wire ar_fire = rd_room && rd_found && m_arready;
wire r_fire = rd_cnt_reg != 2'd0 && m_rvalid && m_rready && m_rlast;

assign m_araddr  = s_araddr[rd_pick*ADDR_WIDTH +: ADDR_WIDTH];
assign m_arlen   = s_arlen[rd_pick*8 +: 8];
assign m_arsize  = s_arsize[rd_pick*3 +: 3];
assign m_arburst = s_arburst[rd_pick*2 +: 2];
assign m_arvalid = rd_room && rd_found;
assign s_arready = ar_fire ? (RD_ONE << rd_pick) : {RD_PORTS{1'b0}};

assign s_rdata  = {RD_PORTS{m_rdata}};
assign s_rresp  = {RD_PORTS{m_rresp}};
assign s_rlast  = {RD_PORTS{m_rlast}};
assign s_rvalid = rd_cnt_reg != 2'd0 && m_rvalid ? (RD_ONE << rd_q0_reg) : {RD_PORTS{1'b0}};
assign m_rready = rd_cnt_reg != 2'd0 && s_rready[rd_q0_reg];

always @(posedge clk) begin
    if (r_fire) begin
        rd_q0_reg <= rd_q1_reg;
    end
    if (ar_fire) begin
        rd_last_reg <= rd_pick_any[SEL_WIDTH-1:0];
        if (rd_cnt_reg == 2'd0 || (rd_cnt_reg == 2'd1 && r_fire)) begin
            rd_q0_reg <= rd_pick;
        end else begin
            rd_q1_reg <= rd_pick;
        end
    end
    rd_cnt_reg <= rd_cnt_reg + {1'b0, ar_fire} - {1'b0, r_fire};
    if (rst) begin
        rd_cnt_reg <= 2'd0;
        rd_last_reg <= {SEL_WIDTH{1'b0}};
    end
end

/*
 * Write direction: granted masters in AW order; W beats and B responses go to the oldest
 * whose data / response is due
 */
reg [WR_SEL-1:0] w_q0_reg = {WR_SEL{1'b0}};
reg [WR_SEL-1:0] w_q1_reg = {WR_SEL{1'b0}};
reg [1:0] w_cnt_reg = 2'd0;
reg [WR_SEL-1:0] b_q0_reg = {WR_SEL{1'b0}};
reg [WR_SEL-1:0] b_q1_reg = {WR_SEL{1'b0}};
reg [1:0] b_cnt_reg = 2'd0;
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
wire wr_room = w_cnt_reg < MAX_OUT && b_cnt_reg < MAX_OUT;
wire aw_fire = wr_room && wr_found && m_awready;
wire w_on = w_cnt_reg != 2'd0;
wire w_fire = w_on && m_wvalid && m_wready && m_wlast;
wire b_on = b_cnt_reg != 2'd0;
wire b_fire = b_on && m_bvalid && m_bready;

assign m_awaddr  = s_awaddr[wr_pick*ADDR_WIDTH +: ADDR_WIDTH];
assign m_awlen   = s_awlen[wr_pick*8 +: 8];
assign m_awsize  = s_awsize[wr_pick*3 +: 3];
assign m_awburst = s_awburst[wr_pick*2 +: 2];
assign m_awvalid = wr_room && wr_found;
assign s_awready = aw_fire ? (WR_ONE << wr_pick) : {WR_PORTS{1'b0}};

assign m_wdata  = s_wdata[w_q0_reg*DATA_WIDTH +: DATA_WIDTH];
assign m_wstrb  = s_wstrb[w_q0_reg*STRB_WIDTH +: STRB_WIDTH];
assign m_wlast  = s_wlast[w_q0_reg];
assign m_wvalid = w_on && s_wvalid[w_q0_reg];
assign s_wready = w_on && m_wready ? (WR_ONE << w_q0_reg) : {WR_PORTS{1'b0}};

assign s_bresp  = {WR_PORTS{m_bresp}};
assign s_bvalid = b_on && m_bvalid ? (WR_ONE << b_q0_reg) : {WR_PORTS{1'b0}};
assign m_bready = b_on && s_bready[b_q0_reg];

always @(posedge clk) begin
    if (w_fire) begin
        w_q0_reg <= w_q1_reg;
    end
    if (b_fire) begin
        b_q0_reg <= b_q1_reg;
    end
    if (aw_fire) begin
        wr_last_reg <= wr_pick_any[SEL_WIDTH-1:0];
        if (w_cnt_reg == 2'd0 || (w_cnt_reg == 2'd1 && w_fire)) begin
            w_q0_reg <= wr_pick;
        end else begin
            w_q1_reg <= wr_pick;
        end
        if (b_cnt_reg == 2'd0 || (b_cnt_reg == 2'd1 && b_fire)) begin
            b_q0_reg <= wr_pick;
        end else begin
            b_q1_reg <= wr_pick;
        end
    end
    w_cnt_reg <= w_cnt_reg + {1'b0, aw_fire} - {1'b0, w_fire};
    b_cnt_reg <= b_cnt_reg + {1'b0, aw_fire} - {1'b0, b_fire};
    if (rst) begin
        w_cnt_reg <= 2'd0;
        b_cnt_reg <= 2'd0;
        wr_last_reg <= {SEL_WIDTH{1'b0}};
    end
end

endmodule

/* verilator lint_on PROCASSINIT */
/* verilator lint_on UNUSEDSIGNAL */

`resetall
