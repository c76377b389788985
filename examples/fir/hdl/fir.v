/*
 * fir: a 16-tap FIR filter on 32-bit AXI-Stream packets, controlled like a Vitis HLS block.
 *
 * The dmasim example IP (examples/fir): it sits between the AXI DMA's MM2S and S2MM streams.
 * Once started it filters ONE packet (TLAST-delimited) from s_axis to m_axis:
 *
 *     y[n] = sum_{k=0}^{15} c[k] * x[n-k]      (x[n-k] = 0 before the packet's first word)
 *
 * x are signed 32-bit samples, c signed 16-bit taps. The sum WRAPS to 32 bits (two's
 * complement, modulo 2^32, no saturation), like int32 arithmetic with wrap-around; the
 * Python reference fir_reference() in examples/fir/fir_model.py matches it bit for bit.
 * One output word per input word; the output word of the input's TLAST carries TLAST;
 * m_axis_tkeep is all ones and s_axis_tkeep is ignored (the stream carries whole words).
 * Throughput one beat per clock, back-pressure on m_axis stalls the whole two-stage
 * pipeline (products, then sum), latency two clocks. Between runs s_axis_tready is low.
 *
 * AXI-Lite register map (s_axi, 8-bit address, 32-bit data, responses always OKAY; the
 * address wraps every 256 bytes):
 *   0x00 AP_CTRL  bit0 ap_start     W1 starts a run (writing 0 has no effect); reads 1 until
 *                                   the run ends, then clears unless auto_restart is set
 *                 bit1 ap_done      set when a run ends (its TLAST word left m_axis);
 *                                   clear-on-read
 *                 bit2 ap_idle      1 while no run is in progress (RO)
 *                 bit3 ap_ready     set together with ap_done; clear-on-read
 *                 bit7 auto_restart RW: ap_start stays set at the end of a run, so the
 *                                   next packet is taken one clock later
 *   0x04 GIE      bit0 global interrupt enable
 *   0x08 IER      bit0 ap_done interrupt enable, bit1 ap_ready interrupt enable
 *   0x0C ISR      bit0 ap_done, bit1 ap_ready: set on the event when enabled in IER;
 *                 a write TOGGLES the bits written as 1
 *   0x10 + 8*i    coefficient c[i], i = 0..15: signed 16-bit in bits [15:0] (bits [31:16]
 *                 read 0, writes to them are ignored); write strobes honoured
 *   other         read 0, writes ignored
 * interrupt = GIE & (ISR[0] | ISR[1]).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module fir
(
    input  wire         ap_clk,
    input  wire         ap_rst_n,

    /*
     * AXI-Lite slave: control and coefficients
     */
    input  wire [7:0]   s_axi_awaddr,
    input  wire         s_axi_awvalid,
    output wire         s_axi_awready,
    input  wire [31:0]  s_axi_wdata,
    input  wire [3:0]   s_axi_wstrb,
    input  wire         s_axi_wvalid,
    output wire         s_axi_wready,
    output wire [1:0]   s_axi_bresp,
    output wire         s_axi_bvalid,
    input  wire         s_axi_bready,
    input  wire [7:0]   s_axi_araddr,
    input  wire         s_axi_arvalid,
    output wire         s_axi_arready,
    output wire [31:0]  s_axi_rdata,
    output wire [1:0]   s_axi_rresp,
    output wire         s_axi_rvalid,
    input  wire         s_axi_rready,

    /*
     * AXI-Stream input: samples x
     */
    input  wire [31:0]  s_axis_tdata,
    input  wire [3:0]   s_axis_tkeep,
    input  wire         s_axis_tlast,
    input  wire         s_axis_tvalid,
    output wire         s_axis_tready,

    /*
     * AXI-Stream output: filtered samples y
     */
    output wire [31:0]  m_axis_tdata,
    output wire [3:0]   m_axis_tkeep,
    output wire         m_axis_tlast,
    output wire         m_axis_tvalid,
    input  wire         m_axis_tready,

    /* verilator lint_off SYMRSVDWORD */
    output wire         interrupt   // the name Vivado's HLS IPs use
    /* verilator lint_on SYMRSVDWORD */
);

localparam TAPS = 16;

localparam [7:0] ADDR_AP_CTRL = 8'h00;
localparam [7:0] ADDR_GIE     = 8'h04;
localparam [7:0] ADDR_IER     = 8'h08;
localparam [7:0] ADDR_ISR     = 8'h0C;

/*
 * Control state
 */
