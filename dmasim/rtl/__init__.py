"""Host side of the ``rtl`` target: design generator, build cache, simulator, DDR, protocol.

``dmasim.open_target("rtl")`` loads :class:`dmasim.rtl.target.RtlTarget`; the simulator side
lives in ``rtl_tb/`` (``dmasim_server.py`` and ``hdl/``).
"""
