"""Faults found by trying real-world failure reports (issue 7), end to end: a real server, the real
claude and codex, the real Secret Service, the vendor stand-in recording every credential."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from deployment import ANTHROPIC_KEY, OPENAI_KEY, VENV_BIN, Deployment, grant, set_origin
from keyring_daemon import SECRET_SERVICE_BACKEND

from harness.server import init_server
from harness.vendor_standin import VendorStandin, credentials_seen

pytestmark = pytest.mark.e2e

PARALLEL_SCOPES = ["anthropic", "openai", "team-a", "team-b", "team-c", "team-d", "team-e", "team-f"]


def test_parallel_keys_set_keeps_every_scope_listed_and_usable(deployment, approver, people, standin,
                                                               secret_service):
    """An IT provisioning script sets several scopes at once, through the real Secret Service."""
    dev = people(deployment, "ivy")
    dev.keyring_env = {"PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND, **secret_service.env}
    dev.login()
    grant(dev, approver, "claude")
    grant(dev, approver, "codex")
    keys = {scope: {"anthropic": ANTHROPIC_KEY, "openai": OPENAI_KEY}.get(scope, f"sk-{scope}-0123456789abcdef")
            for scope in PARALLEL_SCOPES}
    dev.keys += list(keys.values())
    procs = {scope: subprocess.Popen([str(VENV_BIN / "aigate"), "keys", "set", scope, "--stdin"],
                                     cwd=dev.workdir, env=dev.env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for scope in PARALLEL_SCOPES}
    time.sleep(2.0)  # every process started and waits on its stdin: release them at the same instant
    for scope, proc in procs.items():
        proc.stdin.write(keys[scope] + "\n")
    for proc in procs.values():
        proc.stdin.close()
    for proc in procs.values():
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    listed = dev.ok("keys", "list").stdout
    assert all(scope in listed for scope in PARALLEL_SCOPES), listed
    claude = dev.aigate("run", "claude", "-p", "after provisioning", extra={"ANTHROPIC_BASE_URL": standin.url})
    assert claude.returncode == 0, claude.stderr
    codex = dev.aigate("run", "codex", "-c", f'openai_base_url="{standin.openai_url}"', "exec", "and codex")
    assert codex.returncode == 0, codex.stderr
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY, OPENAI_KEY}


# --- 1. the tool's own configuration never overrides what aigate injects ---------------------------

GATEWAY_POLICY = """
token_ttl = "10m"
[tools.claude]
key_scope = "anthropic"
base_url = "{base_url}"
[[rules]]
groups = ["*"]
tools = ["*"]
approval = "auto"
max_duration = "8h"
"""


@pytest.fixture(scope="module")
def gateway(module_dir):
    """The endpoint the policy mandates (`base_url`): a stand-in of its own."""
    with VendorStandin(module_dir / "gateway.jsonl") as server:
        yield server


@pytest.fixture(scope="module")
def gated_deployment(module_dir, gateway):
    data_dir = init_server(module_dir / "gated" / "server", policy=GATEWAY_POLICY.format(base_url=gateway.url))
    deployed = Deployment(data_dir).start()
    yield deployed
    deployed.stop()


def test_users_claude_settings_cannot_redirect_the_key_or_add_their_own(gated_deployment, gateway, people, standin):
    """~/.claude/settings.json names another host and a personal key: every model call still goes to the
    policy's base_url, with the scoped key and no other credential."""
    gateway.clear()
    dev = people(gated_deployment, "una").login()
    dev.set_key("anthropic", ANTHROPIC_KEY)
    (dev.home / ".claude").mkdir(exist_ok=True)
    (dev.home / ".claude" / "settings.json").write_text(json.dumps(
        {"env": {"ANTHROPIC_BASE_URL": standin.url, "ANTHROPIC_API_KEY": "sk-ant-personal-key"}}))
    result = dev.aigate("run", "claude", "-p", "through the gateway")
    assert result.returncode == 0, result.stderr
    assert gateway.model_calls() and not standin.model_calls()
    assert credentials_seen(gateway.records()) == {ANTHROPIC_KEY}
    assert credentials_seen(standin.records()) == set()


@pytest.mark.parametrize("name", ["settings.json", "settings.local.json"])
def test_a_repositorys_claude_settings_cannot_add_a_credential(ready_dev, standin, workdir, name):
    (workdir / ".claude").mkdir(exist_ok=True)
    (workdir / ".claude" / name).write_text(json.dumps({"env": {
        "ANTHROPIC_API_KEY": "sk-ant-from-the-repo", "ANTHROPIC_AUTH_TOKEN": "sk-ant-repo-token",
        "ANTHROPIC_CUSTOM_HEADERS": "x-api-key: sk-ant-in-a-header"}}))
    result = ready_dev.aigate("run", "claude", "-p", "in a repo with settings",
                              extra={"ANTHROPIC_BASE_URL": standin.url})
    assert result.returncode == 0, result.stderr
    assert standin.model_calls()
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}


