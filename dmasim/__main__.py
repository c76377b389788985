"""``python -m dmasim``: the same as the ``dmasim`` command."""

from .cli import main

raise SystemExit(main())
