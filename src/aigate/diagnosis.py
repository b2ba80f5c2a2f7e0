"""The data of ``aigate doctor``: one :class:`Check` per report line, and the :class:`Probe` every check
reads (its dependencies) and writes (what it found, for later checks). See :mod:`aigate.doctor`."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aigate import config, keystore, protocol


@dataclass
class Check:
    """One line of the report: ``name``, ``ok``, ``detail`` (what was found), ``fix`` (None when ok)."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


@dataclass
class Probe:
    """The doctor's dependencies (real by default) and what earlier checks found for later ones.

    ``http(server, ca_bundle)`` builds an httpx client; ``open_store()`` the keyring store;
    ``clock()`` epoch seconds; ``run(argv, seconds)`` a CompletedProcess (for ``--version``).
    """

    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    flag_server: str | None = None
    http: Callable[[str, str | None], Any] | None = None  # (server, ca_bundle) -> httpx.Client
    open_store: Callable[[], keystore.KeyStore] = keystore.open_keystore
    clock: Callable[[], float] = time.time
    run: Callable[[list[str], float], subprocess.CompletedProcess[str]] | None = None
    cfg: config.Config | None = None
    server_answered: bool = False
    server_date: float | None = None  # the server's clock (its Date header), epoch seconds
    local_date: float | None = None
    me: protocol.Me | None = None
    store: keystore.KeyStore | None = None
