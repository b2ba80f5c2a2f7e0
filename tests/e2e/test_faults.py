"""Faults found by trying real-world failure reports (issue 7), end to end: a real server, the real
claude and codex, the real Secret Service, the vendor stand-in recording every credential."""

from __future__ import annotations

import subprocess
import time

import pytest
from deployment import ANTHROPIC_KEY, OPENAI_KEY, VENV_BIN, grant
from keyring_daemon import SECRET_SERVICE_BACKEND
from vendor_standin import credentials_seen

pytestmark = pytest.mark.e2e

PARALLEL_SCOPES = ["anthropic", "openai", "team-a", "team-b", "team-c", "team-d", "team-e", "team-f"]


def test_parallel_keys_set_keeps_every_scope_listed_and_usable(deployment, approver, people, standin,
                                                               secret_service):
    """An IT provisioning script sets several scopes at once, through the real Secret Service."""
    dev = people(deployment, "ivy")
    dev.keyring_env = {"PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND, **secret_service.env}
    dev.login()
    grant(dev, approver, "claude")
    grant(dev, approver, "codex")
    keys = {scope: {"anthropic": ANTHROPIC_KEY, "openai": OPENAI_KEY}.get(scope, f"sk-{scope}-0123456789abcdef")
            for scope in PARALLEL_SCOPES}
    dev.keys += list(keys.values())
    procs = {scope: subprocess.Popen([str(VENV_BIN / "aigate"), "keys", "set", scope, "--stdin"],
                                     cwd=dev.workdir, env=dev.env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for scope in PARALLEL_SCOPES}
    time.sleep(2.0)  # every process started and waits on its stdin: release them at the same instant
    for scope, proc in procs.items():
        proc.stdin.write(keys[scope] + "\n")
    for proc in procs.values():
        proc.stdin.close()
    for scope, proc in procs.items():
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    listed = dev.ok("keys", "list").stdout
    assert all(scope in listed for scope in PARALLEL_SCOPES), listed
    claude = dev.aigate("run", "claude", "-p", "after provisioning", extra={"ANTHROPIC_BASE_URL": standin.url})
    assert claude.returncode == 0, claude.stderr
    codex = dev.aigate("run", "codex", "-c", f'openai_base_url="{standin.openai_url}"', "exec", "and codex")
    assert codex.returncode == 0, codex.stderr
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY, OPENAI_KEY}