def test_custom_headers_in_the_environment_cannot_replace_the_key(ready_dev, standin):
    result = ready_dev.aigate("run", "claude", "-p", "headers", extra={
        "ANTHROPIC_BASE_URL": standin.url, "ANTHROPIC_CUSTOM_HEADERS": "x-api-key: sk-ant-in-a-header"})
    assert result.returncode == 0, result.stderr
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}


def test_repeated_settings_run_with_the_scoped_key(ready_dev, standin):
    """Claude keeps the last --settings; aigate used to merge into the first ("Not logged in")."""
    result = ready_dev.aigate("run", "claude", "--settings", "{}", "--settings", '{"cleanupPeriodDays": 30}',
                              "-p", "twice", extra={"ANTHROPIC_BASE_URL": standin.url})
    assert result.returncode == 0, result.stderr
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}


def test_a_later_settings_with_its_own_key_helper_is_refused_with_2(ready_dev, standin, spied):
    result = ready_dev.aigate("run", "claude", "--settings", "{}", "--settings", '{"apiKeyHelper": "echo sk-mine"}',
                              "-p", "mine", extra={"ANTHROPIC_BASE_URL": standin.url, **spied[0]})
    assert result.returncode == 2
    assert "apiKeyHelper" in result.stderr
    assert not spied[1].exists() and standin.records() == []


# --- 2. code from the working directory is never run as part of aigate ------------------------------

def test_a_repositorys_own_aigate_package_is_not_the_key_helper(ready_dev, standin, workdir, deployment):
    package = workdir / "aigate"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text("print('sk-ant-fake-from-the-repository')\n")
    (package / "spool.py").write_text("")
    before = {kind: len(deployment.sessions(kind)) for kind in ("start", "end")}
    result = ready_dev.aigate("run", "claude", "-p", "hi", extra={"ANTHROPIC_BASE_URL": standin.url})
    assert result.returncode == 0, result.stderr
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}

    def recorded() -> bool:
        return all(any(e["actor"] == ready_dev.email for e in deployment.sessions(kind)[before[kind]:])
                   for kind in ("start", "end"))

    deadline = time.monotonic() + 20
    while not recorded() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert recorded(), deployment.audit()[-4:]


# --- 3. repository detection never fails open --------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="giving a repository to another user needs root")
def test_another_users_repository_whose_remote_is_denied_is_refused_with_77(ready_dev, standin, workdir, spied):
    """git refuses the repository ("dubious ownership"); it used to count as no repository, exit 0."""
    set_origin(workdir, "git@github.com:Corp/secret-weights.git")
    subprocess.run(["chown", "-R", "nobody", str(workdir)], check=True)
    result = ready_dev.aigate("run", "claude", "-p", "in someone else's denied repo",
                              extra={"ANTHROPIC_BASE_URL": standin.url, **spied[0]})
    assert result.returncode == 77, result.stderr
    assert "github.com/corp/secret-weights" in result.stderr
    assert not spied[1].exists() and standin.records() == []


def test_a_repository_that_cannot_be_read_is_78_naming_it(ready_dev, standin, workdir, spied):
    (workdir / ".git").rename(workdir / "moved.git")
    (workdir / ".git").write_text("gitdir: /nonexistent/worktree\n")
    result = ready_dev.aigate("run", "claude", "-p", "in a broken repo", extra={"ANTHROPIC_BASE_URL": standin.url,
                                                                             **spied[0]})
    assert result.returncode == 78, result.stderr
    assert str(workdir) in result.stderr and "safe.directory" in result.stderr
    assert not spied[1].exists() and standin.records() == []


def test_codex_config_and_profile_choosing_another_provider_do_not_win(ready_dev, standin):
    """config.toml and a --profile pick another provider: aigate's -c options win (docs/tools.md)."""
    config = ready_dev.home / ".codex" / "config.toml"
    before = config.read_text()
    profile = config.with_name("mine.config.toml")
    profile.write_text('model_provider = "openai"\n')
    config.write_text('model_provider = "openai"\n' + before)
    try:
        result = ready_dev.aigate("run", "codex", "--profile", "mine", "-c",
                                  f'openai_base_url="{standin.openai_url}"', "exec", "with my config")
    finally:
        config.write_text(before)
        profile.unlink()
    assert result.returncode == 0, result.stderr
    assert standin.model_calls()
    assert credentials_seen(standin.records()) == {OPENAI_KEY}


def test_codex_config_that_adds_headers_to_aigates_provider_is_refused_with_78(ready_dev, standin):
    """Codex merges a -c table into config.toml's table of the same name: a user's own
    [model_providers.aigate] with http_headers would send a second credential beside the scoped key."""
    config = ready_dev.home / ".codex" / "config.toml"
    before = config.read_text()
    config.write_text('[model_providers.aigate]\nname = "mine"\nbase_url = "http://127.0.0.1:9/v1"\n'
                      'http_headers = { "x-api-key" = "sk-openai-in-a-header" }\n' + before)
    try:
        result = ready_dev.aigate("run", "codex", "-c", f'openai_base_url="{standin.openai_url}"', "exec", "headers")
    finally:
        config.write_text(before)
    assert result.returncode == 78, result.stderr
    assert "model_providers.aigate" in result.stderr and str(config) in result.stderr
    assert standin.records() == []
