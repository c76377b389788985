/*
 * dmasim: AXI DMA register file (simple mode) with its AXI-Lite slave.
 *
 * Channel 0 is MM2S (base 0x00), channel 1 is S2MM (base 0x30); offsets,
 * bit positions and reset values come from dmasim_regmap.vh, generated from
 * dmasim/regmap.py. Behaviour follows docs/axi-dma-behaviour.md:
 *
 * - DMACR: RS, Reset, Keyhole, Cyclic, the three IRQ enables, IRQThreshold
 *   (a write of 0 stores 1) and IRQDelay; bit 1 reads 1. RS is cleared and
 *   held at 0 in both channels while any error bit is set or a soft reset
 *   runs.
 * - DMASR: Halted, Idle, the three sticky error bits, IOC_Irq and Err_Irq
 *   (write 1 to clear; a hardware set in the same clock wins). Halted goes
 *   to 0 one clock after RS=1 and to 1 once RS=0 and the datamover is not
 *   busy. Idle is set with IOC_Irq when a transfer completes and cleared
 *   when one starts or the channel halts. Err_Irq is set on the rising edge
 *   of "any error bit of this channel set". (inferred) A channel whose halt
 *   happens while an error is set, or in the clock one is set, gets IOC_Irq
 *   too: a channel that was running halts only then, one already halted
 *   gets nothing.
 * - SA/DA (+MSB when ADDR_WIDTH > 32; otherwise the MSB offsets are reserved)
 *   read back what was written. LENGTH is stored masked to LENGTH_WIDTH; a
 *   non-zero (masked) write while RS=1 and the channel is not busy starts a
 *   transfer, otherwise it is only stored. S2MM LENGTH reads back the bytes
 *   written once a transfer completes.
 * - Reserved offsets (including SG_CTL) read 0 and ignore writes. AXI-Lite
 *   byte strobes are honoured per lane.
 * - Interrupt outputs: registered (IOC_Irq & IOC_IrqEn) | (Err_Irq &
 *   Err_IrqEn) (Dly_Irq is never set), 0 during any reset.
 *
 * Soft reset (DMACR.Reset written 1 on either channel; ignored, like every
 * other register write, while a soft reset is already running):
 *   RST_DRAIN: Reset reads 1 in both channels, RS reads 0, interrupt outputs
 *              are 0, `stop` keeps the datamovers from issuing new addresses;
 *              wait until both report `quiet` (no burst outstanding).
 *   RST_FLUSH: one clock with soft_rst high: datamovers, their FIFOs, the
 *              loopback FIFO and every register here go to reset values.
 * With nothing in flight this takes 2 clocks after the write's handshake.
 * So that no later AXI-Lite access can observe the reset still running, the
 * write response (BVALID) of a write is delayed while a soft reset runs and
 * both datamovers are quiet: that is at most the 2 clocks above. While a
 * burst is outstanding BVALID is never delayed; the reset then finishes in
 * the background once the bursts complete (poll DMACR.Reset).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "dmasim_regmap.vh"
`include "dmasim_constants.vh"

module dmasim_dma_regs #
(
    // width of the memory address in bits (32..64)
    parameter ADDR_WIDTH = 32,
    // width of the LENGTH register in bits (c_sg_length_width)
    parameter LENGTH_WIDTH = 26,
    // width of the AXI-Lite address (window-relative)
    parameter AXIL_ADDR_WIDTH = 10,
    // scatter-gather mode (c_include_sg); 0 = simple mode, exactly as without SG
    parameter INCLUDE_SG = 0,
    // SG: clocks per delay-timer tick (c_dlytmr_resolution)
    parameter DLYTMR_RESOLUTION = 125
)
(
    input  wire                        clk,
    input  wire                        rst,

    /*
     * AXI-Lite slave
     */
    input  wire [AXIL_ADDR_WIDTH-1:0]  s_axil_awaddr,
    input  wire [2:0]                  s_axil_awprot,
    input  wire                        s_axil_awvalid,
    output wire                        s_axil_awready,
    input  wire [31:0]                 s_axil_wdata,
    input  wire [3:0]                  s_axil_wstrb,
    input  wire                        s_axil_wvalid,
    output wire                        s_axil_wready,
    output wire [1:0]                  s_axil_bresp,
    output wire                        s_axil_bvalid,
    input  wire                        s_axil_bready,
    input  wire [AXIL_ADDR_WIDTH-1:0]  s_axil_araddr,
    input  wire [2:0]                  s_axil_arprot,
    input  wire                        s_axil_arvalid,
    output wire                        s_axil_arready,
    output wire [31:0]                 s_axil_rdata,
    output wire [1:0]                  s_axil_rresp,
    output wire                        s_axil_rvalid,
    input  wire                        s_axil_rready,

    /*
     * MM2S datamover
     */
    output wire                        mm2s_start,
    output wire [ADDR_WIDTH-1:0]       mm2s_addr,
    output wire [LENGTH_WIDTH-1:0]     mm2s_len,
    output wire                        mm2s_keyhole,
    input  wire                        mm2s_busy,
    input  wire                        mm2s_quiet,
    input  wire                        mm2s_done,
    input  wire                        mm2s_err_int,   // SG only: zero-length BD
    input  wire                        mm2s_err_slv,
    input  wire                        mm2s_err_dec,

    /*
     * S2MM datamover
     */
    output wire                        s2mm_start,
    output wire [ADDR_WIDTH-1:0]       s2mm_addr,
    output wire [LENGTH_WIDTH-1:0]     s2mm_len,
    output wire                        s2mm_keyhole,
    input  wire                        s2mm_busy,
    input  wire                        s2mm_quiet,
    input  wire                        s2mm_done,
    input  wire [LENGTH_WIDTH-1:0]     s2mm_done_bytes,
    input  wire                        s2mm_err_int,
    input  wire                        s2mm_err_slv,
    input  wire                        s2mm_err_dec,

    /*
     * Engine control
     */
    output wire                        stop,      // no new addresses (error or soft reset)
    output wire                        soft_rst,  // one-clock reset of the datapath

    /*
     * Interrupts
     */
    output wire                        mm2s_introut,
    output wire                        s2mm_introut,

    /*
     * Scatter-gather engine (INCLUDE_SG = 1; otherwise unused / constant)
     */
    output wire [1:0]                  sg_rs,
    output wire [1:0]                  sg_cyclic,
    output wire [1:0]                  sg_halted,
    output wire [1:0]                  sg_cd_wr,       // CURDESC written (value: sg_wr_val)
    output wire [1:0]                  sg_cd_msb_wr,
    output wire [1:0]                  sg_td_wr,       // TAILDESC written
    output wire [1:0]                  sg_td_msb_wr,
    output wire [31:0]                 sg_wr_val,
    input  wire [127:0]                sg_curdesc,     // {S2MM, MM2S}
    input  wire [127:0]                sg_taildesc,
    input  wire [1:0]                  sg_busy,
    input  wire [1:0]                  sg_idle,
    input  wire [1:0]                  sg_ioc,         // IOC events (EOF BD status written)
    input  wire [1:0]                  sg_err_int,
    input  wire [1:0]                  sg_err_slv,
    input  wire [1:0]                  sg_err_dec,
    input  wire [1:0]                  strm_beat,      // a beat on the channel's stream
    input  wire [1:0]                  strm_last       // ... with TLAST
);

