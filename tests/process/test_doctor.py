"""`aigate doctor` as a help desk runs it: a real server, real processes, one failure at a time.

A healthy setup passes every check (exit 0); each failure doctor knows (server down, clock skew, a hung
keyring, an ungated binary first on PATH, a missing key) is one FAIL line with its fix (exit 1), and no
secret is ever printed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aigate import doctor
from harness.server import add_user, init_server, start_server
from tests.process.conftest import install_tool

SUPPORT = Path(__file__).resolve().parents[1] / "support"
POLICY = """
token_ttl = "10m"
[[rules]]
groups = ["*"]
tools = ["*"]
approval = "required"
max_duration = "8h"
"""
KEYS = {"anthropic": "sk-ant-doctor-0123456789abcdef", "openai": "sk-openai-doctor-0123456789abcdef"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("server") / "data"
    init_server(data, policy=POLICY)
    with start_server(data) as running:
        yield running


class Laptop:
    """One developer's laptop: HOME, the fake tools in ``bin``, the shims in ``shims``."""

    def __init__(self, tmp: Path):
        self.tmp, self.home = tmp, tmp / "home"
        self.bin, self.shims = tmp / "bin", tmp / "shims"
        self.path = f"{self.shims}:{self.bin}:/usr/bin:/bin"

    def env(self, **extra: str) -> dict[str, str]:
        home = self.home
        return {"PATH": self.path, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_CACHE_HOME": str(home / ".cache"), "XDG_STATE_HOME": str(home / ".local/state"),
                "XDG_DATA_HOME": str(home / ".local/share"), "LANG": "C.UTF-8",
                "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
                "AIGATE_ALLOW_INSECURE_KEYRING": "1", "AIGATE_SYSTEM_CONFIG": str(self.tmp / "none.toml"), **extra}

    def aigate(self, *args: str, input: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "aigate", *args], env=self.env(**extra), cwd=self.tmp,
                              input=input, capture_output=True, text=True, timeout=90, check=False)

    def doctor(self, *args: str, **extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, dict]]:
        result = self.aigate(*args, "doctor", "--json", **extra)
        assert not any(key in result.stdout + result.stderr for key in KEYS.values())
        return result, {c["name"]: c for c in json.loads(result.stdout)["checks"]}


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory, server) -> Laptop:
    """Enrolled, both keys stored, both (fake) tools installed, the shims first on PATH (once per module:
    each login, key and shim costs a process)."""
    laptop = Laptop(tmp_path_factory.mktemp("laptop"))
    install_tool(laptop.bin, "claude")
    install_tool(laptop.bin, "codex")
    code = add_user(server.data_dir, f"ann.{time.time_ns()}@corp.example", groups=["dev"])
    for args, stdin in ((("login", "--server", server.url, "--code", code), None),
                        (("keys", "set", "anthropic", "--stdin"), KEYS["anthropic"]),
                        (("keys", "set", "openai", "--stdin"), KEYS["openai"]),
                        (("shims", "install", "--dir", str(laptop.shims)), None)):
        done = laptop.aigate(*args, input=stdin)
        assert done.returncode == 0, done.stderr
    return laptop


@pytest.fixture
def laptop(enrolled: Laptop) -> Iterator[Laptop]:
    """The healthy laptop; what a test breaks (PATH, a key, a tool login) is mended afterwards."""
    path = enrolled.path
    yield enrolled
    enrolled.path = path
    (enrolled.home / ".codex" / "auth.json").unlink(missing_ok=True)


def failed(checks: dict[str, dict]) -> set[str]:
    return {name for name, check in checks.items() if not check["ok"]}


def test_a_healthy_setup_passes_every_check(laptop):
    result, checks = laptop.doctor()
    assert result.returncode == 0, result.stdout
    assert failed(checks) == set()
    assert {"settings", "server", "tls", "clock", "login", "keyring", "keys", "claude", "codex", "path",
            "shims", "environment", "tool logins", "proxy", "spool"} <= set(checks)


def test_the_plain_report_is_one_line_per_check_and_says_all_passed(laptop):
    result = laptop.aigate("doctor")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[-1] == "all checks passed"
    assert all(line.startswith("ok    ") for line in lines[1:-1])


def test_server_down_fails_the_server_check_with_its_fix(laptop):
    result, checks = laptop.doctor("--server", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in checks["server"]["detail"]
    assert "check the network" in checks["server"]["fix"]


def test_a_hung_keyring_is_a_failed_check_not_a_hung_doctor(laptop):
    started = time.monotonic()
    result, checks = laptop.doctor(PYTHON_KEYRING_BACKEND="hanging_keyring.HangingKeyring",
                                   PYTHONPATH=str(SUPPORT))
    assert result.returncode == 1
    assert checks["keyring"]["detail"] == "it did not answer within 5 s"
    assert "unlock the keyring" in checks["keyring"]["fix"]
    assert {"login", "keys"} <= failed(checks)
    assert time.monotonic() - started < 60


def test_an_ungated_binary_first_on_path_is_named(laptop):
    laptop.path = f"{laptop.bin}:{laptop.shims}:/usr/bin:/bin"
    result, checks = laptop.doctor()
    assert result.returncode == 1 and failed(checks) == {"path"}
    assert f"claude on PATH is {laptop.bin / 'claude'} (ungated), ahead of the shim {laptop.shims / 'claude'}" in \
        checks["path"]["detail"]
    assert str(laptop.shims) in checks["path"]["fix"]


def test_a_missing_key_names_the_scope_and_the_command(laptop):
    assert laptop.aigate("keys", "delete", "openai").returncode == 0
    try:
        result, checks = laptop.doctor()
    finally:
        assert laptop.aigate("keys", "set", "openai", "--stdin", input=KEYS["openai"]).returncode == 0
    assert result.returncode == 1 and failed(checks) == {"keys"}
    assert checks["keys"]["detail"].startswith("no key stored for openai")
    assert checks["keys"]["fix"].startswith("aigate keys set openai")


def test_vendor_keys_in_the_environment_and_tool_logins_are_named_not_shown(laptop):
    (laptop.home / ".codex").mkdir(parents=True, exist_ok=True)
    (laptop.home / ".codex" / "auth.json").write_text('{"OPENAI_API_KEY": "sk-in-auth-json-secret"}')
    result, checks = laptop.doctor(ANTHROPIC_API_KEY="sk-ant-in-the-shell-secret")
    assert failed(checks) == {"environment", "tool logins"}
    assert "ANTHROPIC_API_KEY" in checks["environment"]["detail"]
    assert str(laptop.home / ".codex" / "auth.json") in checks["tool logins"]["detail"]
    assert "secret" not in result.stdout


def test_clock_skew_against_the_real_server_is_a_failed_check(server):
    probe = doctor.Probe(env={"AIGATE_SERVER": server.url}, clock=lambda: time.time() + 600)
    checks = {c.name: c for c in doctor.run_checks(probe, checks=doctor.default_checks()[:4])}
    assert not checks["clock"].ok
    assert re.match(r"this clock is 60[0-2] s ahead of the server's", checks["clock"].detail)  # Date: 1 s steps
    assert "NTP" in checks["clock"].fix
    in_time = doctor.Probe(env={"AIGATE_SERVER": server.url})
    assert all(c.ok for c in doctor.run_checks(in_time, checks=doctor.default_checks()[:4]))
