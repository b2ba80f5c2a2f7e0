"""Fixtures of the end-to-end tier: the real claude and codex, the vendor stand-in, a real terminal.

How the tools' environment is built (no internet, a seeded HOME) is in ``harness/toolenv.py``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from deployment import ANTHROPIC_KEY, OPENAI_KEY, VENV_BIN, Deployment, Person, grant, new_person
from keyring_daemon import SecretServiceSession
from terminal import Terminal

from harness.toolenv import SYSTEM_PATH, TOOLS_BIN, ToolMissing, seed_home, tool_path
from harness.vendor_standin import VendorStandin


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


# --- aigate as deployed ----------------------------------------------------------------------------
# One server per test module (starting one costs seconds); people are made per test with unique names,
# and those whose state no test changes (an approver, a developer approved for both tools with both
# keys) are shared by the module's tests.

@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deployment")


@pytest.fixture(scope="module")
def deployment(module_dir: Path) -> Iterator[Deployment]:
    """A real aigate-server on loopback, SQLite in a temp data dir, the e2e policy (token_ttl 10m)."""
    deployed = Deployment.create(module_dir).start()
    yield deployed
    deployed.stop()


@pytest.fixture(scope="module")
def module_approver(module_dir: Path, deployment: Deployment) -> Person:
    return new_person(module_dir, deployment, "ada", module_dir, None).login(role="approver")


@pytest.fixture(scope="module")
def module_ready_dev(module_dir: Path, deployment: Deployment, module_approver: Person) -> Person:
    """A developer approved for claude and codex, with both scoped keys in their (file) keyring."""
    dev = new_person(module_dir, deployment, "dan", module_dir, None).login()
    grant(dev, module_approver, "claude")
    grant(dev, module_approver, "codex")
    dev.set_key("anthropic", ANTHROPIC_KEY)
    dev.set_key("openai", OPENAI_KEY)
    return dev


@pytest.fixture
def people(tmp_path: Path, workdir: Path, standin: VendorStandin) -> Iterator[Callable[..., Person]]:
    """Make people (own HOME, XDG dirs, keyring) for this test; at its end, prove aigate printed no key.

    ``people(deployment, "name")`` makes a new person; ``people(existing)`` brings a module-wide one
    into this test's project dir and stand-in.
    """
    made: list[Person] = []

    def make(deployment_or_person: Deployment | Person, name: str = "") -> Person:
        if isinstance(deployment_or_person, Person):
            person = deployment_or_person.at(workdir, standin.url)
        else:
            person = new_person(tmp_path, deployment_or_person, name, workdir, standin.url)
        made.append(person)
        return person

    yield make
    keys = {key for person in made for key in person.keys} | {ANTHROPIC_KEY, OPENAI_KEY}
    for person in made:
        for text in person.printed:
            for key in keys:
                assert key not in text, f"aigate printed a key to {person.email}"


@pytest.fixture
def approver(people, module_approver: Person) -> Person:
    return people(module_approver)


@pytest.fixture
def ready_dev(people, module_ready_dev: Person) -> Person:
    return people(module_ready_dev)


@pytest.fixture
def dev(deployment: Deployment, people) -> Person:
    """A developer just enrolled: no approval, no keys."""
    return people(deployment, "dev").login()


@pytest.fixture
def spied(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """PATH with a ``claude`` first that notes it was started, then runs the real one; and the note."""
    spy_dir, note = tmp_path / "spy", tmp_path / "claude-started"
    spy_dir.mkdir()
    spy = spy_dir / "claude"
    spy.write_text(f"#!/bin/sh\ntouch '{note}'\nexec '{TOOLS_BIN / 'claude'}' \"$@\"\n")
    spy.chmod(0o755)
    return {"PATH": f"{spy_dir}:{VENV_BIN}:{TOOLS_BIN}:{SYSTEM_PATH}"}, note
