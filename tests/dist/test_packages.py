"""`make dist`'s Debian packages installed with dpkg (in a private mount namespace, see conftest.py):
aigate-server started through its systemd unit's ExecStart line as the unit's user, then the issue's
"done when": `aigate doctor` passes, a bare `claude -p` goes through the shims and the gate to the vendor
stand-in with the scoped key, and without an approval a bare `codex exec` is refused with 77 and the fix.
The one-file client (dist/aigate.pyz) then runs the same with Pythons that have none of its dependencies.
Last, `dpkg --purge` leaves nothing behind.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring_daemon import SECRET_SERVICE_BACKEND, SecretServiceSession
from private_machine import PrivateMachine, wait_ready
from harness.postgres import free_port
from harness.toolenv import QUIET, TOOLS_BIN, seed_home
from harness.vendor_standin import REPLY_MARKER, VendorStandin, credentials_seen

from aigate import __version__

ANTHROPIC_KEY = "sk-ant-scoped-dist-5e1d07"
OPENAI_KEY = "sk-openai-scoped-dist-8c2f4a"
SERVICE = "/lib/systemd/system/aigate-server.service"
#: What the packaged files and the purge must leave: nothing of these after `dpkg --purge`.
INSTALLED = ("/usr/bin/aigate", "/usr/lib/aigate", "/usr/local/bin/claude", "/usr/local/bin/codex", "/etc/aigate",
             "/usr/bin/aigate-server", "/opt/aigate-server", "/var/lib/aigate-server", SERVICE,
             "/etc/default/aigate-server")


def test_nothing_of_the_packages_is_on_this_machine_outside_the_test():
    assert not any(Path(path).exists() for path in INSTALLED), "aigate's packages are installed on this machine"


def test_both_packages_install_with_dpkg(machine: PrivateMachine, debs):
    machine.ok(["dpkg", "-i", *map(str, debs)])
    assert machine.ok(["aigate", "--version"]).stdout.strip() == f"aigate {__version__}"
    status = machine.ok(["dpkg-query", "-W", "-f", "${Package} ${Status}\n", "aigate", "aigate-server"]).stdout
    assert status.splitlines() == ["aigate install ok installed", "aigate-server install ok installed"]


def test_the_shims_are_first_on_the_default_path(machine: PrivateMachine):
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # Debian's default PATH
    for tool in ("claude", "codex"):
        found = machine.ok(["sh", "-c", f"command -v {tool}"], env={"PATH": path}).stdout.strip()
        assert found == f"/usr/local/bin/{tool}"
        assert machine.ok(["readlink", "-f", found]).stdout.strip() == f"/usr/lib/aigate/shims/{tool}"


def test_the_enforced_settings_file_is_commented_and_root_owned(machine: PrivateMachine):
    stat = machine.ok(["stat", "-c", "%U %a", "/etc/aigate/aigate.toml", "/etc/aigate"]).stdout.split("\n")
    assert stat[:2] == ["root 644", "root 755"]
    text = machine.ok(["cat", "/etc/aigate/aigate.toml"]).stdout
    assert all(not line.strip() or line.startswith("#") for line in text.splitlines())


def unit_command(machine: PrivateMachine) -> tuple[str, dict[str, str], list[str]]:
    """The unit's User, environment (Environment= lines, then EnvironmentFile=) and ExecStart argv, with
    ``$VAR`` expanded into words as systemd does."""
    user, env, exec_start = "", {}, ""
    for line in machine.ok(["cat", SERVICE]).stdout.splitlines():
        key, _, value = line.partition("=")
        if key == "User":
            user = value
        elif key == "Environment":
            env.update(item.split("=", 1) for item in shlex.split(value))
        elif key == "EnvironmentFile":
            found = machine.run(["cat", value.lstrip("-")])
            for item in shlex.split(found.stdout, comments=True) if found.returncode == 0 else []:
                env.update([item.split("=", 1)])
        elif key == "ExecStart":
            exec_start = value
    argv = []
    for word in shlex.split(exec_start):
        argv += env.get(word[1:], "").split() if word.startswith("$") else [word]
    return user, env, argv


class Service:
    """aigate-server started the way its unit starts it; ``stop()`` is what `systemctl stop` would do."""

    def __init__(self, machine: PrivateMachine):
        port = free_port()
        machine.ok(["sh", "-c", f"echo 'AIGATE_SERVER_OPTIONS=\"--host 127.0.0.1 --port {port}\"' >> /etc/default/aigate-server"])
        user, env, argv = unit_command(machine)
        assert user == "aigate-server" and env["AIGATE_SERVER_DATA_DIR"] == "/var/lib/aigate-server"
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(machine.argv(["runuser", "-u", user, "--", "env", "-i",
                                                      *(f"{k}={v}" for k, v in env.items()), *argv]),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_ready(self.url, self.process)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def service(machine: PrivateMachine) -> Iterator[Service]:
    """aigate-server as its unit runs it: the admin's port in /etc/default/aigate-server, the unit's
    ExecStart line started as the unit's User with the unit's environment."""
    running = Service(machine)
    try:
        yield running
    finally:
        running.stop()


def test_the_server_runs_from_its_unit_as_its_system_user_on_its_data(machine: PrivateMachine, service):
    owners = machine.ok(["stat", "-c", "%U %a %n", "/var/lib/aigate-server"]).stdout.split()
    assert owners[:2] == ["aigate-server", "700"]
    assert "aigate-server" in machine.ok(["getent", "passwd", "aigate-server"]).stdout
    files = machine.ok(["find", "/var/lib/aigate-server", "-not", "-user", "aigate-server"]).stdout
    assert files == ""  # init ran as the service's user: nothing there belongs to root


class Developer:
    """Someone at this (private) machine: own HOME and OS keyring; the packaged aigate on PATH first,
    the real tools after /usr/bin (where IT would have put them)."""

    def __init__(self, machine: PrivateMachine, base: Path, keyring: SecretServiceSession):
        self.machine, self.workdir = machine, base / "project"
        self.workdir.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(self.workdir)], check=True)
        self.home = seed_home(base / "home", self.workdir)
        self.keyring = keyring

    def env(self, **extra: str) -> dict[str, str]:
        home = self.home
        return {"PATH": f"/usr/local/bin:/usr/bin:/bin:{TOOLS_BIN}", "HOME": str(home), "LANG": "C.UTF-8",
                "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
                "XDG_STATE_HOME": str(home / ".local/state"), "XDG_DATA_HOME": str(home / ".local/share"),
                "CODEX_HOME": str(home / ".codex"), "NO_PROXY": "127.0.0.1,localhost", "TERM": "xterm-256color",
                "PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND, **self.keyring.env, **QUIET, **extra}

    def run(self, *argv: str, input: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        result = self.machine.run(argv, env=self.env(**extra), input=input, cwd=self.workdir, timeout=180)
        assert not any(key in result.stdout + result.stderr for key in (ANTHROPIC_KEY, OPENAI_KEY))
        return result

    def ok(self, *argv: str, **kw) -> subprocess.CompletedProcess[str]:
        result = self.run(*argv, **kw)
        assert result.returncode == 0, f"{shlex.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        return result


def enroll(machine: PrivateMachine, person: Developer, server: str, email: str, role: str) -> None:
    added = machine.ok(["aigate-server", "users", "add", email, "--group", "dev", "--role", role])
    person.ok("aigate", "login", "--server", server, "--code", added.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def developer(machine: PrivateMachine, service: Service, tmp_path_factory) -> Iterator[Developer]:
    """Enrolled, both keys provisioned with `keys set --stdin`, approved for claude (not for codex)."""
    base = tmp_path_factory.mktemp("people")
    with SecretServiceSession(base / "dev-keyring") as dev_keyring, \
            SecretServiceSession(base / "approver-keyring") as approver_keyring:
        dev = Developer(machine, base / "dev", dev_keyring)
        approver = Developer(machine, base / "approver", approver_keyring)
        enroll(machine, dev, service.url, "dev@corp.example", "user")
        enroll(machine, approver, service.url, "approver@corp.example", "approver")
        dev.ok("aigate", "keys", "set", "anthropic", "--stdin", input=ANTHROPIC_KEY + "\n")
        dev.ok("aigate", "keys", "set", "openai", "--stdin", input=OPENAI_KEY + "\n")
        request = json.loads(dev.ok("aigate", "request", "claude", "--reason", "dist test", "--json").stdout)
        approver.ok("aigate", "admin", "approve", request["id"])
        yield dev


@pytest.fixture
def standin(tmp_path) -> Iterator[VendorStandin]:
    with VendorStandin(tmp_path / "vendor.jsonl") as server:
        yield server


def test_doctor_passes_on_the_installed_machine(developer: Developer):
    result = developer.run("aigate", "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "all checks passed"
    assert "claude -> /usr/local/bin/claude" in result.stdout


def test_a_bare_claude_p_goes_through_the_gate_with_the_scoped_key(developer: Developer, standin):
    result = developer.run("claude", "-p", "hello from the image", ANTHROPIC_BASE_URL=standin.url,
                           ANTHROPIC_API_KEY="sk-ant-competing-in-the-shell")
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from anthropic: you said 'hello from the image'" in result.stdout
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}


def test_a_bare_codex_without_an_approval_is_refused_with_77_and_the_fix(developer: Developer, standin):
    result = developer.run("codex", "-c", f'openai_base_url="{standin.openai_url}"', "exec", "not approved")
    assert result.returncode == 77
    assert "aigate request codex" in result.stderr
    assert standin.records() == []


def bare_pythons(tmp_path: Path) -> list[list[str]]:
    """``/usr/bin/python3 -I``, and a fresh venv without pip of every other Python 3.11+ found here."""
    pythons = [["/usr/bin/python3", "-I"]]
    for candidate in sorted(Path("/root/.pyenv/versions").glob("3.1[2-9]*/bin/python3")):
        venv = tmp_path / f"bare-{candidate.parent.parent.name}"
        subprocess.run([str(candidate), "-m", "venv", "--without-pip", str(venv)], check=True)
        pythons.append([str(venv / "bin" / "python"), "-I"])
    return pythons


def test_the_pyz_runs_claude_through_the_gate_with_pythons_that_have_none_of_its_dependencies(
        developer: Developer, standin, pyz, tmp_path):
    for python in bare_pythons(tmp_path):
        missing = subprocess.run([*python, "-c", "import httpx"], capture_output=True, check=False)
        assert missing.returncode != 0, f"{python[0]} has httpx: not a bare Python"
        subprocess.run(["rm", "-rf", str(developer.home / ".cache" / "aigate")], check=True)  # fetch and verify afresh
        env = {**developer.env(ANTHROPIC_BASE_URL=standin.url), "PATH": f"/usr/bin:/bin:{TOOLS_BIN}"}
        result = subprocess.run([*python, str(pyz), "run", "claude", "-p", f"hello from {Path(python[0]).name}"],
                                env=env, cwd=developer.workdir, capture_output=True, text=True, timeout=180,
                                stdin=subprocess.DEVNULL, check=False)
        assert result.returncode == 0, f"{python}: {result.stderr}"
        assert f"you said 'hello from {Path(python[0]).name}'" in result.stdout
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}


def test_purge_leaves_nothing_behind(machine: PrivateMachine, service):
    service.stop()  # prerm does `systemctl stop` where systemd runs
    machine.ok(["dpkg", "--purge", "aigate", "aigate-server"])
    left = machine.run(["ls", "-d", *INSTALLED]).stdout
    assert left == ""
    assert machine.run(["getent", "passwd", "aigate-server"]).returncode == 2
    assert machine.run(["getent", "group", "aigate-server"]).returncode == 2
    assert "aigate" not in machine.ok(["dpkg-query", "-W", "-f", "${Package}\n"]).stdout.split()


def test_nothing_reached_this_machine_outside_the_private_namespace():
    assert not any(Path(path).exists() for path in INSTALLED)
    assert subprocess.run(["getent", "passwd", "aigate-server"], capture_output=True, check=False).returncode == 2
    assert sys.platform == "linux"
