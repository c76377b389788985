/*
 * dmasim: the PYNQ-Z2 loopback block design.
 *
 * One AXI DMA in simple mode (dmasim_dma) whose M_AXIS_MM2S stream feeds its
 * own S_AXIS_S2MM, either by a wire (LOOPBACK_FIFO_DEPTH = 0, the PYNQ-Z2
 * design) or through an AXI-Stream FIFO. The AXI-Lite window and the two
 * AXI4 masters are the block design's ports; memory lives outside. The
 * loopback FIFO is cleared by the DMA's soft reset as well as by rst.
 * The interface is fixed: the rtl target instantiates this module.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module dmasim_bd #
(
    // memory address width
    parameter ADDR_WIDTH = 32,
    // memory-map and stream data width (32 or 64)
    parameter DATA_WIDTH = 32,
    // c_sg_length_width, 8..26
    parameter LENGTH_WIDTH = 26,
    // c_mm2s_burst_size (2..256, power of 2)
    parameter MM2S_BURST_SIZE = 16,
    // c_s2mm_burst_size (2..256, power of 2)
    parameter S2MM_BURST_SIZE = 16,
    // c_include_mm2s_dre (only 0 is implemented)
    parameter INCLUDE_MM2S_DRE = 0,
    // c_include_s2mm_dre (only 0 is implemented)
    parameter INCLUDE_S2MM_DRE = 0,
    // extra FIFO between M_AXIS_MM2S and S_AXIS_S2MM; 0 = direct wire
    parameter LOOPBACK_FIFO_DEPTH = 0,
    // c_include_sg: scatter-gather engine and its M_AXI_SG master
    parameter INCLUDE_SG = 0,
    // c_dlytmr_resolution (SG delay timer)
    parameter DLYTMR_RESOLUTION = 125
)
(
    input  wire                     clk,
    input  wire                     rst,                    // synchronous, active high

    /*
     * AXI-Lite slave (registers), 10-bit window-relative address
     */
    input  wire [9:0]               s_axil_awaddr,
    input  wire [2:0]               s_axil_awprot,
    input  wire                     s_axil_awvalid,
    output wire                     s_axil_awready,
    input  wire [31:0]              s_axil_wdata,
    input  wire [3:0]               s_axil_wstrb,
    input  wire                     s_axil_wvalid,
    output wire                     s_axil_wready,
    output wire [1:0]               s_axil_bresp,
    output wire                     s_axil_bvalid,
    input  wire                     s_axil_bready,
    input  wire [9:0]               s_axil_araddr,
    input  wire [2:0]               s_axil_arprot,
    input  wire                     s_axil_arvalid,
    output wire                     s_axil_arready,
    output wire [31:0]              s_axil_rdata,
    output wire [1:0]               s_axil_rresp,
    output wire                     s_axil_rvalid,
    input  wire                     s_axil_rready,

    /*
     * AXI4 read master (MM2S)
     */
    output wire [ADDR_WIDTH-1:0]    m_axi_mm2s_araddr,
    output wire [7:0]               m_axi_mm2s_arlen,
    output wire [2:0]               m_axi_mm2s_arsize,
    output wire [1:0]               m_axi_mm2s_arburst,
    output wire [3:0]               m_axi_mm2s_arcache,
    output wire [2:0]               m_axi_mm2s_arprot,
    output wire                     m_axi_mm2s_arvalid,
    input  wire                     m_axi_mm2s_arready,
    input  wire [DATA_WIDTH-1:0]    m_axi_mm2s_rdata,
    input  wire [1:0]               m_axi_mm2s_rresp,
    input  wire                     m_axi_mm2s_rlast,
    input  wire                     m_axi_mm2s_rvalid,
    output wire                     m_axi_mm2s_rready,

    /*
     * AXI4 write master (S2MM)
     */
    output wire [ADDR_WIDTH-1:0]    m_axi_s2mm_awaddr,
    output wire [7:0]               m_axi_s2mm_awlen,
    output wire [2:0]               m_axi_s2mm_awsize,
    output wire [1:0]               m_axi_s2mm_awburst,
    output wire [3:0]               m_axi_s2mm_awcache,
    output wire [2:0]               m_axi_s2mm_awprot,
    output wire                     m_axi_s2mm_awvalid,
    input  wire                     m_axi_s2mm_awready,
    output wire [DATA_WIDTH-1:0]    m_axi_s2mm_wdata,
    output wire [DATA_WIDTH/8-1:0]  m_axi_s2mm_wstrb,
    output wire                     m_axi_s2mm_wlast,
    output wire                     m_axi_s2mm_wvalid,
    input  wire                     m_axi_s2mm_wready,
    input  wire [1:0]               m_axi_s2mm_bresp,
    input  wire                     m_axi_s2mm_bvalid,
    output wire                     m_axi_s2mm_bready,

    /*
     * AXI4 master (M_AXI_SG: BD fetches and status writes; idle when INCLUDE_SG = 0)
     */
    output wire [ADDR_WIDTH-1:0]    m_axi_sg_araddr,
    output wire [7:0]               m_axi_sg_arlen,
    output wire [2:0]               m_axi_sg_arsize,
    output wire [1:0]               m_axi_sg_arburst,
    output wire [3:0]               m_axi_sg_arcache,
    output wire [2:0]               m_axi_sg_arprot,
    output wire                     m_axi_sg_arvalid,
    input  wire                     m_axi_sg_arready,
    input  wire [DATA_WIDTH-1:0]    m_axi_sg_rdata,
    input  wire [1:0]               m_axi_sg_rresp,
    input  wire                     m_axi_sg_rlast,
    input  wire                     m_axi_sg_rvalid,
    output wire                     m_axi_sg_rready,
    output wire [ADDR_WIDTH-1:0]    m_axi_sg_awaddr,
    output wire [7:0]               m_axi_sg_awlen,
    output wire [2:0]               m_axi_sg_awsize,
    output wire [1:0]               m_axi_sg_awburst,
    output wire [3:0]               m_axi_sg_awcache,
    output wire [2:0]               m_axi_sg_awprot,
    output wire                     m_axi_sg_awvalid,
    input  wire                     m_axi_sg_awready,
    output wire [DATA_WIDTH-1:0]    m_axi_sg_wdata,
    output wire [DATA_WIDTH/8-1:0]  m_axi_sg_wstrb,
    output wire                     m_axi_sg_wlast,
    output wire                     m_axi_sg_wvalid,
    input  wire                     m_axi_sg_wready,
    input  wire [1:0]               m_axi_sg_bresp,
    input  wire                     m_axi_sg_bvalid,
    output wire                     m_axi_sg_bready,

    /*
     * Interrupts
     */
    output wire                     mm2s_introut,
    output wire                     s2mm_introut
);

