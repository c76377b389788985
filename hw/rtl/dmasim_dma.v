/*
 * dmasim: AXI DMA (simple / direct-register mode), register-compatible with
 * the MM2S and S2MM channels of PG021 v7.1: the register file, the MM2S
 * datamover (AXI4 read -> M_AXIS_MM2S) and the S2MM datamover
 * (S_AXIS_S2MM -> AXI4 write).
 *
 * stream_rst is the one-clock datapath reset at the end of a soft reset; a
 * block design routes it to whatever holds stream data between M_AXIS_MM2S
 * and S_AXIS_S2MM (the loopback FIFO) so that data in flight is dropped too.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "dmasim_constants.vh"

module dmasim_dma #
(
    // memory address width (c_addr_width, 32..64)
    parameter ADDR_WIDTH = 32,
    // memory-map and stream data width (32 or 64)
    parameter DATA_WIDTH = 32,
    // LENGTH register width (c_sg_length_width, 8..26)
    parameter LENGTH_WIDTH = 26,
    // MM2S maximum burst length in beats (c_mm2s_burst_size)
    parameter MM2S_BURST_SIZE = 16,
    // S2MM maximum burst length in beats (c_s2mm_burst_size)
    parameter S2MM_BURST_SIZE = 16,
    // MM2S data realignment engine (c_include_mm2s_dre); only 0 is implemented
    parameter INCLUDE_MM2S_DRE = 0,
    // S2MM data realignment engine (c_include_s2mm_dre); only 0 is implemented
    parameter INCLUDE_S2MM_DRE = 0,
    // AXI-Lite address width (window-relative)
    parameter AXIL_ADDR_WIDTH = 10,
    // derived: byte lanes of the data path
    parameter STRB_WIDTH = DATA_WIDTH/8
)
(
    input  wire                        clk,
    input  wire                        rst,

    /*
     * AXI-Lite slave (registers)
     */
    input  wire [AXIL_ADDR_WIDTH-1:0]  s_axil_awaddr,
    input  wire [2:0]                  s_axil_awprot,
    input  wire                        s_axil_awvalid,
    output wire                        s_axil_awready,
    input  wire [31:0]                 s_axil_wdata,
    input  wire [3:0]                  s_axil_wstrb,
    input  wire                        s_axil_wvalid,
    output wire                        s_axil_wready,
    output wire [1:0]                  s_axil_bresp,
    output wire                        s_axil_bvalid,
    input  wire                        s_axil_bready,
    input  wire [AXIL_ADDR_WIDTH-1:0]  s_axil_araddr,
    input  wire [2:0]                  s_axil_arprot,
    input  wire                        s_axil_arvalid,
    output wire                        s_axil_arready,
    output wire [31:0]                 s_axil_rdata,
    output wire [1:0]                  s_axil_rresp,
    output wire                        s_axil_rvalid,
    input  wire                        s_axil_rready,

    /*
     * AXI4 read master (MM2S)
     */
    output wire [ADDR_WIDTH-1:0]       m_axi_mm2s_araddr,
    output wire [7:0]                  m_axi_mm2s_arlen,
    output wire [2:0]                  m_axi_mm2s_arsize,
    output wire [1:0]                  m_axi_mm2s_arburst,
    output wire [3:0]                  m_axi_mm2s_arcache,
    output wire [2:0]                  m_axi_mm2s_arprot,
    output wire                        m_axi_mm2s_arvalid,
    input  wire                        m_axi_mm2s_arready,
    input  wire [DATA_WIDTH-1:0]       m_axi_mm2s_rdata,
    input  wire [1:0]                  m_axi_mm2s_rresp,
    input  wire                        m_axi_mm2s_rlast,
    input  wire                        m_axi_mm2s_rvalid,
    output wire                        m_axi_mm2s_rready,

    /*
     * AXI4 write master (S2MM)
     */
    output wire [ADDR_WIDTH-1:0]       m_axi_s2mm_awaddr,
    output wire [7:0]                  m_axi_s2mm_awlen,
    output wire [2:0]                  m_axi_s2mm_awsize,
    output wire [1:0]                  m_axi_s2mm_awburst,
    output wire [3:0]                  m_axi_s2mm_awcache,
    output wire [2:0]                  m_axi_s2mm_awprot,
    output wire                        m_axi_s2mm_awvalid,
    input  wire                        m_axi_s2mm_awready,
    output wire [DATA_WIDTH-1:0]       m_axi_s2mm_wdata,
    output wire [STRB_WIDTH-1:0]       m_axi_s2mm_wstrb,
    output wire                        m_axi_s2mm_wlast,
    output wire                        m_axi_s2mm_wvalid,
    input  wire                        m_axi_s2mm_wready,
    input  wire [1:0]                  m_axi_s2mm_bresp,
    input  wire                        m_axi_s2mm_bvalid,
    output wire                        m_axi_s2mm_bready,

    /*
     * AXI-Stream MM2S output
     */
    output wire [DATA_WIDTH-1:0]       m_axis_mm2s_tdata,
    output wire [STRB_WIDTH-1:0]       m_axis_mm2s_tkeep,
    output wire                        m_axis_mm2s_tlast,
    output wire                        m_axis_mm2s_tvalid,
    input  wire                        m_axis_mm2s_tready,

    /*
     * AXI-Stream S2MM input
     */
    input  wire [DATA_WIDTH-1:0]       s_axis_s2mm_tdata,
    input  wire [STRB_WIDTH-1:0]       s_axis_s2mm_tkeep,
    input  wire                        s_axis_s2mm_tlast,
    input  wire                        s_axis_s2mm_tvalid,
    output wire                        s_axis_s2mm_tready,

    /*
     * Interrupts and soft reset
     */
    output wire                        mm2s_introut,
    output wire                        s2mm_introut,
    output wire                        stream_rst
);