reg         ap_start_reg;
reg         ap_done_reg;
reg         ap_ready_reg;
reg         auto_restart_reg;
reg         gie_reg;
reg  [1:0]  ier_reg;
reg  [1:0]  isr_reg;
reg  [15:0] coef_reg [0:TAPS-1];

reg         running_reg;   // a run is in progress
reg         in_done_reg;   // this run's input TLAST has been taken

/*
 * AXI-Lite: a write is taken when address and data are both valid (allowed by AXI: a
 * slave may wait for both before raising ready); one outstanding read and write each.
 */
reg         bvalid_reg;
reg         rvalid_reg;
reg  [31:0] rdata_reg;

wire write_hs = s_axi_awvalid && s_axi_wvalid && !bvalid_reg;
wire read_hs  = s_axi_arvalid && !rvalid_reg;

assign s_axi_awready = write_hs;
assign s_axi_wready  = write_hs;
assign s_axi_bresp   = 2'b00;
assign s_axi_bvalid  = bvalid_reg;
assign s_axi_arready = read_hs;
assign s_axi_rdata   = rdata_reg;
assign s_axi_rresp   = 2'b00;
assign s_axi_rvalid  = rvalid_reg;

// coefficient i sits at 0x10 + 8*i: address bits [7:3] = i + 2, bit 2 = 0
wire [4:0] waddr_word = s_axi_awaddr[7:3];
wire [4:0] raddr_word = s_axi_araddr[7:3];
wire       wcoef = !s_axi_awaddr[2] && waddr_word >= 5'd2 && waddr_word <= 5'd17;
wire       rcoef = !s_axi_araddr[2] && raddr_word >= 5'd2 && raddr_word <= 5'd17;
wire [3:0] wcoef_index = waddr_word[3:0] - 4'd2;
wire [3:0] rcoef_index = raddr_word[3:0] - 4'd2;

wire write_ctrl = write_hs && s_axi_awaddr == ADDR_AP_CTRL && s_axi_wstrb[0];
wire write_isr  = write_hs && s_axi_awaddr == ADDR_ISR && s_axi_wstrb[0];
wire read_ctrl  = read_hs && s_axi_araddr == ADDR_AP_CTRL;

/*
 * Stream pipeline: stage 1 holds the 16 products, stage 2 (the output register) their sum.
 * Both advance together whenever the output register is empty or being emptied.
 */
reg  [31:0] x_reg [0:TAPS-2];    // x[n-1] .. x[n-15] of the current packet
reg  [31:0] prod_reg [0:TAPS-1];
reg         prod_valid_reg;
reg         prod_last_reg;
reg  [31:0] out_data_reg;
reg         out_valid_reg;
reg         out_last_reg;

wire advance   = !out_valid_reg || m_axis_tready;
wire taking    = running_reg && !in_done_reg;
wire in_hs     = s_axis_tvalid && s_axis_tready;
wire run_end   = out_valid_reg && m_axis_tready && out_last_reg && running_reg;

