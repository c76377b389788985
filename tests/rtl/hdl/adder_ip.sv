// A test IP for dmasim's rtl target (SystemVerilog): M_AXIS = S_AXIS + a constant from
// AXI-Lite, with switches that reproduce the stream bugs users hit.
//
// Registers (32-bit): 0x00 ID (0xADD00001, read-only), 0x10 CONST, 0x14 CTRL
// (bit 0: stop taking input, bit 1: never assert TLAST, bit 2: TLAST on every beat,
// bit 3: interrupt output level), 0x18 packets sent (read-only).
`default_nettype none

module adder_ip #(
    parameter int ADDR_BITS = 6
) (
    input  wire                  aclk,
    input  wire                  aresetn,
    input  wire [ADDR_BITS-1:0]  s_axi_awaddr,
    input  wire                  s_axi_awvalid,
    output logic                 s_axi_awready,
    input  wire [31:0]           s_axi_wdata,
    input  wire [3:0]            s_axi_wstrb,
    input  wire                  s_axi_wvalid,
    output logic                 s_axi_wready,
    output logic [1:0]           s_axi_bresp,
    output logic                 s_axi_bvalid,
    input  wire                  s_axi_bready,
    input  wire [ADDR_BITS-1:0]  s_axi_araddr,
    input  wire                  s_axi_arvalid,
    output logic                 s_axi_arready,
    output logic [31:0]          s_axi_rdata,
    output logic [1:0]           s_axi_rresp,
    output logic                 s_axi_rvalid,
    input  wire                  s_axi_rready,
    input  wire [31:0]           s_axis_tdata,
    input  wire [3:0]            s_axis_tkeep,
    input  wire                  s_axis_tlast,
    input  wire                  s_axis_tvalid,
    output logic                 s_axis_tready,
    output logic [31:0]          m_axis_tdata,
    output logic [3:0]           m_axis_tkeep,
    output logic                 m_axis_tlast,
    output logic                 m_axis_tvalid,
    input  wire                  m_axis_tready,
    output logic                 interrupt
);

logic [31:0] constant;
logic [3:0] ctrl;
logic [31:0] sent;

wire unused = &{1'b0, s_axi_wstrb};

// AXI-Lite: a write needs address and data together; one response at a time
wire do_write = s_axi_awvalid && s_axi_wvalid && !s_axi_bvalid;
assign s_axi_awready = do_write;
assign s_axi_wready = do_write;
assign s_axi_bresp = 2'b00;
assign s_axi_arready = !s_axi_rvalid;
assign s_axi_rresp = 2'b00;

always_ff @(posedge aclk) begin
    if (do_write) begin
        s_axi_bvalid <= 1'b1;
        case (s_axi_awaddr)
            6'h10: constant <= s_axi_wdata;
            6'h14: ctrl <= s_axi_wdata[3:0];
            default: ;
        endcase
    end else if (s_axi_bready) begin
        s_axi_bvalid <= 1'b0;
    end
    if (s_axi_arvalid && !s_axi_rvalid) begin
        s_axi_rvalid <= 1'b1;
        case (s_axi_araddr)
            6'h00: s_axi_rdata <= 32'hADD0_0001;
            6'h10: s_axi_rdata <= constant;
            6'h14: s_axi_rdata <= {28'd0, ctrl};
            6'h18: s_axi_rdata <= sent;
            default: s_axi_rdata <= 32'd0;
        endcase
    end else if (s_axi_rready) begin
        s_axi_rvalid <= 1'b0;
    end
    if (!aresetn) begin
        s_axi_bvalid <= 1'b0;
        s_axi_rvalid <= 1'b0;
        constant <= 32'd0;
        ctrl <= 4'd0;
    end
end

// stream: one register stage
assign s_axis_tready = !ctrl[0] && (!m_axis_tvalid || m_axis_tready);
assign interrupt = ctrl[3];

always_ff @(posedge aclk) begin
    if (m_axis_tvalid && m_axis_tready) begin
        m_axis_tvalid <= 1'b0;
        if (m_axis_tlast) sent <= sent + 32'd1;
    end
    if (s_axis_tvalid && s_axis_tready) begin
        m_axis_tvalid <= 1'b1;
        m_axis_tdata <= s_axis_tdata + constant;
        m_axis_tkeep <= s_axis_tkeep;
        m_axis_tlast <= (s_axis_tlast && !ctrl[1]) || ctrl[2];
    end
    if (!aresetn) begin
        m_axis_tvalid <= 1'b0;
        sent <= 32'd0;
    end
end

endmodule

`default_nettype wire
