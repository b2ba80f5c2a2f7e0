"""What every command gets from the root callback: global options and the dependency factories.

Tests hand a prepared :class:`CliState` to ``CliRunner.invoke(app, ..., obj=state)``: an in-memory key
store, an ``http`` factory returning ``httpx.Client(transport=httpx.MockTransport(...))``, a clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import typer

from aigate import config, connect, enrollment, keystore
from aigate.approval import ServerClient


@dataclass
class CliState:
    """Global options and the dependency factories of one invocation: the real ones by default, fakes in tests
    (key store, HTTP client factory, clock, sleep, poll interval in seconds)."""
    flag_server: str | None = None
    env: dict[str, str] | None = None  # None: the process environment
    http: connect.HttpFactory = connect.default_http
    open_store: Callable[[], keystore.KeyStore] = keystore.open_keystore
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep  # between the polls of `request --wait`
    poll_seconds: float = 2.0  # `request --wait`
    _store: keystore.KeyStore | None = field(default=None, repr=False)

    def environ(self) -> dict[str, str]:
        """The environment commands read: ``env`` when a test set one, else the process's."""
        return dict(os.environ) if self.env is None else self.env

    def config(self) -> config.Config:
        """The merged settings (enforced file > --server > AIGATE_SERVER > config.toml); ConfigError (78) for an
        unsafe or unreadable file."""
        return config.load_config(flag_server=self.flag_server, env=self.environ())

    def store(self) -> keystore.KeyStore:
        """The key store, opened once per invocation; ConfigError (78) when no safe keyring backend is usable."""
        if self._store is None:
            self._store = self.open_store()
        return self._store

    def server(self) -> str:
        """The configured server URL; ConfigError (78) when there is none."""
        return self.config().require_server()

    def device(self, server: str | None = None) -> ServerClient:
        """A client for ``server`` (default: the configured one) as this device."""
        cfg = self.config()
        if server is None:
            server = cfg.require_server()
            enrollment.require(server, source=cfg.server.source)  # enrolled elsewhere: say which setting chose this one
        return connect.device_client(server, store=self.store(), ca_bundle=cfg.ca_bundle.value, http=self.http)

    def anonymous(self, server: str) -> ServerClient:
        """A client for ``server`` without a device credential (enrollment)."""
        return connect.anonymous_client(server, ca_bundle=self.config().ca_bundle.value, http=self.http)


def state_of(ctx: typer.Context) -> CliState:
    """The CliState of this invocation (made by the root callback, or handed in by a test)."""
    return ctx.ensure_object(CliState)
