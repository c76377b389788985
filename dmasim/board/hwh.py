"""The .hwh writer's old home: see :mod:`dmasim.pynq.overlay`.

``python -m dmasim.board.hwh PATH`` and ``from dmasim.board.hwh import render, write_overlay``
keep working.
"""

from __future__ import annotations

import sys

from ..pynq.overlay import VIVADO, main, render, write_overlay

__all__ = ["VIVADO", "main", "render", "write_overlay"]

if __name__ == "__main__":
    sys.exit(main())