// upper address registers exist only above 32 address bits
localparam HAS_MSB = ADDR_WIDTH > 32;
// simple (direct-register) mode: SA/DA/LENGTH exist, CURDESC/TAILDESC do not
localparam SIMPLE = INCLUDE_SG == 0;

localparam [1:0]
    RST_IDLE = 2'd0,
    RST_DRAIN = 2'd1,
    RST_FLUSH = 2'd2;

localparam [31:0] CH_SPAN = `DMASIM_S2MM_BASE;

// reset values, taken apart from the generated register map
localparam [31:0] DMACR_RST = `DMASIM_DMACR_RESET_VALUE;
localparam [31:0] DMASR_RST = `DMASIM_DMASR_RESET_VALUE;
localparam [31:0] DMACR_FIELDS = `DMASIM_DMACR_RS_MASK | `DMASIM_DMACR_RESET_MASK
    | `DMASIM_DMACR_KEYHOLE_MASK | `DMASIM_DMACR_CYCLIC_MASK
    | `DMASIM_DMACR_IOC_IRQEN_MASK | `DMASIM_DMACR_DLY_IRQEN_MASK | `DMASIM_DMACR_ERR_IRQEN_MASK
    | `DMASIM_DMACR_IRQTHRESHOLD_MASK | `DMASIM_DMACR_IRQDELAY_MASK;
// DMACR bits that are not fields read as their reset value (bit 1 reads 1)
localparam [31:0] DMACR_FIXED = DMACR_RST & ~DMACR_FIELDS;
localparam [1:0] RS_RESET = {2{DMACR_RST[`DMASIM_DMACR_RS_BIT]}};
localparam [1:0] KEYHOLE_RESET = {2{DMACR_RST[`DMASIM_DMACR_KEYHOLE_BIT]}};
localparam [1:0] CYCLIC_RESET = {2{DMACR_RST[`DMASIM_DMACR_CYCLIC_BIT]}};
localparam [1:0] IOC_EN_RESET = {2{DMACR_RST[`DMASIM_DMACR_IOC_IRQEN_BIT]}};
localparam [1:0] DLY_EN_RESET = {2{DMACR_RST[`DMASIM_DMACR_DLY_IRQEN_BIT]}};
localparam [1:0] ERR_EN_RESET = {2{DMACR_RST[`DMASIM_DMACR_ERR_IRQEN_BIT]}};
localparam [15:0] IRQ_THR_RESET = {2{DMACR_RST[`DMASIM_DMACR_IRQTHRESHOLD_BIT +: 8]}};
localparam [15:0] IRQ_DLY_RESET = {2{DMACR_RST[`DMASIM_DMACR_IRQDELAY_BIT +: 8]}};
localparam [1:0] HALTED_RESET = {2{DMASR_RST[`DMASIM_DMASR_HALTED_BIT]}};
localparam [1:0] IDLE_RESET = {2{DMASR_RST[`DMASIM_DMASR_IDLE_BIT]}};
localparam [1:0] IOC_IRQ_RESET = {2{DMASR_RST[`DMASIM_DMASR_IOC_IRQ_BIT]}};
localparam [1:0] ERR_IRQ_RESET = {2{DMASR_RST[`DMASIM_DMASR_ERR_IRQ_BIT]}};

