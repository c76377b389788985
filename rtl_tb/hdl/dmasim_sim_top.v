/*
 * dmasim (simulation only): the rtl target's simulation top.
 *
 * Wraps the block design dmasim_bd with what the PS side of a PYNQ-Z2 gives
 * it: a clock, a power-on reset, an AXI-Lite master (dmasim_sim_axil_master)
 * and DDR behind both DMA masters (dmasim_sim_mem_rd / dmasim_sim_mem_wr,
 * storage shared with the host process through C).
 *
 * The host loop below serves the rtl target's commands (see
 * dmasim/rtl/protocol.py) through DPI-C (dmasim_sim_host.cpp): it blocks in
 * C on the command pipe, so simulated time stands still between commands,
 * and a register access, a delay or a reset runs entirely in HDL and C with
 * no Python per command or per clock. The clock is generated here
 * (Verilator --timing) rather than by cocotb, which costs a VPI callback per
 * edge. The cocotb test (rtl_tb/dmasim_server.py) only waits for `finished`,
 * raised when the host closes the pipe.
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
    // dmasim_bd parameters (names as in hw/rtl/dmasim_bd.v)
    parameter ADDR_WIDTH = 32,
    parameter DATA_WIDTH = 32,
    parameter LENGTH_WIDTH = 26,
    parameter MM2S_BURST_SIZE = 16,
    parameter S2MM_BURST_SIZE = 16,
    parameter INCLUDE_MM2S_DRE = 0,
    parameter INCLUDE_S2MM_DRE = 0,
    parameter LOOPBACK_FIFO_DEPTH = 0,
    // clocks of reset before the first command
    parameter POWER_ON_RESET_CYCLES = 16
)
(
    output reg          finished /*verilator public_flat_rd*/
);

// command opcodes and reply status (dmasim/rtl/protocol.py)
localparam OP_QUIT = 0;
localparam OP_READ = 1;
localparam OP_WRITE = 2;
localparam OP_DELAY = 3;
localparam OP_RESET = 4;
localparam OP_STATUS = 5;
localparam ST_OK = 0;
localparam ST_AXI_TIMEOUT = 1;
localparam ST_BAD_COMMAND = 2;

import "DPI-C" function int dmasim_host_clock_ns();
import "DPI-C" function int dmasim_host_next(output int unsigned a32,
                                             output longint unsigned a64);
import "DPI-C" function void dmasim_host_reply(input int status, input int irq,
                                               input int unsigned value,
                                               input longint unsigned time_ns);

reg clk = 1'b0;
reg rst = 1'b1;
reg [43:0] cmd = 44'd0;
wire done;
wire [36:0] rsp;

localparam STRB_WIDTH = DATA_WIDTH/8;

/*
 * AXI-Lite: sim master -> dmasim_bd
 */
wire [9:0]  axil_awaddr;
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
wire [9:0]  axil_araddr;
wire [2:0]  axil_arprot;
wire        axil_arvalid;
wire        axil_arready;
wire [31:0] axil_rdata;
wire [1:0]  axil_rresp;
wire        axil_rvalid;
wire        axil_rready;

/*
 * AXI4: dmasim_bd masters -> DDR
 */
wire [ADDR_WIDTH-1:0] mm2s_araddr;
wire [7:0]            mm2s_arlen;
wire [2:0]            mm2s_arsize;
wire [1:0]            mm2s_arburst;
wire [3:0]            mm2s_arcache;
wire [2:0]            mm2s_arprot;
wire                  mm2s_arvalid;
wire                  mm2s_arready;
wire [DATA_WIDTH-1:0] mm2s_rdata;
wire [1:0]            mm2s_rresp;
wire                  mm2s_rlast;
wire                  mm2s_rvalid;
wire                  mm2s_rready;

wire [ADDR_WIDTH-1:0] s2mm_awaddr;
wire [7:0]            s2mm_awlen;
wire [2:0]            s2mm_awsize;
wire [1:0]            s2mm_awburst;
wire [3:0]            s2mm_awcache;
wire [2:0]            s2mm_awprot;
wire                  s2mm_awvalid;
wire                  s2mm_awready;
wire [DATA_WIDTH-1:0] s2mm_wdata;
wire [STRB_WIDTH-1:0] s2mm_wstrb;
wire                  s2mm_wlast;
wire                  s2mm_wvalid;
wire                  s2mm_wready;
wire [1:0]            s2mm_bresp;
wire                  s2mm_bvalid;
wire                  s2mm_bready;

wire mm2s_introut;
wire s2mm_introut;
wire [31:0] rsp_data;
wire [1:0] rsp_resp;
wire rsp_timeout;

