"""dmasim's examples: user IP between the DMA channels, tested on every target."""
