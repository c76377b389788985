/*
 * dmasim: AXI DMA MM2S channel datamover (simple mode).
 *
 * On `start` it reads start_len bytes from start_addr with an AXI4 read
 * master and emits them as ONE AXI-Stream packet (TLAST on the last beat,
 * tkeep trimmed on a partial last beat). In scatter-gather mode a command
 * is one BD: TLAST only when start_eof (TXEOF) was set; otherwise the next
 * BD's bytes continue the packet.
 *
 * - INCR bursts of up to BURST_SIZE beats that never cross a 4 KiB boundary;
 *   FIXED bursts (at most 16 beats, address not advanced) when the keyhole
 *   input was set at start.
 * - Store-and-forward FIFO of FIFO_DEPTH beats. A burst is issued only when
 *   the whole burst fits in the FIFO space not yet reserved (credit counter:
 *   minus the burst length at AR issue, plus one per beat leaving the FIFO),
 *   so RREADY never has to drop.
 * - `done` pulses when the last beat has been read from memory into the FIFO
 *   (not when the stream consumer takes it), unless a beat of the transfer
 *   came back SLVERR/DECERR.
 * - The first SLVERR/DECERR beat of a transfer pulses err_slv/err_dec (later
 *   error beats of the same transfer add nothing: the channel reports the
 *   response of its first failing beat). While `stop` is high no new address
 *   is issued; once every issued burst has returned its data the channel goes
 *   not-busy without `done` (an aborted transfer).
 * - `quiet` is high when no burst is outstanding (used by the soft reset).
 *
 * Without DRE the start address should be aligned to DATA_WIDTH/8; an
 * unaligned address is issued as given and the data arrives in the lanes the
 * memory returns (as on the IP, no error is flagged).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "dmasim_constants.vh"

module dmasim_dma_mm2s #
(
    // width of the memory address in bits
    parameter ADDR_WIDTH = 32,
    // width of memory-map and stream data in bits
    parameter DATA_WIDTH = 32,
    // width of the transfer length in bytes (c_sg_length_width)
    parameter LENGTH_WIDTH = 26,
    // maximum INCR burst length in beats (c_mm2s_burst_size)
    parameter BURST_SIZE = 16
)
(
    input  wire                     clk,
    input  wire                     rst,

    /*
     * Control (from the register file)
     */
    input  wire                     start,
    input  wire [ADDR_WIDTH-1:0]    start_addr,
    input  wire [LENGTH_WIDTH-1:0]  start_len,
    input  wire                     keyhole,
    input  wire                     start_eof,  // TLAST at the end (always 1 in simple mode)
    input  wire                     stop,
    output wire                     busy,
    output wire                     quiet,
    output wire                     done,
    output wire                     err_slv,
    output wire                     err_dec,

    /*
     * AXI4 read master
     */
    output wire [ADDR_WIDTH-1:0]    m_axi_araddr,
    output wire [7:0]               m_axi_arlen,
    output wire [2:0]               m_axi_arsize,
    output wire [1:0]               m_axi_arburst,
    output wire [3:0]               m_axi_arcache,
    output wire [2:0]               m_axi_arprot,
    output wire                     m_axi_arvalid,
    input  wire                     m_axi_arready,
    input  wire [DATA_WIDTH-1:0]    m_axi_rdata,
    input  wire [1:0]               m_axi_rresp,
    input  wire                     m_axi_rlast,
    input  wire                     m_axi_rvalid,
    output wire                     m_axi_rready,

    /*
     * AXI-Stream output (M_AXIS_MM2S)
     */
    output wire [DATA_WIDTH-1:0]    m_axis_tdata,
    output wire [DATA_WIDTH/8-1:0]  m_axis_tkeep,
    output wire                     m_axis_tlast,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready
);