initial begin
    if (INCLUDE_MM2S_DRE != 0 || INCLUDE_S2MM_DRE != 0) begin
        $error("Error: the data realignment engine is not implemented; INCLUDE_*_DRE must be 0 (instance %m)");
        $finish;
    end
    if (STRB_WIDTH*8 != DATA_WIDTH) begin
        $error("Error: STRB_WIDTH must be DATA_WIDTH/8 (instance %m)");
        $finish;
    end
end

wire soft_rst;
wire engine_rst = rst || soft_rst;
wire stop;

wire mm2s_start, mm2s_keyhole, mm2s_busy, mm2s_quiet, mm2s_done, mm2s_err_slv, mm2s_err_dec;
wire [ADDR_WIDTH-1:0] mm2s_addr;
wire [LENGTH_WIDTH-1:0] mm2s_len;

wire s2mm_start, s2mm_keyhole, s2mm_busy, s2mm_quiet, s2mm_done;
wire s2mm_err_int, s2mm_err_slv, s2mm_err_dec;
wire [ADDR_WIDTH-1:0] s2mm_addr;
wire [LENGTH_WIDTH-1:0] s2mm_len;
wire [LENGTH_WIDTH-1:0] s2mm_done_bytes;

assign stream_rst = soft_rst;

dmasim_dma_regs #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .LENGTH_WIDTH(LENGTH_WIDTH),
    .AXIL_ADDR_WIDTH(AXIL_ADDR_WIDTH)
)
regs_inst (
    .clk(clk),
    .rst(rst),
    .s_axil_awaddr(s_axil_awaddr),
    .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata),
    .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid),
    .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr),
    .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata),
    .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .mm2s_start(mm2s_start),
    .mm2s_addr(mm2s_addr),
    .mm2s_len(mm2s_len),
    .mm2s_keyhole(mm2s_keyhole),
    .mm2s_busy(mm2s_busy),
    .mm2s_quiet(mm2s_quiet),
    .mm2s_done(mm2s_done),
    .mm2s_err_slv(mm2s_err_slv),
    .mm2s_err_dec(mm2s_err_dec),
    .s2mm_start(s2mm_start),
    .s2mm_addr(s2mm_addr),
    .s2mm_len(s2mm_len),
    .s2mm_keyhole(s2mm_keyhole),
    .s2mm_busy(s2mm_busy),
    .s2mm_quiet(s2mm_quiet),
    .s2mm_done(s2mm_done),
    .s2mm_done_bytes(s2mm_done_bytes),
    .s2mm_err_int(s2mm_err_int),
    .s2mm_err_slv(s2mm_err_slv),
    .s2mm_err_dec(s2mm_err_dec),
    .stop(stop),
    .soft_rst(soft_rst),
    .mm2s_introut(mm2s_introut),
    .s2mm_introut(s2mm_introut)
);

