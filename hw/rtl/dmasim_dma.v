/*
 * dmasim: AXI DMA, register-compatible with the MM2S and S2MM channels of
 * PG021 v7.1: the register file, the MM2S datamover (AXI4 read ->
 * M_AXIS_MM2S), the S2MM datamover (S_AXIS_S2MM -> AXI4 write) and, with
 * INCLUDE_SG = 1, the scatter-gather engine (dmasim_dma_sg) that fetches
 * BDs and writes their status through the M_AXI_SG master. With
 * INCLUDE_SG = 0 (simple / direct-register mode) the M_AXI_SG master is idle
 * and the DMA behaves exactly as without it.
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
    // scatter-gather engine (c_include_sg)
    parameter INCLUDE_SG = 0,
    // SG: clocks per delay-timer tick (c_dlytmr_resolution)
    parameter DLYTMR_RESOLUTION = `DMASIM_SG_DLYTMR_RESOLUTION,
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
     * AXI4 master (M_AXI_SG): BD fetches and status writes; idle when INCLUDE_SG = 0
     */
    output wire [ADDR_WIDTH-1:0]       m_axi_sg_araddr,
    output wire [7:0]                  m_axi_sg_arlen,
    output wire [2:0]                  m_axi_sg_arsize,
    output wire [1:0]                  m_axi_sg_arburst,
    output wire [3:0]                  m_axi_sg_arcache,
    output wire [2:0]                  m_axi_sg_arprot,
    output wire                        m_axi_sg_arvalid,
    input  wire                        m_axi_sg_arready,
    input  wire [DATA_WIDTH-1:0]       m_axi_sg_rdata,
    input  wire [1:0]                  m_axi_sg_rresp,
    input  wire                        m_axi_sg_rlast,
    input  wire                        m_axi_sg_rvalid,
    output wire                        m_axi_sg_rready,
    output wire [ADDR_WIDTH-1:0]       m_axi_sg_awaddr,
    output wire [7:0]                  m_axi_sg_awlen,
    output wire [2:0]                  m_axi_sg_awsize,
    output wire [1:0]                  m_axi_sg_awburst,
    output wire [3:0]                  m_axi_sg_awcache,
    output wire [2:0]                  m_axi_sg_awprot,
    output wire                        m_axi_sg_awvalid,
    input  wire                        m_axi_sg_awready,
    output wire [DATA_WIDTH-1:0]       m_axi_sg_wdata,
    output wire [STRB_WIDTH-1:0]       m_axi_sg_wstrb,
    output wire                        m_axi_sg_wlast,
    output wire                        m_axi_sg_wvalid,
    input  wire                        m_axi_sg_wready,
    input  wire [1:0]                  m_axi_sg_bresp,
    input  wire                        m_axi_sg_bvalid,
    output wire                        m_axi_sg_bready,

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

// datamover ports
wire mm2s_start, mm2s_keyhole, mm2s_eof, mm2s_busy, mm2s_quiet, mm2s_done, mm2s_err_slv, mm2s_err_dec;
wire [ADDR_WIDTH-1:0] mm2s_addr;
wire [LENGTH_WIDTH-1:0] mm2s_len;

wire s2mm_start, s2mm_keyhole, s2mm_busy, s2mm_quiet, s2mm_done, s2mm_done_last;
wire s2mm_err_int, s2mm_err_slv, s2mm_err_dec;
wire [ADDR_WIDTH-1:0] s2mm_addr;
wire [LENGTH_WIDTH-1:0] s2mm_len;
wire [LENGTH_WIDTH-1:0] s2mm_done_bytes;

// the register file's commands (simple mode)
wire reg_mm2s_start, reg_s2mm_start;
wire [ADDR_WIDTH-1:0] reg_mm2s_addr, reg_s2mm_addr;
wire [LENGTH_WIDTH-1:0] reg_mm2s_len, reg_s2mm_len;

// what the register file sees of the datamovers
wire rf_mm2s_done, rf_mm2s_err_int, rf_mm2s_err_slv, rf_mm2s_err_dec, rf_mm2s_quiet;
wire rf_s2mm_done, rf_s2mm_err_int, rf_s2mm_err_slv, rf_s2mm_err_dec;

