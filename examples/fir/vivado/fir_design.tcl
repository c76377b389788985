# fir_design.tcl: the FIR example's block design for the PYNQ-Z2, Vivado 2022.1.
#
#   cd examples/fir/vivado && vivado -mode batch -source fir_design.tcl
#
# 1. Packages ../hdl/fir.v as the IP dmasim.org:user:fir:1.0 (the VLNV examples/fir/design.py
#    uses) with bus interfaces S_AXI (AXI4-Lite, 64K), S_AXIS, M_AXIS, the clock ap_clk, the
#    active-low reset ap_rst_n and the level-high interrupt.
# 2. Builds the design: Zynq PS7 (board preset, FCLK0 100 MHz, GP0, HP0, IRQ_F2P), axi_dma_0
#    (AXI DMA 7.1, direct-register mode, 26-bit length, 32-bit data, no DRE) at 0x4040_0000
#    (64K), fir_0 at 0x43C0_0000 (64K), axi_dma_0/M_AXIS_MM2S -> fir_0/S_AXIS and
#    fir_0/M_AXIS -> axi_dma_0/S_AXIS_S2MM, interrupts mm2s_introut, s2mm_introut, fir_0
#    into IRQ_F2P through xlconcat_0.
# 3. Writes build/fir.bit and build/fir.hwh (pynq needs both, same base name).
# Needs the PYNQ-Z2 board files (tul.com.tw:pynq-z2:part0:1.0) installed in Vivado.

set design fir
set here [file normalize [file dirname [info script]]]
set out_dir [file join $here build]
set ip_repo [file join $out_dir ip_repo]
set part xc7z020clg400-1
if {[version -short] ne "2022.1"} {
    puts "WARNING: written for Vivado 2022.1, running [version -short]"
}

# --- 1. package fir.v as dmasim.org:user:fir:1.0 ------------------------------------------
create_project fir_ip $out_dir/fir_ip -part $part -force
add_files -norecurse [file join $here .. hdl fir.v]
set_property top fir [current_fileset]
update_compile_order -fileset sources_1
ipx::package_project -root_dir $ip_repo/fir -vendor dmasim.org -library user \
    -taxonomy /UserIP -import_files -force
set core [ipx::current_core]
set_property name fir $core
set_property version 1.0 $core
set_property display_name "dmasim example: 16-tap FIR (AXI-Stream, HLS-style control)" $core
# name the bus interfaces as the design does (the packager infers s_axi, s_axis, m_axis)
foreach {inferred name} {s_axi S_AXI s_axis S_AXIS m_axis M_AXIS} {
    set busif [ipx::get_bus_interfaces $inferred -of_objects $core]
    if {$busif ne ""} {
        set_property name $name $busif
    }
}
foreach name {S_AXI S_AXIS M_AXIS} {
    if {[ipx::get_bus_interfaces $name -of_objects $core] eq ""} {
        error "the packager did not infer bus interface $name from fir.v's port names"
    }
}
# ap_clk clocks every interface; ap_rst_n is active-low
ipx::associate_bus_interfaces -busif S_AXI -clock ap_clk $core
ipx::associate_bus_interfaces -busif S_AXIS -clock ap_clk $core
ipx::associate_bus_interfaces -busif M_AXIS -clock ap_clk $core
ipx::associate_bus_interfaces -clock ap_clk -reset ap_rst_n $core
set rst [ipx::get_bus_interfaces ap_rst_n -of_objects $core]
if {[ipx::get_bus_parameters POLARITY -of_objects $rst] eq ""} {
    ipx::add_bus_parameter POLARITY $rst
}
set_property value ACTIVE_LOW [ipx::get_bus_parameters POLARITY -of_objects $rst]
# the interrupt, level-high
if {[ipx::get_bus_interfaces interrupt -of_objects $core] eq ""} {
    ipx::infer_bus_interface interrupt xilinx.com:signal:interrupt_rtl:1.0 $core
}
set irq [ipx::get_bus_interfaces interrupt -of_objects $core]
if {[ipx::get_bus_parameters SENSITIVITY -of_objects $irq] eq ""} {
    ipx::add_bus_parameter SENSITIVITY $irq
}
set_property value LEVEL_HIGH [ipx::get_bus_parameters SENSITIVITY -of_objects $irq]
# a 64K register window (fir.v decodes 8 address bits; the rest alias)
set mmap [lindex [ipx::get_memory_maps -of_objects $core] 0]
set block [lindex [ipx::get_address_blocks -of_objects $mmap] 0]
set_property range 65536 $block
ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::check_integrity $core
ipx::save_core $core
close_project

