"""Load benchmark of approval token issuance (issue 2, item 10), with wrk.

    .venv/bin/python benchmarks/server_tokens.py [--db sqlite|postgres|both] [--duration 15]
                                                 [--connections 32] [--workers 2] [--devices 200]

For each database: a fresh data dir (and, for PostgreSQL, a throwaway cluster with durable
commits), ``--devices`` users each with one enrolled device and an approved grant for claude, then
``aigate-server serve --workers N`` and ``wrk`` posting ``/v1/approval-tokens`` round-robin over the
devices (every request authenticates, finds the grant, signs an EdDSA token and commits its audit
event). Prints requests/s, p50/p99 latency, the audit events added (warm-up included) and the
server's CPU time per issuance (which other load on the machine distorts less than wall time);
exits 1 on any non-2xx answer or socket error, and checks afterwards that the audit chain is
whole (`audit verify`). Targets on a 2-core machine:
SQLite >= 1,500/s with p99 < 50 ms; PostgreSQL >= 1,000/s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for harness/ (run as a file)

from harness.postgres import start_postgres
from harness.server import init_server, run_server_cli, start_server

POLICY = """\
token_ttl = "10m"
[[rules]]
groups = ["*"]
tools = ["*"]
approval = "required"
max_duration = "8h"
repos_denied = ["*/secret-*"]
"""


def seed(data_dir: Path, db_url: str | None, devices: int) -> list[str]:
    """Users with one device and an approved claude grant each; returns the device credentials."""
    from aigate.protocol import Role
    from aigate.server import access, identity
    from aigate.server import db as dbmod
    from aigate.server.policy import parse_policy
    from aigate.server.settings import Settings
    from aigate.server.writer import write_now

    settings = Settings.resolve(data_dir, db_url)
    engine = dbmod.make_engine(settings.db_url, writer=True, pool_size=1)
    verdict = parse_policy(POLICY).resolve("claude", [])

    def enroll(email: str, role: Role):
        _, code = write_now(engine, identity.add_user_job(email, [], role, "bench"))
        _, credential, _ = write_now(engine, identity.enroll_job(code, "bench", "linux"))
        with engine.connect() as conn:
            return identity.authenticate(conn, credential), credential

    approver, _ = enroll("approver@bench.example", Role.APPROVER)
    credentials = []
    for n in range(devices):
        caller, credential = enroll(f"dev{n}@bench.example", Role.USER)
        request = write_now(engine, access.create_job(caller, verdict, "benchmark", None, 86400))
        write_now(engine, access.review_job(approver, request.id, "approve"))
        credentials.append(credential)
    engine.dispose()
    return credentials


LUA = """\
local creds = {%s}
local body = '{"tool":"claude","repository":"git@github.com:Bench/app.git"}'
local i = 0
request = function()
  i = i + 1
  local c = creds[(i %% #creds) + 1]
  return wrk.format("POST", "/v1/approval-tokens",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. c}, body)
end
"""


def run_wrk(url: str, script: Path, connections: int, duration: int) -> str:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url]
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=duration + 60).stdout


def parse_wrk(output: str) -> dict[str, float]:
    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = ms(re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE).group(1))
    p99 = ms(re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {"rps": rps, "p50": p50, "p99": p99, "requests": total,
            "non2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else ""}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn's workers), from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def audit_count(data_dir: Path, db_url: str | None) -> int:
    done = run_server_cli("audit", "verify", data_dir=data_dir, db_url=db_url, check=False)
    if done.returncode != 0:
        raise SystemExit(f"audit verify failed after the run: {done.stderr}")
    return int(re.search(r"whole: (\d+) event", done.stdout).group(1))


def bench(name: str, db_url: str | None, args: argparse.Namespace) -> dict[str, float]:
    base = Path(tempfile.mkdtemp(prefix=f"aigate-bench-{name}-"))
    try:
        data_dir = init_server(base / "data", policy=POLICY, db_url=db_url)
        credentials = seed(data_dir, db_url, args.devices)
        script = base / "tokens.lua"
        script.write_text(LUA % ", ".join(f'"{c}"' for c in credentials))
        before = audit_count(data_dir, db_url)
        with start_server(data_dir, db_url=db_url, workers=args.workers) as server:
            run_wrk(server.url, script, args.connections, 2)  # warm-up
            cpu = cpu_seconds(server.process.pid)
            result = parse_wrk(run_wrk(server.url, script, args.connections, args.duration))
            cpu = cpu_seconds(server.process.pid) - cpu
        events = audit_count(data_dir, db_url) - before
        result["audit_events"] = events
        result["cpu_ms"] = 1000 * cpu / max(result["requests"], 1)
        return result
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--devices", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    failed = False
    for name in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        cluster = start_postgres(fast=False) if name == "postgres" else None
        try:
            r = bench(name, cluster.url if cluster else None, args)
        finally:
            if cluster:
                cluster.stop()
        ok = r["non2xx"] == 0 and not r["socket_errors"]
        failed |= not ok
        print(f"{name:8s} {r['rps']:8.0f} req/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms  "
              f"requests {r['requests']} (+warm-up)  non-2xx {r['non2xx']}  socket errors "
              f"{r['socket_errors'] or 'none'}  audit events {r['audit_events']}  "
              f"server CPU {r['cpu_ms']:.2f} ms/issuance  "
              f"[{args.connections} connections, {args.workers} workers, {args.devices} devices]", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
