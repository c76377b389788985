/*
 * dmasim (simulation only): the rtl target's simulation top.
 *
 * Wraps the design (dmasim_design, generated from the block design by
 * dmasim/rtl/generate.py) with what the PS side of a PYNQ-Z2 gives it: an
 * AXI-Lite master (dmasim_sim_axil_master) on physical addresses and DDR
 * behind the design's memory port (dmasim_sim_mem_rd / dmasim_sim_mem_wr,
 * storage shared with the host process through C).
 *
 * The clock, the reset and the register command are ports: the simulator's
 * C++ main (dmasim_sim_host.cpp) toggles the clock in a plain loop and serves
 * the rtl target's commands (dmasim/rtl/protocol.py) between clock edges, so
 * a register access, a delay or a reset runs in C++ and HDL alone, with no
 * timing scheduler, no VPI and no Python. Simulated time stands still
 * between commands.
 *
 * Bus access time: axil_hs is high in the clock before an AXI-Lite address
 * handshake (AW or AR), so the C++ side can start each access late enough
 * that its handshake comes the rtl target's bus access time after the
 * previous one (dmasim_sim_clock.h).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

// AXI side-band signals the simulation has no use for are left unread.
/* verilator lint_off UNUSEDSIGNAL */

module dmasim_sim_top #
(
    // memory port of dmasim_design
    parameter ADDR_WIDTH = 32,
    parameter DATA_WIDTH = 32,
    // interrupt lines and stream monitor bits of dmasim_design
    parameter NUM_IRQ = 2,
    parameter MON_BITS = 128
)
(
    input  wire                 clk,
    input  wire                 rst,
    // register command to the AXI-Lite master: a toggle of cmd_seq starts it
    input  wire                 cmd_seq,
    input  wire                 cmd_write,
    input  wire [31:0]          cmd_addr,
    input  wire [31:0]          cmd_wdata,
    output wire                 done,
    output wire [31:0]          rsp_data,
    output wire                 rsp_timeout,
    output wire                 axil_hs,
    // interrupt lines (bit i = line i of the design) and stream monitor counters
    output wire [31:0]          irq_out,
    output wire [MON_BITS-1:0]  mon
);

localparam STRB_WIDTH = DATA_WIDTH/8;

/*
 * AXI-Lite: sim master -> dmasim_design (physical addresses)
 */
wire [31:0] axil_awaddr;
wire [2:0]  axil_awprot;
wire        axil_awvalid;
wire        axil_awready;
wire [31:0] axil_wdata;
wire [3:0]  axil_wstrb;
wire        axil_wvalid;
wire        axil_wready;
wire [1:0]  axil_bresp;
wire        axil_bvalid;
wire        axil_bready;
wire [31:0] axil_araddr;
wire [2:0]  axil_arprot;
wire        axil_arvalid;
wire        axil_arready;
wire [31:0] axil_rdata;
wire [1:0]  axil_rresp;
wire        axil_rvalid;
wire        axil_rready;

/*
 * AXI4: dmasim_design memory port -> DDR
 */
wire [ADDR_WIDTH-1:0] rd_araddr;
wire [7:0]            rd_arlen;
wire [2:0]            rd_arsize;
wire [1:0]            rd_arburst;
wire                  rd_arvalid;
wire                  rd_arready;
wire [DATA_WIDTH-1:0] rd_rdata;
wire [1:0]            rd_rresp;
wire                  rd_rlast;
wire                  rd_rvalid;
wire                  rd_rready;

wire [ADDR_WIDTH-1:0] wr_awaddr;
wire [7:0]            wr_awlen;
wire [2:0]            wr_awsize;
wire [1:0]            wr_awburst;
wire                  wr_awvalid;
wire                  wr_awready;
wire [DATA_WIDTH-1:0] wr_wdata;
wire [STRB_WIDTH-1:0] wr_wstrb;
wire                  wr_wlast;
wire                  wr_wvalid;
wire                  wr_wready;
wire [1:0]            wr_bresp;
wire                  wr_bvalid;
wire                  wr_bready;

wire [NUM_IRQ-1:0] irq;
wire [1:0] rsp_resp;

