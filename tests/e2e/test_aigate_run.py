"""`aigate run` end to end: a real server, real people, the real claude and codex, the vendor stand-in.

The vendor stand-in records every credential it receives: the only one it may ever see is the scoped
key of the approved scope, whatever the caller's environment holds.
"""

from __future__ import annotations

import time

import pytest
from deployment import ANTHROPIC_KEY, OPENAI_KEY, Deployment, Person, grant, set_origin
from keyring_daemon import SECRET_SERVICE_BACKEND

from harness.vendor_standin import REPLY_MARKER, VendorStandin, credentials_seen

pytestmark = pytest.mark.e2e


#: What a developer's shell might hold already: every one of these must stay out of the tool.
COMPETING = {
    "ANTHROPIC_API_KEY": "sk-ant-competing-env",
    "ANTHROPIC_AUTH_TOKEN": "sk-ant-competing-token",
    "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-competing-oauth",
    "OPENAI_API_KEY": "sk-openai-competing-env",
    "CODEX_API_KEY": "sk-codex-competing-env",
    "AZURE_OPENAI_API_KEY": "sk-azure-competing-env",
}


def claude_print(person: Person, standin: VendorStandin, prompt: str, extra: dict | None = None):
    return person.aigate("run", "claude", "-p", prompt, extra={"ANTHROPIC_BASE_URL": standin.url, **(extra or {})})


def codex_exec(person: Person, standin: VendorStandin, prompt: str, extra: dict | None = None):
    return person.aigate("run", "codex", "-c", f'openai_base_url="{standin.openai_url}"', "exec", prompt,
                         extra=extra)


def test_claude_print_mode_gets_only_the_scoped_key(ready_dev, standin):
    result = claude_print(ready_dev, standin, "hello through the gate", COMPETING)
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from anthropic: you said 'hello through the gate'" in result.stdout
    assert standin.model_calls()
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}


def test_codex_exec_gets_only_the_scoped_key(ready_dev, standin):
    result = codex_exec(ready_dev, standin, "hello through the gate", COMPETING)
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from openai: you said 'hello through the gate'" in result.stdout
    assert standin.model_calls()
    assert credentials_seen(standin.records()) == {OPENAI_KEY}
    assert not (ready_dev.home / ".codex" / "auth.json").exists()


def test_codex_goes_to_openai_base_url_as_claude_goes_to_anthropic_base_url(ready_dev, standin):
    result = ready_dev.aigate("run", "codex", "exec", "through the variable",
                              extra={"OPENAI_BASE_URL": standin.openai_url})

    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from openai: you said 'through the variable'" in result.stdout
    assert credentials_seen(standin.records()) == {OPENAI_KEY}


def test_runs_are_recorded_in_the_audit_log(ready_dev, standin, deployment: Deployment):
    before = len(deployment.sessions("end"))
    assert claude_print(ready_dev, standin, "one").returncode == 0
    assert codex_exec(ready_dev, standin, "two").returncode == 0
    ready_dev.ok("status")  # any later command; the detached flusher sends the spooled ends

    def both_ended() -> bool:
        ends = [e["data"] for e in deployment.sessions("end")[before:] if e["actor"] == ready_dev.email]
        return {(end["tool"], end["exit_status"]) for end in ends} >= {("claude", 0), ("codex", 0)}

    _wait_for(both_ended, deployment)


def test_status_shows_approvals_and_masked_keys(ready_dev):
    result = ready_dev.ok("status")
    assert "claude" in result.stdout and "codex" in result.stdout
    assert ANTHROPIC_KEY[-4:] in result.stdout  # the masked tail, never the key


def test_the_tool_gets_its_arguments_unchanged(ready_dev, standin):
    result = ready_dev.aigate("run", "claude", "--version")
    assert result.returncode == 0, result.stderr
    assert "Claude Code" in result.stdout