dmasim_dma_mm2s #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .DATA_WIDTH(DATA_WIDTH),
    .LENGTH_WIDTH(LENGTH_WIDTH),
    .BURST_SIZE(MM2S_BURST_SIZE)
)
mm2s_inst (
    .clk(clk),
    .rst(engine_rst),
    .start(mm2s_start),
    .start_addr(mm2s_addr),
    .start_len(mm2s_len),
    .keyhole(mm2s_keyhole),
    .stop(stop),
    .busy(mm2s_busy),
    .quiet(mm2s_quiet),
    .done(mm2s_done),
    .err_slv(mm2s_err_slv),
    .err_dec(mm2s_err_dec),
    .m_axi_araddr(m_axi_mm2s_araddr),
    .m_axi_arlen(m_axi_mm2s_arlen),
    .m_axi_arsize(m_axi_mm2s_arsize),
    .m_axi_arburst(m_axi_mm2s_arburst),
    .m_axi_arcache(m_axi_mm2s_arcache),
    .m_axi_arprot(m_axi_mm2s_arprot),
    .m_axi_arvalid(m_axi_mm2s_arvalid),
    .m_axi_arready(m_axi_mm2s_arready),
    .m_axi_rdata(m_axi_mm2s_rdata),
    .m_axi_rresp(m_axi_mm2s_rresp),
    .m_axi_rlast(m_axi_mm2s_rlast),
    .m_axi_rvalid(m_axi_mm2s_rvalid),
    .m_axi_rready(m_axi_mm2s_rready),
    .m_axis_tdata(m_axis_mm2s_tdata),
    .m_axis_tkeep(m_axis_mm2s_tkeep),
    .m_axis_tlast(m_axis_mm2s_tlast),
    .m_axis_tvalid(m_axis_mm2s_tvalid),
    .m_axis_tready(m_axis_mm2s_tready)
);

dmasim_dma_s2mm #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .DATA_WIDTH(DATA_WIDTH),
    .LENGTH_WIDTH(LENGTH_WIDTH),
    .BURST_SIZE(S2MM_BURST_SIZE),
    .SKID_DEPTH(`DMASIM_S2MM_SKID_BEATS)  // rule FLOW-SKID, dmasim/constants.py
)
s2mm_inst (
    .clk(clk),
    .rst(engine_rst),
    .start(s2mm_start),
    .start_addr(s2mm_addr),
    .start_len(s2mm_len),
    .keyhole(s2mm_keyhole),
    .stop(stop),
    .busy(s2mm_busy),
    .quiet(s2mm_quiet),
    .done(s2mm_done),
    .done_bytes(s2mm_done_bytes),
    .err_int(s2mm_err_int),
    .err_slv(s2mm_err_slv),
    .err_dec(s2mm_err_dec),
    .m_axi_awaddr(m_axi_s2mm_awaddr),
    .m_axi_awlen(m_axi_s2mm_awlen),
    .m_axi_awsize(m_axi_s2mm_awsize),
    .m_axi_awburst(m_axi_s2mm_awburst),
    .m_axi_awcache(m_axi_s2mm_awcache),
    .m_axi_awprot(m_axi_s2mm_awprot),
    .m_axi_awvalid(m_axi_s2mm_awvalid),
    .m_axi_awready(m_axi_s2mm_awready),
    .m_axi_wdata(m_axi_s2mm_wdata),
    .m_axi_wstrb(m_axi_s2mm_wstrb),
    .m_axi_wlast(m_axi_s2mm_wlast),
    .m_axi_wvalid(m_axi_s2mm_wvalid),
    .m_axi_wready(m_axi_s2mm_wready),
    .m_axi_bresp(m_axi_s2mm_bresp),
    .m_axi_bvalid(m_axi_s2mm_bvalid),
    .m_axi_bready(m_axi_s2mm_bready),
    .s_axis_tdata(s_axis_s2mm_tdata),
    .s_axis_tkeep(s_axis_s2mm_tkeep),
    .s_axis_tlast(s_axis_s2mm_tlast),
    .s_axis_tvalid(s_axis_s2mm_tvalid),
    .s_axis_tready(s_axis_s2mm_tready)
);

endmodule

`resetall
