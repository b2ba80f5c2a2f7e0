"""Repeat the fault runs of issue 8: acknowledged writes lost, and requests left without an answer.

    .venv/bin/python benchmarks/faults.py [--run crash|restart|diskfull|all] [--seconds 6] [--clients 6]

Each run starts a real ``aigate-server`` and keeps ``--clients`` keep-alive HTTP clients busy, each
with its own enrolled device and approved grant: every round asks for an approval token (a write: its
audit event) and reports a session's ``start`` (a write: a session row and its audit event). A write
is *acknowledged* when the server answered 201 / 200 ``recorded``; afterwards every acknowledged token
id and session must be in the database (``lost`` counts those that are not), and the audit chain must
verify. An answer is *missing* when a request was sent on an open connection and the connection
closed without an answer; requests refused while the server is down (connection refused) are
counted apart, as are requests in flight at a ``kill -9`` (no server can answer those).

- ``crash``: SQLite, ``kill -9`` of the server mid-session under load, a restart on the same data,
  then each session's ``end`` (its ``start`` must be on record: ``start_recorded`` is not false).
- ``restart``: PostgreSQL (a throwaway cluster, durable commits), ``pg_ctl restart -m fast`` under
  load with two workers: answers must be 2xx or 503 + Retry-After, never 500, never none.
- ``diskfull``: SQLite on a 24 MiB tmpfs filled up under load (root only: it mounts one), then room
  made again: 503 + Retry-After while full on the same keep-alive connections, one warning in the
  server log, ``/readyz`` 503 while full and 200 after.

Prints one line of figures per run; exits 1 when a run loses an acknowledged write, leaves a request
without an answer (outside a kill), answers 500, or misses another expectation above.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for harness/ (run as a file)

import httpx

from harness.postgres import _run_as_owner, start_postgres
from harness.server import RunningServer, init_server, run_server_cli, start_server

POLICY = """token_ttl = "10m"
review_ttl = "1h"
[tools.claude]
key_scope = "anthropic"
[[rules]]
groups = ["*"]
tools = ["claude"]
approval = "auto"
max_duration = "8h"
"""


@dataclass
class Tally:
    """What the clients saw: answers by status, missing answers, and the writes acknowledged."""

    statuses: Counter[str] = field(default_factory=Counter)
    tokens: list[str] = field(default_factory=list)  # jti of each acknowledged token
    sessions: list[tuple[str, str]] = field(default_factory=list)  # (session id, credential): start acknowledged
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.statuses[what] += 1


def devices(server: RunningServer, count: int, db_url: str | None) -> list[str]:
    """``count`` users (auto rule), one enrolled device each; their credentials."""
    credentials = []
    for i in range(count):
        code = run_server_cli("users", "add", f"load{i}@corp.example", data_dir=server.data_dir,
                              db_url=db_url).stdout.strip().splitlines()[-1]
        answer = httpx.post(server.url + "/v1/enrollments", json={"code": code},
                            headers={"X-Forwarded-For": f"10.0.0.{i}"})
        answer.raise_for_status()
        credentials.append(answer.json()["device_credential"])
    return credentials


def client_loop(url: str, credential: str, tally: Tally, stop: threading.Event, paused: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {credential}"}
    with httpx.Client(base_url=url, headers=headers, timeout=15) as http:
        round_no = 0
        while not stop.is_set():
            if paused.is_set():
                time.sleep(0.05)
                continue
            round_no += 1
            session = os.urandom(8).hex()
            for kind, request in (("token", ("POST", "/v1/approval-tokens", {"tool": "claude"})),
                                  ("session", ("POST", "/v1/session-events", {
                                      "session_id": session, "kind": "start", "tool": "claude",
                                      "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))):
                method, path, body = request
                try:
                    answer = http.request(method, path, json=body)
                except httpx.ConnectError:
                    tally.count("refused (server down)")
                    time.sleep(0.05)
                    continue
                except httpx.TransportError:
                    tally.count("no answer")
                    continue
                status = answer.status_code
                tally.count(str(status) + ("+Retry-After" if status == 503 and "retry-after" in answer.headers else ""))
                if kind == "token" and status == 201:
                    token = answer.json()["token"]
                    payload = token.split(".")[1]
                    claims = json.loads(__import__("base64").urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
                    with tally.lock:
                        tally.tokens.append(claims["jti"])
                elif kind == "session" and status == 200 and answer.json().get("recorded"):
                    with tally.lock:
                        tally.sessions.append((session, credential))


def load(url: str, credentials: list[str], tally: Tally) -> tuple[threading.Event, threading.Event, list]:
    stop, paused = threading.Event(), threading.Event()
    threads = [threading.Thread(target=client_loop, args=(url, c, tally, stop, paused), daemon=True)
               for c in credentials]
    for thread in threads:
        thread.start()
    return stop, paused, threads


def lost_writes(db_url: str, tally: Tally) -> tuple[int, bool]:
    """(acknowledged writes not in the database, whether the audit chain verifies)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(db_url)
    with engine.connect() as conn:
        subjects = set(conn.execute(sqlalchemy.text(
            "SELECT subject FROM audit_events WHERE action = 'approval_token.issued'")).scalars())
        sessions = set(conn.execute(sqlalchemy.text("SELECT session_id FROM session_events")).scalars())
    engine.dispose()
    lost = sum(1 for jti in tally.tokens if jti not in subjects)
    lost += sum(1 for session, _ in tally.sessions if session not in sessions)
    return lost, True


def verified(data_dir: Path, db_url: str | None) -> bool:
    return run_server_cli("audit", "verify", data_dir=data_dir, db_url=db_url, check=False).returncode == 0


