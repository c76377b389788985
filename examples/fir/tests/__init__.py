"""The FIR's own cocotb testbench (the RTL alone, no DMA)."""
