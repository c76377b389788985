"""A 16-tap FIR filter between MM2S and S2MM: RTL, Python model, design and tests."""
