"""The server goes away: runs go on with a valid cached approval token, stop without one (69), and the
record of a session that ended while the server was down arrives once it is back, exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from deployment import ANTHROPIC_KEY, VENV_BIN, Deployment, Person, grant
from terminal import Terminal

from harness.toolenv import CLAUDE_READY
from harness.vendor_standin import REPLY_MARKER, VendorStandin, credentials_seen

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_deployment(tmp_path: Path) -> Iterator[Deployment]:
    """A server of this test's own, since the test stops it."""
    deployed = Deployment.create(tmp_path / "own").start()
    yield deployed
    deployed.stop()


@pytest.fixture
def approved(own_deployment: Deployment, people) -> Person:
    """A developer approved for claude with the anthropic key stored, who has not run anything yet."""
    boss = people(own_deployment, "boss").login(role="approver")
    dev = people(own_deployment, "dev").login()
    grant(dev, boss, "claude")
    dev.set_key("anthropic", ANTHROPIC_KEY)
    return dev


def claude_print(person: Person, standin: VendorStandin, prompt: str):
    return person.aigate("run", "claude", "-p", prompt, extra={"ANTHROPIC_BASE_URL": standin.url})


def wait_until(predicate, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout}s")


def test_server_down_with_a_valid_cached_token_still_runs(approved, own_deployment, standin):
    assert claude_print(approved, standin, "while up").returncode == 0  # fetches and caches a token
    own_deployment.kill()
    standin.clear()
    result = claude_print(approved, standin, "while down")
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from anthropic: you said 'while down'" in result.stdout
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}


def test_server_down_without_a_cached_token_is_69(approved, own_deployment, standin, spied):
    own_deployment.kill()
    result = approved.aigate("run", "claude", "-p", "never cached",
                             extra={"ANTHROPIC_BASE_URL": standin.url, **spied[0]})
    assert result.returncode == 69
    assert own_deployment.url in result.stderr
    assert not spied[1].exists() and standin.records() == []


def test_session_end_sent_after_the_server_comes_back_exactly_once(
    approved: Person, own_deployment: Deployment, standin: VendorStandin, terminal: Terminal
):
    terminal.start([str(VENV_BIN / "aigate"), "run", "claude"], approved.env({"ANTHROPIC_BASE_URL": standin.url}))
    terminal.wait_for(CLAUDE_READY)
    wait_until(lambda: own_deployment.sessions("start"), "the session's start in the audit log")
    session_id = own_deployment.sessions("start")[0]["subject"]

    own_deployment.kill()  # mid-session
    terminal.type("/exit")
    assert terminal.wait_exit() == 0
    own_deployment.start()  # same port, same data dir
    assert own_deployment.sessions("end") == []  # the end is still in the developer's spool

    assert claude_print(approved, standin, "next run").returncode == 0  # a later run sends the spool
    wait_until(lambda: any(e["subject"] == session_id for e in own_deployment.sessions("end")),
               "the interrupted session's end in the audit log")
    approved.ok("status")
    assert claude_print(approved, standin, "and another").returncode == 0
    time.sleep(3)  # give any duplicate sender time to show itself
    ends = [e for e in own_deployment.sessions("end") if e["subject"] == session_id]
    assert len(ends) == 1
    assert ends[0]["data"]["exit_status"] == 0
