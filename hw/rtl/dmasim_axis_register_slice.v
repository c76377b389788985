/*
 * dmasim: AXI-Stream register slice standing in for Vivado's
 * axis_register_slice (tdata / tkeep / tlast), written from its documented
 * behaviour: a fully registered stage (every output, tready included, comes
 * from a flip-flop) that still passes one beat per clock. A main register
 * feeds the output; a skid register catches the beat that arrives in the
 * clock tready falls.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module dmasim_axis_register_slice #
(
    // width of tdata in bits
    parameter DATA_WIDTH = 32,
    // width of tkeep in bits
    parameter KEEP_WIDTH = (DATA_WIDTH+7)/8
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

localparam WORD_WIDTH = DATA_WIDTH + KEEP_WIDTH + 1;

reg [WORD_WIDTH-1:0] main_reg;
reg                  main_valid_reg;
reg [WORD_WIDTH-1:0] skid_reg;
reg                  skid_valid_reg;
reg                  ready_reg;

wire [WORD_WIDTH-1:0] in_word = {s_axis_tlast, s_axis_tkeep, s_axis_tdata};

assign s_axis_tready = ready_reg;
assign m_axis_tvalid = main_valid_reg;
assign m_axis_tdata  = main_reg[DATA_WIDTH-1:0];
assign m_axis_tkeep  = main_reg[DATA_WIDTH +: KEEP_WIDTH];
assign m_axis_tlast  = main_reg[WORD_WIDTH-1];

wire take = s_axis_tvalid && ready_reg;
wire give = main_valid_reg && m_axis_tready;

always @(posedge clk) begin
    if (give || !main_valid_reg) begin
        // the output register is free this clock: fill it from the skid, else the input
        if (skid_valid_reg) begin
            main_reg <= skid_reg;
            main_valid_reg <= 1'b1;
            skid_valid_reg <= take;
            skid_reg <= in_word;
        end else begin
            main_reg <= in_word;
            main_valid_reg <= take;
        end
    end else if (take) begin
        // output held: park the beat in the skid register
        skid_reg <= in_word;
        skid_valid_reg <= 1'b1;
    end
    // ready unless the skid register holds (or takes now) a beat the output cannot pass on
    ready_reg <= !(main_valid_reg && !m_axis_tready && (take || skid_valid_reg));

    if (rst) begin
        main_valid_reg <= 1'b0;
        skid_valid_reg <= 1'b0;
        ready_reg <= 1'b0;
    end
end

endmodule

`resetall