assign axil_hs = (axil_awvalid && axil_awready) || (axil_arvalid && axil_arready);
assign irq_out = {{(32 > NUM_IRQ ? 32 - NUM_IRQ : 0){1'b0}}, irq};

dmasim_sim_axil_master #(
    .ADDR_WIDTH(32)
)
axil_master_inst (
    .clk(clk),
    .rst(rst),
    .cmd_seq(cmd_seq),
    .cmd_write(cmd_write),
    .cmd_addr(cmd_addr),
    .cmd_wdata(cmd_wdata),
    .done(done),
    .rsp_data(rsp_data),
    .rsp_resp(rsp_resp),
    .rsp_timeout(rsp_timeout),
    .m_axil_awaddr(axil_awaddr),
    .m_axil_awprot(axil_awprot),
    .m_axil_awvalid(axil_awvalid),
    .m_axil_awready(axil_awready),
    .m_axil_wdata(axil_wdata),
    .m_axil_wstrb(axil_wstrb),
    .m_axil_wvalid(axil_wvalid),
    .m_axil_wready(axil_wready),
    .m_axil_bresp(axil_bresp),
    .m_axil_bvalid(axil_bvalid),
    .m_axil_bready(axil_bready),
    .m_axil_araddr(axil_araddr),
    .m_axil_arprot(axil_arprot),
    .m_axil_arvalid(axil_arvalid),
    .m_axil_arready(axil_arready),
    .m_axil_rdata(axil_rdata),
    .m_axil_rresp(axil_rresp),
    .m_axil_rvalid(axil_rvalid),
    .m_axil_rready(axil_rready)
);

dmasim_design design_inst (
    .clk(clk),
    .rst(rst),
    .s_axil_awaddr(axil_awaddr),
    .s_axil_awprot(axil_awprot),
    .s_axil_awvalid(axil_awvalid),
    .s_axil_awready(axil_awready),
    .s_axil_wdata(axil_wdata),
    .s_axil_wstrb(axil_wstrb),
    .s_axil_wvalid(axil_wvalid),
    .s_axil_wready(axil_wready),
    .s_axil_bresp(axil_bresp),
    .s_axil_bvalid(axil_bvalid),
    .s_axil_bready(axil_bready),
    .s_axil_araddr(axil_araddr),
    .s_axil_arprot(axil_arprot),
    .s_axil_arvalid(axil_arvalid),
    .s_axil_arready(axil_arready),
    .s_axil_rdata(axil_rdata),
    .s_axil_rresp(axil_rresp),
    .s_axil_rvalid(axil_rvalid),
    .s_axil_rready(axil_rready),
    .m_axi_rd_araddr(rd_araddr),
    .m_axi_rd_arlen(rd_arlen),
    .m_axi_rd_arsize(rd_arsize),
    .m_axi_rd_arburst(rd_arburst),
    .m_axi_rd_arvalid(rd_arvalid),
    .m_axi_rd_arready(rd_arready),
    .m_axi_rd_rdata(rd_rdata),
    .m_axi_rd_rresp(rd_rresp),
    .m_axi_rd_rlast(rd_rlast),
    .m_axi_rd_rvalid(rd_rvalid),
    .m_axi_rd_rready(rd_rready),
    .m_axi_wr_awaddr(wr_awaddr),
    .m_axi_wr_awlen(wr_awlen),
    .m_axi_wr_awsize(wr_awsize),
    .m_axi_wr_awburst(wr_awburst),
    .m_axi_wr_awvalid(wr_awvalid),
    .m_axi_wr_awready(wr_awready),
    .m_axi_wr_wdata(wr_wdata),
    .m_axi_wr_wstrb(wr_wstrb),
    .m_axi_wr_wlast(wr_wlast),
    .m_axi_wr_wvalid(wr_wvalid),
    .m_axi_wr_wready(wr_wready),
    .m_axi_wr_bresp(wr_bresp),
    .m_axi_wr_bvalid(wr_bvalid),
    .m_axi_wr_bready(wr_bready),
    .irq(irq),
    .mon(mon)
);

dmasim_sim_mem_rd #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .DATA_WIDTH(DATA_WIDTH)
)
mem_rd_inst (
    .clk(clk),
    .rst(rst),
    .s_axi_araddr(rd_araddr),
    .s_axi_arlen(rd_arlen),
    .s_axi_arsize(rd_arsize),
    .s_axi_arburst(rd_arburst),
    .s_axi_arvalid(rd_arvalid),
    .s_axi_arready(rd_arready),
    .s_axi_rdata(rd_rdata),
    .s_axi_rresp(rd_rresp),
    .s_axi_rlast(rd_rlast),
    .s_axi_rvalid(rd_rvalid),
    .s_axi_rready(rd_rready)
);

dmasim_sim_mem_wr #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .DATA_WIDTH(DATA_WIDTH)
)
mem_wr_inst (
    .clk(clk),
    .rst(rst),
    .s_axi_awaddr(wr_awaddr),
    .s_axi_awlen(wr_awlen),
    .s_axi_awsize(wr_awsize),
    .s_axi_awburst(wr_awburst),
    .s_axi_awvalid(wr_awvalid),
    .s_axi_awready(wr_awready),
    .s_axi_wdata(wr_wdata),
    .s_axi_wstrb(wr_wstrb),
    .s_axi_wlast(wr_wlast),
    .s_axi_wvalid(wr_wvalid),
    .s_axi_wready(wr_wready),
    .s_axi_bresp(wr_bresp),
    .s_axi_bvalid(wr_bvalid),
    .s_axi_bready(wr_bready)
);

endmodule

/* verilator lint_on UNUSEDSIGNAL */

`resetall
