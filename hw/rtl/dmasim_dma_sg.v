/*
 * dmasim: AXI DMA scatter-gather engine (c_include_sg = 1), both channels.
 *
 * Channel 0 is MM2S, channel 1 is S2MM. Behaviour follows the SG rules of
 * docs/axi-dma-behaviour.md; offsets and fields of the buffer descriptor (BD)
 * come from dmasim_regmap.vh (generated from dmasim/regmap.py).
 *
 * - CURDESC/TAILDESC (+MSB above 32 address bits) are held here; the register
 *   file forwards software writes (cd_wr/td_wr and their _msb pulses, with the
 *   strobe-merged value). CURDESC stores only while the channel is halted and
 *   no error has latched it; TAILDESC always stores. Bits 5:0 read 0.
 * - Kick: the TAILDESC write (the MSB write above 32 address bits) while
 *   RS=1. On each RS 0->1 edge the fetch address is taken from CURDESC and the
 *   fetcher waits for a kick; a kick while it is stopped at the old tail
 *   resumes at that tail's NXTDESC, a kick while it is fetching only moves the
 *   stop point (a kick in the clock of the tail match wins).
 * - One fetch engine, shared: one INCR burst of 8 words per BD, channels
 *   alternating. A fetched BD waits in its channel's queue (PREFETCH_BDS
 *   deep, the fetcher stops when it is full) and is never fetched past
 *   TAILDESC. Fetched STATUS bit 31 (Cmplt) with Cyclic=0 is SGIntErr; an
 *   SLVERR/DECERR beat is SGSlvErr/SGDecErr; neither is queued.
 * - A queued BD becomes a datamover command when the channel's datamover and
 *   status slot are free; CURDESC then names it. CONTROL[LENGTH_WIDTH-1:0] = 0
 *   is DMAIntErr without a datamover command. MM2S drives TLAST only at the
 *   end of a TXEOF BD. S2MM BDs take "up to N bytes": the BD ends full
 *   (RXEOF=0) or at TLAST (RXEOF=1); RXSOF marks the first BD of a packet.
 * - One update engine, shared: one 4-byte write of STATUS (Cmplt, error bits,
 *   RXSOF/RXEOF, transferred bytes) per BD, channels alternating. Transferred:
 *   MM2S the CONTROL length as fetched (also with a data error: the failing
 *   beats stream as data); S2MM the bytes taken from the stream; 0 for
 *   a zero-length BD. After its
 *   write response: an IOC event for a TXEOF/RXEOF BD, or the DMA error bits
 *   of a BD whose data failed; an SLVERR/DECERR response is SGSlvErr/SGDecErr.
 * - On an error CURDESC is latched once: the failing BD for fetch errors and
 *   SGIntErr, else the last BD fetched for the channel.
 * - RS=0: no new fetch, queued BDs are dropped, the datamover command and the
 *   status writes of BDs already started finish. `stop` (an error or a soft
 *   reset draining) freezes everything but bursts already issued.
 * - Idle (per channel): RS=1, kicked since RS went 1, fetcher stopped at the
 *   tail, nothing queued, no command, no status pending.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "dmasim_regmap.vh"

module dmasim_dma_sg #
(
    // width of the memory address in bits (32..64)
    parameter ADDR_WIDTH = 32,
    // width of the SG master's data in bits (32 or 64)
    parameter DATA_WIDTH = 32,
    // width of the transfer length in bytes (c_sg_length_width)
    parameter LENGTH_WIDTH = 26,
    // fetched BDs a channel holds ahead of the one its datamover moves
    parameter PREFETCH_BDS = 1
)
(
    input  wire                       clk,
    input  wire                       rst,

    /*
     * Register file
     */
    input  wire [1:0]                 rs,
    input  wire [1:0]                 cyclic,
    input  wire [1:0]                 halted,
    input  wire                       stop,
    input  wire [1:0]                 cd_wr,
    input  wire [1:0]                 cd_msb_wr,
    input  wire [1:0]                 td_wr,
    input  wire [1:0]                 td_msb_wr,
    input  wire [31:0]                wr_val,
    output wire [127:0]               curdesc,      // {S2MM, MM2S}, 64 bits each
    output wire [127:0]               taildesc,
    output wire [1:0]                 busy,         // keeps Halted at 0
    output wire [1:0]                 idle,
    output wire                       quiet,        // no SG burst outstanding
    output wire [1:0]                 ioc_event,
    output wire [1:0]                 err_sg_int,
    output wire [1:0]                 err_sg_slv,
    output wire [1:0]                 err_sg_dec,
    output wire [1:0]                 err_dma_int,
    output wire [1:0]                 err_dma_slv,
    output wire [1:0]                 err_dma_dec,

    /*
     * Datamovers
     */
    output wire                       mm2s_start,
    output wire [ADDR_WIDTH-1:0]      mm2s_addr,
    output wire [LENGTH_WIDTH-1:0]    mm2s_len,
    output wire                       mm2s_eof,
    input  wire                       mm2s_busy,
    input  wire                       mm2s_rbeat,   // a read beat taken (its response below)
    input  wire [1:0]                 mm2s_rresp,
    input  wire                       mm2s_err_slv,
    input  wire                       mm2s_err_dec,
    output wire                       s2mm_start,
    output wire [ADDR_WIDTH-1:0]      s2mm_addr,
    output wire [LENGTH_WIDTH-1:0]    s2mm_len,
    input  wire                       s2mm_busy,
    input  wire [LENGTH_WIDTH-1:0]    s2mm_done_bytes,
    input  wire                       s2mm_done_last,
    input  wire                       s2mm_err_slv,
    input  wire                       s2mm_err_dec,

    /*
     * AXI4 master (M_AXI_SG): BD reads and STATUS writes
     */
    output wire [ADDR_WIDTH-1:0]      m_axi_araddr,
    output wire [7:0]                 m_axi_arlen,
    output wire [2:0]                 m_axi_arsize,
    output wire [1:0]                 m_axi_arburst,
    output wire [3:0]                 m_axi_arcache,
    output wire [2:0]                 m_axi_arprot,
    output wire                       m_axi_arvalid,
    input  wire                       m_axi_arready,
    input  wire [DATA_WIDTH-1:0]      m_axi_rdata,
    input  wire [1:0]                 m_axi_rresp,
    input  wire                       m_axi_rlast,
    input  wire                       m_axi_rvalid,
    output wire                       m_axi_rready,
    output wire [ADDR_WIDTH-1:0]      m_axi_awaddr,
    output wire [7:0]                 m_axi_awlen,
    output wire [2:0]                 m_axi_awsize,
    output wire [1:0]                 m_axi_awburst,
    output wire [3:0]                 m_axi_awcache,
    output wire [2:0]                 m_axi_awprot,
    output wire                       m_axi_awvalid,
    input  wire                       m_axi_awready,
    output wire [DATA_WIDTH-1:0]      m_axi_wdata,
    output wire [DATA_WIDTH/8-1:0]    m_axi_wstrb,
    output wire                       m_axi_wlast,
    output wire                       m_axi_wvalid,
    input  wire                       m_axi_wready,
    input  wire [1:0]                 m_axi_bresp,
    input  wire                       m_axi_bvalid,
    output wire                       m_axi_bready
);

