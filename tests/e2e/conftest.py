"""Fixtures of the end-to-end tier: the real claude and codex, the vendor stand-in, a real terminal.

How the tools' environment is built (no internet, a seeded HOME) is in ``tests/support/toolenv.py``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))

from keyring_daemon import SecretServiceSession  # noqa: E402
from terminal import Terminal  # noqa: E402
from toolenv import ToolMissing, seed_home, tool_path  # noqa: E402
from vendor_standin import VendorStandin  # noqa: E402


def _tool(name: str) -> Path:
    try:
        return tool_path(name)
    except ToolMissing as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    return _tool("claude")


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    return _tool("codex")


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[VendorStandin]:
    with VendorStandin(tmp_path / "vendor.jsonl") as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A git work tree with no remote: the tools' project directory."""
    path = tmp_path / "project"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path.resolve()


@pytest.fixture
def home(tmp_path: Path, workdir: Path) -> Path:
    return seed_home(tmp_path / "home", workdir)


@pytest.fixture
def terminal(tmp_path: Path, workdir: Path) -> Iterator[Terminal]:
    with Terminal(workdir, tmp_path) as term:
        yield term


@pytest.fixture
def secret_service(tmp_path: Path) -> Iterator[SecretServiceSession]:
    """A private D-Bus session with an unlocked gnome-keyring: the real OS keyring of a Linux desktop."""
    with SecretServiceSession(tmp_path) as session:
        yield session
