"""A running ``aigate-server serve`` reloads policy.toml on SIGHUP and when the file changes; a bad
policy is refused and the old one kept; both are audit events (one per policy content)."""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest

from aigate.protocol import Paths
from harness.server import add_user, init_server, run_server_cli, start_server

REQUIRED = """\
[[rules]]
groups = ["*"]
tools = ["*"]
approval = "required"
max_duration = "8h"
"""
AUTO = REQUIRED.replace('"required"', '"auto"')
BAD = REQUIRED.replace('"required"', '"sometimes"')


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def served(request, tmp_path_factory):
    """A real server with REQUIRED as its policy; yields (server, ann's headers, policy path)."""
    data_dir = init_server(tmp_path_factory.mktemp("reload") / "srv", policy=REQUIRED)
    code = add_user(data_dir, "ann@corp.example")
    with start_server(data_dir, workers=request.param) as server:
        answer = httpx.post(server.url + Paths.ENROLLMENTS, json={"code": code})
        yield server, {"Authorization": f"Bearer {answer.json()['device_credential']}"}, data_dir / "policy.toml"


def approval_modes(server, headers) -> set[str]:
    """The approval mode of claude as every worker answers it (a few calls reach both workers)."""
    return {httpx.get(server.url + Paths.ME, headers=headers).json()["tools"][0]["approval"] for _ in range(6)}


def eventually(check, expected, timeout=15.0):
    deadline = time.monotonic() + timeout
    while (seen := check()) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return seen


def policy_events(server) -> list[dict]:
    lines = run_server_cli("audit", "export", data_dir=server.data_dir).stdout.splitlines()
    return [e for e in map(json.loads, lines) if e["action"].startswith("policy.")]


def test_a_changed_policy_file_is_in_use_within_seconds(served):
    server, ann, path = served
    path.write_text(AUTO)

    assert eventually(lambda: approval_modes(server, ann), {"auto"}) == {"auto"}
    path.write_text(REQUIRED)
    assert eventually(lambda: approval_modes(server, ann), {"required"}) == {"required"}


def test_a_bad_policy_is_refused_the_old_one_kept_and_the_refusal_audited_once(served):
    server, ann, path = served
    path.write_text(BAD)

    refused = eventually(lambda: [e for e in policy_events(server) if e["action"] == "policy.refused"][-1:] != [],
                         True)
    time.sleep(1.5)  # every worker has seen the file by now

    assert refused and approval_modes(server, ann) == {"required"}
    (event,) = [e for e in policy_events(server) if e["action"] == "policy.refused"]
    assert "sometimes" in json.dumps(event["data"]["problems"])
    path.write_text(REQUIRED)


def test_sighup_reloads_the_policy(served):
    server, ann, path = served
    # The same size and an old mtime: only the signal (or the inode) tells the server to look.
    stamp = path.stat()
    path.write_text(AUTO.replace("auto", "deny"))
    import os

    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    server.process.send_signal(signal.SIGHUP)

    assert eventually(lambda: approval_modes(server, ann), {"deny"}) == {"deny"}
    assert server.process.poll() is None
    loaded = [e for e in policy_events(server) if e["action"] == "policy.loaded"]
    assert loaded[-1]["data"]["rules"] == 1 and len(loaded[-1]["data"]["sha256"]) == 64
    path.write_text(REQUIRED)
    assert eventually(lambda: approval_modes(server, ann), {"required"}) == {"required"}
