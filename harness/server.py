"""Run a real ``aigate-server`` for tests: init a data dir, add users, serve on a free port.

    data_dir = tmp_path / "server"
    init_server(data_dir, policy=POLICY_TEXT)            # `aigate-server init` (+ your policy.toml)
    code = add_user(data_dir, "ann@corp.example", groups=["dev"], role="user")
    with start_server(data_dir) as server:               # waits for /readyz
        httpx.post(server.url + "/v1/enrollments", json={"code": code})

Every helper takes ``db_url`` (a SQLAlchemy URL, e.g. from ``harness.postgres``) to use
PostgreSQL instead of the data dir's SQLite. Commands run as ``python -m aigate.server`` with the
interpreter running the tests; failures raise RuntimeError carrying the command's stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from harness.postgres import free_port

SERVER = [sys.executable, "-m", "aigate.server"]


def run_server_cli(*args: str, data_dir: Path, db_url: str | None = None,
                   check: bool = True) -> subprocess.CompletedProcess:
    """Run ``aigate-server ARGS --data-dir DIR [--db URL]``; returns the completed process."""
    argv = [*SERVER, *args, "--data-dir", str(data_dir)] + (["--db", db_url] if db_url else [])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=_env(), check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGATE_SERVER_")}
    env.update(extra or {})
    return env


def init_server(data_dir: Path, *, policy: str | None = None, db_url: str | None = None) -> Path:
    """``aigate-server init`` into ``data_dir``; ``policy`` (TOML text) replaces its policy.toml."""
    run_server_cli("init", data_dir=data_dir, db_url=db_url)
    if policy is not None:
        (data_dir / "policy.toml").write_text(policy)
    return data_dir


def add_user(data_dir: Path, email: str, *, groups: list[str] | tuple[str, ...] = (), role: str | None = None,
             db_url: str | None = None) -> str:
    """``aigate-server users add``; returns the fresh enrollment code (its last line of stdout)."""
    args = ["users", "add", email]
    for group in groups:
        args += ["--group", group]
    if role:
        args += ["--role", role]
    return run_server_cli(*args, data_dir=data_dir, db_url=db_url).stdout.strip().splitlines()[-1]


@dataclass
class RunningServer:
    url: str  # http://127.0.0.1:PORT
    port: int
    data_dir: Path
    process: subprocess.Popen
    log_path: Path
    db_url: str | None = None
    args: list[str] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; returns once the process is gone."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_server(data_dir: Path, *, db_url: str | None = None, policy: Path | None = None,
                 port: int | None = None, workers: int = 1, extra_args: list[str] | tuple[str, ...] = (),
                 env: dict[str, str] | None = None, timeout: float = 30.0) -> RunningServer:
    """Start ``aigate-server serve`` on 127.0.0.1 and a free port; return once /readyz answers 200.

    The server's stdout and stderr go to ``data_dir/../server-PORT.log`` (``RunningServer.log()``).
    RuntimeError (with that log) when it exits or is not ready within ``timeout`` seconds.
    """
    port = port or free_port()
    argv = [*SERVER, "serve", "--data-dir", str(data_dir), "--port", str(port), "--workers", str(workers)]
    argv += (["--db", db_url] if db_url else []) + (["--policy", str(policy)] if policy else []) + list(extra_args)
    log_path = data_dir.parent / f"server-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=_env(env))
    server = RunningServer(f"http://127.0.0.1:{port}", port, data_dir, process, log_path, db_url, argv)
    _wait_ready(server, timeout)
    return server


def _wait_ready(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"aigate-server exited {server.process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"aigate-server not ready after {timeout}s:\n{server.log()}")