# --- 2. the block design -----------------------------------------------------------------
create_project $design $out_dir/$design -part $part -force
set_property board_part tul.com.tw:pynq-z2:part0:1.0 [current_project]
set_property ip_repo_paths [list $ip_repo] [current_project]
update_ip_catalog
create_bd_design $design

# Zynq PS7
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

# AXI DMA, direct-register mode (the parameters examples/fir/design.py gives axi_dma_0)
set dma [create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 axi_dma_0]
set_property -dict [list \
    CONFIG.c_include_sg {0} \
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

# the FIR between the two DMA channels
create_bd_cell -type ip -vlnv dmasim.org:user:fir:1.0 fir_0
connect_bd_intf_net [get_bd_intf_pins axi_dma_0/M_AXIS_MM2S] [get_bd_intf_pins fir_0/S_AXIS]
connect_bd_intf_net [get_bd_intf_pins fir_0/M_AXIS] [get_bd_intf_pins axi_dma_0/S_AXIS_S2MM]

# AXI-Lite of the DMA and the FIR on GP0 (one ps7_0_axi_periph), DMA masters on HP0;
# the automation also wires ap_clk / ap_rst_n to FCLK0 and its proc_sys_reset
foreach slave {axi_dma_0/S_AXI_LITE fir_0/S_AXI} {
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config [list \
        Clk_master {/processing_system7_0/FCLK_CLK0 (100 MHz)} \
        Clk_slave {Auto} Clk_xbar {Auto} \
        Master {/processing_system7_0/M_AXI_GP0} Slave /$slave \
        ddr_seg {Auto} intc_ip {Auto} master_apm {0}] \
        [get_bd_intf_pins $slave]
}
foreach master {M_AXI_MM2S M_AXI_S2MM} {
    apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config [list \
        Clk_master {/processing_system7_0/FCLK_CLK0 (100 MHz)} \
        Clk_slave {/processing_system7_0/FCLK_CLK0 (100 MHz)} \
        Clk_xbar {/processing_system7_0/FCLK_CLK0 (100 MHz)} \
        Master /axi_dma_0/$master Slave {/processing_system7_0/S_AXI_HP0} \
        ddr_seg {Auto} intc_ip {Auto} master_apm {0}] \
        [get_bd_intf_pins axi_dma_0/$master]
}
# the stream-only DMA clock pins, if the automation left them open
foreach pin {axi_dma_0/m_axi_mm2s_aclk axi_dma_0/m_axi_s2mm_aclk fir_0/ap_clk} {
    if {[get_bd_nets -quiet -of_objects [get_bd_pins $pin]] eq ""} {
        connect_bd_net [get_bd_pins processing_system7_0/FCLK_CLK0] [get_bd_pins $pin]
    }
}

# interrupts
set concat [create_bd_cell -type ip -vlnv xilinx.com:ip:xlconcat:2.1 xlconcat_0]
set_property CONFIG.NUM_PORTS {3} $concat
connect_bd_net [get_bd_pins axi_dma_0/mm2s_introut] [get_bd_pins xlconcat_0/In0]
connect_bd_net [get_bd_pins axi_dma_0/s2mm_introut] [get_bd_pins xlconcat_0/In1]
connect_bd_net [get_bd_pins fir_0/interrupt] [get_bd_pins xlconcat_0/In2]
connect_bd_net [get_bd_pins xlconcat_0/dout] [get_bd_pins processing_system7_0/IRQ_F2P]

# addresses: DMA at 0x4040_0000, FIR at 0x43C0_0000, 64K each
assign_bd_address
foreach {ip offset} {axi_dma_0 0x40400000 fir_0 0x43C00000} {
    set seg [get_bd_addr_segs processing_system7_0/Data/SEG_${ip}_*]
    if {[llength $seg] != 1} {
        error "expected one address segment of $ip in processing_system7_0/Data, got: $seg"
    }
    set_property offset $offset $seg
    set_property range 64K $seg
}

validate_bd_design
save_bd_design

# --- 3. build ----------------------------------------------------------------------------
add_files -norecurse [make_wrapper -files [get_files *.bd] -top]
set_property top ${design}_wrapper [current_fileset]
update_compile_order -fileset sources_1
launch_runs impl_1 -to_step write_bitstream -jobs 4
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} {
    error "implementation failed: see $out_dir/$design/$design.runs/impl_1"
}

file copy -force [glob $out_dir/$design/$design.runs/impl_1/*.bit] $out_dir/$design.bit
file copy -force [glob $out_dir/$design/$design.gen/sources_1/bd/$design/hw_handoff/$design.hwh] \
    $out_dir/$design.hwh
puts "wrote $out_dir/$design.bit and $out_dir/$design.hwh"
