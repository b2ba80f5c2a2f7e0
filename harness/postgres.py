"""A throwaway PostgreSQL cluster for tests, benchmarks and the demo.

``start_postgres()`` runs ``initdb`` and ``pg_ctl start`` in a temp dir on a free loopback port and
returns a :class:`PostgresCluster` whose ``url`` is a SQLAlchemy URL
(``postgresql+psycopg://postgres@127.0.0.1:PORT/aigate``); ``cluster.stop()`` stops it and removes
the dir. As root (CI), PostgreSQL refuses to run, so the cluster runs as the ``postgres`` OS user.
``fast=True`` (tests) turns off fsync; benchmarks pass ``fast=False`` for durable commits.

The tests' session-scoped fixture ``postgres_url`` (``tests/conftest.py``) starts one cluster for the
whole run and skips the tests that use it when no PostgreSQL binaries are installed.

Also: ``create_database(url, name)`` makes a fresh, empty database in the cluster and returns its URL
(one per test module keeps tests apart without a new cluster each time).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def find_bin_dir() -> Path | None:
    """The directory with initdb and pg_ctl (``$PG_BIN``, Debian's layout, or PATH), or None."""
    candidates = [os.environ.get("PG_BIN", "")] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresCluster:
    url: str  # SQLAlchemy URL of the `aigate` database
    port: int
    base_dir: Path
    bin_dir: Path

    def stop(self) -> None:
        _run_as_owner([str(self.bin_dir / "pg_ctl"), "-D", str(self.base_dir / "data"), "-m", "immediate",
                       "-w", "stop"], check=False)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _run_as_owner(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if _as_root():
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=check, capture_output=True, text=True, timeout=120)


def start_postgres(*, fast: bool = True) -> PostgresCluster:
    """Start a new cluster; raises RuntimeError (with PostgreSQL's output) when it cannot."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries (install Debian's `postgresql` package)")
    base = Path(tempfile.mkdtemp(prefix="aigate-pg-"))
    os.chmod(base, 0o755)
    if _as_root():
        shutil.chown(base, "postgres", "postgres")
    port = free_port()
    data = base / "data"
    try:
        _run_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                       "-E", "UTF8", "--no-instructions"])
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if fast:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        _run_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"),
                       "-w", "-t", "60", "start"])
        _run_as_owner([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "aigate"])
    except subprocess.CalledProcessError as err:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {err.stderr}\n{log}") from err
    return PostgresCluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}/aigate", port, base, bin_dir)


def create_database(url: str, name: str, template: str | None = None) -> str:
    """A fresh database ``name`` in the cluster of ``url`` (empty, or a copy of database
    ``template``, which nobody may be connected to); returns its URL."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
    finally:
        engine.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"
