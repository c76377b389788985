/*
 * dmasim: AXI DMA S2MM channel datamover (simple mode).
 *
 * Stream beats enter a SKID_DEPTH-beat input buffer that fills whether or
 * not a transfer is running (the "2-4 beats" the IP takes before LENGTH is
 * written). After `start` the collector takes beats from that buffer, trims
 * the strobes at start_len bytes and groups them into bursts (at most
 * BURST_SIZE beats, never crossing 4 KiB; FIXED bursts of at most 16 beats
 * with keyhole). A burst's address is queued only when all its data is in
 * the data FIFO, so an issued AW always completes without waiting on the
 * stream; W of a burst goes out only after its AW handshake.
 *
 * - TLAST within start_len bytes: complete. `done` pulses after the last
 *   write response, done_bytes = bytes written.
 * - Packet longer than start_len: exactly start_len bytes are written, the
 *   rest of the packet is discarded (TREADY high) until its TLAST or until
 *   the last write response, then err_int pulses (unless a write response
 *   already failed: the channel reports that one) and the channel goes
 *   not-busy; from then on only the skid buffer takes beats.
 * - The first BRESP SLVERR/DECERR of a transfer pulses err_slv/err_dec (the
 *   channel reports its first failing response; later ones add nothing).
 * - While `stop` is high nothing new is collected and no new AW is issued;
 *   once the issued bursts have their responses the channel goes not-busy
 *   without `done` (the soft reset flushes whatever data was left).
 * - It never completes without TLAST, except with UP_TO (scatter-gather: a
 *   command is one BD, "up to start_len bytes"): a full buffer completes
 *   with done_last = 0 and the rest of the packet waits for the next BD.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module dmasim_dma_s2mm #
(
    // width of the memory address in bits
    parameter ADDR_WIDTH = 32,
    // width of memory-map and stream data in bits
    parameter DATA_WIDTH = 32,
    // width of the transfer length in bytes (c_sg_length_width)
    parameter LENGTH_WIDTH = 26,
    // maximum INCR burst length in beats (c_s2mm_burst_size)
    parameter BURST_SIZE = 16,
    // beats the input skid buffer holds before a transfer is started
    parameter SKID_DEPTH = 2,
    // scatter-gather: a command takes up to start_len bytes (no overflow)
    parameter UP_TO = 0
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
    input  wire                     stop,
    output wire                     busy,
    output wire                     quiet,
    output wire                     done,
    output wire [LENGTH_WIDTH-1:0]  done_bytes,
    output wire                     done_last,   // the transfer ended at TLAST
    output wire                     err_int,
    output wire                     err_slv,
    output wire                     err_dec,

    /*
     * AXI4 write master
     */
    output wire [ADDR_WIDTH-1:0]    m_axi_awaddr,
    output wire [7:0]               m_axi_awlen,
    output wire [2:0]               m_axi_awsize,
    output wire [1:0]               m_axi_awburst,
    output wire [3:0]               m_axi_awcache,
    output wire [2:0]               m_axi_awprot,
    output wire                     m_axi_awvalid,
    input  wire                     m_axi_awready,
    output wire [DATA_WIDTH-1:0]    m_axi_wdata,
    output wire [DATA_WIDTH/8-1:0]  m_axi_wstrb,
    output wire                     m_axi_wlast,
    output wire                     m_axi_wvalid,
    input  wire                     m_axi_wready,
    input  wire [1:0]               m_axi_bresp,
    input  wire                     m_axi_bvalid,
    output wire                     m_axi_bready,

    /*
     * AXI-Stream input (S_AXIS_S2MM)
     */
    input  wire [DATA_WIDTH-1:0]    s_axis_tdata,
    input  wire [DATA_WIDTH/8-1:0]  s_axis_tkeep,
    input  wire                     s_axis_tlast,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready
);