assign rsp = {s2mm_introut, mm2s_introut, rsp_timeout, rsp_resp, rsp_data};

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
                seq = !seq;
                cmd <= {seq, op == OP_WRITE, arg64[9:0], op == OP_WRITE ? arg32 : 32'd0};
                @(posedge clk);
                while (!done) @(posedge clk);
                if (rsp[34]) begin
                    status = ST_AXI_TIMEOUT;
                    value = arg64[31:0];
                end else begin
                    value = rsp[31:0];
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
            OP_STATUS: ;
            OP_QUIT: finished = 1'b1;
            default: status = ST_BAD_COMMAND;
        endcase
        if (!finished) dmasim_host_reply(status, {30'd0, rsp[36:35]}, value, $time);
    end
end

dmasim_sim_axil_master #(
    .ADDR_WIDTH(10)
)
axil_master_inst (
    .clk(clk),
    .rst(rst),
    .cmd_seq(cmd[43]),
    .cmd_write(cmd[42]),
    .cmd_addr(cmd[41:32]),
    .cmd_wdata(cmd[31:0]),
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

dmasim_bd #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .DATA_WIDTH(DATA_WIDTH),
    .LENGTH_WIDTH(LENGTH_WIDTH),
    .MM2S_BURST_SIZE(MM2S_BURST_SIZE),
    .S2MM_BURST_SIZE(S2MM_BURST_SIZE),
    .INCLUDE_MM2S_DRE(INCLUDE_MM2S_DRE),
    .INCLUDE_S2MM_DRE(INCLUDE_S2MM_DRE),
    .LOOPBACK_FIFO_DEPTH(LOOPBACK_FIFO_DEPTH)
)
bd_inst (
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
    .m_axi_mm2s_araddr(mm2s_araddr),
    .m_axi_mm2s_arlen(mm2s_arlen),
    .m_axi_mm2s_arsize(mm2s_arsize),
    .m_axi_mm2s_arburst(mm2s_arburst),
    .m_axi_mm2s_arcache(mm2s_arcache),
    .m_axi_mm2s_arprot(mm2s_arprot),
    .m_axi_mm2s_arvalid(mm2s_arvalid),
    .m_axi_mm2s_arready(mm2s_arready),
    .m_axi_mm2s_rdata(mm2s_rdata),
    .m_axi_mm2s_rresp(mm2s_rresp),
    .m_axi_mm2s_rlast(mm2s_rlast),
    .m_axi_mm2s_rvalid(mm2s_rvalid),
    .m_axi_mm2s_rready(mm2s_rready),
    .m_axi_s2mm_awaddr(s2mm_awaddr),
    .m_axi_s2mm_awlen(s2mm_awlen),
    .m_axi_s2mm_awsize(s2mm_awsize),
    .m_axi_s2mm_awburst(s2mm_awburst),
    .m_axi_s2mm_awcache(s2mm_awcache),
    .m_axi_s2mm_awprot(s2mm_awprot),
    .m_axi_s2mm_awvalid(s2mm_awvalid),
    .m_axi_s2mm_awready(s2mm_awready),
    .m_axi_s2mm_wdata(s2mm_wdata),
    .m_axi_s2mm_wstrb(s2mm_wstrb),
    .m_axi_s2mm_wlast(s2mm_wlast),
    .m_axi_s2mm_wvalid(s2mm_wvalid),
    .m_axi_s2mm_wready(s2mm_wready),
    .m_axi_s2mm_bresp(s2mm_bresp),
    .m_axi_s2mm_bvalid(s2mm_bvalid),
    .m_axi_s2mm_bready(s2mm_bready),
    .mm2s_introut(mm2s_introut),
    .s2mm_introut(s2mm_introut)
);

dmasim_sim_mem_rd #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .DATA_WIDTH(DATA_WIDTH)
)
mem_rd_inst (
    .clk(clk),
    .rst(rst),
    .s_axi_araddr(mm2s_araddr),
    .s_axi_arlen(mm2s_arlen),
    .s_axi_arsize(mm2s_arsize),
    .s_axi_arburst(mm2s_arburst),
    .s_axi_arvalid(mm2s_arvalid),
    .s_axi_arready(mm2s_arready),
    .s_axi_rdata(mm2s_rdata),
    .s_axi_rresp(mm2s_rresp),
    .s_axi_rlast(mm2s_rlast),
    .s_axi_rvalid(mm2s_rvalid),
    .s_axi_rready(mm2s_rready)
);

dmasim_sim_mem_wr #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .DATA_WIDTH(DATA_WIDTH)
)
mem_wr_inst (
    .clk(clk),
    .rst(rst),
    .s_axi_awaddr(s2mm_awaddr),
    .s_axi_awlen(s2mm_awlen),
    .s_axi_awsize(s2mm_awsize),
    .s_axi_awburst(s2mm_awburst),
    .s_axi_awvalid(s2mm_awvalid),
    .s_axi_awready(s2mm_awready),
    .s_axi_wdata(s2mm_wdata),
    .s_axi_wstrb(s2mm_wstrb),
    .s_axi_wlast(s2mm_wlast),
    .s_axi_wvalid(s2mm_wvalid),
    .s_axi_wready(s2mm_wready),
    .s_axi_bresp(s2mm_bresp),
    .s_axi_bvalid(s2mm_bvalid),
    .s_axi_bready(s2mm_bready)
);

endmodule

/* verilator lint_on BLKSEQ */
/* verilator lint_on INITIALDLY */
/* verilator lint_on ZERODLY */
/* verilator lint_on PROCASSINIT */
/* verilator lint_on UNUSEDSIGNAL */

`resetall
