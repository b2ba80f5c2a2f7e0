"""Faults found by trying real-world failure reports (issue 7), as real processes: code from the
working directory, races between aigate processes, waits without an end."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.process.conftest import KEY

AIGATE = str(Path(sys.executable).parent / "aigate")
SKEWED_CLOCK = Path(__file__).parents[1] / "support" / "skewed_clock"  # the console script, as users type it


def plant_fake_aigate(repo: Path, marker: Path) -> None:
    """A repository that ships its own ``aigate`` package: a key helper printing a fake key, a
    spool flusher that only leaves ``marker`` behind."""
    package = repo / "aigate"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text("print('sk-fake-from-the-repository')\n")
    (package / "spool.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (package / "cli").mkdir()
    (package / "cli" / "__init__.py").write_text("")
    (package / "cli" / "entry.py").write_text("def main():\n    print('sk-fake-from-the-repository')\n")


def test_a_repositorys_own_aigate_package_is_never_run_as_the_key_helper_or_flusher(client, tmp_path):
    marker = tmp_path / "fake-flusher-ran"
    plant_fake_aigate(client.tmp, marker)
    env = client.env(FAKE_TOOL_MODE="helper")
    done = subprocess.run([AIGATE, "run", "claude", "-p", "hi"], cwd=client.tmp, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert client.recorded()["helper"]["stdout"] == KEY + "\n"
    codex = subprocess.run([AIGATE, "run", "codex", "exec", "hi"], cwd=client.tmp, env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert codex.returncode == 0, codex.stderr
    assert client.recorded()["helper"]["stdout"] == KEY + "\n"
    time.sleep(3)  # the detached flusher starts at exit; the fake one would have written the marker
    assert not marker.exists()


RECORD_SCOPES = """
import sys
from pathlib import Path
from aigate import keystore
sys.stdin.read()  # released together with the others
for i in range(40):
    keystore.record_scope(f"{sys.argv[2]}-{i}", True, Path(sys.argv[1]))
