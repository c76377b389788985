"""A user IP's RTL for the rtl target: files, top module, parameters, includes, defines."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DesignError

__all__ = ["RtlSources"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_SUFFIXES = (".v", ".sv", ".vh", ".svh")


@dataclass(frozen=True)
class RtlSources:
    """The Verilog / SystemVerilog of one user IP and how to instantiate it.

    ``files`` are compiled together with dmasim's own RTL (``.v`` and ``.sv``; headers found
    through ``include_dirs``); ``top`` is the module the generated simulation top
    instantiates, with ``parameters`` as its Verilog parameters and ``defines`` as
    ``+define+`` macros. Paths are resolved when the object is made, so later ``chdir`` calls
    do not matter; a missing file is a :class:`~dmasim.DesignError` at once.
    """

    files: tuple[Path, ...]
    top: str
    parameters: Mapping[str, int] = field(default_factory=dict)
    include_dirs: tuple[Path, ...] = ()
    defines: Mapping[str, str | int | None] = field(default_factory=dict)

    def __init__(self, files: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
                 top: str, parameters: Mapping[str, int] | None = None,
                 include_dirs: Iterable[str | os.PathLike[str]] = (),
                 defines: Mapping[str, str | int | None] | None = None):
        if isinstance(files, (str, os.PathLike)):
            files = [files]
        paths = tuple(Path(f).resolve() for f in files)
        if not paths:
            raise DesignError("RtlSources: no source files given (files=[...])")
        for p in paths:
            if not p.is_file():
                raise DesignError(f"RtlSources: source file {p} does not exist")
            if p.suffix not in _SUFFIXES:
                raise DesignError(f"RtlSources: {p.name} is not Verilog/SystemVerilog: allowed "
                                  f"suffixes {', '.join(_SUFFIXES)}")
        if not isinstance(top, str) or not _IDENT.match(top):
            raise DesignError(f"RtlSources: top={top!r} is not a Verilog module name")
        params: dict[str, int] = {}
        for k, v in (parameters or {}).items():
            if not _IDENT.match(str(k)) or isinstance(v, bool) or not isinstance(v, int):
                raise DesignError(f"RtlSources({top}): parameter {k}={v!r} must be a Verilog "
                                  "identifier with an integer value")
            params[str(k)] = int(v)
        incs = tuple(Path(d).resolve() for d in include_dirs)
        for d in incs:
            if not d.is_dir():
                raise DesignError(f"RtlSources({top}): include directory {d} does not exist")
        defs = dict(defines or {})
        for k in defs:
            if not _IDENT.match(str(k)):
                raise DesignError(f"RtlSources({top}): define {k!r} is not an identifier")
        object.__setattr__(self, "files", paths)
        object.__setattr__(self, "top", top)
        object.__setattr__(self, "parameters", params)
        object.__setattr__(self, "include_dirs", incs)
        object.__setattr__(self, "defines", defs)

    @property
    def compiled(self) -> tuple[Path, ...]:
        """The files handed to Verilator (headers are only included)."""
        return tuple(p for p in self.files if p.suffix in (".v", ".sv"))

    def key_parts(self) -> list[bytes]:
        """What the build cache hashes: file names and contents, top, parameters, defines."""
        parts = [self.top.encode(), repr(sorted(self.parameters.items())).encode(),
                 repr(sorted((k, str(v)) for k, v in self.defines.items())).encode()]
        for p in self.files:
            parts += [p.name.encode(), p.read_bytes()]
        for d in self.include_dirs:
            for h in sorted(d.glob("*")):
                if h.is_file() and h.suffix in _SUFFIXES:
                    parts += [h.name.encode(), h.read_bytes()]
        return parts
