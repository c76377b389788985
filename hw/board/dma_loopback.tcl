# dma_loopback.tcl: the PYNQ-Z2 AXI DMA loopback block design, for Vivado 2022.1.
#
#   vivado -mode batch -source dma_loopback.tcl                   (direct-register mode)
#   vivado -mode batch -source dma_loopback.tcl -tclargs sg       (scatter-gather mode)
#
# Zynq PS7 (PYNQ-Z2 board preset, FCLK0 100 MHz, M_AXI_GP0, S_AXI_HP0, IRQ_F2P), one AXI DMA
# 7.1 (26-bit length, 32-bit data, no DRE) with M_AXIS_MM2S wired to S_AXIS_S2MM, its
# registers at 0x4040_0000 (64K), its memory masters on HP0. Both interrupts go through an
# xlconcat into an AXI interrupt controller (axi_intc_0, registers at 0x4180_0000) whose irq
# drives IRQ_F2P[0]: pynq waits on PL interrupts only through such a controller. The default
# is direct-register mode (c_include_sg=0) and writes build/dma_loopback_1.bit and .hwh; with
# "sg" the DMA has scatter-gather (c_include_sg=1, its M_AXI_SG on HP0 too) and the files are
# build/dma_loopback_sg.bit and .hwh. Needs the PYNQ-Z2 board files
# (tul.com.tw:pynq-z2:part0:1.0) installed in Vivado.

set design dma_loopback
set sg 0
set output dma_loopback_1
if {[info exists argv] && [lsearch -exact $argv sg] >= 0} {
    set sg 1
    set output dma_loopback_sg
}
set out_dir [file normalize [file join [file dirname [info script]] build]]
if {[version -short] ne "2022.1"} {
    puts "WARNING: written for Vivado 2022.1, running [version -short]"
}

create_project $design $out_dir/$output -part xc7z020clg400-1 -force
set_property board_part tul.com.tw:pynq-z2:part0:1.0 [current_project]
create_bd_design $design

# --- Zynq PS7 ---------------------------------------------------------------------------
set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 processing_system7_0]
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
    -config {make_external "FIXED_IO, DDR" apply_board_preset "1"} $ps
set_property -dict [list \
    CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {100} \
    CONFIG.PCW_USE_M_AXI_GP0 {1} \
    CONFIG.PCW_USE_S_AXI_HP0 {1} \
    CONFIG.PCW_S_AXI_HP0_DATA_WIDTH {64} \
    CONFIG.PCW_USE_FABRIC_INTERRUPT {1} \
    CONFIG.PCW_IRQ_F2P_INTR {1} \
] $ps

# --- AXI DMA: direct-register mode, or scatter-gather with "sg" ---------------------------
set dma [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 axi_dma_0]
set_property -dict [list \
    CONFIG.c_include_sg $sg \
    CONFIG.c_sg_length_width {26} \
    CONFIG.c_sg_include_stscntrl_strm {0} \
    CONFIG.c_m_axi_mm2s_data_width {32} \
    CONFIG.c_m_axis_mm2s_tdata_width {32} \
    CONFIG.c_m_axi_s2mm_data_width {32} \
    CONFIG.c_include_mm2s_dre {0} \
    CONFIG.c_include_s2mm_dre {0} \
    CONFIG.c_mm2s_burst_size {16} \
    CONFIG.c_s2mm_burst_size {16} \
    CONFIG.c_addr_width {32} \
] $dma

# The loopback: MM2S stream straight into S2MM.
connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXIS_MM2S] [get_bd_intf_pins axi_dma_0/S_AXIS_S2MM]

# --- interconnects, clocks and resets (ps7_0_axi_periph, axi_mem_intercon, rst_ps7_0_100M)
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config [list \
    Clk_master {/processing_system7_0/FCLK_CLK0 (100 MHz)} \
    Clk_slave {Auto} Clk_xbar {Auto} \
    Master {/processing_system7_0/M_AXI_GP0} Slave {/axi_dma_0/S_AXI_LITE} \
    ddr_seg {Auto} intc_ip {New AXI Interconnect} master_apm {0}] \
    [get_bd_intf_pins axi_dma_0/S_AXI_LITE]
