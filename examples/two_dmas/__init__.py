"""Two DMAs at once: one looping through an AXI-Stream FIFO, one through the FIR."""
