"""Host side of the ``rtl`` target: design generator, build cache, simulator, DDR, protocol.

``dmasim.open_target("rtl")`` loads :class:`dmasim.rtl.target.RtlTarget`; the simulator side
lives in ``rtl_tb/hdl/`` (HDL and the simulator's C++ main); the wheel ships it, and the open
RTL of ``hw/rtl/``, as ``dmasim/rtl/sim`` and ``dmasim/rtl/hw``.
"""
