"""Process tests: real ``python -m aigate`` processes, a fake tool on PATH, isolated HOME/XDG dirs.

``client`` prepares a logged-in device with a cached approval token and a stored key, without a
server: the cache is trusted until ``exp`` (it was verified when fetched), so its signature here is
a placeholder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import device
from tests.support.client_home import isolate_client_home

HERE = Path(__file__).parent
SERVER = "http://127.0.0.1:9"  # nothing listens on port 9 (discard): "unreachable"
KEY = device.KEY


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    return isolate_client_home(tmp_path, monkeypatch, unset=("ANTHROPIC_API_KEY", "OPENAI_API_KEY"))


def fake_token(tool: str, scope: str, **kw) -> str:
    return device.fake_token(tool, scope, server=SERVER, **kw)


@dataclass
class Client:
    tmp: Path
    bin_dir: Path
    record: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["FAKE_TOOL_RECORD"] = str(self.record)
        env.update(extra)
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "aigate", *args]

    def run(self, *args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(*args), env=env or self.env(), capture_output=True, text=True,
                              timeout=60, cwd=self.tmp, **kw)

    def recorded(self) -> dict:
        return json.loads(self.record.read_text())


def install_tool(bin_dir: Path, name: str) -> Path:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\n" + (HERE / "fake_tool.py").read_text())
    path.chmod(0o755)
    return path


def login_state(*, server: str = SERVER, **kw) -> None:
    device.login_state(server=server, **kw)


@pytest.fixture
def client(tmp_path) -> Client:
    work = tmp_path / "work"
    work.mkdir()
    install_tool(tmp_path / "bin", "claude")
    install_tool(tmp_path / "bin", "codex")
    login_state()
    return Client(work, tmp_path / "bin", tmp_path / "record.json")