localparam STRB_WIDTH = DATA_WIDTH/8;
localparam ADDR_LSB = $clog2(STRB_WIDTH);
localparam HAS_MSB = ADDR_WIDTH > 32;
// words of a BD the engine reads: NXTDESC .. STATUS
localparam BD_WORDS = (`DMASIM_BD_STATUS / 4) + 1;
localparam integer FETCH_BEATS = BD_WORDS * 4 / STRB_WIDTH;
localparam [7:0] FETCH_LEN = FETCH_BEATS[7:0] - 8'd1;
localparam BD_ALIGN_BITS = $clog2(`DMASIM_BD_ALIGN);
localparam integer STATUS_INT = `DMASIM_BD_STATUS;
// STATUS's offset in a BD, as an address
localparam [ADDR_WIDTH-1:0] STATUS_OFF = {{ADDR_WIDTH-8{1'b0}}, STATUS_INT[7:0]};
// BD length field as stored in CONTROL and reported in STATUS
localparam CTL_WIDTH = $clog2((`DMASIM_BD_CONTROL_LENGTH_MASK >> `DMASIM_BD_CONTROL_LENGTH_BIT) + 1);
// one queue entry: {bd, buffer, control length, eof}
localparam QW = 2*ADDR_WIDTH + CTL_WIDTH + 1;
localparam QCW = $clog2(PREFETCH_BDS + 1);
localparam QPW = PREFETCH_BDS > 1 ? $clog2(PREFETCH_BDS) : 1;
localparam integer Q_DEPTH = PREFETCH_BDS;
localparam [QCW-1:0] Q_FULL = Q_DEPTH[QCW-1:0];
// byte lane of STATUS in its bus word
localparam integer STATUS_LANE = (`DMASIM_BD_STATUS % STRB_WIDTH) / 4;

localparam [1:0] RESP_SLVERR = 2'b10;
localparam [1:0] RESP_DECERR = 2'b11;

localparam [1:0]
    F_IDLE = 2'd0,
    F_ADDR = 2'd1,
    F_DATA = 2'd2;

localparam [1:0]
    U_IDLE = 2'd0,
    U_SEND = 2'd1,
    U_RESP = 2'd2;

initial begin
    if (DATA_WIDTH != 32 && DATA_WIDTH != 64) begin
        $error("Error: DATA_WIDTH must be 32 or 64 (instance %m)");
        $finish;
    end
    if (ADDR_WIDTH < 32 || ADDR_WIDTH > 64) begin
        $error("Error: ADDR_WIDTH must be in 32..64 (instance %m)");
        $finish;
    end
    if (LENGTH_WIDTH < 8 || LENGTH_WIDTH > CTL_WIDTH) begin
        $error("Error: LENGTH_WIDTH must be in 8..26 (instance %m)");
        $finish;
    end
    if (PREFETCH_BDS < 1 || PREFETCH_BDS > 4) begin
        $error("Error: PREFETCH_BDS must be in 1..4 (instance %m)");
        $finish;
    end
end

// a descriptor address as stored: aligned down to the BD alignment
function [ADDR_WIDTH-1:0] align_bd(input [ADDR_WIDTH-1:0] a);
    begin
        align_bd = a >> BD_ALIGN_BITS << BD_ALIGN_BITS;
    end
