"""A developer on a machine without a Secret Service (an SSH login, no D-Bus session): the messages
lead to a working ``aigate run`` with the keys encrypted on disk, not in a plain file."""

from __future__ import annotations

import json
import subprocess

import pytest
from deployment import ANTHROPIC_KEY

from harness.vendor_standin import REPLY_MARKER, credentials_seen

pytestmark = pytest.mark.e2e

PASSWORD = "hal's keyring password"
#: What the message tells the developer to do, as a script run inside `dbus-run-session`.
UNLOCK = "printf '%s' \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --unlock --components=secrets >/dev/null\n"


def in_session(person, script: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``dbus-run-session -- sh -c SCRIPT`` as ``person``: a D-Bus session for this shell only, which
    ends (with the keyring daemon in it) when the shell does."""
    env = person.env({"KEYRING_PASSWORD": PASSWORD, **(extra or {})})
    done = subprocess.run(["dbus-run-session", "--", "sh", "-ec", UNLOCK + script], cwd=person.workdir, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    person.printed += [done.stdout, done.stderr]
    return done


def test_without_a_secret_service_the_message_leads_to_a_working_run_with_encrypted_keys(
        deployment, approver, people, standin):
    hal = people(deployment, "hal")
    hal.keyring_env = {}  # no PYTHON_KEYRING_BACKEND, no insecure opt-in, and no D-Bus session
    code = deployment.add_user(hal.email)

    refused = hal.aigate("login", "--server", deployment.url, "--code", code)

    assert refused.returncode == 78
    assert "dbus-run-session -- $SHELL" in refused.stderr
    assert "gnome-keyring-daemon --unlock --components=secrets" in refused.stderr
    first = in_session(hal, f"aigate login --server {deployment.url} --code {code}\n"
                            f"printf '%s\\n' '{ANTHROPIC_KEY}' | aigate keys set anthropic --stdin\n")
    assert first.returncode == 0, first.stderr
    hal.keys.append(ANTHROPIC_KEY)
    request = in_session(hal, "aigate request claude --reason 'headless box' --json\n")
    assert request.returncode == 0, request.stderr
    approver.ok("admin", "approve", json.loads(request.stdout)["id"])

    run = in_session(hal, "aigate run claude -p 'from a headless box'\n", {"ANTHROPIC_BASE_URL": standin.url})

    assert run.returncode == 0, run.stderr
    assert f"{REPLY_MARKER} from anthropic: you said 'from a headless box'" in run.stdout
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}
    stored = list((hal.home / ".local" / "share" / "keyrings").glob("*.keyring"))
    assert stored and all(ANTHROPIC_KEY.encode() not in f.read_bytes() for f in stored)
    assert "plain-file" not in run.stderr + first.stderr
