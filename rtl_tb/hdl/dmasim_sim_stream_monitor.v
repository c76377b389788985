/*
 * dmasim (simulation only): counters on one AXI-Stream link, read by the host
 * (the rtl target's stream_state()) to say where a stream stopped.
 *
 * counters = {stalled_cycles, open_packet_beats, packets, beats}, 32 bits
 * each, word order as MONITOR_FIELDS in dmasim/rtl/protocol.py:
 *   beats              handshakes (tvalid && tready)
 *   packets            handshakes with tlast
 *   open_packet_beats  beats since the last tlast (the packet still open)
 *   stalled_cycles     clocks the current beat has waited (tvalid, no tready)
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

// Simulation-only: registers start from initial values as well as from reset.
/* verilator lint_off PROCASSINIT */

module dmasim_sim_stream_monitor
(
    input  wire          clk,
    input  wire          rst,
    input  wire          tvalid,
    input  wire          tready,
    input  wire          tlast,
    output wire [127:0]  counters
);

reg [31:0] beats_reg = 32'd0;
reg [31:0] packets_reg = 32'd0;
reg [31:0] open_reg = 32'd0;
reg [31:0] stalled_reg = 32'd0;

wire beat = tvalid && tready;

assign counters = {stalled_reg, open_reg, packets_reg, beats_reg};

always @(posedge clk) begin
    if (beat) begin
        beats_reg <= beats_reg + 32'd1;
        if (tlast) begin
            packets_reg <= packets_reg + 32'd1;
            open_reg <= 32'd0;
        end else begin
            open_reg <= open_reg + 32'd1;
        end
    end
    if (tvalid && !tready) begin
        stalled_reg <= stalled_reg + 32'd1;
    end else begin
        stalled_reg <= 32'd0;
    end

    if (rst) begin
        beats_reg <= 32'd0;
        packets_reg <= 32'd0;
        open_reg <= 32'd0;
        stalled_reg <= 32'd0;
    end
end

endmodule

/* verilator lint_on PROCASSINIT */

`resetall
