"""The real OS keyring the e2e tier uses: gnome-keyring's Secret Service in a private D-Bus session."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from keyring_daemon import SECRET_SERVICE_BACKEND, SecretServiceSession

pytestmark = pytest.mark.e2e

PROBE = """
import sys, keyring
backend = keyring.get_keyring()
print(type(backend).__module__ + "." + type(backend).__name__)
action, value = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
if action == "set":
    keyring.set_password("aigate-e2e", "probe", value)
elif action == "get":
    print(keyring.get_password("aigate-e2e", "probe"))
elif action == "delete":
    keyring.delete_password("aigate-e2e", "probe")
"""


def keyring_call(session: SecretServiceSession, *args: str) -> list[str]:
    env = {**os.environ, **session.env, "PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND}
    result = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, check=False,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_keyring_stores_and_reads_through_the_secret_service(secret_service):
    assert keyring_call(secret_service, "set", "sk-probe-1")[0] == SECRET_SERVICE_BACKEND
    assert keyring_call(secret_service, "get")[1] == "sk-probe-1"  # another process reads it back
    keyring_call(secret_service, "delete")
    assert keyring_call(secret_service, "get")[1] == "None"


def test_secret_service_keeps_no_plaintext_copy(secret_service):
    keyring_call(secret_service, "set", "sk-probe-plaintext-check")
    stored = list(secret_service.home.rglob("*.keyring"))
    assert stored  # gnome-keyring wrote its login keyring file...
    assert all(b"sk-probe-plaintext-check" not in f.read_bytes() for f in stored)  # ...encrypted
