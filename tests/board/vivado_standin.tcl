# vivado_standin.tcl: the Vivado commands hw/board/dma_loopback.tcl uses, as a plain Tcl
# interpreter can run them, recording the block design the script describes.
#
# Source this, then the script; read the result from the ::bd namespace:
#   cells     dict: cell -> VLNV (what the script and the stand-in's automation created)
#   config    dict: cell -> dict CONFIG.<name> -> value
#   nets      list of pin lists (connect_bd_net), pins as cell/pin
#   intf_nets list of interface-pin lists (connect_bd_intf_net)
#   links     list of {master slave interconnect} (axi4 connection automation)
#   segs      dict: address segment -> dict offset/range
#   copies    list of the files the script copies its results to
#
# Vivado's automation is reduced to what the script relies on: a new AXI Interconnect from
# the PS's M_AXI_GP0 is named ps7_0_axi_periph, one to its S_AXI_HP0 axi_mem_intercon, and
# the first automation adds rst_ps7_0_100M. Anything the script names that does not exist
# (a cell, a pin's cell, an interconnect, an address segment of an unconnected slave) is an
# error, as it is in Vivado.

namespace eval ::bd {
    variable cells [dict create]
    variable config [dict create]
    variable nets {}
    variable intf_nets {}
    variable links {}
    variable segs [dict create]
    variable copies {}
}

proc ::bd::cell_of {pin} {
    set cell [lindex [split [string trimleft $pin /] /] 0]
    if {![dict exists $::bd::cells $cell]} {
        error "no cell $cell (for $pin); cells: [dict keys $::bd::cells]"
    }
    return $cell
}

proc ::bd::add_cell {name vlnv} {
    if {[dict exists $::bd::cells $name]} { error "cell $name exists already" }
    dict set ::bd::cells $name $vlnv
    dict set ::bd::config $name [dict create]
    return $name
}

proc version {args} { return 2022.1 }
proc create_project {args} { return [lindex $args 0] }
proc current_project {args} { return project }
proc current_fileset {args} { return sources_1 }
proc create_bd_design {name} { return $name }
proc validate_bd_design {args} {}
proc save_bd_design {args} {}
proc assign_bd_address {args} {}
proc update_compile_order {args} {}
proc launch_runs {args} {}
proc wait_on_run {args} {}
proc get_runs {args} { return $args }
proc get_files {args} { return [lindex $args end] }
proc add_files {args} {}
proc make_wrapper {args} { return /standin/gen/dma_loopback_wrapper.v }

proc get_property {name obj} {
    if {$name eq "PROGRESS"} { return 100% }
    error "get_property $name: not in the stand-in"
}

proc create_bd_cell {args} {
    set vlnv [lindex $args [expr {[lsearch -exact $args -vlnv] + 1}]]
    return [::bd::add_cell [lindex $args end] $vlnv]
}

proc get_bd_pins {pin} { ::bd::cell_of $pin; return $pin }
proc get_bd_intf_pins {pin} { ::bd::cell_of $pin; return $pin }

proc get_bd_cells {args} {
    set names [lsearch -all -inline -not -exact $args -quiet]
    if {[llength $names] == 0} { return [dict keys $::bd::cells] }
    set out {}
    foreach n $names {
        if {[dict exists $::bd::cells [string trimleft $n /]]} { lappend out $n }
    }
    return $out
}

proc connect_bd_net {args} {
    foreach pin $args { ::bd::cell_of $pin }
    lappend ::bd::nets $args
}

proc connect_bd_intf_net {args} {
    foreach pin $args { ::bd::cell_of $pin }
    lappend ::bd::intf_nets $args
}

proc set_property {args} {
    if {[lindex $args 0] eq "-dict"} {
        set pairs [lindex $args 1]
        set obj [lindex $args 2]
    } else {
        set pairs [lrange $args 0 1]
        set obj [lindex $args 2]
    }
    foreach {key value} $pairs {
        if {[dict exists $::bd::cells $obj]} {
            if {![string match CONFIG.* $key]} { error "cell property $key on $obj" }
            dict set ::bd::config $obj $key $value
        } elseif {[dict exists $::bd::segs $obj]} {
            dict set ::bd::segs $obj $key $value
        }
    }
}

proc get_bd_addr_segs {seg} {
    # processing_system7_0/Data/SEG_<cell>_Reg exists once <cell> is a slave of a GP0 link.
    if {![regexp {^processing_system7_0/Data/SEG_(.+)_Reg$} $seg -> cell]} {
        error "address segment $seg: not in the stand-in"
    }
    foreach link $::bd::links {
        lassign $link master slave ic
        if {$master eq "processing_system7_0/M_AXI_GP0" && [::bd::cell_of $slave] eq $cell} {
            if {![dict exists $::bd::segs $seg]} { dict set ::bd::segs $seg [dict create] }
            return $seg
        }
    }
    error "no address segment $seg: $cell is not connected to M_AXI_GP0"
}

proc apply_bd_automation {args} {
    set rule [lindex $args [expr {[lsearch -exact $args -rule] + 1}]]
    if {$rule eq "xilinx.com:bd_rule:processing_system7"} { return }
    if {$rule ne "xilinx.com:bd_rule:axi4"} { error "automation rule $rule: not in the stand-in" }
    set cfg [lindex $args [expr {[lsearch -exact $args -config] + 1}]]
    set master [string trimleft [dict get $cfg Master] /]
    set slave [string trimleft [dict get $cfg Slave] /]
    ::bd::cell_of $master
    ::bd::cell_of $slave
    set ic [dict get $cfg intc_ip]
    if {$ic eq "New AXI Interconnect"} {
        if {$master eq "processing_system7_0/M_AXI_GP0"} {
            set ic ps7_0_axi_periph
        } elseif {$slave eq "processing_system7_0/S_AXI_HP0"} {
            set ic axi_mem_intercon
        } else {
            error "a new interconnect from $master to $slave: not in the stand-in"
        }
        ::bd::add_cell $ic xilinx.com:ip:axi_interconnect:2.1
    } else {
        set ic [::bd::cell_of $ic]
    }
    if {![dict exists $::bd::cells rst_ps7_0_100M]} {
        ::bd::add_cell rst_ps7_0_100M xilinx.com:ip:proc_sys_reset:5.0
    }
    lappend ::bd::links [list $master $slave $ic]
}

# The build's outputs do not exist here: glob names the first pattern's file, file copy records.
rename glob ::bd::tcl_glob
proc glob {args} {
    set patterns [lsearch -all -inline -not -exact $args -nocomplain]
    return [list [string map {* standin} [lindex $patterns 0]]]
}
rename file ::bd::tcl_file
proc file {sub args} {
    if {$sub eq "copy"} {
        lappend ::bd::copies [file tail [lindex $args end]]
        return
    }
    return [::bd::tcl_file $sub {*}$args]
}
