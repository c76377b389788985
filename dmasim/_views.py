"""The command line of the modules that generate headers from one Python source of truth."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

__all__ = ["print_view"]


def print_view(module: str, views: Mapping[str, Callable[[], str]],
               argv: list[str] | None = None) -> int:
    """``python -m module VIEW``: print the generated view named on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in views:
        print(f"usage: python -m {module} {{{','.join(views)}}}", file=sys.stderr)
        return 2
    sys.stdout.write(views[args[0]]())
    return 0
