"""Build the native driver levels: the C core (dmasim_dma.c) behind pybind11 and cffi.

Also the rtl target's mailbox round trip in C++ (``dmasim/rtl/_mailbox.cpp``; optional like
the levels: without it the same object in Python is used, about 1 us more a register access).

Also the package layout: the open RTL (``hw/rtl``) and the simulator side of the rtl target
(``rtl_tb/hdl``) stay in their top-level folders in the checkout and ship in the wheel as the
data packages ``dmasim.rtl.hw`` and ``dmasim.rtl.sim``, so an installed dmasim builds and runs
the rtl target without a checkout (``dmasim/rtl/build.py`` looks there first). Everything
else about the package is declared in pyproject.toml. ``pip install -e .`` and
``pip install .`` compile both extensions with the system C/C++ compiler when one is there.
The native levels are optional: without a compiler, without pybind11 (``pip install
--no-build-isolation`` on a PYNQ image that lacks it) or without cffi, the rest of dmasim
installs and works, setup prints which level was skipped and why, and the skipped levels
raise DriverUnavailableError naming how to get them.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext as setuptools_build_ext

NATIVE = os.path.join("dmasim", "drivers", "native")
CORE_C = os.path.join(NATIVE, "dmasim_dma.c")
HEADERS = [os.path.join(NATIVE, n)
           for n in ("dmasim_dma.h", "dmasim_regmap.h", "dmasim_constants.h")]
C_FLAGS = ["-std=c11", "-O2", "-Wall", "-Wextra"]
SKIPPED: list[str] = []


def _note(message: str) -> None:
    """Say why a native level is not built (pip shows it with -v; it is also in the log)."""
    SKIPPED.append(message)
    print(f"dmasim: {message}", file=sys.stderr)


try:
    from pybind11.setup_helpers import Pybind11Extension
except ImportError as exc:
    Pybind11Extension = None
    _note(f"pybind11 is not importable ({exc}): the 'pybind11' driver level is not built; "
          "`pip install pybind11` first, then reinstall dmasim")


class BuildExt(setuptools_build_ext):
    """Compile C sources as C, and skip (with a message) an extension that cannot build."""

    def build_extension(self, ext: Any) -> None:
        """Build ``ext``, compiling its C sources first; on failure leave it out."""
        try:
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
        except Exception as exc:  # no compiler, missing headers: the pure-Python part stays
            lost = ("the rtl target uses its Python mailbox, ~1 us slower a register access"
                    if ext.name.endswith("_mailbox") else "its driver level is unavailable")
            _note(f"could not build {ext.name} ({type(exc).__name__}: {exc}); {lost}. "
                  "Install a C/C++ compiler and the Python headers (PYNQ images: "
                  "`sudo apt-get install build-essential python3-dev`) and reinstall dmasim")

    def build_extensions(self) -> None:
        """Drop a C-only warning flag some Pythons carry, which g++ warns about."""
        compiler_so = getattr(self.compiler, "compiler_so", None)
        if compiler_so and "-Wstrict-prototypes" in compiler_so:
            compiler_so.remove("-Wstrict-prototypes")
        super().build_extensions()

    def run(self) -> None:
        """Build what can be built; never fail the install for an optional level."""
        try:
            super().run()
        except Exception as exc:
            _note(f"native extensions skipped ({type(exc).__name__}: {exc})")


ext_modules = []
if Pybind11Extension is not None:
    pybind11_ext = Pybind11Extension(
        "dmasim.drivers.native._dmasim_pybind11",
        sources=[os.path.join(NATIVE, "_dmasim_pybind11.cpp")],
        include_dirs=[NATIVE],
        depends=[CORE_C, *HEADERS],
        cxx_std=17,
        extra_compile_args=["-O2", "-Wall", "-Wextra"],
    )
    pybind11_ext.c_sources = [CORE_C]
    ext_modules.append(pybind11_ext)

if sys.platform.startswith("linux"):  # the rtl target's mailbox round trip (futex, memfd)
    from setuptools import Extension

    HDL = os.path.join("rtl_tb", "hdl")
    ext_modules.append(Extension(
        "dmasim.rtl._mailbox",
        sources=[os.path.join("dmasim", "rtl", "_mailbox.cpp")],
        include_dirs=[HDL],
        depends=[os.path.join(HDL, n) for n in ("dmasim_sim_shared.h", "dmasim_sim_protocol.h",
                                                  "dmasim_sim_spin.h")],
        extra_compile_args=["-std=c++17", "-O2", "-Wall", "-Wextra"],
        language="c++",
    ))

options: dict[str, Any] = {}
try:
    import cffi  # noqa: F401
except ImportError as exc:
    _note(f"cffi is not importable ({exc}): the 'cffi' driver level is not built")
else:
    options["cffi_modules"] = [os.path.join(NATIVE, "_cffi_build.py") + ":ffibuilder"]

# Checkout folder -> package in the wheel, and the files of it that ship (no tests).
DATA_PACKAGES = {
    "dmasim.rtl.hw": ("hw/rtl", ["*.v", "*.vh", "README.md"]),
    "dmasim.rtl.sim": ("rtl_tb/hdl", ["*.v", "*.vh", "*.h", "*.cpp", "*.py", "README.md"]),
}

setup(
    packages=[*find_packages(include=["dmasim", "dmasim.*"]), *DATA_PACKAGES],
    package_dir={name: folder for name, (folder, _globs) in DATA_PACKAGES.items()},
    package_data={"dmasim": ["py.typed", "**/*.h", "**/*.c", "**/*.cpp"],
                  **{name: globs for name, (_folder, globs) in DATA_PACKAGES.items()}},
    ext_modules=ext_modules,
    cmdclass={"build_ext": BuildExt},
    **options,
)
