"""pytest plugin: ``--target``, the ``target`` / ``dma`` fixtures, markers, hypothesis profiles.

Load it from a ``conftest.py`` with ``pytest_plugins = ["dmasim.pytest_plugin"]``.

- ``--target=model`` (default), ``rtl``, ``board`` or a comma-separated list: every test that
  uses the ``target`` fixture runs once per target. ``sg_target`` is the same with the loopback
  in scatter-gather mode (``c_include_sg=1``; on the board, the ``--sg-bitfile`` overlay).
  Targets are opened once per session (per xdist worker) and reset before every test.
- ``--level=python,cffi`` picks driver levels for the ``dma`` fixture (default: all levels).
- ``--differential-examples=N`` (or ``DMASIM_DIFF_EXAMPLES``): programs the model-vs-RTL
  differential test runs (default 150), for long runs.
- ``@pytest.mark.targets("model", "rtl")`` restricts a test to some targets;
  ``@pytest.mark.needs("faults")`` skips it where the target lacks a capability.
- Hypothesis profiles ``dev``, ``ci`` (derandomized, no deadline; chosen when ``CI`` is set) and
  ``board`` (few examples; chosen with ``--target=board``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import suppress
from typing import Any

import pytest

from .drivers import LEVELS
from .errors import DesignError, DriverUnavailableError, TargetError
from .target import Describes, Target, Traces, Waves, open_target

__all__ = ["SG_LOOPBACK", "check_sg_overlay", "fresh"]

_CAPABILITY_REASONS = {
    "faults": "needs memory fault injection, which only simulated targets have",
    "cache-model": "needs the modelled CPU cache to detect missing flush/invalidate",
    "irq": "needs the interrupt output lines",
    "trace": "needs the register access trace",
    "diagnostics": "needs the model's driver-mistake diagnostics",
}


def _register_profiles() -> None:
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # pragma: no cover - hypothesis is in the test extra
        return
    # The target fixture is function-scoped and reset by each example itself (see fresh()).
    common: dict[str, Any] = {
        "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    }
    settings.register_profile("dev", max_examples=50, deadline=None, **common)
    settings.register_profile(
        "ci", max_examples=50, deadline=None, derandomize=True, print_blob=True, **common
    )
    settings.register_profile("board", max_examples=8, deadline=None, **common)
    # Compatibility runs (other numpy / Python / pynq releases): the same tests, fewer
    # examples; the depth of the properties is the main CI run's job.
    settings.register_profile(
        "compat", max_examples=10, deadline=None, derandomize=True, print_blob=True, **common
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the target selection options."""
    group = parser.getgroup("dmasim")
    group.addoption("--target", default="model",
                    help="model, rtl, board or a comma-separated list (default: model)")
    group.addoption("--level", default=",".join(LEVELS),
                    help=f"driver levels for the dma fixture (default: {','.join(LEVELS)})")
    group.addoption("--bitfile", default=None, help="board target: the overlay .bit to load")
    group.addoption("--sg-bitfile", default=None,
                    help="board target: an overlay whose DMA has c_include_sg=1, for the "
                         "sg_target tests (hw/board: dma_loopback.tcl -tclargs sg)")
    group.addoption("--design", default=None,
                    help="a Vivado .hwh to test instead of the loopback (its user IPs need "
                         "models / RTL from a dmasim_design fixture)")
    group.addoption("--board-host", default=None,
                    help="board target: reach the board over PYNQ.remote at this host")
    group.addoption("--board-port", type=int, default=7967,
                    help="board target: PYNQ.remote port (default 7967)")
    group.addoption("--waves", action="store_true",
                    help="rtl target: dump a waveform per test (FST; VCD where lz4 is missing)")
    group.addoption("--differential-examples", type=int, default=None, metavar="N",
                    help="programs the model-vs-RTL differential test runs (default 150; "
                         "also DMASIM_DIFF_EXAMPLES)")


def pytest_configure(config: pytest.Config) -> None:
    """Register markers and pick the hypothesis profile."""
    config.addinivalue_line("markers", "targets(*names): run only on these targets")
    config.addinivalue_line("markers", "needs(*capabilities): skip where the target lacks them")
    config.addinivalue_line(
        "markers", "rule(*ids): the behaviour rules (docs/axi-dma-behaviour.md) a test checks")
    _register_profiles()
    if config.getoption("lg_env", None) or os.environ.get("LG_ENV"):
        from .labgrid import register  # labgrid drives which board (pip install dmasim[labgrid])

        register(config)
    try:
        from hypothesis import settings
    except ImportError:  # pragma: no cover
        return
    if config.getoption("hypothesis_profile", None):
        return  # hypothesis' own --hypothesis-profile wins
    if "board" in _names(config.getoption("target")):
        settings.load_profile("board")
    elif os.environ.get("CI"):
        settings.load_profile("ci")
    else:
        settings.load_profile("dev")


