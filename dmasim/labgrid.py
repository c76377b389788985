"""labgrid integration: PYNQ boards (or ``dmasim serve``) as places of a board farm.

A lab describes each board in labgrid's environment (or exporter) YAML as a
:class:`PynqRemoteBoard` resource (the host and port of its PYNQ.remote server, optionally the
overlay to load); :class:`PynqRemoteDriver` opens dmasim's remote board target on it.
``pytest --lg-env lab.yaml --target=board`` then runs the suite on that board; if the target
names a ``RemotePlace``, the place is acquired from the coordinator for the session (nobody
else can take the board meanwhile) and released at its end.

Environment file (``imports`` makes labgrid register these classes)::

    imports:
      - dmasim.labgrid
    targets:
      main:
        resources:
          RemotePlace:          # a place of the coordinator...
            name: pynq-z2-1
          # PynqRemoteBoard:    # ...or the board itself, without a coordinator
          #   host: 192.168.2.99
          #   port: 7967
          #   bitfile: /path/to/dma_loopback_1.bit
        drivers:
          PynqRemoteDriver: {}

Needs ``pip install dmasim[labgrid]`` (its own step when pynq is installed too: pynq 4.0
pins an older grpcio than labgrid accepts; both work with the newer one).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from typing import Any

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.resource.common import NetworkResource
from labgrid.step import step

from .target import Target, open_target

__all__ = ["PlaceLock", "PynqRemoteBoard", "PynqRemoteDriver", "board_options"]


@target_factory.reg_resource
@attr.s(eq=False)
class PynqRemoteBoard(NetworkResource):  # type: ignore[misc]
    """A board answering PYNQ.remote at ``host:port`` (or ``dmasim serve`` standing in).

    ``bitfile`` (a path on the machine running the tests) is the overlay to load; empty means
    the design ``dmasim serve`` offers.
    """

    port = attr.ib(default=7967, validator=attr.validators.instance_of(int))
    bitfile = attr.ib(default="", validator=attr.validators.instance_of(str))


@target_factory.reg_driver
@attr.s(eq=False)
class PynqRemoteDriver(Driver):  # type: ignore[misc]
    """Opens dmasim's remote ``board`` target on the bound :class:`PynqRemoteBoard`."""

    bindings = {"board": "PynqRemoteBoard"}  # noqa: RUF012 - labgrid's binding table
    timeout = attr.ib(default=10.0, converter=float)

    def options(self) -> dict[str, Any]:
        """``open_target("board", **options)`` for this board."""
        opts: dict[str, Any] = {"host": self.board.host, "port": int(self.board.port),
                                "timeout": self.timeout}
        if self.board.bitfile:
            opts["bitfile"] = self.board.bitfile
        return opts

    @Driver.check_active  # type: ignore[misc]
    @step(title="open_target")  # type: ignore[misc]
    def open_target(self, **extra: Any) -> Target:
        """The dmasim board target on this board (close it when done)."""
        return open_target("board", **{**self.options(), **extra})


class PlaceLock:
    """Hold a coordinator place while open: ``labgrid-client acquire`` / ``release``.

    labgrid's own client does the work in a child process, so its coordinator session does not
    collide with the one labgrid's ``RemotePlace`` opens in this process.
    """

    def __init__(self, env: Any, place: str):
        self.address = env.config.get_option("coordinator_address", None) or os.environ.get(
            "LG_COORDINATOR", "127.0.0.1:20408")
        self.place = place
        self._client("acquire")

    def _client(self, action: str) -> None:
        cmd = [sys.executable, "-c", "from labgrid.remote.client import main; main()",
               "-x", self.address, "-p", self.place, action]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"labgrid place {self.place!r}: {action} got no answer from the "
                               f"coordinator at {self.address} within 60 s") from None
        if out.returncode != 0:
            why = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"labgrid place {self.place!r} at {self.address}: {action} "
                               f"failed: {why[0]}")

    def release(self) -> None:
        """Give the place back."""
        self._client("release")


class _Plugin:
    """pytest side: find the board in the labgrid environment, hold its place."""

    def __init__(self) -> None:
        self.locks: list[PlaceLock] = []
        self.opts: dict[str, Any] | None = None

    def board_options(self, config: Any) -> dict[str, Any]:
        if self.opts is None:
            self.opts = self._resolve(config)
        return self.opts

    def _resolve(self, config: Any) -> dict[str, Any]:
        from labgrid.pytestplugin.hooks import LABGRID_ENV_KEY

        env = config.stash.get(LABGRID_ENV_KEY, None)
        if env is None:
            return {}
        config = env.config.get_targets().get("main")
        if config is None:
            raise RuntimeError("the labgrid environment has no target 'main'")
        resources, _ = target_factory.normalize_config(copy.deepcopy(config))
        for place in resources.get("RemotePlace", {}):  # keyed by name: the place's name
            # Before the target exists: labgrid expands a place's resources only once held.
            self.locks.append(PlaceLock(env, place))
        target = env.get_target("main")
        driver = target.get_driver("PynqRemoteDriver")
        return dict(driver.options())

    def pytest_unconfigure(self, config: Any) -> None:
        from . import pytest_plugin

        pytest_plugin.pytest_unconfigure(config)  # close the board target first (idempotent)
        while self.locks:
            self.locks.pop().release()


def board_options(config: Any) -> dict[str, Any]:
    """``host``/``port``/``bitfile`` of the labgrid board for pytest (acquiring its place)."""
    plugin = config.pluginmanager.get_plugin("dmasim_labgrid")
    return plugin.board_options(config) if plugin is not None else {}


def register(config: Any) -> None:
    """Register the pytest side when ``--lg-env`` (or ``LG_ENV``) names an environment."""
    if config.pluginmanager.get_plugin("dmasim_labgrid") is None:
        config.pluginmanager.register(_Plugin(), "dmasim_labgrid")
