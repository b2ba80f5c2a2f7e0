"""Faults found by trying real-world failure reports (issue 7), as real processes: code from the
working directory, races between aigate processes, waits without an end."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.process.conftest import KEY

AIGATE = str(Path(sys.executable).parent / "aigate")  # the console script, as users type it


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
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert client.recorded()["helper"]["stdout"] == KEY + "\n"
    codex = subprocess.run([AIGATE, "run", "codex", "exec", "hi"], cwd=client.tmp, env=env,
                           capture_output=True, text=True, timeout=60)
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
