"""The client against a real aigate-server (harness/server.py): the story a new user lives."""

from __future__ import annotations

import json
import time

import pytest

from harness.server import add_user, init_server, run_server_cli, start_server
from tests.process.conftest import install_tool

POLICY = """
token_ttl = "4s"
[tools.claude]
key_scope = "anthropic"
[tools.codex]
key_scope = "openai"
[[rules]]
groups = ["dev"]
tools = ["*"]
approval = "required"
max_duration = "8h"
"""
KEY = "sk-ant-real-server-0123456789abcdef"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("server") / "data"
    init_server(data, policy=POLICY)
    with start_server(data) as running:
        yield running


def person(tmp_path, name: str) -> dict[str, str]:
    """Environment overrides giving ``name`` their own HOME and XDG dirs."""
    home = tmp_path / name
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_STATE_HOME": str(home / ".local/state"), "XDG_DATA_HOME": str(home / ".local/share")}


@pytest.fixture
def people(tmp_path, server):
    from tests.process.conftest import Client

    install_tool(tmp_path / "bin", "claude")
    work = tmp_path / "work"
    work.mkdir()
    client = Client(work, tmp_path / "bin", tmp_path / "record.json")
    ann, bob = person(tmp_path, "ann"), person(tmp_path, "bob")
    stamp = f"{time.time_ns()}"
    for who, env, role in (("ann", ann, "user"), ("bob", bob, "approver")):
        code = add_user(server.data_dir, f"{who}.{stamp}@corp.example", groups=["dev"], role=role)
        done = client.run("login", "--server", server.url, "--code", code, env=client.env(**env))
        assert done.returncode == 0, done.stderr
    return client, ann, bob


def test_refused_request_approve_keys_run_revoke_refused(people, server):
    client, ann, bob = people
    def as_ann(*a, **kw):
        return client.run(*a, env=client.env(**ann, **kw))

    def as_bob(*a):
        return client.run(*a, env=client.env(**bob))


    refused = as_ann("run", "claude")
    assert refused.returncode == 77 and 'aigate request claude --reason "..."' in refused.stderr

    filed = as_ann("request", "claude", "--reason", "try the gate", "--json")
    request = json.loads(filed.stdout)
    assert request["state"] == "pending"
    assert as_bob("admin", "approve", request["id"], "--duration", "1h").returncode == 0

    no_key = as_ann("run", "claude")
    assert no_key.returncode == 78 and "aigate keys set anthropic" in no_key.stderr
    stored = client.run("keys", "set", "anthropic", "--stdin", env=client.env(**ann), input=KEY + "\n")
    assert stored.returncode == 0 and KEY not in stored.stdout + stored.stderr

    ran = as_ann("run", "claude", "-p", "hi", FAKE_TOOL_MODE="helper")
    assert ran.returncode == 0, ran.stderr
    assert client.recorded()["helper"]["stdout"] == KEY + "\n"

    assert as_bob("admin", "revoke", request["id"], "--reason", "done").returncode == 0
    time.sleep(4.5)  # token_ttl: the cached token runs out; revocation then refuses
    after = as_ann("run", "claude")
    assert after.returncode == 77, after.stderr


def test_sessions_reach_the_audit_log(people, server):
    client, ann, bob = people
    filed = json.loads(client.run("request", "claude", "--reason", "audit", "--json", env=client.env(**ann)).stdout)
    client.run("admin", "approve", filed["id"], env=client.env(**bob))
    client.run("keys", "set", "anthropic", "--stdin", env=client.env(**ann), input=KEY)
    assert client.run("run", "claude", env=client.env(**ann)).returncode == 0
    deadline = time.monotonic() + 20
    exported = ""
    while time.monotonic() < deadline and exported.count("session") < 2:
        exported = run_server_cli("audit", "export", data_dir=server.data_dir).stdout
        exported = "\n".join(line for line in exported.splitlines() if "session" in line)
        time.sleep(0.5)
    assert "start" in exported and "end" in exported, exported
    assert KEY not in exported


def test_status_shows_the_grant(people, server):
    client, ann, bob = people
    filed = json.loads(client.run("request", "codex", "--reason", "status", "--json", env=client.env(**ann)).stdout)
    client.run("admin", "approve", filed["id"], env=client.env(**bob))
    report = json.loads(client.run("status", "--json", env=client.env(**ann)).stdout)
    codex = next(t for t in report["tools"] if t["tool"] == "codex")
    assert report["server_reachable"] and codex["grant_expires_at"]


def test_a_revocation_stops_a_running_session_at_its_next_key_callback(people, server):
    import subprocess

    client, ann, bob = people
    filed = json.loads(client.run("request", "claude", "--reason", "long", "--json", env=client.env(**ann)).stdout)
    client.run("admin", "approve", filed["id"], env=client.env(**bob))
    client.run("keys", "set", "anthropic", "--stdin", env=client.env(**ann), input=KEY)
    # the callback right after the revocation, while the cached approval token is still valid (token_ttl 4 s)
    go = client.tmp / "go"
    session = subprocess.Popen(client.argv("run", "claude"), cwd=client.tmp, stdout=subprocess.DEVNULL,
                               env=client.env(**ann, FAKE_TOOL_MODE="helper-twice:0", FAKE_TOOL_GO=str(go)))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (client.record.exists() and client.recorded().get("helper")):
        time.sleep(0.1)
    assert client.recorded()["helper"]["stdout"] == KEY + "\n"
    assert client.run("admin", "revoke", filed["id"], "--reason", "stop", env=client.env(**bob)).returncode == 0
    go.touch()
    assert session.wait(timeout=60) == 0
    again = client.recorded()["helper_again"]
    assert again["status"] == 77 and again["stdout"] == "" and "not approved" in again["stderr"]
