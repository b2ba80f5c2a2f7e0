"""Fixtures of the server tier: a server on SQLite and on PostgreSQL, in-process or as a process.

``db_url`` is parametrized: every test that uses it (directly or through ``server``/``api``) runs
once on SQLite and once on PostgreSQL (a throwaway cluster, one fresh database per test).
``api`` is an in-process app (FastAPI's TestClient, lifespan included) with helpers to enroll
users; its clock can be moved forward (``api.clock.advance(seconds)``) to test expiry.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aigate.protocol import Paths, Role
from aigate.server import db as dbmod
from aigate.server import identity
from aigate.server.app import create_app
from aigate.server.cli import main as cli_main
from aigate.server.services import open_services
from aigate.server.settings import Settings
from aigate.server.writer import write_now
from harness.postgres import create_database

POLICY = """\
token_ttl = "10m"
review_ttl = "1h"

[tools.claude]
key_scope = "anthropic"
base_url = "https://llm-gateway.corp.example/anthropic"
env = { DISABLE_TELEMETRY = "1" }

[tools.codex]
key_scope = "openai"

[[rules]]
groups = ["auto-team"]
tools = ["claude"]
approval = "auto"
max_duration = "2h"

[[rules]]
groups = ["banned"]
tools = ["*"]
approval = "deny"

[[rules]]
groups = ["*"]
tools = ["claude", "codex"]
approval = "required"
max_duration = "8h"
repos_denied = ["*/llama-*"]
"""

_counter = itertools.count()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Per backend, made once: a data dir after ``aigate-server init`` and its migrated database."""
    return {"root": (tmp_path_factory.mktemp("templates"), "")}


def _template(templates: dict, backend: str, request: pytest.FixtureRequest) -> tuple[Path, str]:
    if backend not in templates:
        folder = templates["root"][0] / backend
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'aigate.db'}"
        else:
            url = create_database(request.getfixturevalue("postgres_url"), "template_aigate")
        code, _, err = run_cli("init", "--data-dir", str(folder), "--db", url)
        assert code == 0, err
        if backend == "postgres":
            import sqlalchemy

            sqlalchemy.create_engine(url).dispose()
        templates[backend] = (folder, url)
    return templates[backend]


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, templates: dict) -> str:
    """A migrated database of its own: a copy of the SQLite template, or a PostgreSQL database made
    from the template database (CREATE DATABASE ... TEMPLATE, far faster than migrating)."""
    folder, url = _template(templates, request.param, request)
    if request.param == "sqlite":
        shutil.copy(folder / "aigate.db", tmp_path / "aigate.db")
        return f"sqlite:///{tmp_path / 'aigate.db'}"
    return create_database(url, f"t{next(_counter)}", template="template_aigate")


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run ``aigate-server ARGS`` in-process; (exit code, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli_main(list(args))
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def data_dir(tmp_path: Path, db_url: str, templates: dict) -> Path:
    """A data dir as ``aigate-server init`` leaves it (signing key), with the test POLICY."""
    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    folder = tmp_path / "data"
    shutil.copytree(templates[backend][0], folder, ignore=shutil.ignore_patterns("aigate.db*"))
    (folder / "policy.toml").write_text(POLICY)
    return folder


class Clock:
    """A clock tests can move forward; starts at the real time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Api:
    client: TestClient
    settings: Settings
    clock: Clock
    engine: Any
    devices: dict[str, dict[str, str]] = field(default_factory=dict)

    def add_user(self, email: str, groups: list[str] | None = None, role: Role = Role.USER) -> str:
        """Create the user; returns a fresh enrollment code."""
        _, code = write_now(self.engine, identity.add_user_job(email, groups or [], role, "test"))
        return code

    def enroll(self, email: str, groups: list[str] | None = None, role: Role = Role.USER) -> dict[str, str]:
        """Create the user and enroll a device; returns its Authorization header."""
        code = self.add_user(email, groups, role)
        answer = self.client.post(Paths.ENROLLMENTS, json={"code": code, "device_name": "laptop"})
        assert answer.status_code == 201, answer.text
        headers = {"Authorization": f"Bearer {answer.json()['device_credential']}"}
        self.devices[email] = headers
        return headers

    def request(self, headers: dict[str, str], tool: str = "claude", **extra: Any) -> dict:
        answer = self.client.post(Paths.ACCESS_REQUESTS, json={"tool": tool, "reason": "tests", **extra},
                                  headers=headers)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def approve(self, request_id: str, headers: dict[str, str], **body: Any):
        return self.client.post(Paths.APPROVE.format(id=request_id), json=body or None, headers=headers)

    def token(self, headers: dict[str, str], tool: str = "claude", repository: str | None = None):
        return self.client.post(Paths.APPROVAL_TOKENS, json={"tool": tool, "repository": repository},
                                headers=headers)

    def audit_actions(self) -> list[str]:
        from sqlalchemy import select

        from aigate.server.models import audit_events

        with self.engine.connect() as conn:
            return list(conn.execute(select(audit_events.c.action).order_by(audit_events.c.seq)).scalars())


@contextlib.contextmanager
def serve_api(data_dir: Path, db_url: str, *, token_fast_path: bool = True,
              clock: Clock | None = None) -> Iterator[Api]:
    """An in-process app on ``data_dir``/``db_url`` (its lifespan running) and its test helpers."""
    settings = Settings.resolve(data_dir, db_url, public_url="https://aigate.test")
    clock = clock or Clock()
    services = open_services(settings, clock)
    engine = dbmod.make_engine(db_url, writer=True, pool_size=1)
    app = create_app(services, sweep_seconds=3600, token_fast_path=token_fast_path)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Api(client, settings, clock, engine)
    finally:
        engine.dispose()


@pytest.fixture
def api(data_dir: Path, db_url: str) -> Iterator[Api]:
    with serve_api(data_dir, db_url) as served:
        yield served


@pytest.fixture
def cli():
    """``cli("users", "add", ...)`` runs aigate-server in-process: (exit code, stdout, stderr)."""
    return run_cli


@pytest.fixture
def home(tmp_path, cli):
    """A data dir after `aigate-server init` (SQLite); returns the options every command takes."""
    folder = tmp_path / "srv"
    assert cli("init", "--data-dir", str(folder))[0] == 0
    return ["--data-dir", str(folder)]
