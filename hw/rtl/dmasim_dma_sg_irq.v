/*
 * dmasim: interrupt coalescing of one AXI DMA channel in scatter-gather mode:
 * the IRQThreshold counter and the IRQDelay timer (docs/axi-dma-behaviour.md,
 * SG interrupt rules).
 *
 * - Threshold counter (DMASR.IRQThresholdSts), 1 after reset. An IOC event
 *   (status of a TXEOF/RXEOF BD written) sets IOC_Irq when the counter is 1
 *   and reloads it from DMACR.IRQThreshold, else counts down. A DMACR write
 *   whose threshold field differs from the stored one reloads it one clock
 *   later; so does Dly_Irq setting while Dly_IrqEn=1.
 * - Delay timer (DMASR.IRQDelaySts): runs only while IRQDelay != 0, RS=1 and
 *   Dly_Irq=0. The end of a packet on the channel's stream (TLAST beat taken)
 *   arms it from 0; the next packet's first beat, a changed IRQDelay, RS=0
 *   or Dly_Irq=1 zero and stop it. Armed, it counts one tick every RESOLUTION
 *   clocks and sets Dly_Irq at the tick that would reach
 *   IRQDelay + EXTRA_TICKS, then stops at 0.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module dmasim_dma_sg_irq #
(
    // clocks per delay-timer tick (c_dlytmr_resolution)
    parameter RESOLUTION = 125,
    // Dly_Irq sets IRQDelay + EXTRA_TICKS ticks after a packet end
    parameter EXTRA_TICKS = 1
)
(
    input  wire        clk,
    input  wire        rst,

    input  wire [7:0]  threshold,       // DMACR.IRQThreshold as stored
    input  wire        threshold_wr,    // a DMACR write changed it (this clock)
    input  wire [7:0]  delay,           // DMACR.IRQDelay as stored
    input  wire        delay_wr,        // a DMACR write changed it (this clock)
    input  wire        rs,
    input  wire        dly_irq,         // DMASR.Dly_Irq
    input  wire        dly_irq_en,      // DMACR.Dly_IrqEn
    input  wire        ioc_event,
    input  wire        beat,            // a stream beat taken
    input  wire        last,            // ... with TLAST

    output wire        ioc_set,
    output wire        dly_set,
    output wire [7:0]  threshold_count,
    output wire [7:0]  delay_count
);

localparam PW = RESOLUTION > 1 ? $clog2(RESOLUTION) : 1;
localparam integer RES_M1 = RESOLUTION - 1;
localparam integer EXTRA = EXTRA_TICKS;

initial begin
    if (RESOLUTION < 1 || RESOLUTION > 100000) begin
        $error("Error: RESOLUTION must be in 1..100000 (instance %m)");
        $finish;
    end
    if (EXTRA_TICKS < 0 || EXTRA_TICKS > 1) begin
        $error("Error: EXTRA_TICKS must be 0 or 1 (instance %m)");
        $finish;
    end
end

reg [7:0] cnt_reg, cnt_next;
reg reload_reg, reload_next;
reg ioc_reg, ioc_next;
reg dly_reg, dly_next;
reg in_pkt_reg, in_pkt_next;
reg armed_reg, armed_next;
reg [PW-1:0] presc_reg, presc_next;
reg [7:0] tmr_reg, tmr_next;

wire first = beat && !in_pkt_reg;
wire [8:0] goal = {1'b0, delay} + EXTRA[8:0];

assign ioc_set = ioc_reg;
assign dly_set = dly_reg;
assign threshold_count = cnt_reg;
assign delay_count = tmr_reg;

always @* begin
    cnt_next = cnt_reg;
    reload_next = threshold_wr;
    ioc_next = 1'b0;
    dly_next = 1'b0;
    in_pkt_next = in_pkt_reg;
    armed_next = armed_reg;
    presc_next = presc_reg;
    tmr_next = tmr_reg;

    // threshold counter
    if (ioc_event) begin
        if (cnt_reg == 8'd1) begin
            ioc_next = 1'b1;
            cnt_next = threshold;
        end else begin
            cnt_next = cnt_reg - 8'd1;
        end
    end
    if (reload_reg || (dly_reg && dly_irq_en)) begin
        cnt_next = threshold;
    end

    // delay timer
    if (beat) begin
        in_pkt_next = !last;
    end
    if (armed_reg) begin
        if (presc_reg == RES_M1[PW-1:0]) begin
            presc_next = {PW{1'b0}};
            if ({1'b0, tmr_reg} + 9'd1 == goal) begin
                dly_next = 1'b1;
                armed_next = 1'b0;
                tmr_next = 8'd0;
            end else begin
                tmr_next = tmr_reg + 8'd1;
            end
        end else begin
            presc_next = presc_reg + 1'b1;
        end
    end
    if (first) begin
        armed_next = 1'b0;
        tmr_next = 8'd0;
        presc_next = {PW{1'b0}};
    end
    if (beat && last) begin
        armed_next = 1'b1;
        tmr_next = 8'd0;
        presc_next = {PW{1'b0}};
    end
    if (delay == 8'd0 || !rs || dly_irq || delay_wr) begin
        armed_next = 1'b0;
        tmr_next = 8'd0;
        presc_next = {PW{1'b0}};
        dly_next = 1'b0;
    end
end

always @(posedge clk) begin
    cnt_reg <= cnt_next;
    reload_reg <= reload_next;
    ioc_reg <= ioc_next;
    dly_reg <= dly_next;
    in_pkt_reg <= in_pkt_next;
    armed_reg <= armed_next;
    presc_reg <= presc_next;
    tmr_reg <= tmr_next;

    if (rst) begin
        cnt_reg <= 8'd1;
        reload_reg <= 1'b0;
        ioc_reg <= 1'b0;
        dly_reg <= 1'b0;
        in_pkt_reg <= 1'b0;
        armed_reg <= 1'b0;
        presc_reg <= {PW{1'b0}};
        tmr_reg <= 8'd0;
    end
end

endmodule

`resetall