// bytes per beat
localparam STRB_WIDTH = DATA_WIDTH/8;
// address bits below the beat
localparam ADDR_LSB = $clog2(STRB_WIDTH);
// (4 + 2) bursts rounded up to a power of two (rule FLOW-SF-DEPTH; the numbers
// come from dmasim/constants.py through the generated dmasim_constants.vh)
localparam FIFO_DEPTH_SF = 1 << $clog2(`DMASIM_MM2S_SF_BURSTS*BURST_SIZE);
// store-and-forward FIFO depth in beats, at least DMASIM_MM2S_SF_MIN_BEATS
localparam FIFO_DEPTH = FIFO_DEPTH_SF < `DMASIM_MM2S_SF_MIN_BEATS
                      ? `DMASIM_MM2S_SF_MIN_BEATS : FIFO_DEPTH_SF;
// width of the FIFO credit counter (0..FIFO_DEPTH)
localparam CREDIT_WIDTH = $clog2(FIFO_DEPTH) + 1;
// AXI4 FIXED bursts are limited to 16 beats
localparam FIXED_SIZE = BURST_SIZE < 16 ? BURST_SIZE : 16;
// beat counters hold up to ceil((2^LENGTH_WIDTH-1)/STRB_WIDTH)
localparam CNT_WIDTH = LENGTH_WIDTH;
// width used for burst-length arithmetic
localparam CALC_WIDTH = 32;

// AXI constants
localparam [1:0] BURST_FIXED = 2'b00;
localparam [1:0] BURST_INCR = 2'b01;
localparam [1:0] RESP_SLVERR = 2'b10;
localparam [1:0] RESP_DECERR = 2'b11;

initial begin
    if (DATA_WIDTH != 32 && DATA_WIDTH != 64) begin
        $error("Error: DATA_WIDTH must be 32 or 64 (instance %m)");
        $finish;
    end
    if (BURST_SIZE < 2 || BURST_SIZE > 256 || (BURST_SIZE & (BURST_SIZE-1)) != 0) begin
        $error("Error: BURST_SIZE must be a power of two in 2..256 (instance %m)");
        $finish;
    end
    if (LENGTH_WIDTH < 8 || LENGTH_WIDTH > 26) begin
        $error("Error: LENGTH_WIDTH must be in 8..26 (instance %m)");
        $finish;
    end
    if (ADDR_WIDTH < 32 || ADDR_WIDTH > 64) begin
        $error("Error: ADDR_WIDTH must be in 32..64 (instance %m)");
        $finish;
    end
end

reg busy_reg, busy_next;
reg [ADDR_WIDTH-1:0] addr_reg, addr_next;          // address of the next burst
reg [CNT_WIDTH-1:0] issue_reg, issue_next;         // beats not yet requested
reg [CNT_WIDTH-1:0] recv_reg, recv_next;           // beats not yet received
reg [STRB_WIDTH-1:0] last_keep_reg, last_keep_next;
reg keyhole_reg, keyhole_next;
reg eof_reg, eof_next;
reg err_reg, err_next;                             // an error beat in this transfer
reg [CREDIT_WIDTH-1:0] credit_reg, credit_next;    // unreserved FIFO space

reg [ADDR_WIDTH-1:0] araddr_reg, araddr_next;
reg [7:0] arlen_reg, arlen_next;
reg arfixed_reg, arfixed_next;
reg arvalid_reg, arvalid_next;

reg done_reg, done_next;
reg err_slv_reg, err_slv_next;
reg err_dec_reg, err_dec_next;

// FIFO write side
wire fifo_s_tready;
wire fifo_m_tvalid;
wire r_fire = m_axi_rvalid && fifo_s_tready;
wire pop = fifo_m_tvalid && m_axis_tready;
wire last_beat = recv_reg == {{CNT_WIDTH-1{1'b0}}, 1'b1};
wire r_error = m_axi_rresp == RESP_SLVERR || m_axi_rresp == RESP_DECERR;

// beats left before the next 4 KiB boundary (1 .. 4096/STRB_WIDTH)
wire [12-ADDR_LSB:0] page_beats = {1'b1, {12-ADDR_LSB{1'b0}}} - {1'b0, addr_reg[11:ADDR_LSB]};

reg [CALC_WIDTH-1:0] blen;
reg ar_load;

// start command: beats = ceil(len / STRB_WIDTH), keep of the last beat
wire [ADDR_LSB-1:0] start_len_rem = start_len[ADDR_LSB-1:0];
wire [CNT_WIDTH-1:0] start_beats = {{ADDR_LSB{1'b0}}, start_len[LENGTH_WIDTH-1:ADDR_LSB]}
    + {{CNT_WIDTH-1{1'b0}}, |start_len_rem};

assign busy = busy_reg;
assign quiet = !arvalid_reg && recv_reg == issue_reg;
assign done = done_reg;
assign err_slv = err_slv_reg;
assign err_dec = err_dec_reg;

assign m_axi_araddr = araddr_reg;
assign m_axi_arlen = arlen_reg;
assign m_axi_arsize = ADDR_LSB[2:0];
assign m_axi_arburst = arfixed_reg ? BURST_FIXED : BURST_INCR;
assign m_axi_arcache = 4'b0011;
assign m_axi_arprot = 3'b000;
assign m_axi_arvalid = arvalid_reg;
assign m_axi_rready = fifo_s_tready;

// beats are counted, so RLAST carries no extra information here
wire unused_rlast = m_axi_rlast;

always @* begin
    // length of the next burst: BURST_SIZE (FIXED_SIZE for keyhole), cut at
    // the 4 KiB boundary (INCR only) and at the end of the transfer
    blen = keyhole_reg ? FIXED_SIZE : BURST_SIZE;
    if (!keyhole_reg && {{CALC_WIDTH-13+ADDR_LSB{1'b0}}, page_beats} < blen) begin
        blen = {{CALC_WIDTH-13+ADDR_LSB{1'b0}}, page_beats};
    end
    if ({{CALC_WIDTH-CNT_WIDTH{1'b0}}, issue_reg} < blen) begin
        blen = {{CALC_WIDTH-CNT_WIDTH{1'b0}}, issue_reg};
    end

    ar_load = busy_reg && !arvalid_reg && !stop && issue_reg != 0
        && {{CALC_WIDTH-CREDIT_WIDTH{1'b0}}, credit_reg} >= blen;
end

always @* begin
    busy_next = busy_reg;
    addr_next = addr_reg;
    issue_next = issue_reg;
    recv_next = recv_reg;
    last_keep_next = last_keep_reg;
    keyhole_next = keyhole_reg;
    eof_next = eof_reg;
    err_next = err_reg;
    credit_next = credit_reg;

    araddr_next = araddr_reg;
    arlen_next = arlen_reg;
    arfixed_next = arfixed_reg;
    arvalid_next = arvalid_reg && !m_axi_arready;

    done_next = 1'b0;
    err_slv_next = 1'b0;
    err_dec_next = 1'b0;

    // a beat leaving the FIFO frees one beat of credit
    if (pop) begin
        credit_next = credit_next + 1'b1;
    end

    if (!busy_reg) begin
        if (start) begin
            busy_next = 1'b1;
            addr_next = start_addr;
            issue_next = start_beats;
            recv_next = start_beats;
            last_keep_next = start_len_rem == 0 ? {STRB_WIDTH{1'b1}}
                : ~({STRB_WIDTH{1'b1}} << start_len_rem);
            keyhole_next = keyhole;
            eof_next = start_eof;
            err_next = 1'b0;
        end
    end else begin
        if (ar_load) begin
            araddr_next = addr_reg;
            arlen_next = blen[7:0] - 8'd1;
            arfixed_next = keyhole_reg;
            arvalid_next = 1'b1;
            issue_next = issue_reg - blen[CNT_WIDTH-1:0];
            credit_next = credit_next - blen[CREDIT_WIDTH-1:0];
            if (!keyhole_reg) begin
                addr_next = addr_reg + {{ADDR_WIDTH-9-ADDR_LSB{1'b0}}, blen[8:0], {ADDR_LSB{1'b0}}};
            end
        end

        if (r_fire) begin
            recv_next = recv_reg - 1'b1;
            if (r_error && !err_reg) begin
                err_next = 1'b1;
                err_slv_next = m_axi_rresp == RESP_SLVERR;
                err_dec_next = m_axi_rresp == RESP_DECERR;
            end
            if (last_beat) begin
                // last beat of the transfer is in the FIFO: complete
                busy_next = 1'b0;
                done_next = !err_reg && !r_error;
            end
        end else if (stop && quiet) begin
            // halted by an error or a soft reset: nothing outstanding
            busy_next = 1'b0;
        end
    end
end

always @(posedge clk) begin
    busy_reg <= busy_next;
    addr_reg <= addr_next;
    issue_reg <= issue_next;
    recv_reg <= recv_next;
    last_keep_reg <= last_keep_next;
    keyhole_reg <= keyhole_next;
    eof_reg <= eof_next;
    err_reg <= err_next;
    credit_reg <= credit_next;

    araddr_reg <= araddr_next;
    arlen_reg <= arlen_next;
    arfixed_reg <= arfixed_next;
    arvalid_reg <= arvalid_next;

    done_reg <= done_next;
    err_slv_reg <= err_slv_next;
    err_dec_reg <= err_dec_next;

    if (rst) begin
        busy_reg <= 1'b0;
        issue_reg <= {CNT_WIDTH{1'b0}};
        recv_reg <= {CNT_WIDTH{1'b0}};
        err_reg <= 1'b0;
        credit_reg <= FIFO_DEPTH[CREDIT_WIDTH-1:0];
        arvalid_reg <= 1'b0;
        done_reg <= 1'b0;
        err_slv_reg <= 1'b0;
        err_dec_reg <= 1'b0;
    end
end

dmasim_axis_fifo #(
    .DATA_WIDTH(DATA_WIDTH),
    .KEEP_WIDTH(STRB_WIDTH),
    .DEPTH(FIFO_DEPTH)
)
sf_fifo_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(m_axi_rdata),
    .s_axis_tkeep(last_beat ? last_keep_reg : {STRB_WIDTH{1'b1}}),
    .s_axis_tlast(last_beat && eof_reg),
    .s_axis_tvalid(m_axi_rvalid && busy_reg),
    .s_axis_tready(fifo_s_tready),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tkeep(m_axis_tkeep),
    .m_axis_tlast(m_axis_tlast),
    .m_axis_tvalid(fifo_m_tvalid),
    .m_axis_tready(m_axis_tready)
);

assign m_axis_tvalid = fifo_m_tvalid;

endmodule

`resetall
