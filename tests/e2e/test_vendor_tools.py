"""How the real claude and codex take credentials, observed directly, without aigate.

Each test pins one behaviour aigate's injection relies on (docs/tools.md). They are what tells us
that a new release of a tool changed: `make check-latest-tools` runs this file against the newest
releases. A test that fails there names the behaviour that moved.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from terminal import Terminal

from harness.toolenv import CLAUDE_READY, CODEX_READY, CODEX_TURN_DONE, PINNED, helper_calls, tool_env, write_helper
from harness.vendor_standin import REPLY_MARKER, VendorStandin, credentials_seen

pytestmark = pytest.mark.e2e

CHECKING_LATEST = "AIGATE_E2E_TOOLS_BIN" in os.environ


def run(
    argv: Sequence[str | Path],
    home: Path,
    workdir: Path,
    standin: VendorStandin,
    extra: Mapping[str, str] | None = None,
    timeout: float = 90,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=workdir, env=tool_env(home, extra, proxy=standin.url),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False)


def codex_provider(base_url: str, name: str = "standin", **fields: str) -> list[str]:
    """``-c`` options that define a Responses provider on the command line and select it."""
    body = ", ".join([f'name="{name}"', f'base_url="{base_url}"', 'wire_api="responses"', *fields.values()])
    return ["-c", f"model_providers.{name}={{{body}}}", "-c", f'model_provider="{name}"']


def auth_command(helper: Path, *args: str) -> str:
    quoted = ", ".join(f'"{a}"' for a in args)
    return f'auth={{command="{helper}", args=[{quoted}]}}'


# --- Claude Code -----------------------------------------------------------------------------------


def test_claude_version_needs_no_key(claude_bin, home, workdir, standin):
    result = run([claude_bin, "--version"], home, workdir, standin)
    assert result.returncode == 0, result.stderr
    if not CHECKING_LATEST:
        assert result.stdout.startswith(PINNED["@anthropic-ai/claude-code"])
    assert standin.records() == []


def test_claude_print_mode_sends_env_key_as_x_api_key(claude_bin, home, workdir, standin):
    result = run([claude_bin, "-p", "say hello"], home, workdir, standin,
                 {"ANTHROPIC_API_KEY": "sk-ant-env-1", "ANTHROPIC_BASE_URL": standin.url})
    assert result.returncode == 0, result.stderr
    assert REPLY_MARKER in result.stdout
    calls = standin.model_calls()
    assert calls and all(c["x-api-key"] == "sk-ant-env-1" for c in calls)
    assert credentials_seen(standin.records()) == {"sk-ant-env-1"}


def test_claude_auth_token_is_sent_as_bearer(claude_bin, home, workdir, standin):
    result = run([claude_bin, "-p", "say hello"], home, workdir, standin,
                 {"ANTHROPIC_AUTH_TOKEN": "sk-ant-token-1", "ANTHROPIC_BASE_URL": standin.url})
    assert result.returncode == 0, result.stderr
    assert {c["authorization"] for c in standin.model_calls()} == {"Bearer sk-ant-token-1"}


def test_claude_print_mode_takes_key_from_api_key_helper(claude_bin, home, workdir, standin, tmp_path):
    log = tmp_path / "helper.log"
    helper = write_helper(tmp_path / "helper.sh", "sk-ant-helper-1", log)
    settings = f'{{"apiKeyHelper": "{helper} first-arg"}}'
    result = run([claude_bin, "--settings", settings, "-p", "say hello"], home, workdir, standin,
                 {"ANTHROPIC_BASE_URL": standin.url})
    assert result.returncode == 0, result.stderr
    assert REPLY_MARKER in result.stdout
    assert log.read_text().splitlines()[0] == "called first-arg"  # run through a shell, arguments kept
    for call in standin.model_calls():
        assert call["x-api-key"] == "sk-ant-helper-1"
        assert call["authorization"] == "Bearer sk-ant-helper-1"


def test_claude_env_key_beats_helper_key_in_x_api_key(claude_bin, home, workdir, standin, tmp_path):
    """Two credential sources at once both go out: why aigate scrubs every competing variable."""
    helper = write_helper(tmp_path / "helper.sh", "sk-ant-helper-2", tmp_path / "helper.log")
    run([claude_bin, "--settings", f'{{"apiKeyHelper": "{helper}"}}', "-p", "hi"], home, workdir, standin,
        {"ANTHROPIC_API_KEY": "sk-ant-env-2", "ANTHROPIC_BASE_URL": standin.url})
    call = standin.model_calls()[0]
    assert call["x-api-key"] == "sk-ant-env-2"
    assert call["authorization"] == "Bearer sk-ant-helper-2"


def test_claude_reruns_a_failed_helper_and_sends_no_key_meanwhile(claude_bin, home, workdir, standin, tmp_path):
    """A helper that refuses (aigate: approval gone) leaves requests without a key; Claude retries it."""
    log = tmp_path / "helper.log"
    helper = write_helper(tmp_path / "helper.sh", "sk-ant-helper-3", log, fail_first=1)
    result = run([claude_bin, "--settings", f'{{"apiKeyHelper": "{helper}"}}', "-p", "hi"], home, workdir,
                 standin, {"ANTHROPIC_BASE_URL": standin.url})
    assert result.returncode == 0, result.stderr
    assert "helper refused: no approval" in result.stderr  # the helper's stderr reaches the user
    calls = standin.model_calls()
    assert credentials_seen(calls[:1]) == set()
    assert credentials_seen(calls) == {"sk-ant-helper-3"}
    assert helper_calls(log) >= 2


def test_interactive_claude_with_env_key_stops_at_a_dialog(claude_bin, home, workdir, standin, terminal):
    terminal.start([str(claude_bin)], tool_env(home, {"ANTHROPIC_API_KEY": "sk-ant-env-dialog-0123456789",
                                                      "ANTHROPIC_BASE_URL": standin.url}, proxy=standin.url))
    screen = terminal.wait_for("Detected a custom API key")
    assert "No (recommended)" in screen
    assert standin.model_calls() == []


def test_interactive_claude_with_helper_shows_no_dialog_and_answers(
    claude_bin, home, workdir, standin, terminal: Terminal, tmp_path
):
    log = tmp_path / "helper.log"
    helper = write_helper(tmp_path / "helper.sh", "sk-ant-helper-4", log)
    env = tool_env(home, {"ANTHROPIC_BASE_URL": standin.url}, proxy=standin.url)
    terminal.start([str(claude_bin), "--settings", f'{{"apiKeyHelper": "{helper}"}}'], env)
    terminal.wait_for(CLAUDE_READY)
    assert "API key" not in terminal.screen()
    terminal.type("tell me a joke")
    terminal.wait_for(f"{REPLY_MARKER} from anthropic: you said 'tell me a joke'")
    assert credentials_seen(standin.records()) == {"sk-ant-helper-4"}
    terminal.keys("C-c")
    terminal.wait_for("Press Ctrl-C again to exit")
    terminal.keys("C-c")
    assert terminal.wait_exit() == 0


def test_interactive_claude_reruns_helper_after_its_ttl(
    claude_bin, home, workdir, standin, terminal: Terminal, tmp_path
):
    """``CLAUDE_CODE_API_KEY_HELPER_TTL_MS``: a later request re-runs the helper once the TTL passed."""
    log = tmp_path / "helper.log"
    helper = write_helper(tmp_path / "helper.sh", "sk-ant-helper-5", log)
    env = tool_env(home, {"ANTHROPIC_BASE_URL": standin.url, "CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "1000"},
                   proxy=standin.url)
    terminal.start([str(claude_bin), "--settings", f'{{"apiKeyHelper": "{helper}"}}'], env)
    terminal.wait_for(CLAUDE_READY)
    terminal.type("first question")
    terminal.wait_for("you said 'first question'")
    before = helper_calls(log)
    time.sleep(1.5)
    terminal.type("second question")
    terminal.wait_for("you said 'second question'")
    assert helper_calls(log) > before
    terminal.type("/exit")
    assert terminal.wait_exit() == 0


# --- Codex -----------------------------------------------------------------------------------------


def test_codex_version_needs_no_key(codex_bin, home, workdir, standin):
    result = run([codex_bin, "--version"], home, workdir, standin)
    assert result.returncode == 0, result.stderr
    if not CHECKING_LATEST:
        assert result.stdout.strip() == f"codex-cli {PINNED['@openai/codex']}"


def test_codex_builtin_provider_ignores_openai_api_key(codex_bin, home, workdir, standin):
    result = run([codex_bin, "-c", f'openai_base_url="{standin.openai_url}"', "exec", "hi"], home, workdir,
                 standin, {"OPENAI_API_KEY": "sk-openai-env-1"})
    assert result.returncode != 0
    calls = standin.model_calls()
    assert calls and credentials_seen(calls) == set()


def test_codex_builtin_provider_ignores_openai_base_url(codex_bin, home, workdir, standin, tmp_path):
    env = tool_env(home, {"CODEX_API_KEY": "sk-codex-env-0", "OPENAI_BASE_URL": standin.openai_url},
                   proxy=standin.url)
    # codex.js starts the native binary as its child, and that one retries forever: end the group.
    with subprocess.Popen([str(codex_bin), "exec", "hi"], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True) as proc:
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if any(c["path"] == "api.openai.com:443" for c in standin.outside_calls()):
                    break
                time.sleep(0.2)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
    assert any(c["path"] == "api.openai.com:443" for c in standin.outside_calls())
    assert standin.model_calls() == []


def test_codex_exec_sends_codex_api_key_and_falls_back_from_websocket(codex_bin, home, workdir, standin):
    result = run([codex_bin, "-c", f'openai_base_url="{standin.openai_url}"', "exec", "say hello"], home,
                 workdir, standin, {"CODEX_API_KEY": "sk-codex-env-1"})
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from openai" in result.stdout
    calls = standin.model_calls()
    assert calls[0]["websocket"] and calls[0]["method"] == "GET"  # a WebSocket first (refused: 426)
    assert any(c["method"] == "POST" for c in calls)  # then HTTP POST with server-sent events
    assert credentials_seen(calls) == {"sk-codex-env-1"}


def test_codex_provider_env_key_is_sent_as_bearer(codex_bin, home, workdir, standin):
    provider = codex_provider(standin.openai_url, env_key='env_key="STANDIN_KEY"')
    result = run([codex_bin, *provider, "exec", "say hello"], home, workdir, standin,
                 {"STANDIN_KEY": "sk-provider-env-1"})
    assert result.returncode == 0, result.stderr
    assert REPLY_MARKER in result.stdout
    assert credentials_seen(standin.model_calls()) == {"sk-provider-env-1"}


def test_codex_exec_takes_key_from_provider_auth_command(codex_bin, home, workdir, standin, tmp_path):
    log = tmp_path / "helper.log"
    helper = write_helper(tmp_path / "helper.sh", "sk-codex-helper-1", log)
    provider = codex_provider(standin.openai_url, auth=auth_command(helper, "codex", "--x"))
    result = run([codex_bin, *provider, "exec", "say hello"], home, workdir, standin,
                 {"OPENAI_API_KEY": "sk-openai-env-2", "CODEX_API_KEY": "sk-codex-env-2"})
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from openai: you said 'say hello'" in result.stdout
    assert log.read_text().splitlines()[0] == "called codex --x"
    calls = standin.model_calls()
    assert not any(c["websocket"] for c in calls)  # a provider of our own: HTTP only
    assert credentials_seen(standin.records()) == {"sk-codex-helper-1"}
    assert not (home / ".codex" / "auth.json").exists()  # the key was not written to Codex's login file


def test_interactive_codex_ignores_codex_api_key(codex_bin, home, workdir, standin, terminal: Terminal):
    """``CODEX_API_KEY`` applies to ``exec`` only: the TUI asks the user to sign in instead."""
    env = tool_env(home, {"CODEX_API_KEY": "sk-codex-env-3"}, proxy=standin.url)
    terminal.start([str(codex_bin), "-c", f'openai_base_url="{standin.openai_url}"'], env)
    terminal.wait_for("Sign in")
    assert standin.model_calls() == []


def test_interactive_codex_with_auth_command_answers_typed_prompt(
    codex_bin, home, workdir, standin, terminal: Terminal, tmp_path
):
    helper = write_helper(tmp_path / "helper.sh", "sk-codex-helper-2", tmp_path / "helper.log")
    provider = codex_provider(standin.openai_url, auth=auth_command(helper))
    terminal.start([str(codex_bin), *provider], tool_env(home, proxy=standin.url))
    terminal.wait_for(CODEX_READY)
    terminal.type("say hi to me")
    terminal.wait_for(f"{REPLY_MARKER} from openai: you said 'say hi to me'")
    terminal.wait_for(CODEX_TURN_DONE)
    assert credentials_seen(standin.records()) == {"sk-codex-helper-2"}
    terminal.keys("C-c")  # at an idle, empty prompt, one Ctrl-C ends the session
    assert terminal.wait_exit() == 0


def test_interactive_codex_leaves_text_and_enter_in_one_burst_unsent(
    codex_bin, home, workdir, standin, terminal: Terminal, tmp_path
):
    helper = write_helper(tmp_path / "helper.sh", "sk-codex-helper-3", tmp_path / "helper.log")
    provider = codex_provider(standin.openai_url, auth=auth_command(helper))
    terminal.start([str(codex_bin), *provider], tool_env(home, proxy=standin.url))
    terminal.wait_for(CODEX_READY)
    terminal.type_and_enter_at_once("burst text")
    time.sleep(3)
    assert not any(c["method"] == "POST" for c in standin.model_calls())
    terminal.keys("C-c")  # clears the composer
    terminal.wait_for(CODEX_READY)
    terminal.keys("C-c")
    assert terminal.wait_exit() == 0