def test_a_run_through_the_real_secret_service_keyring(deployment, approver, people, standin, secret_service):
    dev = people(deployment, "sam")
    dev.keyring_env = {"PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND, **secret_service.env}
    dev.login()
    grant(dev, approver, "claude")
    dev.set_key("anthropic", ANTHROPIC_KEY)
    result = claude_print(dev, standin, "from the os keyring")
    assert result.returncode == 0, result.stderr
    assert "insecure" not in result.stderr
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}
    stored = [f.read_bytes() for f in dev.home.rglob("*") if f.is_file()]
    assert not any(ANTHROPIC_KEY.encode() in data for data in stored)  # nothing in a file of theirs


@pytest.mark.postgres
def test_a_run_against_a_postgresql_server(tmp_path, people, standin, postgres_url):
    deployed = Deployment.create(tmp_path / "pg", db_url=postgres_url).start()
    try:
        boss = people(deployed, "pat").login(role="approver")
        dev = people(deployed, "lee").login()
        grant(dev, boss, "codex")
        dev.set_key("openai", OPENAI_KEY)
        result = codex_exec(dev, standin, "from postgres")
        assert result.returncode == 0, result.stderr
        assert credentials_seen(standin.records()) == {OPENAI_KEY}
    finally:
        deployed.stop()


# --- refusals: exit status, the tool never started, and the message says what to do ------------------


def test_no_approval_is_refused_with_77(dev, standin, spied):
    dev.set_key("anthropic", ANTHROPIC_KEY)
    result = claude_print(dev, standin, "not yet", spied[0])
    assert result.returncode == 77
    assert "aigate request claude" in result.stderr
    assert not spied[1].exists() and standin.records() == []


def test_denied_repository_is_refused_with_77(ready_dev, standin, workdir, spied):
    set_origin(workdir, "git@github.com:Corp/secret-weights.git")
    result = claude_print(ready_dev, standin, "in a denied repo", spied[0])
    assert result.returncode == 77
    assert "github.com/corp/secret-weights" in result.stderr
    assert not spied[1].exists() and standin.records() == []


def test_revoked_grant_is_refused_once_the_token_lifetime_passed(tmp_path, people, standin, spied):
    deployed = Deployment.create(tmp_path / "short", token_ttl="2s").start()
    try:
        boss = people(deployed, "bo").login(role="approver")
        dev = people(deployed, "di").login()
        request_id = grant(dev, boss, "claude")
        dev.set_key("anthropic", ANTHROPIC_KEY)
        assert claude_print(dev, standin, "before").returncode == 0
        boss.ok("admin", "revoke", request_id, "--reason", "project over")
        time.sleep(2.5)
        standin.clear()
        result = claude_print(dev, standin, "after", spied[0])
        assert result.returncode == 77
        assert f"the grant for claude (request {request_id}) was revoked at " in result.stderr
        assert f"by {boss.email}: project over" in result.stderr
        assert not spied[1].exists() and standin.records() == []
        status = dev.ok("status").stdout
        assert f"claude: no grant; request {request_id} revoked " in status and "project over" in status
    finally:
        deployed.stop()


def test_tool_not_installed_is_127(ready_dev, standin):
    result = ready_dev.aigate("run", "claude", "-p", "hi", with_tools=False)
    assert result.returncode == 127
    assert "claude" in result.stderr and "install" in result.stderr.lower()
    assert standin.records() == []


def test_unknown_tool_is_a_usage_error(ready_dev, standin):
    result = ready_dev.aigate("run", "gemini", "-p", "hi")
    assert result.returncode == 2
    assert "claude" in result.stderr and "codex" in result.stderr  # the known tools are listed
    assert standin.records() == []


def test_missing_key_is_78_and_names_the_command(dev, approver, standin, spied):
    grant(dev, approver, "claude")
    result = claude_print(dev, standin, "no key yet", spied[0])
    assert result.returncode == 78
    assert "aigate keys set anthropic" in result.stderr
    assert not spied[1].exists() and standin.records() == []


def test_the_spy_notices_a_start(ready_dev, standin, spied):
    """The refusal tests' proof that the tool never started is only as good as this."""
    assert claude_print(ready_dev, standin, "spied on", spied[0]).returncode == 0
    assert spied[1].exists()


def _wait_for(predicate, deployment: Deployment, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout}s; audit: {deployment.audit()[-5:]}")
