"""Enforced mode's cost (issue 9, item 9): model calls through the nginx gateway against the same calls
straight to the vendor stand-in, alternating in one run, with wrk.

    .venv/bin/python benchmarks/gateway.py [--rounds 3] [--seconds 5] [--connections 8]
                                           [--upstream standin|static]

Sets up, in a temp dir: the vendor stand-in (plain HTTP on loopback: what is measured is the gateway,
not TLS to the stand-in), or with ``--upstream static`` a second nginx that answers every call with a
fixed JSON body (so a slow Python stand-in does not hide the gateway's own cost and limit);
aigate-server (SQLite, one worker) with a gateway-mode policy and a server-held key, one approved user
and their approval token, and nginx configured by ``aigate-server gateway nginx-config --full``.
Then ``--rounds`` times: wrk for ``--seconds`` straight
to the stand-in, then the same through the gateway (``POST /v1/messages/count_tokens`` with the token
as ``x-api-key``: every call is authorized by the server, within its decision cache). Prints per round
and overall: p50 and p99 latency of both, the latency the gateway adds, and calls/s through the
gateway. Exits 1 on any non-2xx answer or socket error. Targets on this 2-core machine: at most 3 ms
added at p50, 10 ms at p99, at least 1,000 calls/s through the gateway.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.gateway import NGINX, NginxGateway, add_gateway, gateway_policy, set_vendor_key  # noqa: E402
from harness.postgres import free_port  # noqa: E402
from harness.server import add_user, init_server, start_server  # noqa: E402
from harness.vendor_standin import VendorStandin  # noqa: E402

LUA = """wrk.method = "POST"
wrk.body = '{"model":"m","messages":[{"role":"user","content":"count me"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api-key"] = "%s"
wrk.headers["anthropic-version"] = "2023-06-01"
"""


class StaticVendor:
    """nginx answering every call with ``{"input_tokens": 10}``: an upstream that costs next to nothing."""

    def __init__(self, prefix: Path):
        self.prefix = prefix
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> StaticVendor:
        self.prefix.mkdir()
        (self.prefix / "nginx.conf").write_text(
            f"worker_processes 1; pid {self.prefix}/nginx.pid; error_log {self.prefix}/error.log;\n"
            "events { worker_connections 1024; }\n"
            f"http {{ access_log off; client_body_temp_path {self.prefix}/body;\n"
            f"  server {{ listen 127.0.0.1:{self.port}; location / {{ default_type application/json;\n"
            "    return 200 '{\"input_tokens\":10}'; } } }\n")
        self.process = subprocess.Popen([NGINX, "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"),
                                         "-g", "daemon off;"])
        import time
        import urllib.request

        for _ in range(100):
            try:
                urllib.request.urlopen(self.url, timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the static vendor did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def token_for(server_url: str, data_dir: Path) -> str:
    import httpx

    code = add_user(data_dir, "bench@corp.example", groups=["dev"])
    device = httpx.post(f"{server_url}/v1/enrollments", json={"code": code}).json()["device_credential"]
    answer = httpx.post(f"{server_url}/v1/approval-tokens", json={"tool": "claude"},
                        headers={"Authorization": f"Bearer {device}"})
    answer.raise_for_status()
    return answer.json()["token"]


def wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        sys.exit(f"errors under load:\n{out}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"p50": ms("50%"), "p99": ms("99%"), "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--upstream", choices=["standin", "static"], default="standin",
                        help="what the calls reach: the Python vendor stand-in, or a static nginx answer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aigate-gw-bench-") as tmp:
        base = Path(tmp)
        port = free_port()
        with VendorStandin() as standin:
            vendor = standin if args.upstream == "standin" else StaticVendor(base / "static").start()
            data_dir = init_server(base / "server",
                                   policy=gateway_policy(f"http://127.0.0.1:{port}", approval="auto", token_ttl="1h"))
            set_vendor_key(data_dir, "anthropic", "sk-ant-bench-server-held")
            server = start_server(data_dir)
            (base / "nginx").mkdir()
            gateway = NginxGateway(base / "nginx", port)
            try:
                gateway.configure(data_dir, add_gateway(data_dir, "bench", base), {"anthropic": vendor.url},
                                  server_url=server.url)
                gateway.start()
                script = base / "call.lua"
                script.write_text(LUA % token_for(server.url, data_dir))
                return run(args, vendor.url, gateway.url + "/anthropic", script)
            finally:
                gateway.stop()
                server.stop()
                if vendor is not standin:
                    vendor.stop()


def run(args, direct_url: str, gateway_url: str, script: Path) -> int:
    path = "/v1/messages/count_tokens"
    wrk(gateway_url + path, script, 1, args.connections)  # warm-up: connections, caches
    rows = []
    print(f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds of {args.seconds}s, "
          f"{args.connections} connections, alternating direct / gateway")
    for n in range(1, args.rounds + 1):
        direct = wrk(direct_url + path, script, args.seconds, args.connections)
        through = wrk(gateway_url + path, script, args.seconds, args.connections)
        rows.append((direct, through))
        print(f"round {n}: direct p50 {direct['p50']:.2f} ms p99 {direct['p99']:.2f} ms {direct['rps']:.0f}/s | "
              f"gateway p50 {through['p50']:.2f} ms p99 {through['p99']:.2f} ms {through['rps']:.0f}/s")
    added50 = statistics.median(t["p50"] - d["p50"] for d, t in rows)
    added99 = statistics.median(t["p99"] - d["p99"] for d, t in rows)
    rps = statistics.median(t["rps"] for _, t in rows)
    print(f"added latency: p50 {added50:.2f} ms (target <= 3), p99 {added99:.2f} ms (target <= 10); "
          f"through the gateway {rps:.0f} calls/s (target >= 1000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