"""


def test_scope_index_writers_started_at_the_same_instant_lose_no_scope(tmp_path):
    """The read-modify-write of keys.json, from many processes at once, keeps every scope (a lock)."""
    index = tmp_path / "state" / "keys.json"
    procs = [subprocess.Popen([sys.executable, "-c", RECORD_SCOPES, str(index), f"p{n}"], stdin=subprocess.PIPE)
             for n in range(6)]
    time.sleep(1.0)
    for proc in procs:
        proc.stdin.close()
    assert all(proc.wait(timeout=60) == 0 for proc in procs)
    from aigate import keystore

    assert len(keystore.stored_scopes(index)) == 6 * 40


AUTO_POLICY = """
token_ttl = "10m"
[tools.claude]
key_scope = "anthropic"
[[rules]]
groups = ["dev"]
tools = ["*"]
approval = "auto"
max_duration = "8h"
"""


@pytest.fixture(scope="module")
def skewed_servers(tmp_path_factory):
    """Servers whose clocks are right (0) or off: the laptop is 2 minutes behind (+120), 2 minutes
    ahead (-120), or 10 minutes behind (+600)."""
    from harness.server import init_server, start_server

    running = {}
    try:
        for skew in (0, 120, -120, 600):
            data = tmp_path_factory.mktemp(f"skew{skew}") / "data"
            init_server(data, policy=AUTO_POLICY)
            running[skew] = start_server(data, env={"PYTHONPATH": str(SKEWED_CLOCK),
                                                    "SKEWED_CLOCK_SECONDS": str(skew)})
        yield running
    finally:
        for server in running.values():
            server.stop()


def logged_in(client, server) -> dict[str, str]:
    """The environment of a new user logged in to ``server`` (approval: auto) with the anthropic key."""
    from harness.server import add_user

    code = add_user(server.data_dir, f"kim.{time.time_ns()}@corp.example", groups=["dev"])
    env = client.env(FAKE_TOOL_MODE="helper")
    assert client.run("login", "--server", server.url, "--code", code, env=env).returncode == 0
    assert client.run("keys", "set", "anthropic", "--stdin", input=KEY, env=env).returncode == 0
    return env


def run_with_skew(client, server, tmp_path):
    return client.run("run", "claude", "-p", "hi", env=logged_in(client, server))


@pytest.mark.parametrize("skew", [120, -120])
def test_a_laptop_clock_two_minutes_off_still_runs(client, skewed_servers, tmp_path, skew):
    done = run_with_skew(client, skewed_servers[skew], tmp_path)
    assert done.returncode == 0, done.stderr
    assert client.recorded()["helper"]["stdout"] == KEY + "\n"  # the key callback's re-check too


def test_a_clock_beyond_the_bound_is_78_naming_the_clock_and_how_far_off(client, skewed_servers, tmp_path):
    done = run_with_skew(client, skewed_servers[600], tmp_path)
    assert done.returncode == 78
    assert re.search(r"clock is (10 min( \d+ s)?|9 min \d+ s) behind the aigate server", done.stderr), done.stderr
    assert not client.record.exists()  # the tool never started


# --- 4. proxies as curl reads them -----------------------------------------------------------------

def test_a_socks_proxy_with_no_proxy_covering_the_server_runs_and_a_dead_one_is_69_naming_it(
        client, skewed_servers):
    env = logged_in(client, skewed_servers[0])
    dead = {**env, "ALL_PROXY": "socks5://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}  # port 9: dead
    refused = client.run("run", "claude", "-p", "hi", env=dead)
    assert refused.returncode == 69, refused.stderr
    assert "ALL_PROXY=socks5://127.0.0.1:9" in refused.stderr
    assert not client.record.exists()
    done = client.run("run", "claude", "-p", "hi", env={**dead, "NO_PROXY": "10.0.0.0/8, 127.0.0.0/8"})
    assert done.returncode == 0, done.stderr
    assert client.recorded()["helper"]["stdout"] == KEY + "\n"


# --- 5. every wait is bounded ---------------------------------------------------------------------

def test_a_keyring_that_never_answers_is_78_within_the_bound_and_the_tool_never_starts(client, tmp_path):
    """The real Secret Service, stopped (SIGSTOP): D-Bus calls to it get no answer."""
    import os
    import signal

    from aigate import paths
    from tests.support.keyring_daemon import SECRET_SERVICE_BACKEND, SecretServiceSession

    for cached in paths.token_dir().glob("*.json"):
        cached.unlink()  # the cold path: the device credential comes out of the keyring
    with SecretServiceSession(tmp_path) as session:
        env = client.env(PYTHON_KEYRING_BACKEND=SECRET_SERVICE_BACKEND, AIGATE_KEYRING_TIMEOUT="2",
                         **session.env)
        os.kill(session._keyring.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            done = client.run("run", "claude", "-p", "hi", env=env)
            keys = client.run("keys", "set", "anthropic", "--stdin", input=KEY, env=env)
            elapsed = time.monotonic() - started
        finally:
            os.kill(session._keyring.pid, signal.SIGCONT)
    assert done.returncode == 78, done.stderr
    assert "did not answer within 2 s" in done.stderr and "unlock your keyring" in done.stderr
    assert not client.record.exists()
    assert keys.returncode == 78 and "did not answer" in keys.stderr
    assert elapsed < 30


SAVE_SETTINGS = """
import sys
from pathlib import Path
from aigate import config
sys.stdin.read()
for i in range(25):
    config.save_user_setting(f"{sys.argv[2]}_{i}", "v", Path(sys.argv[1]))
"""


def test_user_config_writers_started_at_the_same_instant_lose_no_setting(tmp_path):
    """config.toml (written by login) is a read-modify-write too: locked, and replaced atomically."""
    user_file = tmp_path / "config" / "config.toml"
    procs = [subprocess.Popen([sys.executable, "-c", SAVE_SETTINGS, str(user_file), f"p{n}"], stdin=subprocess.PIPE)
             for n in range(4)]
    time.sleep(1.0)
    for proc in procs:
        proc.stdin.close()
    assert all(proc.wait(timeout=60) == 0 for proc in procs)
    assert len(user_file.read_text().splitlines()) == 4 * 25