initial begin
    if (ADDR_WIDTH < 32 || ADDR_WIDTH > 64) begin
        $error("Error: ADDR_WIDTH must be in 32..64 (instance %m)");
        $finish;
    end
    if (LENGTH_WIDTH < 8 || LENGTH_WIDTH > 26) begin
        $error("Error: LENGTH_WIDTH must be in 8..26 (instance %m)");
        $finish;
    end
    if (AXIL_ADDR_WIDTH < 7 || AXIL_ADDR_WIDTH > 32) begin
        $error("Error: AXIL_ADDR_WIDTH must be in 7..32 (instance %m)");
        $finish;
    end
end

// per-channel state, bit/slice c = channel (0 MM2S, 1 S2MM)
reg [1:0] rs_reg, rs_next;
reg [1:0] keyhole_reg, keyhole_next;
reg [1:0] cyclic_reg, cyclic_next;
reg [1:0] ioc_en_reg, ioc_en_next;
reg [1:0] dly_en_reg, dly_en_next;
reg [1:0] err_en_reg, err_en_next;
reg [15:0] irq_thr_reg, irq_thr_next;
reg [15:0] irq_dly_reg, irq_dly_next;
reg [1:0] halted_reg, halted_next;
reg [1:0] idle_reg, idle_next;
reg [1:0] int_err_reg, int_err_next;
reg [1:0] slv_err_reg, slv_err_next;
reg [1:0] dec_err_reg, dec_err_next;
reg [1:0] ioc_irq_reg, ioc_irq_next;
reg [1:0] err_irq_reg, err_irq_next;
reg [1:0] sgint_err_reg, sgint_err_next;
reg [1:0] sgslv_err_reg, sgslv_err_next;
reg [1:0] sgdec_err_reg, sgdec_err_next;
reg [1:0] dly_irq_reg, dly_irq_next;
// SG: this clock's DMACR write changes IRQThreshold / IRQDelay; CURDESC/TAILDESC writes
reg [1:0] thr_wr, dly_wr;
reg [1:0] cd_wr, cd_msb_wr, td_wr, td_msb_wr;
// value of the addressed register after a write with byte strobes
reg [31:0] wr_old;
reg [31:0] wr_val;
reg [63:0] addr_lo_reg, addr_lo_next;
reg [63:0] addr_hi_reg, addr_hi_next;
reg [2*LENGTH_WIDTH-1:0] len_reg, len_next;
reg [1:0] start_reg, start_next;
reg [1:0] intr_reg, intr_next;

reg [1:0] rst_state_reg, rst_state_next;

// AXI-Lite handshake state (reset only by rst, not by the soft reset)
reg awready_reg, awready_next;
reg bpend_reg, bpend_next;
reg bvalid_reg, bvalid_next;
reg arready_reg, arready_next;
reg rvalid_reg, rvalid_next;
reg [31:0] rdata_reg, rdata_next;