// bytes per beat
localparam STRB_WIDTH = DATA_WIDTH/8;
// address bits below the beat
localparam ADDR_LSB = $clog2(STRB_WIDTH);
// AXI4 FIXED bursts are limited to 16 beats
localparam FIXED_SIZE = BURST_SIZE < 16 ? BURST_SIZE : 16;
// data FIFO: one burst collecting while one is written
localparam DATA_FIFO_DEPTH = 2*BURST_SIZE;
// queued burst commands ({address, awlen})
localparam CMD_FIFO_DEPTH = 4;
// width of a queued burst command
localparam CMD_WIDTH = ADDR_WIDTH + 8;
// most bursts with an AW issued and no write response yet
localparam MAX_OUTSTANDING = 16;
// width of the outstanding-burst counters
localparam OUT_WIDTH = $clog2(MAX_OUTSTANDING) + 1;
// width of the byte count of one beat (0..STRB_WIDTH)
localparam BB_WIDTH = ADDR_LSB + 1;

// sized copies for arithmetic
localparam integer STRB_INT = STRB_WIDTH;
localparam integer FIXED_LEN_M1 = FIXED_SIZE - 1;
localparam integer BURST_LEN_M1 = BURST_SIZE - 1;
localparam [BB_WIDTH-1:0] STRB_BB = STRB_INT[BB_WIDTH-1:0];

// AXI constants
localparam [1:0] BURST_FIXED = 2'b00;
localparam [1:0] BURST_INCR = 2'b01;
localparam [1:0] RESP_SLVERR = 2'b10;
localparam [1:0] RESP_DECERR = 2'b11;

localparam [2:0]
    STATE_IDLE = 3'd0,      // no transfer
    STATE_COLLECT = 3'd1,   // taking stream beats
    STATE_FINISH = 3'd2,    // TLAST taken, writing out
    STATE_OVERFLOW = 3'd3,  // LENGTH bytes taken without TLAST: discarding, writing out
    STATE_ABORT = 3'd4;     // stopped: waiting for issued bursts

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
    if (SKID_DEPTH != 2 && SKID_DEPTH != 4) begin
        $error("Error: SKID_DEPTH must be 2 or 4 (instance %m)");
        $finish;
    end
end

