/*
 * dmasim (simulation only): AXI-Lite master that performs one register access
 * per host command.
 *
 * The rtl target's cocotb server sets `cmd` once per register access; a change
 * of its sequence bit starts the access. The whole handshake then runs in HDL,
 * clocked by cocotb's C clock, so Python wakes once per access (on `done`)
 * instead of on every clock edge. An access with no response within
 * TIMEOUT_CYCLES completes with `rsp_timeout` set (a hung slave is reported,
 * not waited for).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

// Simulation-only model: DPI results go through blocking temporaries, registers
// start from initial values, and AXI side-band signals it has no use for are
// left unread.
/* verilator lint_off BLKSEQ */
/* verilator lint_off PROCASSINIT */
/* verilator lint_off UNUSEDSIGNAL */

module dmasim_sim_axil_master #
(
    // register address width of the slave in bits
    parameter ADDR_WIDTH = 10,
    // clocks to wait for a response before giving up
    parameter TIMEOUT_CYCLES = 4096
)
(
    input  wire                   clk,
    input  wire                   rst,

    /*
     * Command from the host: a toggle of cmd_seq starts an access
     */
    input  wire                   cmd_seq,
    input  wire                   cmd_write,
    input  wire [ADDR_WIDTH-1:0]  cmd_addr,
    input  wire [31:0]            cmd_wdata,
    output reg                    done,
    output reg  [31:0]            rsp_data,
    output reg  [1:0]             rsp_resp,
    output reg                    rsp_timeout,

    /*
     * AXI-Lite master
     */
    output wire [ADDR_WIDTH-1:0]  m_axil_awaddr,
    output wire [2:0]             m_axil_awprot,
    output reg                    m_axil_awvalid,
    input  wire                   m_axil_awready,
    output wire [31:0]            m_axil_wdata,
    output wire [3:0]             m_axil_wstrb,
    output reg                    m_axil_wvalid,
    input  wire                   m_axil_wready,
    input  wire [1:0]             m_axil_bresp,
    input  wire                   m_axil_bvalid,
    output wire                   m_axil_bready,
    output wire [ADDR_WIDTH-1:0]  m_axil_araddr,
    output wire [2:0]             m_axil_arprot,
    output reg                    m_axil_arvalid,
    input  wire                   m_axil_arready,
    input  wire [31:0]            m_axil_rdata,
    input  wire [1:0]             m_axil_rresp,
    input  wire                   m_axil_rvalid,
    output wire                   m_axil_rready
);

localparam [1:0] STATE_IDLE = 2'd0;
localparam [1:0] STATE_WRITE = 2'd1;
localparam [1:0] STATE_READ = 2'd2;

reg [1:0] state_reg = STATE_IDLE;
// last sequence bit acted on; not reset, so a reset never replays a command
reg seq_reg = 1'b0;
reg [ADDR_WIDTH-1:0] addr_reg = {ADDR_WIDTH{1'b0}};
reg [31:0] wdata_reg = 32'd0;
reg [$clog2(TIMEOUT_CYCLES+1)-1:0] wait_reg = 0;

assign m_axil_awaddr = addr_reg;
assign m_axil_awprot = 3'b000;
assign m_axil_wdata = wdata_reg;
assign m_axil_wstrb = 4'hf;
assign m_axil_bready = state_reg == STATE_WRITE;
assign m_axil_araddr = addr_reg;
assign m_axil_arprot = 3'b000;
assign m_axil_rready = state_reg == STATE_READ;

always @(posedge clk) begin
    done <= 1'b0;
    if (rst) begin
        state_reg <= STATE_IDLE;
        m_axil_awvalid <= 1'b0;
        m_axil_wvalid <= 1'b0;
        m_axil_arvalid <= 1'b0;
        rsp_timeout <= 1'b0;
    end else begin
        case (state_reg)
            STATE_IDLE: begin
                if (cmd_seq != seq_reg) begin
                    seq_reg <= cmd_seq;
                    addr_reg <= cmd_addr;
                    wdata_reg <= cmd_wdata;
                    wait_reg <= 0;
                    rsp_timeout <= 1'b0;
                    if (cmd_write) begin
                        m_axil_awvalid <= 1'b1;
                        m_axil_wvalid <= 1'b1;
                        state_reg <= STATE_WRITE;
                    end else begin
                        m_axil_arvalid <= 1'b1;
                        state_reg <= STATE_READ;
                    end
                end
            end
            STATE_WRITE: begin
                wait_reg <= wait_reg + 1;
                if (m_axil_awready) m_axil_awvalid <= 1'b0;
                if (m_axil_wready) m_axil_wvalid <= 1'b0;
                if (m_axil_bvalid) begin
                    rsp_data <= 32'd0;
                    rsp_resp <= m_axil_bresp;
                    done <= 1'b1;
                    state_reg <= STATE_IDLE;
                end
            end
            STATE_READ: begin
                wait_reg <= wait_reg + 1;
                if (m_axil_arready) m_axil_arvalid <= 1'b0;
                if (m_axil_rvalid) begin
                    rsp_data <= m_axil_rdata;
                    rsp_resp <= m_axil_rresp;
                    done <= 1'b1;
                    state_reg <= STATE_IDLE;
                end
            end
            default: state_reg <= STATE_IDLE;
        endcase
        if (state_reg != STATE_IDLE && wait_reg == TIMEOUT_CYCLES) begin
            // no response: give up and report it
            m_axil_awvalid <= 1'b0;
            m_axil_wvalid <= 1'b0;
            m_axil_arvalid <= 1'b0;
            rsp_data <= 32'd0;
            rsp_resp <= 2'b00;
            rsp_timeout <= 1'b1;
            done <= 1'b1;
            state_reg <= STATE_IDLE;
        end
    end
end

endmodule

/* verilator lint_on BLKSEQ */
/* verilator lint_on PROCASSINIT */
/* verilator lint_on UNUSEDSIGNAL */

`resetall