// register file <-> SG engine
wire [1:0] sg_rs, sg_cyclic, sg_halted, sg_cd_wr, sg_cd_msb_wr, sg_td_wr, sg_td_msb_wr;
wire [31:0] sg_wr_val;
wire [127:0] sg_curdesc, sg_taildesc;
wire [1:0] sg_busy, sg_idle, sg_ioc, sg_err_int, sg_err_slv, sg_err_dec;
wire [1:0] sg_dma_int, sg_dma_slv, sg_dma_dec;
wire sg_quiet;

// stream beats, for the SG delay timer (MM2S output, S2MM input)
wire [1:0] strm_beat = {s_axis_s2mm_tvalid && s_axis_s2mm_tready,
                        m_axis_mm2s_tvalid && m_axis_mm2s_tready};
wire [1:0] strm_last = {s_axis_s2mm_tlast, m_axis_mm2s_tlast};

assign stream_rst = soft_rst;

generate
    if (INCLUDE_SG != 0) begin : g_sg
        wire sg_mm2s_start, sg_s2mm_start;
        wire [ADDR_WIDTH-1:0] sg_mm2s_addr, sg_s2mm_addr;
        wire [LENGTH_WIDTH-1:0] sg_mm2s_len, sg_s2mm_len;

        dmasim_dma_sg #(
            .ADDR_WIDTH(ADDR_WIDTH),
            .DATA_WIDTH(DATA_WIDTH),
            .LENGTH_WIDTH(LENGTH_WIDTH),
            .PREFETCH_BDS(`DMASIM_SG_PREFETCH_BDS)  // dmasim/constants.py
        )
        sg_inst (
            .clk(clk),
            .rst(engine_rst),
            .rs(sg_rs),
            .cyclic(sg_cyclic),
            .halted(sg_halted),
            .stop(stop),
            .cd_wr(sg_cd_wr),
            .cd_msb_wr(sg_cd_msb_wr),
            .td_wr(sg_td_wr),
            .td_msb_wr(sg_td_msb_wr),
            .wr_val(sg_wr_val),
            .curdesc(sg_curdesc),
            .taildesc(sg_taildesc),
            .busy(sg_busy),
            .idle(sg_idle),
            .quiet(sg_quiet),
            .ioc_event(sg_ioc),
            .err_sg_int(sg_err_int),
            .err_sg_slv(sg_err_slv),
            .err_sg_dec(sg_err_dec),
            .err_dma_int(sg_dma_int),
            .err_dma_slv(sg_dma_slv),
            .err_dma_dec(sg_dma_dec),
            .mm2s_start(sg_mm2s_start),
            .mm2s_addr(sg_mm2s_addr),
            .mm2s_len(sg_mm2s_len),
            .mm2s_eof(mm2s_eof),
            .mm2s_busy(mm2s_busy),
            .mm2s_rbeat(m_axi_mm2s_rvalid && m_axi_mm2s_rready),
            .mm2s_rresp(m_axi_mm2s_rresp),
            .mm2s_err_slv(mm2s_err_slv),
            .mm2s_err_dec(mm2s_err_dec),
            .s2mm_start(sg_s2mm_start),
            .s2mm_addr(sg_s2mm_addr),
            .s2mm_len(sg_s2mm_len),
            .s2mm_busy(s2mm_busy),
            .s2mm_done_bytes(s2mm_done_bytes),
            .s2mm_done_last(s2mm_done_last),
            .s2mm_err_slv(s2mm_err_slv),
            .s2mm_err_dec(s2mm_err_dec),
            .m_axi_araddr(m_axi_sg_araddr),
            .m_axi_arlen(m_axi_sg_arlen),
            .m_axi_arsize(m_axi_sg_arsize),
            .m_axi_arburst(m_axi_sg_arburst),
            .m_axi_arcache(m_axi_sg_arcache),
            .m_axi_arprot(m_axi_sg_arprot),
            .m_axi_arvalid(m_axi_sg_arvalid),
            .m_axi_arready(m_axi_sg_arready),
            .m_axi_rdata(m_axi_sg_rdata),
            .m_axi_rresp(m_axi_sg_rresp),
            .m_axi_rlast(m_axi_sg_rlast),
            .m_axi_rvalid(m_axi_sg_rvalid),
            .m_axi_rready(m_axi_sg_rready),
            .m_axi_awaddr(m_axi_sg_awaddr),
            .m_axi_awlen(m_axi_sg_awlen),
            .m_axi_awsize(m_axi_sg_awsize),
            .m_axi_awburst(m_axi_sg_awburst),
            .m_axi_awcache(m_axi_sg_awcache),
            .m_axi_awprot(m_axi_sg_awprot),
            .m_axi_awvalid(m_axi_sg_awvalid),
            .m_axi_awready(m_axi_sg_awready),
            .m_axi_wdata(m_axi_sg_wdata),
            .m_axi_wstrb(m_axi_sg_wstrb),
            .m_axi_wlast(m_axi_sg_wlast),
            .m_axi_wvalid(m_axi_sg_wvalid),
            .m_axi_wready(m_axi_sg_wready),
            .m_axi_bresp(m_axi_sg_bresp),
            .m_axi_bvalid(m_axi_sg_bvalid),
            .m_axi_bready(m_axi_sg_bready)
        );

        // the engine commands the datamovers and reports their errors after the
        // BD's status write; the register file's simple-mode path is unused
        assign mm2s_start = sg_mm2s_start;
        assign mm2s_addr = sg_mm2s_addr;
        assign mm2s_len = sg_mm2s_len;
        assign s2mm_start = sg_s2mm_start;
        assign s2mm_addr = sg_s2mm_addr;
        assign s2mm_len = sg_s2mm_len;
        assign rf_mm2s_done = 1'b0;
        assign rf_mm2s_err_int = sg_dma_int[0];
        assign rf_mm2s_err_slv = sg_dma_slv[0];
        assign rf_mm2s_err_dec = sg_dma_dec[0];
        assign rf_s2mm_done = 1'b0;
        assign rf_s2mm_err_int = sg_dma_int[1];
        assign rf_s2mm_err_slv = sg_dma_slv[1];
        assign rf_s2mm_err_dec = sg_dma_dec[1];
        assign rf_mm2s_quiet = mm2s_quiet && sg_quiet;
        wire unused_simple = ^{reg_mm2s_start, reg_mm2s_addr, reg_mm2s_len, reg_s2mm_start,
            reg_s2mm_addr, reg_s2mm_len, mm2s_done, s2mm_done, s2mm_err_int};
    end else begin : g_simple
        assign mm2s_start = reg_mm2s_start;
        assign mm2s_addr = reg_mm2s_addr;
        assign mm2s_len = reg_mm2s_len;
        assign mm2s_eof = 1'b1;
        assign s2mm_start = reg_s2mm_start;
        assign s2mm_addr = reg_s2mm_addr;
        assign s2mm_len = reg_s2mm_len;
        assign rf_mm2s_done = mm2s_done;
        assign rf_mm2s_err_int = 1'b0;
        assign rf_mm2s_err_slv = mm2s_err_slv;
        assign rf_mm2s_err_dec = mm2s_err_dec;
        assign rf_s2mm_done = s2mm_done;
        assign rf_s2mm_err_int = s2mm_err_int;
        assign rf_s2mm_err_slv = s2mm_err_slv;
        assign rf_s2mm_err_dec = s2mm_err_dec;
        assign rf_mm2s_quiet = mm2s_quiet;
        assign sg_curdesc = 128'd0;
        assign sg_taildesc = 128'd0;
        assign sg_busy = 2'b00;
        assign sg_idle = 2'b00;
        assign sg_ioc = 2'b00;
        assign sg_err_int = 2'b00;
        assign sg_err_slv = 2'b00;
        assign sg_err_dec = 2'b00;
        assign sg_dma_int = 2'b00;
        assign sg_dma_slv = 2'b00;
        assign sg_dma_dec = 2'b00;
        assign sg_quiet = 1'b1;
        assign m_axi_sg_araddr = {ADDR_WIDTH{1'b0}};
        assign m_axi_sg_arlen = 8'd0;
        assign m_axi_sg_arsize = 3'd0;
        assign m_axi_sg_arburst = 2'b01;
        assign m_axi_sg_arcache = 4'b0011;
        assign m_axi_sg_arprot = 3'b000;
        assign m_axi_sg_arvalid = 1'b0;
        assign m_axi_sg_rready = 1'b0;
        assign m_axi_sg_awaddr = {ADDR_WIDTH{1'b0}};
        assign m_axi_sg_awlen = 8'd0;
        assign m_axi_sg_awsize = 3'd0;
        assign m_axi_sg_awburst = 2'b01;
        assign m_axi_sg_awcache = 4'b0011;
        assign m_axi_sg_awprot = 3'b000;
        assign m_axi_sg_awvalid = 1'b0;
        assign m_axi_sg_wdata = {DATA_WIDTH{1'b0}};
        assign m_axi_sg_wstrb = {STRB_WIDTH{1'b0}};
        assign m_axi_sg_wlast = 1'b0;
        assign m_axi_sg_wvalid = 1'b0;
        assign m_axi_sg_bready = 1'b0;
        wire unused_sg = ^{m_axi_sg_arready, m_axi_sg_rdata, m_axi_sg_rresp, m_axi_sg_rlast,
            m_axi_sg_rvalid, m_axi_sg_awready, m_axi_sg_wready, m_axi_sg_bresp, m_axi_sg_bvalid,
            sg_rs, sg_cyclic, sg_halted, sg_cd_wr, sg_cd_msb_wr, sg_td_wr, sg_td_msb_wr,
            sg_wr_val, s2mm_done_last, sg_dma_int, sg_dma_slv, sg_dma_dec, sg_quiet};
    end
endgenerate

dmasim_dma_regs #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .LENGTH_WIDTH(LENGTH_WIDTH),
    .AXIL_ADDR_WIDTH(AXIL_ADDR_WIDTH),
    .INCLUDE_SG(INCLUDE_SG),
    .DLYTMR_RESOLUTION(DLYTMR_RESOLUTION)
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
    .mm2s_start(reg_mm2s_start),
    .mm2s_addr(reg_mm2s_addr),
    .mm2s_len(reg_mm2s_len),
    .mm2s_keyhole(mm2s_keyhole),
    .mm2s_busy(mm2s_busy),
    .mm2s_quiet(rf_mm2s_quiet),
    .mm2s_done(rf_mm2s_done),
    .mm2s_err_int(rf_mm2s_err_int),
    .mm2s_err_slv(rf_mm2s_err_slv),
    .mm2s_err_dec(rf_mm2s_err_dec),
    .s2mm_start(reg_s2mm_start),
    .s2mm_addr(reg_s2mm_addr),
    .s2mm_len(reg_s2mm_len),
    .s2mm_keyhole(s2mm_keyhole),
    .s2mm_busy(s2mm_busy),
    .s2mm_quiet(s2mm_quiet),
    .s2mm_done(rf_s2mm_done),
    .s2mm_done_bytes(s2mm_done_bytes),
    .s2mm_err_int(rf_s2mm_err_int),
    .s2mm_err_slv(rf_s2mm_err_slv),
    .s2mm_err_dec(rf_s2mm_err_dec),
    .stop(stop),
    .soft_rst(soft_rst),
    .mm2s_introut(mm2s_introut),
    .s2mm_introut(s2mm_introut),
    .sg_rs(sg_rs),
    .sg_cyclic(sg_cyclic),
    .sg_halted(sg_halted),
    .sg_cd_wr(sg_cd_wr),
    .sg_cd_msb_wr(sg_cd_msb_wr),
    .sg_td_wr(sg_td_wr),
    .sg_td_msb_wr(sg_td_msb_wr),
    .sg_wr_val(sg_wr_val),
    .sg_curdesc(sg_curdesc),
    .sg_taildesc(sg_taildesc),
    .sg_busy(sg_busy),
    .sg_idle(sg_idle),
    .sg_ioc(sg_ioc),
    .sg_err_int(sg_err_int),
    .sg_err_slv(sg_err_slv),
    .sg_err_dec(sg_err_dec),
    .strm_beat(strm_beat),
    .strm_last(strm_last)
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
    .start_eof(mm2s_eof),
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
    .SKID_DEPTH(`DMASIM_S2MM_SKID_BEATS),  // rule FLOW-SKID, dmasim/constants.py
    .UP_TO(INCLUDE_SG)
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
    .done_last(s2mm_done_last),
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