// datamover inputs, per channel
wire [1:0] busy_in = {s2mm_busy, mm2s_busy};
wire [1:0] done_in = {s2mm_done, mm2s_done};
wire [1:0] int_err_in = {s2mm_err_int, mm2s_err_int};
wire [1:0] slv_err_in = {s2mm_err_slv, mm2s_err_slv};
wire [1:0] dec_err_in = {s2mm_err_dec, mm2s_err_dec};
wire [1:0] busy_eff = busy_in | start_reg | (INCLUDE_SG != 0 ? sg_busy : 2'b00);

wire rst_busy = rst_state_reg != RST_IDLE;
wire quiet_all = mm2s_quiet && s2mm_quiet;
wire [1:0] ch_err = int_err_reg | slv_err_reg | dec_err_reg
    | sgint_err_reg | sgslv_err_reg | sgdec_err_reg;
wire err_any = |ch_err;

/*
 * Scatter-gather: the engine's view of the registers, and the interrupt
 * coalescing (threshold counter, delay timer) of each channel
 */
wire [1:0] sg_ioc_set;
wire [1:0] sg_dly_set;
wire [15:0] thr_count;
wire [15:0] dly_count;

assign sg_rs = rs_reg;
assign sg_cyclic = cyclic_reg;
assign sg_halted = halted_reg;
assign sg_cd_wr = cd_wr;
assign sg_cd_msb_wr = cd_msb_wr;
assign sg_td_wr = td_wr;
assign sg_td_msb_wr = td_msb_wr;
assign sg_wr_val = wr_val;

genvar gc;
generate
    if (INCLUDE_SG != 0) begin : g_sg
        for (gc = 0; gc < 2; gc = gc + 1) begin : g_ch
            dmasim_dma_sg_irq #(
                .RESOLUTION(DLYTMR_RESOLUTION),
                .EXTRA_TICKS(`DMASIM_SG_DELAY_EXTRA_TICKS)  // dmasim/constants.py
            )
            irq_inst (
                .clk(clk),
                .rst(rst || rst_state_reg == RST_FLUSH),
                .threshold(irq_thr_reg[8*gc +: 8]),
                .threshold_wr(thr_wr[gc]),
                .delay(irq_dly_reg[8*gc +: 8]),
                .delay_wr(dly_wr[gc]),
                .rs(rs_reg[gc]),
                .dly_irq(dly_irq_reg[gc]),
                .dly_irq_en(dly_en_reg[gc]),
                .ioc_event(sg_ioc[gc]),
                .beat(strm_beat[gc]),
                .last(strm_last[gc]),
                .ioc_set(sg_ioc_set[gc]),
                .dly_set(sg_dly_set[gc]),
                .threshold_count(thr_count[8*gc +: 8]),
                .delay_count(dly_count[8*gc +: 8])
            );
        end
    end else begin : g_simple
        assign sg_ioc_set = 2'b00;
        assign sg_dly_set = 2'b00;
        assign thr_count = 16'd0;
        assign dly_count = 16'd0;
        // the engine's inputs are not used in simple mode
        wire unused_sg = ^{sg_curdesc, sg_taildesc, sg_busy, sg_idle, sg_ioc, sg_err_int,
            sg_err_slv, sg_err_dec, strm_beat, strm_last, thr_wr, dly_wr};
    end
endgenerate

// register values as read
reg [63:0] dmacr_val;
reg [63:0] dmasr_val;

// address decode: channel and channel-relative offset
wire [31:0] waddr = {{32-AXIL_ADDR_WIDTH{1'b0}}, s_axil_awaddr[AXIL_ADDR_WIDTH-1:2], 2'b00};
wire [31:0] raddr = {{32-AXIL_ADDR_WIDTH{1'b0}}, s_axil_araddr[AXIL_ADDR_WIDTH-1:2], 2'b00};
wire w_in_map = waddr < 2*CH_SPAN;
wire w_ch = waddr >= CH_SPAN;
wire [31:0] w_rel = w_ch ? waddr - CH_SPAN : waddr;
wire r_in_map = raddr < 2*CH_SPAN;
wire r_ch = raddr >= CH_SPAN;
wire [31:0] r_rel = r_ch ? raddr - CH_SPAN : raddr;

wire [31:0] wmask = {{8{s_axil_wstrb[3]}}, {8{s_axil_wstrb[2]}},
    {8{s_axil_wstrb[1]}}, {8{s_axil_wstrb[0]}}};
wire wr_fire = awready_reg && s_axil_awvalid && s_axil_wvalid;
wire rd_fire = arready_reg && s_axil_arvalid;

// protection bits and the byte offset inside a register carry no meaning here
wire unused_axil = ^{s_axil_awprot, s_axil_arprot, s_axil_awaddr[1:0], s_axil_araddr[1:0]};

// full addresses as given to the datamovers
/* verilator lint_off UNUSEDSIGNAL */
// (only ADDR_WIDTH of the 64 bits are used)
wire [63:0] mm2s_addr_full = {addr_hi_reg[31:0], addr_lo_reg[31:0]};
wire [63:0] s2mm_addr_full = {addr_hi_reg[63:32], addr_lo_reg[63:32]};
/* verilator lint_on UNUSEDSIGNAL */

assign s_axil_awready = awready_reg;
assign s_axil_wready = awready_reg;
assign s_axil_bresp = 2'b00;
assign s_axil_bvalid = bvalid_reg;
assign s_axil_arready = arready_reg;
assign s_axil_rdata = rdata_reg;
assign s_axil_rresp = 2'b00;
assign s_axil_rvalid = rvalid_reg;

assign mm2s_start = start_reg[0];
assign mm2s_addr = mm2s_addr_full[ADDR_WIDTH-1:0];
assign mm2s_len = len_reg[0 +: LENGTH_WIDTH];
assign mm2s_keyhole = keyhole_reg[0];
assign s2mm_start = start_reg[1];
assign s2mm_addr = s2mm_addr_full[ADDR_WIDTH-1:0];
assign s2mm_len = len_reg[LENGTH_WIDTH +: LENGTH_WIDTH];
assign s2mm_keyhole = keyhole_reg[1];

assign stop = err_any || rst_busy;
assign soft_rst = rst_state_reg == RST_FLUSH;

assign mm2s_introut = intr_reg[0];
assign s2mm_introut = intr_reg[1];

// DMACR / DMASR as read
integer i;
always @* begin
    dmacr_val = 64'd0;
    dmasr_val = 64'd0;
    for (i = 0; i < 2; i = i + 1) begin
        dmacr_val[32*i +: 32] = DMACR_FIXED;
        dmacr_val[32*i + `DMASIM_DMACR_RS_BIT] = rs_reg[i];
        dmacr_val[32*i + `DMASIM_DMACR_RESET_BIT] = rst_busy;
        dmacr_val[32*i + `DMASIM_DMACR_KEYHOLE_BIT] = keyhole_reg[i];
        dmacr_val[32*i + `DMASIM_DMACR_CYCLIC_BIT] = cyclic_reg[i];
        dmacr_val[32*i + `DMASIM_DMACR_IOC_IRQEN_BIT] = ioc_en_reg[i];
        dmacr_val[32*i + `DMASIM_DMACR_DLY_IRQEN_BIT] = dly_en_reg[i];
        dmacr_val[32*i + `DMASIM_DMACR_ERR_IRQEN_BIT] = err_en_reg[i];
        dmacr_val[32*i + `DMASIM_DMACR_IRQTHRESHOLD_BIT +: 8] = irq_thr_reg[8*i +: 8];
        dmacr_val[32*i + `DMASIM_DMACR_IRQDELAY_BIT +: 8] = irq_dly_reg[8*i +: 8];

        dmasr_val[32*i + `DMASIM_DMASR_HALTED_BIT] = halted_reg[i];
        dmasr_val[32*i + `DMASIM_DMASR_IDLE_BIT] = idle_reg[i];
        dmasr_val[32*i + `DMASIM_DMASR_DMAINTERR_BIT] = int_err_reg[i];
        dmasr_val[32*i + `DMASIM_DMASR_DMASLVERR_BIT] = slv_err_reg[i];
        dmasr_val[32*i + `DMASIM_DMASR_DMADECERR_BIT] = dec_err_reg[i];
        dmasr_val[32*i + `DMASIM_DMASR_IOC_IRQ_BIT] = ioc_irq_reg[i];
        dmasr_val[32*i + `DMASIM_DMASR_ERR_IRQ_BIT] = err_irq_reg[i];
        if (INCLUDE_SG != 0) begin
            dmasr_val[32*i + `DMASIM_DMASR_SGINCLD_BIT] = 1'b1;
            dmasr_val[32*i + `DMASIM_DMASR_SGINTERR_BIT] = sgint_err_reg[i];
            dmasr_val[32*i + `DMASIM_DMASR_SGSLVERR_BIT] = sgslv_err_reg[i];
            dmasr_val[32*i + `DMASIM_DMASR_SGDECERR_BIT] = sgdec_err_reg[i];
            dmasr_val[32*i + `DMASIM_DMASR_DLY_IRQ_BIT] = dly_irq_reg[i];
            dmasr_val[32*i + `DMASIM_DMASR_IRQTHRESHOLDSTS_BIT +: 8] = thr_count[8*i +: 8];
            dmasr_val[32*i + `DMASIM_DMASR_IRQDELAYSTS_BIT +: 8] = dly_count[8*i +: 8];
        end
    end
end

// read multiplexer
reg [31:0] read_val;
always @* begin
    read_val = 32'd0;
    if (r_in_map) begin
        case (r_rel)
            `DMASIM_REG_DMACR: read_val = dmacr_val[32*r_ch +: 32];
            `DMASIM_REG_DMASR: read_val = dmasr_val[32*r_ch +: 32];
            `DMASIM_REG_ADDR: read_val = SIMPLE ? addr_lo_reg[32*r_ch +: 32] : 32'd0;
            `DMASIM_REG_ADDR_MSB: read_val = SIMPLE && HAS_MSB ? addr_hi_reg[32*r_ch +: 32] : 32'd0;
            `DMASIM_REG_LENGTH: read_val = SIMPLE ? {{32-LENGTH_WIDTH{1'b0}}, len_reg[LENGTH_WIDTH*r_ch +: LENGTH_WIDTH]} : 32'd0;
            `DMASIM_REG_CURDESC: read_val = SIMPLE ? 32'd0 : sg_curdesc[64*r_ch +: 32];
            `DMASIM_REG_CURDESC_MSB: read_val = SIMPLE || !HAS_MSB ? 32'd0 : sg_curdesc[64*r_ch + 32 +: 32];
            `DMASIM_REG_TAILDESC: read_val = SIMPLE ? 32'd0 : sg_taildesc[64*r_ch +: 32];
            `DMASIM_REG_TAILDESC_MSB: read_val = SIMPLE || !HAS_MSB ? 32'd0 : sg_taildesc[64*r_ch + 32 +: 32];
            default: read_val = 32'd0;  // reserved, SG registers, SG_CTL
        endcase
    end
end

// the LENGTH field of a write
reg [LENGTH_WIDTH-1:0] wr_len;
reg [1:0] err_now;

always @* begin
    rs_next = rs_reg;
    keyhole_next = keyhole_reg;
    cyclic_next = cyclic_reg;
    ioc_en_next = ioc_en_reg;
    dly_en_next = dly_en_reg;
    err_en_next = err_en_reg;
    irq_thr_next = irq_thr_reg;
    irq_dly_next = irq_dly_reg;
    halted_next = halted_reg;
    idle_next = idle_reg;
    int_err_next = int_err_reg;
    slv_err_next = slv_err_reg;
    dec_err_next = dec_err_reg;
    ioc_irq_next = ioc_irq_reg;
    err_irq_next = err_irq_reg;
    addr_lo_next = addr_lo_reg;
    addr_hi_next = addr_hi_reg;
    len_next = len_reg;
    start_next = 2'b00;
    rst_state_next = rst_state_reg;
    sgint_err_next = sgint_err_reg;
    sgslv_err_next = sgslv_err_reg;
    sgdec_err_next = sgdec_err_reg;
    dly_irq_next = dly_irq_reg;
    thr_wr = 2'b00;
    dly_wr = 2'b00;
    cd_wr = 2'b00;
    cd_msb_wr = 2'b00;
    td_wr = 2'b00;
    td_msb_wr = 2'b00;

    // the old value merged with the written bytes
    case (w_rel)
        `DMASIM_REG_DMACR: wr_old = dmacr_val[32*w_ch +: 32];
        `DMASIM_REG_ADDR: wr_old = addr_lo_reg[32*w_ch +: 32];
        `DMASIM_REG_ADDR_MSB: wr_old = addr_hi_reg[32*w_ch +: 32];
        `DMASIM_REG_LENGTH: wr_old = {{32-LENGTH_WIDTH{1'b0}}, len_reg[LENGTH_WIDTH*w_ch +: LENGTH_WIDTH]};
        `DMASIM_REG_CURDESC: wr_old = sg_curdesc[64*w_ch +: 32];
        `DMASIM_REG_CURDESC_MSB: wr_old = sg_curdesc[64*w_ch + 32 +: 32];
        `DMASIM_REG_TAILDESC: wr_old = sg_taildesc[64*w_ch +: 32];
        `DMASIM_REG_TAILDESC_MSB: wr_old = sg_taildesc[64*w_ch + 32 +: 32];
        default: wr_old = 32'd0;
    endcase
    wr_val = (wr_old & ~wmask) | (s_axil_wdata & wmask);
    wr_len = wr_val[LENGTH_WIDTH-1:0];

    // software writes (all ignored while a soft reset runs)
    if (wr_fire && w_in_map && !rst_busy) begin
        case (w_rel)
            `DMASIM_REG_DMACR: begin
                if (wr_val[`DMASIM_DMACR_RESET_BIT]) begin
                    rst_state_next = RST_DRAIN;
                end else begin
                    rs_next[w_ch] = wr_val[`DMASIM_DMACR_RS_BIT];
                    keyhole_next[w_ch] = wr_val[`DMASIM_DMACR_KEYHOLE_BIT];
                    cyclic_next[w_ch] = wr_val[`DMASIM_DMACR_CYCLIC_BIT];
                    ioc_en_next[w_ch] = wr_val[`DMASIM_DMACR_IOC_IRQEN_BIT];
                    dly_en_next[w_ch] = wr_val[`DMASIM_DMACR_DLY_IRQEN_BIT];
                    err_en_next[w_ch] = wr_val[`DMASIM_DMACR_ERR_IRQEN_BIT];
                    if (wr_val[`DMASIM_DMACR_IRQTHRESHOLD_BIT +: 8] == 8'd0) begin
                        irq_thr_next[8*w_ch +: 8] = 8'd1;
                    end else begin
                        irq_thr_next[8*w_ch +: 8] = wr_val[`DMASIM_DMACR_IRQTHRESHOLD_BIT +: 8];
                    end
                    irq_dly_next[8*w_ch +: 8] = wr_val[`DMASIM_DMACR_IRQDELAY_BIT +: 8];
                    // SG: a changed field (raw comparison) reloads the counter / resets the timer
                    thr_wr[w_ch] = wr_val[`DMASIM_DMACR_IRQTHRESHOLD_BIT +: 8] != irq_thr_reg[8*w_ch +: 8];
                    dly_wr[w_ch] = wr_val[`DMASIM_DMACR_IRQDELAY_BIT +: 8] != irq_dly_reg[8*w_ch +: 8];
                end
            end
            `DMASIM_REG_DMASR: begin
                // write 1 to clear; hardware sets below win
                if (s_axil_wdata[`DMASIM_DMASR_IOC_IRQ_BIT] && s_axil_wstrb[`DMASIM_DMASR_IOC_IRQ_BIT/8]) begin
                    ioc_irq_next[w_ch] = 1'b0;
                end
                if (s_axil_wdata[`DMASIM_DMASR_ERR_IRQ_BIT] && s_axil_wstrb[`DMASIM_DMASR_ERR_IRQ_BIT/8]) begin
                    err_irq_next[w_ch] = 1'b0;
                end
                if (s_axil_wdata[`DMASIM_DMASR_DLY_IRQ_BIT] && s_axil_wstrb[`DMASIM_DMASR_DLY_IRQ_BIT/8]) begin
                    dly_irq_next[w_ch] = 1'b0;
                end
            end
            `DMASIM_REG_ADDR: begin
                if (SIMPLE) begin
                    addr_lo_next[32*w_ch +: 32] = wr_val;
                end
            end
            `DMASIM_REG_ADDR_MSB: begin
                if (SIMPLE && HAS_MSB) begin
                    addr_hi_next[32*w_ch +: 32] = wr_val;
                end
            end
            `DMASIM_REG_CURDESC: cd_wr[w_ch] = !SIMPLE && s_axil_wstrb != 4'b0000;
            `DMASIM_REG_CURDESC_MSB: cd_msb_wr[w_ch] = !SIMPLE && HAS_MSB && s_axil_wstrb != 4'b0000;
            `DMASIM_REG_TAILDESC: td_wr[w_ch] = !SIMPLE && s_axil_wstrb != 4'b0000;
            `DMASIM_REG_TAILDESC_MSB: td_msb_wr[w_ch] = !SIMPLE && HAS_MSB && s_axil_wstrb != 4'b0000;
            `DMASIM_REG_LENGTH: begin
                if (SIMPLE && s_axil_wstrb != 4'b0000) begin
                    len_next[LENGTH_WIDTH*w_ch +: LENGTH_WIDTH] = wr_len;
                    if (rs_reg[w_ch] && !busy_eff[w_ch] && wr_len != 0) begin
                        start_next[w_ch] = 1'b1;
                        idle_next[w_ch] = 1'b0;
                    end
                end
            end
            default: begin
                // reserved: ignored
            end
        endcase
    end

    // datamover events
    for (i = 0; i < 2; i = i + 1) begin
        if (done_in[i]) begin
            idle_next[i] = 1'b1;
            ioc_irq_next[i] = 1'b1;
        end
        int_err_next[i] = int_err_reg[i] | int_err_in[i];
        slv_err_next[i] = slv_err_reg[i] | slv_err_in[i];
        dec_err_next[i] = dec_err_reg[i] | dec_err_in[i];
        if (!SIMPLE) begin
            sgint_err_next[i] = sgint_err_reg[i] | sg_err_int[i];
            sgslv_err_next[i] = sgslv_err_reg[i] | sg_err_slv[i];
            sgdec_err_next[i] = sgdec_err_reg[i] | sg_err_dec[i];
            if (sg_ioc_set[i]) ioc_irq_next[i] = 1'b1;
            if (sg_dly_set[i]) dly_irq_next[i] = 1'b1;
        end
    end
    if (s2mm_done) begin
        len_next[LENGTH_WIDTH +: LENGTH_WIDTH] = s2mm_done_bytes;
    end

    // Err_Irq on the rising edge of "any error bit of this channel"
    err_now = int_err_next | slv_err_next | dec_err_next
        | sgint_err_next | sgslv_err_next | sgdec_err_next;
    for (i = 0; i < 2; i = i + 1) begin
        if (err_now[i] && !ch_err[i]) begin
            err_irq_next[i] = 1'b1;
        end
    end

    // any error halts the whole engine: RS held at 0 in both channels
    if (|err_now) begin
        rs_next = 2'b00;
    end

    // Halted: 0 one clock after RS=1; 1 once RS=0 and the datamover is done
    for (i = 0; i < 2; i = i + 1) begin
        if (rs_reg[i]) begin
            halted_next[i] = 1'b0;
        end else if (!busy_eff[i]) begin
            halted_next[i] = 1'b1;
        end
        if (!halted_reg[i] && halted_next[i]) begin
            idle_next[i] = 1'b0;
            if (SIMPLE && |err_now) begin
                // (inferred) a halt caused by an error is reported as completion;
                // err_now, not err_any: a channel stopped by software (RS=0) whose
                // in-flight transfer fails at its end halts in the very clock its
                // error bit is set, and must get IOC_Irq too
                ioc_irq_next[i] = 1'b1;
            end
        end
    end

    // SG: Idle is the engine's (chain through, nothing pending)
    if (!SIMPLE) begin
        idle_next = sg_idle;
    end

    // soft reset sequence
    case (rst_state_reg)
        RST_DRAIN: begin
            rs_next = 2'b00;
            if (quiet_all) begin
                rst_state_next = RST_FLUSH;
            end
        end
        RST_FLUSH: begin
            // every register above is reset in the sequential block
            rst_state_next = RST_IDLE;
        end
        default: begin
            if (rst_state_next == RST_DRAIN) begin
                rs_next = 2'b00;
            end
        end
    endcase

    // interrupt outputs: registered levels, 0 while a soft reset runs
    for (i = 0; i < 2; i = i + 1) begin
        intr_next[i] = !rst_busy && ((ioc_irq_reg[i] && ioc_en_reg[i])
            || (dly_irq_reg[i] && dly_en_reg[i])
            || (err_irq_reg[i] && err_en_reg[i]));
    end
end

// AXI-Lite handshakes
always @* begin
    awready_next = 1'b0;
    bpend_next = bpend_reg;
    bvalid_next = bvalid_reg && !s_axil_bready;
    arready_next = 1'b0;
    rvalid_next = rvalid_reg && !s_axil_rready;
    rdata_next = rdata_reg;

    // write: take address and data together, one write at a time
    if (!awready_reg && !bpend_reg && !bvalid_reg && s_axil_awvalid && s_axil_wvalid) begin
        awready_next = 1'b1;
    end
    if (wr_fire) begin
        bpend_next = 1'b1;
    end
    // response, held back while an idle soft reset completes (bounded: two clocks)
    if (bpend_reg && !(rst_busy && quiet_all)) begin
        bpend_next = 1'b0;
        bvalid_next = 1'b1;
    end

    // read
    if (!arready_reg && !rvalid_reg && s_axil_arvalid) begin
        arready_next = 1'b1;
    end
    if (rd_fire) begin
        rvalid_next = 1'b1;
        rdata_next = read_val;
    end
end

always @(posedge clk) begin
    rs_reg <= rs_next;
    keyhole_reg <= keyhole_next;
    cyclic_reg <= cyclic_next;
    ioc_en_reg <= ioc_en_next;
    dly_en_reg <= dly_en_next;
    err_en_reg <= err_en_next;
    irq_thr_reg <= irq_thr_next;
    irq_dly_reg <= irq_dly_next;
    halted_reg <= halted_next;
    idle_reg <= idle_next;
    int_err_reg <= int_err_next;
    slv_err_reg <= slv_err_next;
    dec_err_reg <= dec_err_next;
    ioc_irq_reg <= ioc_irq_next;
    err_irq_reg <= err_irq_next;
    sgint_err_reg <= sgint_err_next;
    sgslv_err_reg <= sgslv_err_next;
    sgdec_err_reg <= sgdec_err_next;
    dly_irq_reg <= dly_irq_next;
    addr_lo_reg <= addr_lo_next;
    addr_hi_reg <= addr_hi_next;
    len_reg <= len_next;
    start_reg <= start_next;
    intr_reg <= intr_next;
    rst_state_reg <= rst_state_next;

    awready_reg <= awready_next;
    bpend_reg <= bpend_next;
    bvalid_reg <= bvalid_next;
    arready_reg <= arready_next;
    rvalid_reg <= rvalid_next;
    rdata_reg <= rdata_next;

    // power-on reset and the end of a soft reset: every register to its reset value
    if (rst || rst_state_reg == RST_FLUSH) begin
        rs_reg <= RS_RESET;
        keyhole_reg <= KEYHOLE_RESET;
        cyclic_reg <= CYCLIC_RESET;
        ioc_en_reg <= IOC_EN_RESET;
        dly_en_reg <= DLY_EN_RESET;
        err_en_reg <= ERR_EN_RESET;
        irq_thr_reg <= IRQ_THR_RESET;
        irq_dly_reg <= IRQ_DLY_RESET;
        halted_reg <= HALTED_RESET;
        idle_reg <= IDLE_RESET;
        int_err_reg <= 2'b00;
        slv_err_reg <= 2'b00;
        dec_err_reg <= 2'b00;
        ioc_irq_reg <= IOC_IRQ_RESET;
        err_irq_reg <= ERR_IRQ_RESET;
        sgint_err_reg <= 2'b00;
        sgslv_err_reg <= 2'b00;
        sgdec_err_reg <= 2'b00;
        dly_irq_reg <= 2'b00;
        addr_lo_reg <= 64'd0;
        addr_hi_reg <= 64'd0;
        len_reg <= {2*LENGTH_WIDTH{1'b0}};
        start_reg <= 2'b00;
        intr_reg <= 2'b00;
        rst_state_reg <= RST_IDLE;
    end

    if (rst) begin
        awready_reg <= 1'b0;
        bpend_reg <= 1'b0;
        bvalid_reg <= 1'b0;
        arready_reg <= 1'b0;
        rvalid_reg <= 1'b0;
    end
end

endmodule

`resetall