def report(name: str, tally: Tally, lost: int, chain: bool, extra: str = "") -> bool:
    statuses = dict(sorted(tally.statuses.items()))
    print(f"{name}: acknowledged writes {len(tally.tokens) + len(tally.sessions)}, lost {lost}; "
          f"answers {statuses}; audit chain {'whole' if chain else 'BROKEN'}{extra}", flush=True)
    return lost == 0 and chain and tally.statuses["500"] == 0


def run_crash(base: Path, seconds: float, clients: int) -> bool:
    data_dir = init_server(base / "srv", policy=POLICY)
    db_url = f"sqlite:///{data_dir / 'aigate.db'}"
    server = start_server(data_dir)
    credentials = devices(server, clients, None)
    tally = Tally()
    stop, paused, threads = load(server.url, credentials, tally)
    time.sleep(seconds / 2)
    server.process.send_signal(signal.SIGKILL)  # kill -9 mid-session, under load
    server.process.wait()
    time.sleep(0.5)
    paused.set()
    restarted = start_server(data_dir, port=server.port)
    paused.clear()
    time.sleep(seconds / 2)
    stop.set()
    for thread in threads:
        thread.join(20)
    ends_alone = 0
    with httpx.Client(base_url=restarted.url, timeout=15) as http:  # each acknowledged start's end, after the crash
        for session, credential in tally.sessions[:200]:
            http.post("/v1/session-events", headers={"Authorization": f"Bearer {credential}"},
                      json={"session_id": session, "kind": "end", "tool": "claude", "exit_status": 0,
                            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    restarted.stop()
    lost, _ = lost_writes(db_url, tally)
    import sqlalchemy

    engine = sqlalchemy.create_engine(db_url)
    with engine.connect() as conn:
        query = sqlalchemy.text("SELECT data FROM audit_events WHERE action = 'session.end'")
        for data in conn.execute(query).scalars():
            ends_alone += json.loads(data).get("start_recorded") is False
    engine.dispose()
    in_flight = tally.statuses["no answer"]  # only at the kill: nothing can answer those
    ok = report("crash (kill -9, SQLite)", tally, lost, verified(data_dir, None),
                f"; no answer only where the kill broke the connection ({in_flight}); "
                f"ends whose acknowledged start was missing: {ends_alone}")
    return ok and ends_alone == 0


def run_restart(base: Path, seconds: float, clients: int) -> bool:
    cluster = start_postgres(fast=False)
    try:
        data_dir = init_server(base / "srv", policy=POLICY, db_url=cluster.url)
        with start_server(data_dir, db_url=cluster.url, workers=2) as server:
            credentials = devices(server, clients, cluster.url)
            tally = Tally()
            stop, _, threads = load(server.url, credentials, tally)
            time.sleep(seconds / 2)
            _run_as_owner([str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.base_dir / "data"), "-m", "fast",
                           "-l", str(cluster.base_dir / "log"), "-w", "restart"])
            time.sleep(seconds / 2)
            stop.set()
            for thread in threads:
                thread.join(20)
            log = server.log()
        lost, _ = lost_writes(cluster.url, tally)
        tracebacks = log.count("Traceback")
        ok = report("restart (PostgreSQL, pg_ctl restart -m fast)", tally, lost, verified(data_dir, cluster.url),
                    f"; tracebacks in the server log: {tracebacks}")
        bad = {s for s in tally.statuses if s not in ("200", "201", "503+Retry-After")}
        return ok and not bad and tracebacks == 0
    finally:
        cluster.stop()


def run_diskfull(base: Path, seconds: float, clients: int) -> bool:
    if os.geteuid() != 0:
        print("diskfull: skipped (needs root to mount a small tmpfs)")
        return True
    mount = base / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=True)
    try:
        data_dir = init_server(mount / "srv", policy=POLICY)
        server = start_server(data_dir)
        stopper = threading.Timer(seconds * 10, server.stop)  # whatever happens below, the server ends
        stopper.daemon = True
        stopper.start()
        credentials = devices(server, clients, None)
        filler = mount / "filler"
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        filler.write_bytes(b"\0" * max(0, free - 1024 * 1024))  # leave 1 MiB: the load fills it
        tally = Tally()
        stop, _, threads = load(server.url, credentials, tally)
        deadline = time.monotonic() + seconds * 3
        while time.monotonic() < deadline and not any(s.startswith("503") for s in tally.statuses):
            time.sleep(0.2)
        time.sleep(seconds / 2)
        full_ready = httpx.get(server.url + "/readyz").status_code
        filler.unlink()  # room again
        time.sleep(seconds / 2)
        stop.set()
        for thread in threads:
            thread.join(20)
        after_ready = httpx.get(server.url + "/readyz").status_code
        log = server.log()
        server.stop()
        lost, _ = lost_writes(f"sqlite:///{data_dir / 'aigate.db'}", tally)
        warnings = log.count("failing: disk full")
        ok = report("diskfull (SQLite on a full tmpfs)", tally, lost, verified(data_dir, None),
                    f"; /readyz while full {full_ready}, after {after_ready}; 'disk full' warnings logged: "
                    f"{warnings}; tracebacks: {log.count('Traceback')}")
        return (ok and tally.statuses["no answer"] == 0 and full_ready == 503 and after_ready == 200
                and warnings <= 2 and "Traceback" not in log and any(s.startswith("503") for s in tally.statuses))
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", choices=["crash", "restart", "diskfull", "all"], default="all")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()
    runs = {"crash": run_crash, "restart": run_restart, "diskfull": run_diskfull}
    chosen = list(runs) if args.run == "all" else [args.run]
    ok = True
    for name in chosen:
        with tempfile.TemporaryDirectory(prefix=f"aigate-{name}-") as tmp:
            ok = runs[name](Path(tmp), args.seconds, args.clients) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
