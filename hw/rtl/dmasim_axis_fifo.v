/*
 * dmasim: AXI-Stream FIFO (tdata / tkeep / tlast): the loopback FIFO, the
 * DMA's internal FIFOs, and the stand-in for Vivado's axis_data_fifo, written
 * from its documented behaviour.
 *
 * DEPTH beats (a power of two >= 2) in a circular buffer with a combinational
 * read port: one beat per clock in and out, a beat written in one clock can
 * leave in the next. s_axis_tready is !full. DEPTH = 0 turns the module into
 * a wire (the PYNQ-Z2 loopback). PACKET_MODE = 1 (the IP's FIFO_MODE = 2)
 * holds the output back until a whole packet (its TLAST beat) is stored, or
 * until the FIFO is full so that a packet longer than the FIFO still flows.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module dmasim_axis_fifo #
(
    // width of tdata in bits
    parameter DATA_WIDTH = 32,
    // width of tkeep in bits
    parameter KEEP_WIDTH = (DATA_WIDTH+7)/8,
    // number of beats held; 0 = wire, otherwise a power of two >= 2
    parameter DEPTH = 16,
    // 1: release data only once a whole packet is stored (store and forward)
    parameter PACKET_MODE = 0
)
(
    input  wire                   clk,
    input  wire                   rst,

    /*
     * AXI-Stream input
     */
    input  wire [DATA_WIDTH-1:0]  s_axis_tdata,
    input  wire [KEEP_WIDTH-1:0]  s_axis_tkeep,
    input  wire                   s_axis_tlast,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,

    /*
     * AXI-Stream output
     */
    output wire [DATA_WIDTH-1:0]  m_axis_tdata,
    output wire [KEEP_WIDTH-1:0]  m_axis_tkeep,
    output wire                   m_axis_tlast,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready
);

initial begin
    if (DEPTH != 0 && (DEPTH < 2 || (DEPTH & (DEPTH-1)) != 0)) begin
        $error("Error: DEPTH must be 0 or a power of two >= 2 (instance %m)");
        $finish;
    end
    if (PACKET_MODE != 0 && PACKET_MODE != 1) begin
        $error("Error: PACKET_MODE must be 0 or 1 (instance %m)");
        $finish;
    end
end

generate

if (DEPTH == 0) begin : g_wire

    assign m_axis_tdata  = s_axis_tdata;
    assign m_axis_tkeep  = s_axis_tkeep;
    assign m_axis_tlast  = s_axis_tlast;
    assign m_axis_tvalid = s_axis_tvalid;
    assign s_axis_tready = m_axis_tready;

    // a wire has no state
    wire unused_clk_rst = clk | rst;

end else begin : g_fifo

    localparam PTR_WIDTH = $clog2(DEPTH);
    localparam WORD_WIDTH = DATA_WIDTH + KEEP_WIDTH + 1;

    reg [WORD_WIDTH-1:0] mem [0:DEPTH-1];

    reg [PTR_WIDTH:0] wr_ptr_reg;
    reg [PTR_WIDTH:0] rd_ptr_reg;
    // TLAST beats stored and not yet read: whole packets waiting (packet mode)
    reg [PTR_WIDTH:0] packets_reg;

    wire empty = wr_ptr_reg == rd_ptr_reg;
    wire full  = wr_ptr_reg == {~rd_ptr_reg[PTR_WIDTH], rd_ptr_reg[PTR_WIDTH-1:0]};

    wire [WORD_WIDTH-1:0] out_word = mem[rd_ptr_reg[PTR_WIDTH-1:0]];

    wire release_ok = PACKET_MODE == 0 || packets_reg != {PTR_WIDTH+1{1'b0}} || full;

    wire push = s_axis_tvalid && !full;
    wire pop  = m_axis_tready && !empty && release_ok;

    wire push_last = push && s_axis_tlast;
    wire pop_last  = pop && out_word[WORD_WIDTH-1];

    assign s_axis_tready = !full;
    assign m_axis_tvalid = !empty && release_ok;
    assign m_axis_tdata  = out_word[DATA_WIDTH-1:0];
    assign m_axis_tkeep  = out_word[DATA_WIDTH +: KEEP_WIDTH];
    assign m_axis_tlast  = out_word[WORD_WIDTH-1];

    always @(posedge clk) begin
        if (push) begin
            mem[wr_ptr_reg[PTR_WIDTH-1:0]] <= {s_axis_tlast, s_axis_tkeep, s_axis_tdata};
            wr_ptr_reg <= wr_ptr_reg + 1'b1;
        end
        if (pop) begin
            rd_ptr_reg <= rd_ptr_reg + 1'b1;
        end
        if (push_last && !pop_last) begin
            packets_reg <= packets_reg + 1'b1;
        end else if (pop_last && !push_last) begin
            packets_reg <= packets_reg - 1'b1;
        end

        if (rst) begin
            wr_ptr_reg <= {PTR_WIDTH+1{1'b0}};
            rd_ptr_reg <= {PTR_WIDTH+1{1'b0}};
            packets_reg <= {PTR_WIDTH+1{1'b0}};
        end
    end

end

endgenerate

endmodule

`resetall