endfunction

// a queue index modulo the depth
function [QPW-1:0] q_wrap(input [31:0] i);
    begin
        q_wrap = i >= PREFETCH_BDS ? i[QPW-1:0] - Q_DEPTH[QPW-1:0] : i[QPW-1:0];
    end
endfunction

/*
 * Per-channel state, channel c in slice c
 */
reg [2*ADDR_WIDTH-1:0] cur_reg, cur_next;          // CURDESC
reg [1:0] cur_lock_reg, cur_lock_next;             // CURDESC latched by an error
reg [2*ADDR_WIDTH-1:0] tail_reg, tail_next;        // TAILDESC
reg [2*ADDR_WIDTH-1:0] faddr_reg, faddr_next;      // next BD to fetch
reg [1:0] fetching_reg, fetching_next;             // fetcher has BDs to read
reg [1:0] armed_reg, armed_next;                   // kicked since RS went 1
reg [1:0] rs_prev_reg;
reg [2*ADDR_WIDTH-1:0] lastf_reg, lastf_next;      // last BD fetched
reg [1:0] idle_reg, idle_next;

// queue of fetched BDs
reg [QW-1:0] q_mem [0:2*PREFETCH_BDS-1];
reg [2*QPW-1:0] q_head_reg, q_head_next;
reg [2*QCW-1:0] q_count_reg, q_count_next;
reg [1:0] q_push;                                  // write q_mem at the tail this clock
reg [QW-1:0] q_push_data;

// the BD in the datamover
reg [1:0] start_reg, start_next;
reg [1:0] act_reg, act_next;
reg [2*ADDR_WIDTH-1:0] act_bd_reg, act_bd_next;
reg [2*CTL_WIDTH-1:0] act_ctl_reg, act_ctl_next;
reg [1:0] act_eof_reg, act_eof_next;
reg [1:0] act_slv_reg, act_slv_next;
reg [1:0] act_dec_reg, act_dec_next;
reg [2*ADDR_WIDTH-1:0] cmd_addr_reg, cmd_addr_next;
reg [2*LENGTH_WIDTH-1:0] cmd_len_reg, cmd_len_next;
reg s2mm_sof_reg, s2mm_sof_next;                   // next S2MM BD starts a packet
reg mm2s_bad_reg, mm2s_bad_next;

// status slot: a finished BD waiting for the update engine
reg [1:0] slot_reg, slot_next;
reg [2*ADDR_WIDTH-1:0] slot_bd_reg, slot_bd_next;
reg [63:0] slot_word_reg, slot_word_next;
reg [1:0] slot_ioc_reg, slot_ioc_next;
reg [5:0] slot_err_reg, slot_err_next;             // {dec, slv, int} per channel

/*
 * Fetch engine
 */
reg [1:0] f_state_reg, f_state_next;
reg f_ch_reg, f_ch_next;
reg f_last_reg, f_last_next;                       // channel served last
reg [ADDR_WIDTH-1:0] f_bd_reg, f_bd_next;
reg [2:0] f_beat_reg, f_beat_next;
reg [1:0] f_resp_reg, f_resp_next;
reg [BD_WORDS*32-1:0] f_words_reg, f_words_next;
reg arvalid_reg, arvalid_next;

/*
 * Update engine
 */
reg [1:0] u_state_reg, u_state_next;
reg u_ch_reg, u_ch_next;
reg u_last_reg, u_last_next;
reg [ADDR_WIDTH-1:0] u_addr_reg, u_addr_next;
reg [31:0] u_word_reg, u_word_next;
reg u_ioc_reg, u_ioc_next;
reg [2:0] u_err_reg, u_err_next;
reg awvalid_reg, awvalid_next;
reg wvalid_reg, wvalid_next;

// events to the register file (one-clock pulses)
reg [1:0] ioc_reg, ioc_next;
reg [1:0] e_sgint_reg, e_sgint_next;
reg [1:0] e_sgslv_reg, e_sgslv_next;
reg [1:0] e_sgdec_reg, e_sgdec_next;
reg [1:0] e_int_reg, e_int_next;
reg [1:0] e_slv_reg, e_slv_next;
reg [1:0] e_dec_reg, e_dec_next;

wire [1:0] dm_busy = {s2mm_busy, mm2s_busy};
wire [1:0] dm_slv = {s2mm_err_slv, mm2s_err_slv};
wire [1:0] dm_dec = {s2mm_err_dec, mm2s_err_dec};
wire [1:0] kick = (HAS_MSB ? td_msb_wr : td_wr) & rs;
wire [1:0] rs_rise = rs & ~rs_prev_reg;

// channels whose fetcher has a BD to read and room for it
wire [1:0] f_want = {rs[1] && fetching_reg[1] && q_count_reg[QCW +: QCW] < Q_FULL,
                     rs[0] && fetching_reg[0] && q_count_reg[0 +: QCW] < Q_FULL};
wire ar_fire = arvalid_reg && m_axi_arready;
wire r_fire = f_state_reg == F_DATA && m_axi_rvalid;
wire r_error = m_axi_rresp == RESP_SLVERR || m_axi_rresp == RESP_DECERR;
wire f_done = r_fire && f_beat_reg == FETCH_LEN[2:0];
wire aw_fire = awvalid_reg && m_axi_awready;
wire w_fire = wvalid_reg && m_axi_wready;
wire b_fire = u_state_reg == U_RESP && m_axi_bvalid;

