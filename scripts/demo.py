#!/usr/bin/env python3
"""`make demo`: aigate end to end on this machine, with the real Claude Code and Codex.

A tour of the product, run for real:

 1. a virtual environment with aigate and its server (.demo/venv), the pinned claude and codex (tools/);
 2. an approval server on SQLite in a temp dir, and a stand-in for the vendors' APIs on 127.0.0.1
    (this machine has no internet; the stand-in records which credential each request carried);
 3. IT enrolls a developer and an approver; the developer logs in and asks for claude and codex;
 4. the approver approves; the developer stores the scoped API keys (demo keys, in an INSECURE
    plain-file keyring, allowed for demos only);
 5. `aigate run claude -p ...` and `aigate run codex exec ...`, with competing keys in the shell;
 6. the stand-in shows it received exactly the scoped keys; `aigate status`; the audit trail;
 7. enforced mode: the vendor keys on the server, a real nginx gateway (when nginx is installed), a
    second developer with no key at all, a revocation refused by the gateway, and `aigate-server usage`.

Everything it starts is stopped at the end, also on failure or Ctrl-C. Stdlib only: it runs with
any python3 >= 3.11 and builds the rest itself.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".demo" / "venv"
BIN = VENV / "bin"
sys.path.insert(0, str(REPO))  # for harness/ (a script run as a file has only scripts/ on its path)

from harness import gateway, toolenv, vendor_standin  # noqa: E402

SERVER_KEYS = {"anthropic": "sk-ant-demo-9999-server-held-e5f6", "openai": "sk-openai-demo-9999-server-held-a7b8"}
DEMO_KEYS = {"anthropic": "sk-ant-demo-0000-scoped-a1b2", "openai": "sk-openai-demo-0000-scoped-c3d4"}
COMPETING = {"ANTHROPIC_API_KEY": "sk-ant-competing-from-shell", "OPENAI_API_KEY": "sk-openai-competing",
             "CODEX_API_KEY": "sk-codex-competing"}
BOLD, DIM, GREEN, RED, RESET = ("\033[1m", "\033[2m", "\033[32m", "\033[31m", "\033[0m") if sys.stdout.isatty() \
    else ("", "", "", "", "")


class DemoFailed(Exception):
    pass


def step(title: str) -> None:
    print(f"\n{BOLD}== {title}{RESET}", flush=True)


def note(text: str) -> None:
    print(f"{DIM}   {text}{RESET}", flush=True)


def mask(key: str) -> str:
    return f"...{key[-4:]}"


def run(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        input: str | None = None, show: str | None = None, quiet: bool = False,
        expect: int = 0) -> subprocess.CompletedProcess[str]:
    """Run and echo a command as the person typing it (``show``), then its output."""
    print(f"{BOLD}$ {show or shlex.join(argv)}{RESET}", flush=True)
    result = subprocess.run(argv, env=env, cwd=cwd, input=input, text=True, capture_output=True, check=False,
                            stdin=None if input is not None else subprocess.DEVNULL, timeout=300)
    if not quiet:
        for line in (result.stdout + result.stderr).rstrip().splitlines():
            print(f"  {line}")
    if result.returncode != expect:
        if quiet:
            print(result.stdout + result.stderr)
        raise DemoFailed(f"`{show or shlex.join(argv)}` exited {result.returncode} (expected {expect})")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise DemoFailed(f"{url} did not answer within {timeout}s")


# --- 1. install -------------------------------------------------------------------------------------


def install() -> None:
    step("1. Install aigate (with the server) in .demo/venv, and the pinned claude and codex")
    if not (BIN / "python").exists():
        run([sys.executable, "-m", "venv", str(VENV)], show="python3 -m venv .demo/venv")
    stamp = VENV / ".demo-installed"
    digest = (REPO / "pyproject.toml").read_text()
    if not stamp.exists() or stamp.read_text() != digest:
        run([str(BIN / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "-e", f"{REPO}[server]", "keyrings.alt"], show="pip install -e '.[server]' keyrings.alt", quiet=True)
        stamp.write_text(digest)
    else:
        note("aigate already installed in .demo/venv")
    for name in ("claude", "codex"):
        if not (toolenv.TOOLS_BIN / name).exists():
            if shutil.which("npm") is None:
                raise DemoFailed("npm is missing: install Node.js 20 and npm (apt-get install nodejs npm)")
            run(["npm", "ci", "--prefix", str(REPO / "tools"), "--no-audit", "--no-fund"],
                show="npm ci --prefix tools", quiet=True)
            break
    for name in ("claude", "codex"):
        version = run([str(toolenv.TOOLS_BIN / name), "--version"], quiet=True).stdout.strip()
        note(f"{name}: {version} (pinned in tools/package-lock.json)")


# --- the demo itself --------------------------------------------------------------------------------


class Demo:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.data_dir = base / "server"
        self.project = base / "project"
        self.children: list[subprocess.Popen[bytes]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.vendor_log = base / "vendor-standin.jsonl"
        self.vendor_url = ""

    # processes

    def spawn(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env)
        self.children.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    # people

    def person_env(self, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        keyring = {"PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
                   "AIGATE_ALLOW_INSECURE_KEYRING": "1"}
        return toolenv.tool_env(home, {**keyring, **(extra or {})}, proxy=self.vendor_url, path_first=BIN)

    def server_cli(self, *args: str, show: bool = True, **kwargs) -> subprocess.CompletedProcess[str]:
        argv = [str(BIN / "aigate-server"), *args, "--data-dir", str(self.data_dir)]
        return run(argv, show=f"aigate-server {shlex.join(args)}" if show else None, **kwargs)

    def aigate(self, who: str, *args: str, extra: dict[str, str] | None = None, **kwargs):
        home = self.base / who
        shown = " ".join(f"{k}=..." for k in (extra or {}) if k in COMPETING)
        return run([str(BIN / "aigate"), *args], env=self.person_env(home, extra), cwd=self.project,
                   show=f"[{who}] {shown + ' ' if shown else ''}aigate {shlex.join(args)}", **kwargs)

    # the tour

    def start_services(self) -> None:
        step("2. Start the approval server (SQLite in a temp dir) and the vendor stand-in")
        self.server_cli("init")
        note("the default policy: every tool needs an approver, for at most 8 hours")
        stand_port = free_port()
        self.spawn([sys.executable, str(REPO / "harness" / "vendor_standin.py"),
                    "--port", str(stand_port), "--log", str(self.vendor_log)], self.base / "standin.out")
        self.vendor_url = f"http://127.0.0.1:{stand_port}"
        wait_http(self.vendor_url + "/")
        note(f"vendor stand-in (Anthropic Messages + OpenAI Responses) on {self.vendor_url}")
        print(f"{BOLD}$ aigate-server serve --port {self.port} &{RESET}")
        self.spawn([str(BIN / "aigate-server"), "serve", "--port", str(self.port), "--data-dir",
                    str(self.data_dir)], self.base / "server.log")
        wait_http(self.url + "/readyz")
        note(f"approval server ready on {self.url}")

    def enroll(self) -> None:
        step("3. IT enrolls a developer and an approver; each logs in on their own laptop")
        subprocess.run(["git", "init", "-q", str(self.project)], check=True)
        subprocess.run(["git", "-C", str(self.project), "remote", "add", "origin",
                        "git@github.com:Corp/demo-app.git"], check=True)
        for who, role, group in (("dev", "user", "dev"), ("approver", "approver", "leads")):
            toolenv.seed_home(self.base / who, self.project)
            code = self.server_cli("users", "add", f"{who}@corp.example", "--group", group, "--role", role,
                                   quiet=True).stdout.strip().splitlines()[-1]
            note(f"enrollment code for {who}@corp.example: {code} (works once)")
            self.aigate(who, "login", "--server", self.url, "--code", code)

    def request_and_approve(self) -> None:
        step("4. The developer is refused, asks for access, and the approver approves")
        self.aigate("dev", "run", "claude", "-p", "hello", expect=77)
        ids = {}
        for tool in ("claude", "codex"):
            out = self.aigate("dev", "request", tool, "--reason", "demo: try the gate", "--duration", "1h",
                              "--json").stdout
            ids[tool] = json.loads(out)["id"]
        self.aigate("approver", "admin", "requests")
        for tool in ("claude", "codex"):
            self.aigate("approver", "admin", "approve", ids[tool])

    def store_keys(self) -> None:
        step("5. The developer stores the scoped API keys (demo keys; INSECURE plain-file keyring, demos only)")
        note("on a real laptop these go into the OS keyring (macOS Keychain, Windows Credential Manager,")
        note("Secret Service on Linux), usually put there by IT's provisioning script")
        for scope, key in DEMO_KEYS.items():
            self.aigate("dev", "keys", "set", scope, "--stdin", input=key + "\n")
        self.aigate("dev", "keys", "list")

    def run_tools(self) -> None:
        step("6. The real Claude Code and Codex, started through the gate")
        note(f"the developer's shell also holds competing keys: {', '.join(COMPETING)}")
        claude = self.aigate("dev", "run", "claude", "-p", "Hello Claude, are you there?",
                             extra={**COMPETING, "ANTHROPIC_BASE_URL": self.vendor_url}, quiet=True)
        print(f"  {GREEN}claude replied:{RESET} {claude.stdout.strip()}")
        codex = self.aigate("dev", "run", "codex", "-c", f'openai_base_url="{self.vendor_url}/v1"', "exec",
                            "Hello Codex, are you there?", extra=COMPETING, quiet=True)
        reply = [line for line in codex.stdout.splitlines() if vendor_standin.REPLY_MARKER in line]
        print(f"  {GREEN}codex replied:{RESET} {reply[-1] if reply else codex.stdout.strip()}")

    def show_credentials(self) -> None:
        step("7. What the vendor stand-in received")
        records = vendor_standin.read_log(self.vendor_log)
        for api, path, key in (("Anthropic", "/v1/messages", DEMO_KEYS["anthropic"]),
                               ("OpenAI", "/v1/responses", DEMO_KEYS["openai"])):
            calls = [r for r in records if r["path"].split("?")[0] == path]
            seen = vendor_standin.credentials_seen(calls)
            ok = bool(calls) and seen == {key}
            mark = f"{GREEN}OK{RESET}" if ok else f"{RED}WRONG{RESET}"
            print(f"  {api}: {len(calls)} request(s), credentials seen: "
                  f"{', '.join(sorted(mask(s) for s in seen)) or 'none'} -> only the scoped key {mask(key)}: {mark}")
            if not ok:
                raise DemoFailed(f"the {api} stand-in saw {len(seen)} credential(s) other than the scoped key")
        outside = [r for r in records if r["method"] == "CONNECT"]
        if outside:
            hosts = sorted({r["path"] for r in outside})
            note(f"calls the tools tried to make to real hosts, caught and refused here: {', '.join(hosts)}")

    def show_status_and_audit(self) -> None:
        step("8. aigate status, and the audit trail on the server")
        self.aigate("dev", "status")
        time.sleep(1.5)  # the detached flusher sends the session records
        out = self.server_cli("audit", "export", quiet=True).stdout
        print("  seq  action                    actor                 detail")
        for line in out.splitlines():
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            data = event.get("data") or {}
            detail = " ".join(f"{k}={data[k]}" for k in ("tool", "exit_status", "repository")
                              if data.get(k) is not None)
            print(f"  {event['seq']:>3}  {event['action']:<25} {event.get('actor') or '-':<21} {detail}")
        self.server_cli("audit", "verify")

    def enforced_mode(self) -> None:
        step("9. Enforced mode: the vendor keys live on the server; an nginx gateway puts them on each call")
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
        if nginx is None:
            note("nginx is not installed (apt-get install nginx-light): enforced mode is skipped")
            return
        gateway_port = free_port()
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        policy = self.base / "enforced-policy.toml"
        policy.write_text(gateway.gateway_policy(gateway_url))
        note(f"policy: claude and codex with key_source = \"gateway\", base_url {gateway_url}/anthropic and /openai")
        for scope, key in SERVER_KEYS.items():
            self.server_cli("keys", "set", scope, "--stdin", input=key + "\n")
        self.server_cli("keys", "list")
        credential = self.base / "gateway.credential"
        out = self.server_cli("gateway", "add", "aigw1", quiet=True).stdout.strip().splitlines()
        credential.write_text(out[-1] + "\n")
        credential.chmod(0o600)
        note(f"gateway aigw1 registered; its credential (the last line) is in {credential.name}, mode 0600")
        prefix = self.base / "nginx"
        (prefix / "temp").mkdir(parents=True)
        config = self.server_cli("gateway", "nginx-config", "--listen", f"127.0.0.1:{gateway_port}",
                                 "--route", f"anthropic={self.vendor_url}", "--route", f"openai={self.vendor_url}/v1",
                                 "--server-url", self.url, "--credential-file", str(credential), "--full",
                                 "--prefix", str(prefix), "--policy", str(policy), quiet=True)
        (prefix / "nginx.conf").write_text(config.stdout)
        note("(demo only: the stand-in speaks plain HTTP; a real route is https:// and verified)")
        print(f"{BOLD}$ nginx -p {prefix} -c {prefix}/nginx.conf -g 'daemon off;' &{RESET}")
        self.spawn([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
                   self.base / "nginx.out")
        self.restart_server(policy)
        self.enforced_developer()
        self.enforced_results(prefix)

    def restart_server(self, policy: Path) -> None:
        print(f"{BOLD}$ aigate-server serve --port {self.port} --policy enforced-policy.toml &{RESET}")
        server = self.children.pop(1)  # [stand-in, server, ...]
        server.terminate()
        server.wait(timeout=10)
        self.spawn([str(BIN / "aigate-server"), "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
                    "--policy", str(policy)], self.base / "server2.log")
        wait_http(self.url + "/readyz")

    def enforced_developer(self) -> None:
        toolenv.seed_home(self.base / "dev2", self.project)
        code = self.server_cli("users", "add", "dev2@corp.example", "--group", "dev",
                               quiet=True).stdout.strip().splitlines()[-1]
        self.aigate("dev2", "login", "--server", self.url, "--code", code)
        for tool in ("claude", "codex"):
            request_id = json.loads(self.aigate("dev2", "request", tool, "--reason", "demo: enforced mode", "--json",
                                                quiet=True).stdout)["id"]
            self.aigate("approver", "admin", "approve", request_id, quiet=True)
        self.aigate("dev2", "keys", "list")
        note("dev2 has no key at all; their tools' only credential is their approval token")
        self.aigate("dev2", "run", "--dry-run", "claude", "-p", "hi")
        claude = self.aigate("dev2", "run", "claude", "-p", "Hello Claude, through the gateway?", quiet=True,
                             extra=COMPETING)
        print(f"  {GREEN}claude replied:{RESET} {claude.stdout.strip()}")
        codex = self.aigate("dev2", "run", "codex", "exec", "Hello Codex, through the gateway?", quiet=True,
                            extra=COMPETING)
        reply = [line for line in codex.stdout.splitlines() if vendor_standin.REPLY_MARKER in line]
        print(f"  {GREEN}codex replied:{RESET} {reply[-1] if reply else codex.stdout.strip()}")
        request_id = next(r["id"] for r in json.loads(self.aigate("dev2", "requests", "--json", quiet=True).stdout)
                          if r["tool"] == "claude")
        self.aigate("approver", "admin", "revoke", request_id, "--reason", "demo: revoked")
        time.sleep(3)
        refused = self.aigate("dev2", "run", "claude", "-p", "still there?", quiet=True, expect=1)
        print(f"  {GREEN}after the revocation, the gateway refused the call:{RESET} {refused.stdout.strip()}")

    def enforced_results(self, prefix: Path) -> None:
        records = vendor_standin.read_log(self.vendor_log)
        for api, path, key in (("Anthropic", "/v1/messages", SERVER_KEYS["anthropic"]),
                               ("OpenAI", "/v1/responses", SERVER_KEYS["openai"])):
            calls = [r for r in records if r["path"].split("?")[0] == path
                     and vendor_standin.credentials_seen([r]) & set(SERVER_KEYS.values())]
            print(f"  {api}: {len(calls)} request(s) through the gateway, each with only the server-held key "
                  f"{mask(key)}: {GREEN}OK{RESET}" if calls else f"  {api}: {RED}no call through the gateway{RESET}")
            if not calls or any(vendor_standin.credentials_seen([r]) != {key} for r in calls):
                raise DemoFailed(f"the {api} stand-in did not see exactly the server-held key")
        note("the gateway's JSON access log (user, tool, scope, status; never a credential):")
        for line in (prefix / "access.log").read_text().splitlines()[-4:]:
            print(f"  {line}")
        time.sleep(5.5)  # usage counts are written every 5 s
        self.server_cli("usage")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    os.chdir(REPO)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    base = Path(tempfile.mkdtemp(prefix="aigate-demo-"))
    demo = Demo(base)
    try:
        install()
        demo.start_services()
        demo.enroll()
        demo.request_and_approve()
        demo.store_keys()
        demo.run_tools()
        demo.show_credentials()
        demo.show_status_and_audit()
        demo.enforced_mode()
    except DemoFailed as err:
        print(f"\n{RED}demo failed: {err}{RESET}\nlogs kept in {base}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        demo.stop_all()
        shutil.rmtree(base, ignore_errors=True)
        print("\ninterrupted: everything the demo started is stopped", file=sys.stderr)
        return 130
    finally:
        demo.stop_all()
    shutil.rmtree(base, ignore_errors=True)
    step("Done: everything the demo started is stopped, its temp dir removed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
