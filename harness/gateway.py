"""A real nginx gateway for the enforced-mode tests: configured by ``aigate-server gateway nginx-config
--full --prefix DIR``, started as ``nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'`` on a free
loopback port, and stopped (SIGQUIT, then SIGKILL) by the test that started it.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.server import run_server_cli

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

#: A policy that sends claude and codex through a gateway at ``{gateway}`` (its URL, no trailing slash).
POLICY = """\
token_ttl = "{token_ttl}"
[tools.claude]
key_scope = "anthropic"
key_source = "gateway"
base_url = "{gateway}/anthropic"
[tools.codex]
key_scope = "openai"
key_source = "gateway"
base_url = "{gateway}/openai"
[[rules]]
groups = ["*"]
tools = ["*"]
approval = "{approval}"
max_duration = "8h"
"""


def gateway_policy(gateway: str, *, approval: str = "required", token_ttl: str = "10m") -> str:
    """:data:`POLICY` for the gateway at URL ``gateway``."""
    return POLICY.format(gateway=gateway, approval=approval, token_ttl=token_ttl)


def add_gateway(data_dir: Path, name: str, folder: Path, db_url: str | None = None) -> Path:
    """``gateway add NAME``; its credential (the last line) in ``folder/NAME.credential``, mode 0600."""
    out = run_server_cli("gateway", "add", name, data_dir=data_dir, db_url=db_url).stdout
    path = folder / f"{name}.credential"
    path.write_text(out.strip().splitlines()[-1] + "\n")
    path.chmod(0o600)
    return path


def set_vendor_key(data_dir: Path, scope: str, key: str, db_url: str | None = None) -> None:
    import os
    import sys

    argv = [sys.executable, "-m", "aigate.server", "keys", "set", scope, "--stdin", "--data-dir", str(data_dir)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGATE_SERVER_")}
    done = subprocess.run(argv + (["--db", db_url] if db_url else []), input=key + "\n", capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"keys set {scope} exited {done.returncode}: {done.stderr}")


@dataclass
class NginxGateway:
    prefix: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def configure(self, data_dir: Path, credential: Path, routes: dict[str, str], *, server_url: str,
                  upstream_ca: Path | None = None, db_url: str | None = None) -> str:
        args = ["gateway", "nginx-config", "--listen", f"127.0.0.1:{self.port}", "--server-url", server_url,
                "--credential-file", str(credential), "--full", "--prefix", str(self.prefix)]
        for scope, upstream in routes.items():
            args += ["--route", f"{scope}={upstream}"]
        if upstream_ca:
            args += ["--upstream-ca", str(upstream_ca)]
        config = run_server_cli(*args, data_dir=data_dir, db_url=db_url).stdout
        (self.prefix / "nginx.conf").write_text(config)
        return config

    def start(self, timeout: float = 15.0) -> NginxGateway:
        (self.prefix / "temp").mkdir(exist_ok=True)
        log = open(self.prefix / "nginx.stderr", "wb")  # noqa: SIM115 - kept for the process's life
        self.process = subprocess.Popen([NGINX, "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"),
                                         "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited {self.process.returncode}:\n{self.errors()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {self.port}:\n{self.errors()}")

    def errors(self) -> str:
        text = ""
        for name in ("nginx.stderr", "error.log"):
            path = self.prefix / name
            if path.exists():
                text += path.read_text(errors="replace")
        return text

    def access_log(self) -> str:
        path = self.prefix / "access.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