// number of set bits in a keep word (kept contiguous from lane 0 by MM2S)
function [BB_WIDTH-1:0] popcount(input [STRB_WIDTH-1:0] keep);
    integer i;
    begin
        popcount = {BB_WIDTH{1'b0}};
        for (i = 0; i < STRB_WIDTH; i = i + 1) begin
            popcount = popcount + {{BB_WIDTH-1{1'b0}}, keep[i]};
        end
    end
endfunction

reg [2:0] state_reg, state_next;
reg [LENGTH_WIDTH-1:0] len_reg, len_next;            // programmed bytes
reg [LENGTH_WIDTH-1:0] bytes_reg, bytes_next;        // bytes taken so far
reg [ADDR_WIDTH-1:0] beat_addr_reg, beat_addr_next;  // address of the next beat
reg [ADDR_WIDTH-1:0] burst_addr_reg, burst_addr_next;// address of the burst being collected
reg [7:0] burst_cnt_reg, burst_cnt_next;             // beats in it so far
reg keyhole_reg, keyhole_next;
reg drop_reg, drop_next;                             // discarding the rest of a packet
reg berr_reg, berr_next;                             // a write response error in this transfer
reg tlast_reg, tlast_next;                           // the transfer took TLAST

reg [ADDR_WIDTH-1:0] awaddr_reg, awaddr_next;
reg [7:0] awlen_reg, awlen_next;
reg awfixed_reg, awfixed_next;
reg awvalid_reg, awvalid_next;
reg [OUT_WIDTH-1:0] wpend_reg, wpend_next;           // AW done, W not finished
reg [OUT_WIDTH-1:0] bpend_reg, bpend_next;           // AW done, B not received

reg done_reg, done_next;
reg err_int_reg, err_int_next;
reg err_slv_reg, err_slv_next;
reg err_dec_reg, err_dec_next;

// skid buffer output
wire [DATA_WIDTH-1:0] skid_tdata;
wire [STRB_WIDTH-1:0] skid_tkeep;
wire skid_tlast;
wire skid_tvalid;
reg skid_tready;

// data FIFO
wire dfifo_s_tready;
reg dfifo_s_tvalid;
reg [STRB_WIDTH-1:0] dfifo_s_tkeep;
reg dfifo_s_tlast;
wire dfifo_m_tvalid;
wire dfifo_m_tlast;

// command FIFO
wire cmd_s_tready;
reg cmd_s_tvalid;
wire [CMD_WIDTH-1:0] cmd_m_tdata;
wire cmd_m_tvalid;
reg cmd_m_tready;

// beat bookkeeping
wire [LENGTH_WIDTH-1:0] rem = len_reg - bytes_reg;
wire [BB_WIDTH-1:0] beat_bytes = popcount(skid_tkeep);
wire reaches = {{LENGTH_WIDTH-BB_WIDTH{1'b0}}, beat_bytes} >= rem;
wire rem_lt_strb = rem < {{LENGTH_WIDTH-BB_WIDTH{1'b0}}, STRB_BB};
wire [STRB_WIDTH-1:0] rem_mask = rem_lt_strb ? ~({STRB_WIDTH{1'b1}} << rem[ADDR_LSB-1:0])
    : {STRB_WIDTH{1'b1}};
wire last_of_xfer = skid_tlast || reaches;
wire overflow = reaches && !(skid_tlast && {{LENGTH_WIDTH-BB_WIDTH{1'b0}}, beat_bytes} == rem);
wire [7:0] burst_max_m1 = keyhole_reg ? FIXED_LEN_M1[7:0] : BURST_LEN_M1[7:0];
wire page_end = !keyhole_reg && &beat_addr_reg[11:ADDR_LSB];
wire end_of_burst = last_of_xfer || burst_cnt_reg == burst_max_m1 || page_end;

wire collect = state_reg == STATE_COLLECT && !stop && skid_tvalid
    && dfifo_s_tready && cmd_s_tready;

wire aw_fire = awvalid_reg && m_axi_awready;
wire w_fire = m_axi_wvalid && m_axi_wready;
wire w_last_fire = w_fire && dfifo_m_tlast;
wire b_fire = m_axi_bvalid;
wire b_error = m_axi_bresp == RESP_SLVERR || m_axi_bresp == RESP_DECERR;

// every issued burst written and answered
wire issued_done = !awvalid_reg && wpend_reg == 0 && bpend_reg == 0;

assign busy = state_reg != STATE_IDLE;
assign quiet = issued_done;
assign done = done_reg;
assign done_bytes = bytes_reg;
assign done_last = tlast_reg;
assign err_int = err_int_reg;
assign err_slv = err_slv_reg;
assign err_dec = err_dec_reg;

assign m_axi_awaddr = awaddr_reg;
assign m_axi_awlen = awlen_reg;
assign m_axi_awsize = ADDR_LSB[2:0];
assign m_axi_awburst = awfixed_reg ? BURST_FIXED : BURST_INCR;
assign m_axi_awcache = 4'b0011;
assign m_axi_awprot = 3'b000;
assign m_axi_awvalid = awvalid_reg;
assign m_axi_wvalid = dfifo_m_tvalid && wpend_reg != 0;
assign m_axi_wlast = dfifo_m_tlast;
assign m_axi_bready = 1'b1;

always @* begin
    state_next = state_reg;
    len_next = len_reg;
    bytes_next = bytes_reg;
    beat_addr_next = beat_addr_reg;
    burst_addr_next = burst_addr_reg;
    burst_cnt_next = burst_cnt_reg;
    keyhole_next = keyhole_reg;
    drop_next = drop_reg;
    berr_next = berr_reg;
    tlast_next = tlast_reg;

    awaddr_next = awaddr_reg;
    awlen_next = awlen_reg;
    awfixed_next = awfixed_reg;
    awvalid_next = awvalid_reg && !m_axi_awready;
    wpend_next = wpend_reg;
    bpend_next = bpend_reg;

    done_next = 1'b0;
    err_int_next = 1'b0;
    err_slv_next = 1'b0;
    err_dec_next = 1'b0;

    skid_tready = 1'b0;
    dfifo_s_tvalid = 1'b0;
    dfifo_s_tkeep = skid_tkeep;
    dfifo_s_tlast = end_of_burst;
    cmd_s_tvalid = 1'b0;
    cmd_m_tready = 1'b0;

    // address channel: one queued burst at a time, none while stopped
    if (!awvalid_reg && cmd_m_tvalid && !stop && bpend_reg != MAX_OUTSTANDING) begin
        cmd_m_tready = 1'b1;
        awaddr_next = cmd_m_tdata[CMD_WIDTH-1:8];
        awlen_next = cmd_m_tdata[7:0];
        awfixed_next = keyhole_reg;
        awvalid_next = 1'b1;
    end

    // outstanding-burst counters
    if (aw_fire && !w_last_fire) begin
        wpend_next = wpend_reg + 1'b1;
    end else if (!aw_fire && w_last_fire) begin
        wpend_next = wpend_reg - 1'b1;
    end
    if (aw_fire && !b_fire) begin
        bpend_next = bpend_reg + 1'b1;
    end else if (!aw_fire && b_fire) begin
        bpend_next = bpend_reg - 1'b1;
    end

    if (b_fire && b_error && !berr_reg) begin
        berr_next = 1'b1;
        err_slv_next = m_axi_bresp == RESP_SLVERR;
        err_dec_next = m_axi_bresp == RESP_DECERR;
    end

    case (state_reg)
        STATE_IDLE: begin
            if (start) begin
                state_next = STATE_COLLECT;
                len_next = start_len;
                bytes_next = {LENGTH_WIDTH{1'b0}};
                beat_addr_next = start_addr;
                burst_addr_next = start_addr;
                burst_cnt_next = 8'd0;
                keyhole_next = keyhole;
                drop_next = 1'b0;
                berr_next = 1'b0;
                tlast_next = 1'b0;
            end
        end
        STATE_COLLECT: begin
            if (stop) begin
                state_next = STATE_ABORT;
            end else if (collect) begin
                skid_tready = 1'b1;
                dfifo_s_tvalid = 1'b1;
                if (reaches) begin
                    dfifo_s_tkeep = skid_tkeep & rem_mask;
                    bytes_next = len_reg;
                end else begin
                    bytes_next = bytes_reg + {{LENGTH_WIDTH-BB_WIDTH{1'b0}}, beat_bytes};
                end
                if (!keyhole_reg) begin
                    beat_addr_next = beat_addr_reg + {{ADDR_WIDTH-BB_WIDTH{1'b0}}, STRB_BB};
                end
                if (end_of_burst) begin
                    cmd_s_tvalid = 1'b1;
                    burst_cnt_next = 8'd0;
                    burst_addr_next = beat_addr_next;
                end else begin
                    burst_cnt_next = burst_cnt_reg + 8'd1;
                end
                if (last_of_xfer) begin
                    tlast_next = skid_tlast;
                    if (UP_TO != 0) begin
                        // SG: a full buffer ends the BD; the packet goes on in the next
                        state_next = STATE_FINISH;
                    end else begin
                        state_next = overflow ? STATE_OVERFLOW : STATE_FINISH;
                        drop_next = overflow && !skid_tlast;
                    end
                end
            end
        end
        STATE_FINISH: begin
            if (issued_done && !cmd_m_tvalid) begin
                state_next = STATE_IDLE;
                done_next = !berr_reg;
            end else if (stop) begin
                state_next = STATE_ABORT;
            end
        end
        STATE_OVERFLOW: begin
            // discard the rest of the packet while the last bursts complete
            if (drop_reg) begin
                skid_tready = 1'b1;
                if (skid_tvalid && skid_tlast) begin
                    drop_next = 1'b0;
                end
            end
            if (issued_done && !cmd_m_tvalid) begin
                state_next = STATE_IDLE;
                // a failed write response came first: that is the one error reported
                err_int_next = !berr_reg;
            end else if (stop) begin
                state_next = STATE_ABORT;
            end
        end
        STATE_ABORT: begin
            if (issued_done) begin
                state_next = STATE_IDLE;
            end
        end
        default: begin
            state_next = STATE_IDLE;
        end
    endcase
end

always @(posedge clk) begin
    state_reg <= state_next;
    len_reg <= len_next;
    bytes_reg <= bytes_next;
    beat_addr_reg <= beat_addr_next;
    burst_addr_reg <= burst_addr_next;
    burst_cnt_reg <= burst_cnt_next;
    keyhole_reg <= keyhole_next;
    drop_reg <= drop_next;
    berr_reg <= berr_next;
    tlast_reg <= tlast_next;

    awaddr_reg <= awaddr_next;
    awlen_reg <= awlen_next;
    awfixed_reg <= awfixed_next;
    awvalid_reg <= awvalid_next;
    wpend_reg <= wpend_next;
    bpend_reg <= bpend_next;

    done_reg <= done_next;
    err_int_reg <= err_int_next;
    err_slv_reg <= err_slv_next;
    err_dec_reg <= err_dec_next;

    if (rst) begin
        state_reg <= STATE_IDLE;
        bytes_reg <= {LENGTH_WIDTH{1'b0}};
        drop_reg <= 1'b0;
        berr_reg <= 1'b0;
        awvalid_reg <= 1'b0;
        wpend_reg <= {OUT_WIDTH{1'b0}};
        bpend_reg <= {OUT_WIDTH{1'b0}};
        done_reg <= 1'b0;
        err_int_reg <= 1'b0;
        err_slv_reg <= 1'b0;
        err_dec_reg <= 1'b0;
    end
end

dmasim_axis_fifo #(
    .DATA_WIDTH(DATA_WIDTH),
    .KEEP_WIDTH(STRB_WIDTH),
    .DEPTH(SKID_DEPTH)
)
skid_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tkeep(s_axis_tkeep),
    .s_axis_tlast(s_axis_tlast),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .m_axis_tdata(skid_tdata),
    .m_axis_tkeep(skid_tkeep),
    .m_axis_tlast(skid_tlast),
    .m_axis_tvalid(skid_tvalid),
    .m_axis_tready(skid_tready)
);

dmasim_axis_fifo #(
    .DATA_WIDTH(DATA_WIDTH),
    .KEEP_WIDTH(STRB_WIDTH),
    .DEPTH(DATA_FIFO_DEPTH)
)
data_fifo_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(skid_tdata),
    .s_axis_tkeep(dfifo_s_tkeep),
    .s_axis_tlast(dfifo_s_tlast),
    .s_axis_tvalid(dfifo_s_tvalid),
    .s_axis_tready(dfifo_s_tready),
    .m_axis_tdata(m_axi_wdata),
    .m_axis_tkeep(m_axi_wstrb),
    .m_axis_tlast(dfifo_m_tlast),
    .m_axis_tvalid(dfifo_m_tvalid),
    .m_axis_tready(m_axi_wready && wpend_reg != 0)
);

// the command FIFO carries {burst address, awlen} in tdata; keep and last unused
wire unused_cmd_tkeep;
wire unused_cmd_tlast;

dmasim_axis_fifo #(
    .DATA_WIDTH(CMD_WIDTH),
    .KEEP_WIDTH(1),
    .DEPTH(CMD_FIFO_DEPTH)
)
cmd_fifo_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata({burst_addr_reg, burst_cnt_reg}),
    .s_axis_tkeep(1'b0),
    .s_axis_tlast(1'b0),
    .s_axis_tvalid(cmd_s_tvalid),
    .s_axis_tready(cmd_s_tready),
    .m_axis_tdata(cmd_m_tdata),
    .m_axis_tkeep(unused_cmd_tkeep),
    .m_axis_tlast(unused_cmd_tlast),
    .m_axis_tvalid(cmd_m_tvalid),
    .m_axis_tready(cmd_m_tready)
);

endmodule

`resetall