# The DMA's memory masters (M_AXI_SG too in scatter-gather mode: it fetches and writes back
# the descriptors) to HP0 through one AXI Interconnect, named explicitly: with intc_ip {Auto}
# Vivado 2022.1 would create an AXI SmartConnect (axi_smc) here instead.
set masters {M_AXI_MM2S M_AXI_S2MM}
if {$sg} {
    lappend masters M_AXI_SG
}
set mem_intc {New AXI Interconnect}
foreach master $masters {
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config [list \
        Clk_master {/processing_system7_0/FCLK_CLK0 (100 MHz)} \
        Clk_slave {/processing_system7_0/FCLK_CLK0 (100 MHz)} \
        Clk_xbar {/processing_system7_0/FCLK_CLK0 (100 MHz)} \
        Master /axi_dma_0/$master Slave {/processing_system7_0/S_AXI_HP0} \
        ddr_seg {Auto} intc_ip $mem_intc master_apm {0}] \
        [get_bd_intf_pins axi_dma_0/$master]
    set mem_intc /axi_mem_intercon
}
if {[llength [get_bd_cells -quiet axi_mem_intercon]] != 1} {
    error "expected the automation to create axi_mem_intercon; it made: [get_bd_cells]"
}

# --- interrupts: DMA lines -> xlconcat -> axi_intc_0 -> IRQ_F2P[0] -------------------------
# mm2s_introut is the controller's input 0, s2mm_introut input 1. The controller's registers
# hang off the same GP0 interconnect as the DMA's; its single irq output (C_IRQ_CONNECTION 1)
# goes to the PS. Linux gives that PS interrupt to a UIO device, which pynq waits on.
set intc [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_intc:4.1 axi_intc_0]
set_property -dict [list CONFIG.C_IRQ_CONNECTION {1}] $intc
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config [list \
    Clk_master {/processing_system7_0/FCLK_CLK0 (100 MHz)} \
    Clk_slave {Auto} Clk_xbar {Auto} \
    Master {/processing_system7_0/M_AXI_GP0} Slave {/axi_intc_0/s_axi} \
    ddr_seg {Auto} intc_ip {/ps7_0_axi_periph} master_apm {0}] \
    [get_bd_intf_pins axi_intc_0/s_axi]
set concat [create_bd_cell -type ip -vlnv xilinx.com:ip:xlconcat:2.1 xlconcat_0]
set_property CONFIG.NUM_PORTS {2} $concat
connect_bd_net [get_bd_pins axi_dma_0/mm2s_introut] [get_bd_pins xlconcat_0/In0]
connect_bd_net [get_bd_pins axi_dma_0/s2mm_introut] [get_bd_pins xlconcat_0/In1]
connect_bd_net [get_bd_pins xlconcat_0/dout] [get_bd_pins axi_intc_0/intr]
connect_bd_net [get_bd_pins axi_intc_0/irq] [get_bd_pins processing_system7_0/IRQ_F2P]

# --- addresses: the DMA's registers at 0x4040_0000, the controller's at 0x4180_0000 -------
assign_bd_address
set_property offset 0x40400000 [get_bd_addr_segs {processing_system7_0/Data/SEG_axi_dma_0_Reg}]
set_property range 64K [get_bd_addr_segs {processing_system7_0/Data/SEG_axi_dma_0_Reg}]
set_property offset 0x41800000 [get_bd_addr_segs {processing_system7_0/Data/SEG_axi_intc_0_Reg}]
set_property range 64K [get_bd_addr_segs {processing_system7_0/Data/SEG_axi_intc_0_Reg}]

validate_bd_design
save_bd_design

# --- build ------------------------------------------------------------------------------
set bd_file [get_files $design.bd]
# make_wrapper returns the wrapper's path, wherever this Vivado version generates it
# (.gen/ from 2020.2, .srcs/ before): add exactly that file.
set wrapper [make_wrapper -files $bd_file -top]
add_files -norecurse $wrapper
set_property top [file rootname [file tail $wrapper]] [current_fileset]
update_compile_order -fileset sources_1
launch_runs impl_1 -to_step write_bitstream -jobs 4
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {
    error "implementation failed: see $out_dir/$output/$design.runs/impl_1"
}

set proj $out_dir/$output
file copy -force [glob $proj/$design.runs/impl_1/*.bit] $out_dir/$output.bit
set hwh [glob -nocomplain $proj/$design.gen/sources_1/bd/$design/hw_handoff/$design.hwh \
    $proj/$design.srcs/sources_1/bd/$design/hw_handoff/$design.hwh]
if {[llength $hwh] == 0} { error "no $design.hwh under $proj" }
file copy -force [lindex $hwh 0] $out_dir/$output.hwh
puts "wrote $out_dir/$output.bit and $out_dir/$output.hwh"