assign s_axis_tready = taking && advance;
assign m_axis_tdata  = out_data_reg;
assign m_axis_tkeep  = 4'hF;
assign m_axis_tlast  = out_last_reg;
assign m_axis_tvalid = out_valid_reg;
assign interrupt     = gie_reg && (isr_reg != 2'b00);

// products of the new sample and the history with each tap, wrapped to 32 bits (the low
// 32 bits of a product do not depend on the signedness of x, only on c's sign extension)
reg [31:0] prod_next [0:TAPS-1];
reg [31:0] sum_next;
integer k;

always @* begin
    prod_next[0] = s_axis_tdata * {{16{coef_reg[0][15]}}, coef_reg[0]};
    for (k = 1; k < TAPS; k = k + 1) begin
        prod_next[k] = x_reg[k-1] * {{16{coef_reg[k][15]}}, coef_reg[k]};
    end
    sum_next = 32'd0;
    for (k = 0; k < TAPS; k = k + 1) begin
        sum_next = sum_next + prod_reg[k];
    end
end

always @(posedge ap_clk) begin
    if (advance) begin
        prod_valid_reg <= in_hs;
        if (in_hs) begin
            prod_last_reg <= s_axis_tlast;
            for (k = 0; k < TAPS; k = k + 1) begin
                prod_reg[k] <= prod_next[k];
            end
            // shift the history; a packet's TLAST leaves zeros for the next packet
            for (k = TAPS-2; k > 0; k = k - 1) begin
                x_reg[k] <= s_axis_tlast ? 32'd0 : x_reg[k-1];
            end
            x_reg[0] <= s_axis_tlast ? 32'd0 : s_axis_tdata;
        end
        out_valid_reg <= prod_valid_reg;
        if (prod_valid_reg) begin
            out_data_reg <= sum_next;
            out_last_reg <= prod_last_reg;
        end
    end

    if (!ap_rst_n) begin
        prod_valid_reg <= 1'b0;
        out_valid_reg <= 1'b0;
        for (k = 0; k < TAPS-1; k = k + 1) begin
            x_reg[k] <= 32'd0;
        end
    end
end

/*
 * Control: start, end of a run, registers
 */
always @(posedge ap_clk) begin
    // runs
    if (run_end) begin
        running_reg <= 1'b0;
        in_done_reg <= 1'b0;
        ap_start_reg <= auto_restart_reg;
    end else if (!running_reg && ap_start_reg) begin
        running_reg <= 1'b1;
    end else if (in_hs && s_axis_tlast) begin
        in_done_reg <= 1'b1;
    end

    // AP_CTRL: ap_done / ap_ready set by the end of a run, cleared by a read (set wins)
    if (run_end) begin
        ap_done_reg <= 1'b1;
        ap_ready_reg <= 1'b1;
    end else if (read_ctrl) begin
        ap_done_reg <= 1'b0;
        ap_ready_reg <= 1'b0;
    end
    if (write_ctrl) begin
        if (s_axi_wdata[0]) begin
            ap_start_reg <= 1'b1;
        end
        auto_restart_reg <= s_axi_wdata[7];
    end

    // GIE / IER / ISR: an event sets its ISR bit (wins over a toggle in the same clock)
    if (write_hs && s_axi_awaddr == ADDR_GIE && s_axi_wstrb[0]) begin
        gie_reg <= s_axi_wdata[0];
    end
    if (write_hs && s_axi_awaddr == ADDR_IER && s_axi_wstrb[0]) begin
        ier_reg <= s_axi_wdata[1:0];
    end
    if (ier_reg[0] && run_end) begin
        isr_reg[0] <= 1'b1;
    end else if (write_isr) begin
        isr_reg[0] <= isr_reg[0] ^ s_axi_wdata[0];
    end
    if (ier_reg[1] && run_end) begin
        isr_reg[1] <= 1'b1;
    end else if (write_isr) begin
        isr_reg[1] <= isr_reg[1] ^ s_axi_wdata[1];
    end

    // coefficients
    if (write_hs && wcoef) begin
        if (s_axi_wstrb[0]) begin
            coef_reg[wcoef_index][7:0] <= s_axi_wdata[7:0];
        end
        if (s_axi_wstrb[1]) begin
            coef_reg[wcoef_index][15:8] <= s_axi_wdata[15:8];
        end
    end

    // write response
    if (write_hs) begin
        bvalid_reg <= 1'b1;
    end else if (s_axi_bready) begin
        bvalid_reg <= 1'b0;
    end

    // read data
    if (read_hs) begin
        rvalid_reg <= 1'b1;
        if (rcoef) begin
            rdata_reg <= {16'd0, coef_reg[rcoef_index]};
        end else begin
            case (s_axi_araddr)
                ADDR_AP_CTRL: rdata_reg <= {24'd0, auto_restart_reg, 3'd0, ap_ready_reg,
                                            !running_reg, ap_done_reg, ap_start_reg};
                ADDR_GIE:     rdata_reg <= {31'd0, gie_reg};
                ADDR_IER:     rdata_reg <= {30'd0, ier_reg};
                ADDR_ISR:     rdata_reg <= {30'd0, isr_reg};
                default:      rdata_reg <= 32'd0;
            endcase
        end
    end else if (s_axi_rready) begin
        rvalid_reg <= 1'b0;
    end

    if (!ap_rst_n) begin
        ap_start_reg <= 1'b0;
        ap_done_reg <= 1'b0;
        ap_ready_reg <= 1'b0;
        auto_restart_reg <= 1'b0;
        gie_reg <= 1'b0;
        ier_reg <= 2'b00;
        isr_reg <= 2'b00;
        running_reg <= 1'b0;
        in_done_reg <= 1'b0;
        bvalid_reg <= 1'b0;
        rvalid_reg <= 1'b0;
        for (k = 0; k < TAPS; k = k + 1) begin
            coef_reg[k] <= 16'd0;
        end
    end
end

// inputs the filter does not need: whole words only, word-aligned register addresses
/* verilator lint_off UNUSEDSIGNAL */
wire unused_ok = &{1'b0, s_axis_tkeep, s_axi_wdata[31:16],
                   s_axi_wstrb[3:2], s_axi_awaddr[1:0], s_axi_araddr[1:0],
                   waddr_word[4], raddr_word[4]};
/* verilator lint_on UNUSEDSIGNAL */

endmodule

`resetall