// the fetched BD's words as they will stand after this clock's beat
wire [BD_WORDS*32-1:0] f_words_now = f_words_next;
wire [31:0] bd_nxt = f_words_now[32*(`DMASIM_BD_NXTDESC/4) +: 32];
wire [31:0] bd_nxt_msb = f_words_now[32*(`DMASIM_BD_NXTDESC_MSB/4) +: 32];
wire [31:0] bd_buf = f_words_now[32*(`DMASIM_BD_BUFFER_ADDRESS/4) +: 32];
wire [31:0] bd_buf_msb = f_words_now[32*(`DMASIM_BD_BUFFER_ADDRESS_MSB/4) +: 32];
wire [31:0] bd_ctl = f_words_now[32*(`DMASIM_BD_CONTROL/4) +: 32];
wire [31:0] bd_sts = f_words_now[32*(`DMASIM_BD_STATUS/4) +: 32];
wire [63:0] bd_nxt_full = {HAS_MSB ? bd_nxt_msb : 32'd0, bd_nxt};
wire [63:0] bd_buf_full = {HAS_MSB ? bd_buf_msb : 32'd0, bd_buf};

// reserved words, the upper address words below 33 bits and the unused
// CONTROL/STATUS bits are read and ignored
wire unused_bd = ^{f_words_now, f_words_reg, bd_nxt_full, bd_buf_full, bd_ctl, bd_sts, m_axi_rlast};

reg [127:0] curdesc_out;
reg [127:0] taildesc_out;
always @* begin
    curdesc_out = 128'd0;
    taildesc_out = 128'd0;
    curdesc_out[0 +: ADDR_WIDTH] = cur_reg[0 +: ADDR_WIDTH];
    curdesc_out[64 +: ADDR_WIDTH] = cur_reg[ADDR_WIDTH +: ADDR_WIDTH];
    taildesc_out[0 +: ADDR_WIDTH] = tail_reg[0 +: ADDR_WIDTH];
    taildesc_out[64 +: ADDR_WIDTH] = tail_reg[ADDR_WIDTH +: ADDR_WIDTH];
end
assign curdesc = curdesc_out;
assign taildesc = taildesc_out;
assign idle = idle_reg;
assign ioc_event = ioc_reg;
assign err_sg_int = e_sgint_reg;
assign err_sg_slv = e_sgslv_reg;
assign err_sg_dec = e_sgdec_reg;
assign err_dma_int = e_int_reg;
assign err_dma_slv = e_slv_reg;
assign err_dma_dec = e_dec_reg;
assign quiet = f_state_reg == F_IDLE && u_state_reg == U_IDLE;

assign mm2s_start = start_reg[0];
assign mm2s_addr = cmd_addr_reg[0 +: ADDR_WIDTH];
assign mm2s_len = cmd_len_reg[0 +: LENGTH_WIDTH];
assign mm2s_eof = act_eof_reg[0];
assign s2mm_start = start_reg[1];
assign s2mm_addr = cmd_addr_reg[ADDR_WIDTH +: ADDR_WIDTH];
assign s2mm_len = cmd_len_reg[LENGTH_WIDTH +: LENGTH_WIDTH];

assign m_axi_araddr = f_bd_reg;
assign m_axi_arlen = FETCH_LEN;
assign m_axi_arsize = ADDR_LSB[2:0];
assign m_axi_arburst = 2'b01;
assign m_axi_arcache = 4'b0011;
assign m_axi_arprot = 3'b000;
assign m_axi_arvalid = arvalid_reg;
assign m_axi_rready = f_state_reg == F_DATA;

assign m_axi_awaddr = u_addr_reg;
assign m_axi_awlen = 8'd0;
assign m_axi_awsize = 3'd2;
assign m_axi_awburst = 2'b01;
assign m_axi_awcache = 4'b0011;
assign m_axi_awprot = 3'b000;
assign m_axi_awvalid = awvalid_reg;
assign m_axi_wdata = {STRB_WIDTH/4{u_word_reg}};
assign m_axi_wstrb = {{STRB_WIDTH-4{1'b0}}, 4'hf} << (4*STATUS_LANE);
assign m_axi_wlast = 1'b1;
assign m_axi_wvalid = wvalid_reg;
assign m_axi_bready = u_state_reg == U_RESP;

// per-channel busy (Halted stays 0): fetch, command and status paths. While
// stopped by an error only bursts already issued count.
genvar gc;
generate
    for (gc = 0; gc < 2; gc = gc + 1) begin : g_busy
        wire f_mine = f_state_reg != F_IDLE && f_ch_reg == gc;
        wire u_mine = u_state_reg != U_IDLE && u_ch_reg == gc;
        assign busy[gc] = f_mine || u_mine
            || (!stop && (start_reg[gc] || act_reg[gc] || slot_reg[gc]));
    end
endgenerate

integer c;
reg pick_ok;
reg pick_ch;
reg [QW-1:0] q_out;
reg [CTL_WIDTH-1:0] q_ctl;
reg [LENGTH_WIDTH-1:0] q_len;
reg [QPW-1:0] q_idx;
reg [QCW-1:0] q_cnt;
reg complete;
reg [31:0] word;
reg [2:0] errs;
reg f_discard;
reg [63:0] cur64;
reg [63:0] tail64;

always @* begin
    cur_next = cur_reg;
    cur_lock_next = cur_lock_reg;
    tail_next = tail_reg;
    faddr_next = faddr_reg;
    fetching_next = fetching_reg;
    armed_next = armed_reg;
    lastf_next = lastf_reg;
    idle_next = idle_reg;
    q_head_next = q_head_reg;
    q_count_next = q_count_reg;
    q_push = 2'b00;
    q_push_data = {QW{1'b0}};
    start_next = 2'b00;
    act_next = act_reg;
    act_bd_next = act_bd_reg;
    act_ctl_next = act_ctl_reg;
    act_eof_next = act_eof_reg;
    act_slv_next = act_slv_reg;
    act_dec_next = act_dec_reg;
    cmd_addr_next = cmd_addr_reg;
    cmd_len_next = cmd_len_reg;
    s2mm_sof_next = s2mm_sof_reg;
    mm2s_bad_next = mm2s_bad_reg;
    slot_next = slot_reg;
    slot_bd_next = slot_bd_reg;
    slot_word_next = slot_word_reg;
    slot_ioc_next = slot_ioc_reg;
    slot_err_next = slot_err_reg;

    f_state_next = f_state_reg;
    f_ch_next = f_ch_reg;
    f_last_next = f_last_reg;
    f_bd_next = f_bd_reg;
    f_beat_next = f_beat_reg;
    f_resp_next = f_resp_reg;
    f_words_next = f_words_reg;
    arvalid_next = arvalid_reg && !m_axi_arready;

    u_state_next = u_state_reg;
    u_ch_next = u_ch_reg;
    u_last_next = u_last_reg;
    u_addr_next = u_addr_reg;
    u_word_next = u_word_reg;
    u_ioc_next = u_ioc_reg;
    u_err_next = u_err_reg;
    awvalid_next = awvalid_reg && !m_axi_awready;
    wvalid_next = wvalid_reg && !m_axi_wready;

    ioc_next = 2'b00;
    e_sgint_next = 2'b00;
    e_sgslv_next = 2'b00;
    e_sgdec_next = 2'b00;
    e_int_next = 2'b00;
    e_slv_next = 2'b00;
    e_dec_next = 2'b00;
    f_discard = 1'b0;
    word = 32'd0;
    cur64 = 64'd0;
    tail64 = 64'd0;
    pick_ok = 1'b0;
    pick_ch = 1'b0;
    complete = 1'b0;
    q_out = {QW{1'b0}};
    q_ctl = {CTL_WIDTH{1'b0}};
    q_len = {LENGTH_WIDTH{1'b0}};
    q_idx = {QPW{1'b0}};
    q_cnt = {QCW{1'b0}};
    errs = 3'd0;

    /*
     * Software writes of CURDESC/TAILDESC; RS edges; kicks
     */
    for (c = 0; c < 2; c = c + 1) begin
        // a 64-bit view of the old values, one 32-bit half replaced by the write
        cur64 = 64'd0;
        tail64 = 64'd0;
        cur64[ADDR_WIDTH-1:0] = cur_reg[ADDR_WIDTH*c +: ADDR_WIDTH];
        tail64[ADDR_WIDTH-1:0] = tail_reg[ADDR_WIDTH*c +: ADDR_WIDTH];
        if (cd_wr[c]) cur64[31:0] = wr_val;
        if (cd_msb_wr[c]) cur64[63:32] = wr_val;
        if (td_wr[c]) tail64[31:0] = wr_val;
        if (td_msb_wr[c]) tail64[63:32] = wr_val;
        if ((cd_wr[c] || (HAS_MSB && cd_msb_wr[c])) && halted[c] && !cur_lock_reg[c]) begin
            cur_next[ADDR_WIDTH*c +: ADDR_WIDTH] = align_bd(cur64[ADDR_WIDTH-1:0]);
        end
        if (td_wr[c] || (HAS_MSB && td_msb_wr[c])) begin
            tail_next[ADDR_WIDTH*c +: ADDR_WIDTH] = align_bd(tail64[ADDR_WIDTH-1:0]);
        end
        if (rs_rise[c]) begin
            faddr_next[ADDR_WIDTH*c +: ADDR_WIDTH] = cur_reg[ADDR_WIDTH*c +: ADDR_WIDTH];
            fetching_next[c] = 1'b0;
            armed_next[c] = 1'b0;
        end
        if (kick[c]) begin
            fetching_next[c] = 1'b1;
            armed_next[c] = 1'b1;
        end
        if (!rs[c]) begin
            fetching_next[c] = 1'b0;
            armed_next[c] = 1'b0;
            q_count_next[QCW*c +: QCW] = {QCW{1'b0}};  // fetched, not started: dropped
        end
    end

    /*
     * Fetch engine: pick a channel (the other one first), read its BD
     */
    case (f_state_reg)
        F_IDLE: begin
            // the channel not served last first
            pick_ok = f_want[0] || f_want[1];
            pick_ch = f_want[1] && (!f_want[0] || !f_last_reg);
            if (pick_ok && !stop) begin
                f_state_next = F_ADDR;
                f_ch_next = pick_ch;
                f_last_next = pick_ch;
                f_bd_next = faddr_reg[ADDR_WIDTH*pick_ch +: ADDR_WIDTH];
                f_beat_next = 3'd0;
                f_resp_next = 2'b00;
                arvalid_next = 1'b1;
            end
        end
        F_ADDR: begin
            if (ar_fire) begin
                f_state_next = F_DATA;
            end
        end
        F_DATA: begin
            if (r_fire) begin
                f_words_next[DATA_WIDTH*f_beat_reg +: DATA_WIDTH] = m_axi_rdata;
                f_beat_next = f_beat_reg + 3'd1;
                if (r_error && f_resp_reg == 2'b00) begin
                    f_resp_next = m_axi_rresp;
                end
            end
            if (f_done) begin
                f_state_next = F_IDLE;
            end
        end
        default: begin
            f_state_next = F_IDLE;
        end
    endcase

    // a BD fully read: error, stale, dropped (RS=0 meanwhile) or queued
    if (f_done) begin
        if (stop) begin
            f_discard = 1'b1;
        end else if (f_resp_next != 2'b00) begin
            e_sgslv_next[f_ch_reg] = f_resp_next == RESP_SLVERR;
            e_sgdec_next[f_ch_reg] = f_resp_next == RESP_DECERR;
            if (!cur_lock_reg[f_ch_reg]) begin
                cur_next[ADDR_WIDTH*f_ch_reg +: ADDR_WIDTH] = f_bd_reg;
                cur_lock_next[f_ch_reg] = 1'b1;
            end
        end else if (!rs[f_ch_reg]) begin
            f_discard = 1'b1;
        end else if (bd_sts[`DMASIM_BD_STATUS_CMPLT_BIT] && !cyclic[f_ch_reg]) begin
            e_sgint_next[f_ch_reg] = 1'b1;
            if (!cur_lock_reg[f_ch_reg]) begin
                cur_next[ADDR_WIDTH*f_ch_reg +: ADDR_WIDTH] = f_bd_reg;
                cur_lock_next[f_ch_reg] = 1'b1;
            end
        end else begin
            q_push[f_ch_reg] = 1'b1;
            q_push_data = {f_bd_reg, bd_buf_full[ADDR_WIDTH-1:0],
                bd_ctl[`DMASIM_BD_CONTROL_LENGTH_BIT +: CTL_WIDTH],
                bd_ctl[`DMASIM_BD_CONTROL_TXEOF_BIT]};
            lastf_next[ADDR_WIDTH*f_ch_reg +: ADDR_WIDTH] = f_bd_reg;
            faddr_next[ADDR_WIDTH*f_ch_reg +: ADDR_WIDTH] = align_bd(bd_nxt_full[ADDR_WIDTH-1:0]);
            if (f_bd_reg == tail_next[ADDR_WIDTH*f_ch_reg +: ADDR_WIDTH] && !kick[f_ch_reg]) begin
                fetching_next[f_ch_reg] = 1'b0;
            end
        end
    end

    /*
     * Command path per channel: a datamover finished its BD -> status slot;
     * a queued BD -> datamover command
     */
    // MM2S: the BD's first failing beat (the failing beats still stream as data)
    if (mm2s_rbeat && act_reg[0] && !mm2s_bad_reg
            && (mm2s_rresp == RESP_SLVERR || mm2s_rresp == RESP_DECERR)) begin
        mm2s_bad_next = 1'b1;
    end

    for (c = 0; c < 2; c = c + 1) begin
        if (dm_slv[c]) act_slv_next[c] = 1'b1;
        if (dm_dec[c]) act_dec_next[c] = 1'b1;
        complete = act_reg[c] && !start_reg[c] && !dm_busy[c];
        if (complete) begin
            act_next[c] = 1'b0;
            if (!stop) begin
                errs = {act_dec_next[c], act_slv_next[c] && !act_dec_next[c], 1'b0};
                word = 32'd0;
                word[`DMASIM_BD_STATUS_CMPLT_BIT] = 1'b1;
                word[`DMASIM_BD_STATUS_DMASLVERR_BIT] = errs[1];
                word[`DMASIM_BD_STATUS_DMADECERR_BIT] = errs[2];
                if (c == 0) begin
                    // the CONTROL length as fetched, error or not: a failing read's beats
                    // still stream as data (errors are posted at the end of the command)
                    word[`DMASIM_BD_STATUS_TRANSFERRED_BIT +: CTL_WIDTH] =
                        act_ctl_reg[0 +: CTL_WIDTH];
                    slot_ioc_next[c] = act_eof_reg[0] && errs == 3'd0;
                end else begin
                    word[`DMASIM_BD_STATUS_TRANSFERRED_BIT +: CTL_WIDTH] =
                        {{CTL_WIDTH-LENGTH_WIDTH{1'b0}}, s2mm_done_bytes};
                    word[`DMASIM_BD_STATUS_RXSOF_BIT] = s2mm_sof_reg;
                    word[`DMASIM_BD_STATUS_RXEOF_BIT] = s2mm_done_last;
                    slot_ioc_next[c] = s2mm_done_last && errs == 3'd0;
                    s2mm_sof_next = s2mm_done_last;
                end
                slot_next[c] = 1'b1;
                slot_bd_next[ADDR_WIDTH*c +: ADDR_WIDTH] = act_bd_reg[ADDR_WIDTH*c +: ADDR_WIDTH];
                slot_word_next[32*c +: 32] = word;
                slot_err_next[3*c +: 3] = errs;
            end
        end

        q_idx = q_head_reg[QPW*c +: QPW];
        q_cnt = q_count_reg[QCW*c +: QCW];
        q_out = q_mem[c*PREFETCH_BDS + {{32-QPW{1'b0}}, q_idx}];
        q_ctl = q_out[1 +: CTL_WIDTH];
        q_len = q_ctl[LENGTH_WIDTH-1:0];
        if (rs[c] && !stop && q_cnt != 0 && !act_reg[c] && !start_reg[c] && !slot_next[c]) begin
            // hand the BD at the head of the queue to the datamover
            q_head_next[QPW*c +: QPW] = q_wrap({{32-QPW{1'b0}}, q_idx} + 1);
            q_count_next[QCW*c +: QCW] = q_cnt - 1'b1;
            if (!cur_lock_reg[c]) begin
                cur_next[ADDR_WIDTH*c +: ADDR_WIDTH] = q_out[QW-1 -: ADDR_WIDTH];
            end
            act_bd_next[ADDR_WIDTH*c +: ADDR_WIDTH] = q_out[QW-1 -: ADDR_WIDTH];
            act_ctl_next[CTL_WIDTH*c +: CTL_WIDTH] = q_ctl;
            act_eof_next[c] = q_out[0];
            act_slv_next[c] = 1'b0;
            act_dec_next[c] = 1'b0;
            if (q_len == {LENGTH_WIDTH{1'b0}}) begin
                // zero length: no command, DMAIntErr written into the BD (nothing moved)
                word = 32'd0;
                word[`DMASIM_BD_STATUS_CMPLT_BIT] = 1'b1;
                word[`DMASIM_BD_STATUS_DMAINTERR_BIT] = 1'b1;
                slot_next[c] = 1'b1;
                slot_bd_next[ADDR_WIDTH*c +: ADDR_WIDTH] = q_out[QW-1 -: ADDR_WIDTH];
                slot_word_next[32*c +: 32] = word;
                slot_ioc_next[c] = 1'b0;
                slot_err_next[3*c +: 3] = 3'b001;
            end else begin
                start_next[c] = 1'b1;
                act_next[c] = 1'b1;
                if (c == 0) begin
                    mm2s_bad_next = 1'b0;
                end
                cmd_addr_next[ADDR_WIDTH*c +: ADDR_WIDTH] = q_out[QW-1-ADDR_WIDTH -: ADDR_WIDTH];
                cmd_len_next[LENGTH_WIDTH*c +: LENGTH_WIDTH] = q_len;
            end
        end
    end

    // queue pushes (after pops: a pop and a push in one clock keep the count)
    for (c = 0; c < 2; c = c + 1) begin
        if (q_push[c]) begin
            q_count_next[QCW*c +: QCW] = q_count_next[QCW*c +: QCW] + 1'b1;
        end
    end

    /*
     * Update engine: one STATUS write at a time, channels alternating
     */
    case (u_state_reg)
        U_IDLE: begin
            pick_ok = slot_reg[0] || slot_reg[1];
            pick_ch = slot_reg[1] && (!slot_reg[0] || !u_last_reg);
            if (pick_ok && !stop) begin
                u_state_next = U_SEND;
                u_ch_next = pick_ch;
                u_last_next = pick_ch;
                u_addr_next = slot_bd_reg[ADDR_WIDTH*pick_ch +: ADDR_WIDTH] | STATUS_OFF;
                u_word_next = slot_word_reg[32*pick_ch +: 32];
                u_ioc_next = slot_ioc_reg[pick_ch];
                u_err_next = slot_err_reg[3*pick_ch +: 3];
                slot_next[pick_ch] = 1'b0;
                awvalid_next = 1'b1;
                wvalid_next = 1'b1;
            end
        end
        U_SEND: begin
            if (!awvalid_next && !wvalid_next) begin
                u_state_next = U_RESP;
            end
        end
        U_RESP: begin
            if (b_fire) begin
                u_state_next = U_IDLE;
                if (m_axi_bresp == RESP_SLVERR || m_axi_bresp == RESP_DECERR) begin
                    e_sgslv_next[u_ch_reg] = m_axi_bresp == RESP_SLVERR;
                    e_sgdec_next[u_ch_reg] = m_axi_bresp == RESP_DECERR;
                end else begin
                    ioc_next[u_ch_reg] = u_ioc_reg;
                    e_int_next[u_ch_reg] = u_err_reg[0];
                    e_slv_next[u_ch_reg] = u_err_reg[1];
                    e_dec_next[u_ch_reg] = u_err_reg[2];
                end
                if ((m_axi_bresp[1] || u_err_reg != 3'd0) && !cur_lock_reg[u_ch_reg]) begin
                    cur_next[ADDR_WIDTH*u_ch_reg +: ADDR_WIDTH] = lastf_reg[ADDR_WIDTH*u_ch_reg +: ADDR_WIDTH];
                    cur_lock_next[u_ch_reg] = 1'b1;
                end
            end
        end
        default: begin
            u_state_next = U_IDLE;
        end
    endcase

    // Idle: the chain since the last kick is through and nothing is pending
    for (c = 0; c < 2; c = c + 1) begin
        idle_next[c] = rs[c] && !halted[c] && armed_reg[c] && !fetching_reg[c]
            && !(f_state_reg != F_IDLE && f_ch_reg == c[0])
            && q_count_reg[QCW*c +: QCW] == 0 && !start_reg[c] && !act_reg[c]
            && !slot_reg[c] && !(u_state_reg != U_IDLE && u_ch_reg == c[0]);
    end
end

wire unused_discard = f_discard;
wire unused_hi = ^{cur64[63:32], tail64[63:32]};
wire [1:0] unused_aw = {aw_fire, w_fire};

// queue storage: a push writes behind the entries held at the start of the clock
always @(posedge clk) begin
    for (c = 0; c < 2; c = c + 1) begin
        if (q_push[c]) begin
            q_mem[c*PREFETCH_BDS + {{32-QPW{1'b0}}, q_wrap({{32-QPW{1'b0}}, q_head_reg[QPW*c +: QPW]}
                + {{32-QCW{1'b0}}, q_count_reg[QCW*c +: QCW]})}] <= q_push_data;
        end
    end
end

always @(posedge clk) begin
    cur_reg <= cur_next;
    cur_lock_reg <= cur_lock_next;
    tail_reg <= tail_next;
    faddr_reg <= faddr_next;
    fetching_reg <= fetching_next;
    armed_reg <= armed_next;
    rs_prev_reg <= rs;
    lastf_reg <= lastf_next;
    idle_reg <= idle_next;
    q_head_reg <= q_head_next;
    q_count_reg <= q_count_next;
    start_reg <= start_next;
    act_reg <= act_next;
    act_bd_reg <= act_bd_next;
    act_ctl_reg <= act_ctl_next;
    act_eof_reg <= act_eof_next;
    act_slv_reg <= act_slv_next;
    act_dec_reg <= act_dec_next;
    cmd_addr_reg <= cmd_addr_next;
    cmd_len_reg <= cmd_len_next;
    s2mm_sof_reg <= s2mm_sof_next;
    mm2s_bad_reg <= mm2s_bad_next;
    slot_reg <= slot_next;
    slot_bd_reg <= slot_bd_next;
    slot_word_reg <= slot_word_next;
    slot_ioc_reg <= slot_ioc_next;
    slot_err_reg <= slot_err_next;

    f_state_reg <= f_state_next;
    f_ch_reg <= f_ch_next;
    f_last_reg <= f_last_next;
    f_bd_reg <= f_bd_next;
    f_beat_reg <= f_beat_next;
    f_resp_reg <= f_resp_next;
    f_words_reg <= f_words_next;
    arvalid_reg <= arvalid_next;

    u_state_reg <= u_state_next;
    u_ch_reg <= u_ch_next;
    u_last_reg <= u_last_next;
    u_addr_reg <= u_addr_next;
    u_word_reg <= u_word_next;
    u_ioc_reg <= u_ioc_next;
    u_err_reg <= u_err_next;
    awvalid_reg <= awvalid_next;
    wvalid_reg <= wvalid_next;

    ioc_reg <= ioc_next;
    e_sgint_reg <= e_sgint_next;
    e_sgslv_reg <= e_sgslv_next;
    e_sgdec_reg <= e_sgdec_next;
    e_int_reg <= e_int_next;
    e_slv_reg <= e_slv_next;
    e_dec_reg <= e_dec_next;

    if (rst) begin
        cur_reg <= {2*ADDR_WIDTH{1'b0}};
        cur_lock_reg <= 2'b00;
        tail_reg <= {2*ADDR_WIDTH{1'b0}};
        faddr_reg <= {2*ADDR_WIDTH{1'b0}};
        fetching_reg <= 2'b00;
        armed_reg <= 2'b00;
        rs_prev_reg <= 2'b00;
        lastf_reg <= {2*ADDR_WIDTH{1'b0}};
        idle_reg <= 2'b00;
        q_head_reg <= {2*QPW{1'b0}};
        q_count_reg <= {2*QCW{1'b0}};
        start_reg <= 2'b00;
        act_reg <= 2'b00;
        act_eof_reg <= 2'b00;
        s2mm_sof_reg <= 1'b1;
        mm2s_bad_reg <= 1'b0;
        slot_reg <= 2'b00;
        f_state_reg <= F_IDLE;
        f_last_reg <= 1'b1;
        arvalid_reg <= 1'b0;
        u_state_reg <= U_IDLE;
        u_last_reg <= 1'b1;
        awvalid_reg <= 1'b0;
        wvalid_reg <= 1'b0;
        ioc_reg <= 2'b00;
        e_sgint_reg <= 2'b00;
        e_sgslv_reg <= 2'b00;
        e_sgdec_reg <= 2'b00;
        e_int_reg <= 2'b00;
        e_slv_reg <= 2'b00;
        e_dec_reg <= 2'b00;
    end
end

endmodule

`resetall
