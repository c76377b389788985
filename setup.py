"""Build the native driver levels: the C core (dmasim_dma.c) behind pybind11 and cffi.

Everything else about the package is declared in pyproject.toml. ``pip install -e .`` and
``pip install .`` compile both extensions with the system C/C++ compiler.
"""

from __future__ import annotations

import os

from pybind11.setup_helpers import Pybind11Extension
from pybind11.setup_helpers import build_ext as pybind11_build_ext
from setuptools import setup

NATIVE = os.path.join("dmasim", "drivers", "native")
CORE_C = os.path.join(NATIVE, "dmasim_dma.c")
HEADERS = [os.path.join(NATIVE, n)
           for n in ("dmasim_dma.h", "dmasim_regmap.h", "dmasim_constants.h")]
C_FLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra"]


class BuildExt(pybind11_build_ext):  # type: ignore[misc]
    """Compile an extension's ``c_sources`` as C (not with its C++ flags), then link them in."""

    def build_extension(self, ext):  # type: ignore[no-untyped-def]
        """Build ``ext``, compiling its C sources first."""
        c_sources = getattr(ext, "c_sources", [])
        if c_sources:
            objects = self.compiler.compile(
                c_sources,
                output_dir=self.build_temp,
                include_dirs=ext.include_dirs,
                extra_postargs=C_FLAGS,
                depends=ext.depends,
            )
            ext.extra_objects = [*ext.extra_objects, *objects]
        super().build_extension(ext)


pybind11_ext = Pybind11Extension(
    "dmasim.drivers.native._dmasim_pybind11",
    sources=[os.path.join(NATIVE, "_dmasim_pybind11.cpp")],
    include_dirs=[NATIVE],
    depends=[CORE_C, *HEADERS],
    cxx_std=17,
    extra_compile_args=["-O2", "-Wall", "-Wextra"],
)
pybind11_ext.c_sources = [CORE_C]  # type: ignore[attr-defined]

setup(
    ext_modules=[pybind11_ext],
    cffi_modules=[os.path.join(NATIVE, "_cffi_build.py") + ":ffibuilder"],
    cmdclass={"build_ext": BuildExt},
)
