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

import contextlib
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
    timeout = attr.ib(default=10.0, validator=attr.validators.instance_of(float))

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
    """Acquire a coordinator place for as long as this object is open (labgrid's own client)."""

    def __init__(self, env: Any, place: str):
        from labgrid.remote.client import start_session

        address = env.config.get_option("coordinator_address", "127.0.0.1:20408")
        self.place = place
        self.session = start_session(address, extra={"env": env})
        self._run(self.session.stub.AcquirePlace, "AcquirePlaceRequest")

    def _run(self, call: Any, request: str) -> None:
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

        message = getattr(pb, request)(placename=self.place)
        try:
            self.session.loop.run_until_complete(call(message))
            self.session.loop.run_until_complete(self.session.sync_with_coordinator())
        except Exception as exc:
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise RuntimeError(f"labgrid place {self.place!r}: {request[:-7]} failed: "
                               f"{details}") from None

    def release(self) -> None:
        """Release the place and close the coordinator session."""
        try:
            self._run(self.session.stub.ReleasePlace, "ReleasePlaceRequest")
        finally:
            with contextlib.suppress(Exception):
                self.session.loop.run_until_complete(self.session.stop())
                self.session.loop.run_until_complete(self.session.close())


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
        from labgrid.resource.remote import RemotePlace

        env = config.stash.get(LABGRID_ENV_KEY, None)
        if env is None:
            return {}
        target = env.get_target("main")
        if target is None:
            raise RuntimeError("the labgrid environment has no target 'main'")
        for resource in target.resources:
            if isinstance(resource, RemotePlace):
                self.locks.append(PlaceLock(env, resource.name))
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
