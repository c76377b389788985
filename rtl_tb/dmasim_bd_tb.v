/*
 * dmasim: cocotb harness around dmasim_bd.
 *
 * dmasim_bd has no AXI ID signals; cocotbext-axi's AXI slave models need
 * them, so this wrapper adds one-bit IDs tied to 0 (outputs) or ignored
 * (inputs). Everything else is passed through unchanged.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module dmasim_bd_tb #
(
    // see dmasim_bd
    parameter ADDR_WIDTH = 32,
    // see dmasim_bd
    parameter DATA_WIDTH = 32,
    // see dmasim_bd
    parameter LENGTH_WIDTH = 26,
    // see dmasim_bd
    parameter MM2S_BURST_SIZE = 16,
    // see dmasim_bd
    parameter S2MM_BURST_SIZE = 16,
    // see dmasim_bd
    parameter LOOPBACK_FIFO_DEPTH = 0
)
(
    input  wire                     clk,
    input  wire                     rst,

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

    output wire [0:0]               m_axi_mm2s_arid,
    output wire [ADDR_WIDTH-1:0]    m_axi_mm2s_araddr,
    output wire [7:0]               m_axi_mm2s_arlen,
    output wire [2:0]               m_axi_mm2s_arsize,
    output wire [1:0]               m_axi_mm2s_arburst,
    output wire [3:0]               m_axi_mm2s_arcache,
    output wire [2:0]               m_axi_mm2s_arprot,
    output wire                     m_axi_mm2s_arvalid,
    input  wire                     m_axi_mm2s_arready,
    input  wire [0:0]               m_axi_mm2s_rid,
    input  wire [DATA_WIDTH-1:0]    m_axi_mm2s_rdata,
    input  wire [1:0]               m_axi_mm2s_rresp,
    input  wire                     m_axi_mm2s_rlast,
    input  wire                     m_axi_mm2s_rvalid,
    output wire                     m_axi_mm2s_rready,

    output wire [0:0]               m_axi_s2mm_awid,
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
    input  wire [0:0]               m_axi_s2mm_bid,
    input  wire [1:0]               m_axi_s2mm_bresp,
    input  wire                     m_axi_s2mm_bvalid,
    output wire                     m_axi_s2mm_bready,

    output wire                     mm2s_introut,
    output wire                     s2mm_introut
);

assign m_axi_mm2s_arid = 1'b0;
assign m_axi_s2mm_awid = 1'b0;

// single-ID masters: response IDs carry nothing
wire unused_ids = m_axi_mm2s_rid[0] ^ m_axi_s2mm_bid[0];

dmasim_bd #(
    .ADDR_WIDTH(ADDR_WIDTH),
    .DATA_WIDTH(DATA_WIDTH),
    .LENGTH_WIDTH(LENGTH_WIDTH),
    .MM2S_BURST_SIZE(MM2S_BURST_SIZE),
    .S2MM_BURST_SIZE(S2MM_BURST_SIZE),
    .INCLUDE_MM2S_DRE(0),
    .INCLUDE_S2MM_DRE(0),
    .LOOPBACK_FIFO_DEPTH(LOOPBACK_FIFO_DEPTH)
)
bd_inst (
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
    .mm2s_introut(mm2s_introut),
    .s2mm_introut(s2mm_introut)
);

endmodule

`resetall
