/*
 * dmasim (simulation only): the rtl target's simulation top.
 *
 * Wraps the design (dmasim_design, generated from the block design by
 * dmasim/rtl/generate.py) with what the PS side of a PYNQ-Z2 gives it: a
 * clock, a power-on reset, an AXI-Lite master (dmasim_sim_axil_master) on
 * physical addresses and DDR behind the design's memory port
 * (dmasim_sim_mem_rd / dmasim_sim_mem_wr, storage shared with the host
 * process through C).
 *
 * The host loop below serves the rtl target's commands (see
 * dmasim/rtl/protocol.py) through DPI-C (dmasim_sim_host.cpp): it blocks in
 * C on the command pipe, so simulated time stands still between commands,
 * and a register access, a delay or a reset runs entirely in HDL and C with
 * no Python per command or per clock. The clock is generated here
 * (Verilator --timing) rather than by cocotb, which costs a VPI callback per
 * edge. The cocotb test (rtl_tb/dmasim_server.py) only waits for `finished`,
 * raised when the host closes the pipe.
 *
 * Bus access time: a READ or WRITE command carries in arg64[63:32] the
 * clocks one access of the simulated CPU takes (the rtl target's
 * bus_access_ns; 0 for none). The access is then started late enough that
 * its address/data handshake comes that many clocks after the previous
 * access's handshake (one access per bus access time, as the model counts),
 * or as soon as the bus allows when that is later.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

// Simulation-only model: DPI results go through blocking temporaries, registers
// start from initial values, and AXI side-band signals it has no use for are
// left unread. The host loop drives the design with non-blocking assignments
// (no race with the clock edge) and run-time delays (never zero: the clock
// half period is at least 1 ns and a zero delay command is skipped).
/* verilator lint_off BLKSEQ */
/* verilator lint_off INITIALDLY */
/* verilator lint_off ZERODLY */
/* verilator lint_off PROCASSINIT */
/* verilator lint_off UNUSEDSIGNAL */

module dmasim_sim_top #
(
    // memory port of dmasim_design
    parameter ADDR_WIDTH = 32,
    parameter DATA_WIDTH = 32,
    // interrupt lines and stream monitor bits of dmasim_design
    parameter NUM_IRQ = 2,
    parameter MON_BITS = 128,
    // clocks of reset before the first command
    parameter POWER_ON_RESET_CYCLES = 16,
    // clock edges from starting an access to its address/data handshake as
    // the wait below counts them (host loop, AXI-Lite master, the DMA's
    // register slave); checked by tests/test_ip_rtl_rules.py against the model
    parameter ACCESS_CLOCKS = 2
)
(
    output reg          finished /*verilator public_flat_rd*/
);

// command opcodes, reply status, monitor layout (generated from dmasim/rtl/protocol.py)
`include "dmasim_sim_protocol.vh"

import "DPI-C" function int dmasim_host_clock_ns();
import "DPI-C" function int dmasim_host_next(output int unsigned a32,
                                             output longint unsigned a64);
import "DPI-C" function void dmasim_host_reply(input int status,
                                               input int unsigned value,
                                               input longint unsigned time_ns);

reg clk = 1'b0;
reg rst = 1'b1;
// register command to the AXI-Lite master (a toggle of cmd_seq starts it)
reg cmd_seq = 1'b0;
reg cmd_write = 1'b0;
reg [31:0] cmd_addr = 32'd0;
reg [31:0] cmd_wdata = 32'd0;
wire done;

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
wire [MON_BITS-1:0] mon;
wire [31:0] rsp_data;
wire [1:0] rsp_resp;
wire rsp_timeout;

/*
 * Clock and host command loop
 */
integer half_period_ns;

initial begin
    half_period_ns = dmasim_host_clock_ns() / 2;
    if (half_period_ns < 1) half_period_ns = 1;
    forever #(half_period_ns) clk = ~clk;
end

integer op;
integer status;
reg [31:0] arg32;
reg [63:0] arg64;
reg [31:0] value;
reg seq = 1'b0;

// bus access time: clock edges, and the edge of the last AXI-Lite address handshake
reg [63:0] edge_cnt = 64'd0;
reg [63:0] last_hs = 64'd0;
always @(posedge clk) begin
    edge_cnt <= edge_cnt + 64'd1;
    if ((axil_awvalid && axil_awready) || (axil_arvalid && axil_arready)) begin
        last_hs <= edge_cnt;
    end
end

initial begin
    finished = 1'b0;
    rst = 1'b1;
    repeat (POWER_ON_RESET_CYCLES) @(posedge clk);
    rst <= 1'b0;
    @(posedge clk);
    while (!finished) begin
        op = dmasim_host_next(arg32, arg64);
        status = ST_OK;
        value = 32'd0;
        case (op)
            OP_READ, OP_WRITE: begin
                while (edge_cnt + ACCESS_CLOCKS < last_hs + {32'd0, arg64[63:32]}) begin
                    @(posedge clk);
                end
                seq = !seq;
                cmd_write <= op == OP_WRITE;
                cmd_addr <= arg64[31:0];
                cmd_wdata <= arg32;
                cmd_seq <= seq;
                @(posedge clk);
                while (!done) @(posedge clk);
                if (rsp_timeout) begin
                    status = ST_AXI_TIMEOUT;
                    value = arg64[31:0];
                end else begin
                    value = rsp_data;
                end
            end
            OP_DELAY: begin
                if (arg64 != 64'd0) #(arg64);
            end
            OP_RESET: begin
                rst <= 1'b1;
                repeat (arg32 == 32'd0 ? 1 : arg32) @(posedge clk);
                rst <= 1'b0;
                @(posedge clk);
            end
            OP_STATUS: value = {{(32 > NUM_IRQ ? 32 - NUM_IRQ : 0){1'b0}}, irq};
            OP_MONITOR: begin
                if (arg64 < MON_BITS / 32) value = mon[arg64[15:0]*32 +: 32];
                else status = ST_BAD_COMMAND;
            end
            OP_QUIT: finished = 1'b1;
            default: status = ST_BAD_COMMAND;
        endcase
        if (!finished) dmasim_host_reply(status, value, $time);
    end
end

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

/* verilator lint_on BLKSEQ */
/* verilator lint_on INITIALDLY */
/* verilator lint_on ZERODLY */
/* verilator lint_on PROCASSINIT */
/* verilator lint_on UNUSEDSIGNAL */

`resetall
