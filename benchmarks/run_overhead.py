"""What ``aigate run`` adds to a launch on the warm path, and what one key callback costs (issue 3, item 9).

    .venv/bin/python benchmarks/run_overhead.py [--runs 30]

Sets up a logged-in device in a throwaway HOME (cached approval token, key in keyrings.alt's
plaintext keyring, explicitly allowed), puts a no-op ``claude`` (a link to ``true``) on PATH, then
alternates ``claude`` and ``aigate run claude`` in one process and reports the median of the
per-pair differences and the ratio of the medians. It also times ``aigate key-helper claude`` (what
Claude Code runs at start and every token lifetime), against a bare ``python -c pass``.

Bytecode is cached in a temporary PYTHONPYCACHEPREFIX (warmed first), as an installed package has
it; this machine sets PYTHONDONTWRITEBYTECODE, which would otherwise compile aigate on every run.
The server is unreachable, so each run's detached spool flusher gives up quickly; the benchmark
waits for flushers between pairs so they do not steal the measured runs' CPU.
Target: at most 150 ms added, for the run and for the callback. Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER = "http://127.0.0.1:9"
TARGET_MS = 150.0


def prepare(home: Path) -> dict[str, str]:
    """An environment for a logged-in device with a cached approval and a key; returns it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGATE_", "XDG_", "PYTHONDONTWRITE"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_STATE_HOME=str(home / ".local/state"), XDG_DATA_HOME=str(home / ".local/share"),
               AIGATE_ALLOW_INSECURE_KEYRING="1", AIGATE_SYSTEM_CONFIG=str(home / "none.toml"),
               PYTHONPYCACHEPREFIX=str(home / "pycache"))
    env.pop("PYTHON_KEYRING_BACKEND", None)
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "claude").symlink_to(shutil.which("true"))
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    setup = (
        "from tests.process.conftest import login_state; login_state(server=%r, tools={'claude': 'anthropic'}, "
        "token_ttl=86400)" % SERVER
    )
    subprocess.run([sys.executable, "-c", setup], env={**env, "PYTHON_KEYRING_BACKEND":
                   "keyrings.alt.file.PlaintextKeyring"}, cwd=ROOT, check=True, capture_output=True)
    (home / ".local/state/aigate/keyring-backend").write_text("keyrings.alt.file.PlaintextKeyring")
    return env


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    return elapsed * 1000


def settle(home: Path) -> None:
    """Wait (at most 3 s) until no spool flusher of this HOME runs any more."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        busy = subprocess.run(["pgrep", "-f", "aigate.spool"], capture_output=True).stdout.strip()
        if not busy:
            return
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    aigate = str(Path(sys.executable).with_name("aigate"))
    with tempfile.TemporaryDirectory(prefix="aigate-bench-") as tmp:
        home = Path(tmp)
        env = prepare(home)
        work = home / "work"  # not a git repository: no origin remote, like the cached token
        work.mkdir()
        direct, gated = [str(home / "bin" / "claude")], [aigate, "run", "claude"]
        helper = [sys.executable, "-m", "aigate", "key-helper", "claude", "--server", SERVER]
        bare = [sys.executable, "-c", "pass"]
        for _ in range(3):  # warm the bytecode cache and the page cache
            timed(gated, env, work), timed(helper, env, work)
            settle(home)
        pairs, helpers, pythons = [], [], []
        for _ in range(args.runs):
            pairs.append((timed(direct, env, work), timed(gated, env, work)))
            settle(home)
            helpers.append(timed(helper, env, work))
            pythons.append(timed(bare, env, work))
        return report(pairs, helpers, pythons)


def report(pairs, helpers, pythons) -> int:
    direct = statistics.median(d for d, _ in pairs)
    gated = statistics.median(g for _, g in pairs)
    added = statistics.median(g - d for d, g in pairs)
    callback = statistics.median(helpers)
    python = statistics.median(pythons)
    print(f"runs: {len(pairs)} alternating pairs")
    print(f"tool run directly:      median {direct:7.1f} ms")
    print(f"aigate run tool:        median {gated:7.1f} ms")
    print(f"added by aigate run:    median {added:7.1f} ms  (ratio {gated / direct:.1f}x)   target <= {TARGET_MS:.0f} ms")
    print(f"key-helper call:        median {callback:7.1f} ms  (bare python -c pass: {python:.1f} ms)"
          f"   target <= {TARGET_MS:.0f} ms")
    return 0 if added <= TARGET_MS and callback <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