localparam STRB_WIDTH = DATA_WIDTH/8;

initial begin
    if (LOOPBACK_FIFO_DEPTH != 0 && (LOOPBACK_FIFO_DEPTH < 2
            || (LOOPBACK_FIFO_DEPTH & (LOOPBACK_FIFO_DEPTH-1)) != 0)) begin
        $error("Error: LOOPBACK_FIFO_DEPTH must be 0 or a power of two >= 2 (instance %m)");
        $finish;
    end
end

wire stream_rst;

wire [DATA_WIDTH-1:0] mm2s_tdata;
wire [STRB_WIDTH-1:0] mm2s_tkeep;
wire mm2s_tlast;
wire mm2s_tvalid;
wire mm2s_tready;

wire [DATA_WIDTH-1:0] s2mm_tdata;
wire [STRB_WIDTH-1:0] s2mm_tkeep;
wire s2mm_tlast;
wire s2mm_tvalid;
wire s2mm_tready;

dmasim_dma #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .DATA_WIDTH(DATA_WIDTH),
    .LENGTH_WIDTH(LENGTH_WIDTH),
    .MM2S_BURST_SIZE(MM2S_BURST_SIZE),
    .S2MM_BURST_SIZE(S2MM_BURST_SIZE),
    .INCLUDE_MM2S_DRE(INCLUDE_MM2S_DRE),
    .INCLUDE_S2MM_DRE(INCLUDE_S2MM_DRE),
    .AXIL_ADDR_WIDTH(10),
    .INCLUDE_SG(INCLUDE_SG),
    .DLYTMR_RESOLUTION(DLYTMR_RESOLUTION)
)
dma_inst (
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
    .m_axi_mm2s_araddr(m_axi_mm2s_araddr),
    .m_axi_mm2s_arlen(m_axi_mm2s_arlen),
    .m_axi_mm2s_arsize(m_axi_mm2s_arsize),
    .m_axi_mm2s_arburst(m_axi_mm2s_arburst),
    .m_axi_mm2s_arcache(m_axi_mm2s_arcache),
    .m_axi_mm2s_arprot(m_axi_mm2s_arprot),
    .m_axi_mm2s_arvalid(m_axi_mm2s_arvalid),
    .m_axi_mm2s_arready(m_axi_mm2s_arready),
    .m_axi_mm2s_rdata(m_axi_mm2s_rdata),
    .m_axi_mm2s_rresp(m_axi_mm2s_rresp),
    .m_axi_mm2s_rlast(m_axi_mm2s_rlast),
    .m_axi_mm2s_rvalid(m_axi_mm2s_rvalid),
    .m_axi_mm2s_rready(m_axi_mm2s_rready),
    .m_axi_s2mm_awaddr(m_axi_s2mm_awaddr),
    .m_axi_s2mm_awlen(m_axi_s2mm_awlen),
    .m_axi_s2mm_awsize(m_axi_s2mm_awsize),
    .m_axi_s2mm_awburst(m_axi_s2mm_awburst),
    .m_axi_s2mm_awcache(m_axi_s2mm_awcache),
    .m_axi_s2mm_awprot(m_axi_s2mm_awprot),
    .m_axi_s2mm_awvalid(m_axi_s2mm_awvalid),
    .m_axi_s2mm_awready(m_axi_s2mm_awready),
    .m_axi_s2mm_wdata(m_axi_s2mm_wdata),
    .m_axi_s2mm_wstrb(m_axi_s2mm_wstrb),
    .m_axi_s2mm_wlast(m_axi_s2mm_wlast),
    .m_axi_s2mm_wvalid(m_axi_s2mm_wvalid),
    .m_axi_s2mm_wready(m_axi_s2mm_wready),
    .m_axi_s2mm_bresp(m_axi_s2mm_bresp),
    .m_axi_s2mm_bvalid(m_axi_s2mm_bvalid),
    .m_axi_s2mm_bready(m_axi_s2mm_bready),
    .m_axi_sg_araddr(m_axi_sg_araddr),
    .m_axi_sg_arlen(m_axi_sg_arlen),
    .m_axi_sg_arsize(m_axi_sg_arsize),
    .m_axi_sg_arburst(m_axi_sg_arburst),
    .m_axi_sg_arcache(m_axi_sg_arcache),
    .m_axi_sg_arprot(m_axi_sg_arprot),
    .m_axi_sg_arvalid(m_axi_sg_arvalid),
    .m_axi_sg_arready(m_axi_sg_arready),
    .m_axi_sg_rdata(m_axi_sg_rdata),
    .m_axi_sg_rresp(m_axi_sg_rresp),
    .m_axi_sg_rlast(m_axi_sg_rlast),
    .m_axi_sg_rvalid(m_axi_sg_rvalid),
    .m_axi_sg_rready(m_axi_sg_rready),
    .m_axi_sg_awaddr(m_axi_sg_awaddr),
    .m_axi_sg_awlen(m_axi_sg_awlen),
    .m_axi_sg_awsize(m_axi_sg_awsize),
    .m_axi_sg_awburst(m_axi_sg_awburst),
    .m_axi_sg_awcache(m_axi_sg_awcache),
    .m_axi_sg_awprot(m_axi_sg_awprot),
    .m_axi_sg_awvalid(m_axi_sg_awvalid),
    .m_axi_sg_awready(m_axi_sg_awready),
    .m_axi_sg_wdata(m_axi_sg_wdata),
    .m_axi_sg_wstrb(m_axi_sg_wstrb),
    .m_axi_sg_wlast(m_axi_sg_wlast),
    .m_axi_sg_wvalid(m_axi_sg_wvalid),
    .m_axi_sg_wready(m_axi_sg_wready),
    .m_axi_sg_bresp(m_axi_sg_bresp),
    .m_axi_sg_bvalid(m_axi_sg_bvalid),
    .m_axi_sg_bready(m_axi_sg_bready),
    .m_axis_mm2s_tdata(mm2s_tdata),
    .m_axis_mm2s_tkeep(mm2s_tkeep),
    .m_axis_mm2s_tlast(mm2s_tlast),
    .m_axis_mm2s_tvalid(mm2s_tvalid),
    .m_axis_mm2s_tready(mm2s_tready),
    .s_axis_s2mm_tdata(s2mm_tdata),
    .s_axis_s2mm_tkeep(s2mm_tkeep),
    .s_axis_s2mm_tlast(s2mm_tlast),
    .s_axis_s2mm_tvalid(s2mm_tvalid),
    .s_axis_s2mm_tready(s2mm_tready),
    .mm2s_introut(mm2s_introut),
    .s2mm_introut(s2mm_introut),
    .stream_rst(stream_rst)
);

dmasim_axis_fifo #(
    .DATA_WIDTH(DATA_WIDTH),
    .KEEP_WIDTH(STRB_WIDTH),
    .DEPTH(LOOPBACK_FIFO_DEPTH)
)
loopback_fifo_inst (
    .clk(clk),
    .rst(rst || stream_rst),
    .s_axis_tdata(mm2s_tdata),
    .s_axis_tkeep(mm2s_tkeep),
    .s_axis_tlast(mm2s_tlast),
    .s_axis_tvalid(mm2s_tvalid),
    .s_axis_tready(mm2s_tready),
    .m_axis_tdata(s2mm_tdata),
    .m_axis_tkeep(s2mm_tkeep),
    .m_axis_tlast(s2mm_tlast),
    .m_axis_tvalid(s2mm_tvalid),
    .m_axis_tready(s2mm_tready)
);

endmodule

`resetall