def _names(option: str) -> list[str]:
    return [n.strip() for n in option.split(",") if n.strip()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run target tests once per ``--target`` and ``dma`` tests once per ``--level``."""
    names = _names(metafunc.config.getoption("target"))
    for fixture in ("target", "sg_target"):
        if fixture not in metafunc.fixturenames:
            continue
        marker = metafunc.definition.get_closest_marker("targets")
        params = []
        for name in names:
            marks = []
            if marker is not None and name not in marker.args:
                marks.append(pytest.mark.skip(
                    reason=f"only for targets {', '.join(marker.args)}"))
            params.append(pytest.param(name, marks=marks, id=name))
        metafunc.parametrize(fixture, params, indirect=True, scope="function")
    if "dma" in metafunc.fixturenames:
        levels = _names(metafunc.config.getoption("level"))
        metafunc.parametrize("level", levels, scope="function")


DesignSpec = Mapping[str, Any]
"""What ``dmasim_design`` returns: ``design`` (a Design or .hwh path), ``models`` (for the
model target), ``rtl`` (for the rtl target) and ``bitfile`` (the board's overlay, instead of
``--bitfile``); an empty mapping means the loopback."""

_PER_TARGET = {"model": "models", "rtl": "rtl"}


def target_options(name: str, spec: DesignSpec, config: pytest.Config) -> dict[str, Any]:
    """``open_target`` keyword arguments for target ``name`` under design ``spec``."""
    options: dict[str, Any] = {}
    if spec.get("design") is not None and name != "board":
        options["design"] = spec["design"]
    extra = _PER_TARGET.get(name)
    if extra is not None and spec.get(extra):
        options[extra] = spec[extra]
    if name == "board":
        options["bitfile"] = spec.get("bitfile") or config.getoption("bitfile")
        options.update(board_options(config))
    if name == "rtl" and config.getoption("waves"):
        options["waves"] = True
    return options


class _Pool:
    """Targets opened once per session (per xdist worker) and design, closed at its end."""

    def __init__(self) -> None:
        self.targets: dict[tuple[str, int], Target] = {}
        self.broken: dict[tuple[str, int], str] = {}

    def get(self, name: str, config: pytest.Config, spec: DesignSpec | None = None) -> Target:
        spec = spec or {}
        key = (name, id(spec.get("design")))
        t = self.targets.get(key)
        if t is not None and not t._closed:
            return t
        if key in self.broken:
            pytest.fail(f"the {name} target could not be opened: {self.broken[key]}")
        for other in [k for k in self.targets if k[0] == name]:
            self._discard(other)  # one design per target at a time: simulators are not free
        try:
            t = open_target(name, **target_options(name, spec, config))
        except (TargetError, ImportError) as exc:
            self.broken[key] = str(exc)
            raise
        self.targets[key] = t
        return t

    def _discard(self, key: tuple[str, int]) -> None:
        t = self.targets.pop(key, None)
        if t is not None:
            with suppress(Exception):  # a crashed target may fail to close
                t.close()

    def discard(self, name: str) -> None:
        for key in [k for k in self.targets if k[0] == name]:
            self._discard(key)

    def close(self) -> None:
        for key in list(self.targets):
            self._discard(key)


def board_options(config: pytest.Config) -> dict[str, Any]:
    """``host``/``port`` of a remote board: ``--board-host``, or a place labgrid acquired."""
    host = config.getoption("board_host", None)
    if host:
        return {"host": host, "port": config.getoption("board_port", 7967)}
    labgrid = config.pluginmanager.get_plugin("dmasim_labgrid")
    return labgrid.board_options(config) if labgrid is not None else {}


_POOL_KEY = pytest.StashKey[_Pool]()


def _pool(config: pytest.Config) -> _Pool:
    pool = config.stash.get(_POOL_KEY, None)
    if pool is None:
        pool = config.stash[_POOL_KEY] = _Pool()
    return pool


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close every target (no simulator outlives the run)."""
    pool = config.stash.get(_POOL_KEY, None)
    if pool is not None:
        pool.close()


@pytest.fixture(scope="session")
def dmasim_design(request: pytest.FixtureRequest) -> DesignSpec:
    """The design every target realises: override it in a conftest to test your own IP.

    Return ``{"design": Design | "x.hwh", "models": {...}, "rtl": {...}}``; by default the
    ``--design`` .hwh (its user IPs then need a conftest that supplies them), else the loopback.
    """
    path = request.config.getoption("design")
    return {"design": path} if path else {}


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """The target under test, freshly reset (power-on reset; buffers freed between tests)."""
    spec: DesignSpec = request.getfixturevalue("dmasim_design")
    yield from _pooled_target(request, spec)


def _sg_loopback() -> Any:
    from .design import Design

    return Design.loopback(parameters={"c_include_sg": 1})


SG_LOOPBACK = _sg_loopback()
"""The default loopback with its DMA in scatter-gather mode (the ``sg_target`` design)."""


@pytest.fixture
def sg_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """Like ``target``, with the loopback's DMA in scatter-gather mode (``c_include_sg=1``).

    Skips, with the target's reason, where a target cannot realise SG mode yet.
    """
    name = getattr(request, "param", None) or _names(request.config.getoption("target"))[0]
    spec: dict[str, Any] = {"design": SG_LOOPBACK}
    if name == "board":
        bitfile = request.config.getoption("sg_bitfile", None)
        if not bitfile:
            pytest.skip("board: the scatter-gather tests need an overlay built with "
                        "c_include_sg=1: pass --sg-bitfile=... (hw/board/README.md)")
        spec["bitfile"] = bitfile
    try:
        for t in _pooled_target(request, spec):
            check_sg_overlay(t, spec.get("bitfile"))
            yield t
    except DesignError as exc:
        pytest.skip(f"{name}: {exc}")


def check_sg_overlay(t: Target, bitfile: str | None) -> None:
    """Fail clearly when the ``--sg-bitfile`` overlay's DMAs are not in scatter-gather mode."""
    from .design.params import includes_sg
    from .target import iter_dma_ips

    if bitfile is None:
        return
    simple = [n for n in iter_dma_ips(t.ip_dict)
              if not includes_sg(t.ip_dict[n].get("parameters") or {})]
    if simple:
        pytest.fail(f"--sg-bitfile {bitfile}: {', '.join(simple)} has c_include_sg=0; build the "
                    "scatter-gather overlay with hw/board/dma_loopback.tcl -tclargs sg",
                    pytrace=False)


def _pooled_target(request: pytest.FixtureRequest, spec: DesignSpec) -> Iterator[Target]:
    name = getattr(request, "param", None) or _names(request.config.getoption("target"))[0]
    pool = _pool(request.config)
    t = pool.get(name, request.config, spec)
    marker = request.node.get_closest_marker("needs")
    if marker is not None:
        missing = [c for c in marker.args if c not in t.capabilities]
        if missing:
            pytest.skip(f"{name}: " + "; ".join(
                _CAPABILITY_REASONS.get(c, f"needs {c}") for c in missing))
    try:
        t.reset()
    except TargetError:
        pool.discard(name)  # a crashed simulator: the next open starts a fresh one
        t = pool.get(name, request.config, spec)
        t.reset()
    if request.config.getoption("waves") and isinstance(t, Waves):
        t.start_waves(request.node.nodeid)
    request.node.stash[_TARGET_KEY] = t
    yield t
    if not t._closed:
        t.memory.free_all()


_TARGET_KEY = pytest.StashKey[Target]()


@pytest.fixture
def dma(target: Target, level: str) -> Any:
    """The DMA driver at this test's level, channels started (skips if the level is absent)."""
    try:
        return target.driver(level)
    except DriverUnavailableError as exc:
        pytest.skip(f"driver level {level!r} unavailable: {exc}")


@pytest.fixture
def open_targets(request: pytest.FixtureRequest) -> Any:
    """A function ``name -> Target`` (session-pooled, reset): for tests comparing targets."""
    pool = _pool(request.config)
    spec: DesignSpec = request.getfixturevalue("dmasim_design")

    def get(name: str) -> Target:
        t = pool.get(name, request.config, spec)
        fresh(t)
        return t

    return get


def fresh(target: Target) -> Target:
    """Reset ``target`` and free its buffers: call at the start of each hypothesis example."""
    target.memory.free_all()
    target.reset()
    return target


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On failure, attach what the target saw: decoded registers, trace, waveform file."""
    report = yield
    if report.when == "call" and report.failed:
        t = item.stash.get(_TARGET_KEY, None)
        if t is not None and not t._closed:
            parts = []
            if isinstance(t, Describes):
                try:
                    parts.append(t.describe())
                except Exception as exc:
                    parts.append(f"(could not read the target: {exc})")
            if isinstance(t, Traces):
                parts.append("last register accesses:\n" + t.format_trace())
            if isinstance(t, Waves) and t.wave_file:
                parts.append(f"waveform: {t.wave_file}")
            if parts:
                report.sections.append((f"dmasim {t.name} target", "\n".join(parts)))
    return report
