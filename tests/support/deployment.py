"""aigate as deployed, for the end-to-end tier: a real server, and people at their own laptops.

A :class:`Deployment` is one ``aigate-server`` (SQLite in a temp data dir, or PostgreSQL) on loopback.
A :class:`Person` is one user with their own HOME, XDG dirs and keyring, who types ``aigate ...`` as
a subprocess; every word aigate prints to them is kept (``printed``) so a test can prove that no key
was ever among it. Server helpers (``init_server``, ``add_user``, ``start_server``) are the server
tests' own (``harness/server.py``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.server import RunningServer, add_user, init_server, run_server_cli, start_server
from harness.toolenv import seed_home, tool_env, trust

VENV_BIN = Path(sys.executable).parent
#: The scoped keys the e2e tier stores; the only credentials the vendor stand-in may ever see.
ANTHROPIC_KEY = "sk-ant-scoped-e2e-7f3a9c"
OPENAI_KEY = "sk-openai-scoped-e2e-41b2d8"
FILE_KEYRING = {
    "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    "AIGATE_ALLOW_INSECURE_KEYRING": "1",
}

#: The e2e policy: every tool needs an approver, and repositories named secret-* are off limits.
POLICY = """
token_ttl = "{token_ttl}"
[tools.claude]
key_scope = "anthropic"
[tools.codex]
key_scope = "openai"
[[rules]]
groups = ["*"]
tools = ["*"]
approval = "required"
max_duration = "8h"
repos_denied = ["*/secret-*"]
"""


@dataclass
class Deployment:
    data_dir: Path
    db_url: str | None = None
    server: RunningServer | None = None
    port: int | None = None

    @classmethod
    def create(cls, base: Path, *, token_ttl: str = "10m", db_url: str | None = None) -> Deployment:
        data_dir = base / "server"
        init_server(data_dir, policy=POLICY.format(token_ttl=token_ttl), db_url=db_url)
        return cls(data_dir, db_url)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Deployment:
        """Start (or restart, on the same port) the server; returns once it is ready."""
        self.server = start_server(self.data_dir, db_url=self.db_url, port=self.port)
        self.port = self.server.port
        return self

    def kill(self) -> None:
        """SIGKILL: the server dies without a goodbye, as in a crash or a pulled cable."""
        if self.server is not None and self.server.process.poll() is None:
            self.server.process.kill()
            self.server.process.wait()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def add_user(self, email: str, *, role: str | None = None, groups: Sequence[str] = ("dev",)) -> str:
        return add_user(self.data_dir, email, groups=list(groups), role=role, db_url=self.db_url)

    def audit(self) -> list[dict]:
        """Every audit event (``aigate-server audit export``)."""
        out = run_server_cli("audit", "export", data_dir=self.data_dir, db_url=self.db_url).stdout
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def sessions(self, kind: str) -> list[dict]:
        """The audit events of session starts or ends (``kind``: ``start`` / ``end``)."""
        return [e for e in self.audit() if e["action"] == f"session.{kind}"]


@dataclass
class Person:
    email: str
    home: Path
    workdir: Path
    deployment: Deployment
    proxy: str | None = None
    keyring_env: Mapping[str, str] = field(default_factory=lambda: dict(FILE_KEYRING))
    printed: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def env(self, extra: Mapping[str, str] | None = None, *, with_tools: bool = True) -> dict[str, str]:
        """This person's environment: their HOME and keyring, aigate and the real tools on PATH."""
        env = tool_env(self.home, {**self.keyring_env, **(extra or {})}, proxy=self.proxy, path_first=VENV_BIN)
        if not with_tools:
            env["PATH"] = f"{VENV_BIN}:{self._bare_bin()}"
        return env

    def _bare_bin(self) -> Path:
        """A PATH entry with git and nothing else: no claude or codex, wherever the machine has one."""
        bare = self.home / ".bare-bin"
        if not bare.exists():
            bare.mkdir()
            (bare / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
        return bare

    def aigate(
        self,
        *args: str,
        input: str | None = None,
        extra: Mapping[str, str] | None = None,
        with_tools: bool = True,
        cwd: Path | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """``aigate ARGS`` as this person, in their project dir; output kept in ``printed``."""
        result = subprocess.run(
            [str(VENV_BIN / "aigate"), *args], cwd=cwd or self.workdir,
            env=self.env(extra, with_tools=with_tools), input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout, check=False)
        self.printed += [result.stdout, result.stderr]
        return result

    def ok(self, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
        result = self.aigate(*args, **kwargs)
        assert result.returncode == 0, f"aigate {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        return result

    def login(self, *, role: str | None = None) -> Person:
        code = self.deployment.add_user(self.email, role=role)
        self.ok("login", "--server", self.deployment.url, "--code", code)
        return self

    def at(self, workdir: Path, proxy: str | None) -> Person:
        """The same person (same HOME and keyring) working in ``workdir``, with a fresh ``printed``."""
        trust(self.home, workdir)
        return replace(self, workdir=workdir, proxy=proxy, printed=[], keys=list(self.keys))

    def set_key(self, scope: str, key: str) -> None:
        self.keys.append(key)
        self.ok("keys", "set", scope, "--stdin", input=key + "\n")

    def request(self, tool: str, reason: str = "e2e test") -> str:
        return json.loads(self.ok("request", tool, "--reason", reason, "--json").stdout)["id"]


def new_person(base: Path, deployment: Deployment, name: str, workdir: Path, proxy: str | None) -> Person:
    """A new person ``name-XXXX@corp.example`` (unique, so many can share one deployment)."""
    email = f"{name}-{uuid.uuid4().hex[:6]}@corp.example"
    home = seed_home(base / "people" / email.split("@")[0], workdir)
    return Person(email, home, workdir, deployment, proxy)


def grant(developer: Person, approver: Person, tool: str) -> str:
    """Developer asks, approver approves; returns the access request's id."""
    request_id = developer.request(tool)
    approver.ok("admin", "approve", request_id)
    return request_id


def set_origin(workdir: Path, url: str) -> None:
    subprocess.run(["git", "-C", str(workdir), "remote", "add", "origin", url], check=True)
