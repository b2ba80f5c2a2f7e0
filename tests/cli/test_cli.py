"""The aigate commands as a user types them (fake server, in-memory keyring)."""

import json
import os

import pytest

from aigate import config, keystore, paths
from tests.cli.conftest import SERVER, problem


def test_login_keeps_the_credential_in_the_keyring_only_and_remembers_the_server(cli, store):
    code, _, err = cli("login", "--server", SERVER, "--code", "7KQ2-MX4P-9TRD")
    assert code == 0 and "ann@corp.example" in err
    assert store.get(keystore.device_entry(SERVER)) == "cred-1"
    assert config.load_config().server.value == SERVER
    for folder in (paths.config_dir(), paths.state_dir(), paths.cache_dir()):
        for path in folder.rglob("*") if folder.exists() else []:
            assert not path.is_file() or "cred-1" not in path.read_text()


def test_a_bad_enrollment_code_fails_with_the_fix_and_no_traceback(cli):
    code, _, err = cli("login", "--server", SERVER, "--code", "AAAA-BBBB-CCCC")
    assert code == 77 and "new enrollment code" in err and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() != 0, reason="an enforced file must be root-owned")
def test_login_to_another_server_than_it_set_is_refused(cli, tmp_path, monkeypatch):
    enforced = tmp_path / "enforced" / "aigate.toml"
    enforced.parent.mkdir(mode=0o755)
    enforced.write_text('server = "https://it.corp"\n')
    enforced.chmod(0o644)
    monkeypatch.setenv("AIGATE_SYSTEM_CONFIG", str(enforced))
    code, _, err = cli("login", "--server", SERVER, "--code", "7KQ2-MX4P-9TRD")
    assert code == 78 and "set by IT" in err and str(enforced) in err


def test_request_json_prints_id_and_state(cli, logged_in):
    code, out, _ = cli("request", "claude", "--reason", "refactor", "--duration", "2h", "--json")
    assert code == 0 and json.loads(out) == {"id": "r1", "state": "pending"}


def test_request_for_an_unknown_tool_is_a_usage_error(cli, logged_in):
    code, _, err = cli("request", "gemini", "--reason", "x")
    assert code == 2 and "claude, codex" in err


def test_a_bad_duration_is_a_usage_error_showing_the_forms(cli, logged_in):
    code, _, err = cli("request", "claude", "--reason", "x", "--duration", "soon")
    assert code == 2 and "1h30m" in err


def test_a_capped_duration_is_said(cli, logged_in):
    _, _, err = cli("request", "claude", "--reason", "x", "--duration", "30d")
    assert "capped" in err


def test_request_wait_ends_77_when_denied(cli, logged_in, server):
    server.decide_on_poll = "denied"
    code, out, _ = cli("request", "claude", "--reason", "y", "--wait", "--json")
    assert code == 77 and json.loads(out) == {"id": "r1", "state": "denied"}


def test_request_wait_ends_0_when_approved(cli, logged_in, server):
    server.decide_on_poll = "approved"
    assert cli("request", "claude", "--reason", "y", "--wait")[0] == 0


def test_requests_lists_and_cancel_withdraws(cli, logged_in):
    cli("request", "claude", "--reason", "x")
    code, out, _ = cli("requests", "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == ["r1"]
    code, _, err = cli("requests", "cancel", "r1")
    assert code == 0 and "cancelled" in err


def test_admin_approve_deny_revoke(cli, logged_in, server):
    for _ in range(2):
        cli("request", "claude", "--reason", "x")
    assert cli("admin", "approve", "r1", "--duration", "1h")[0] == 0
    assert server.seen[-1][2] == {"duration_seconds": 3600}
    assert "denied" in cli("admin", "deny", "r2", "--reason", "no")[1]
    assert "revoked" in cli("admin", "revoke", "r1", "--reason", "done")[1]
    _, out, _ = cli("admin", "requests", "--state", "revoked", "--json")
    assert [r["id"] for r in json.loads(out)] == ["r1"]


def test_admin_requests_with_an_unknown_state_is_a_usage_error(cli, logged_in):
    assert cli("admin", "requests", "--state", "weird")[0] == 2


def test_keys_set_from_stdin_then_list_shows_only_a_masked_tail(cli, store, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("sk-ant-abcdefghijklmnop1234\n"))
    code, out, err = cli("keys", "set", "anthropic", "--stdin")
    assert code == 0 and "sk-ant-abcdefghijklmnop1234" not in out + err
    assert store.get(keystore.key_entry("anthropic")) == "sk-ant-abcdefghijklmnop1234"
    code, out, _ = cli("keys", "list")
    assert out == "anthropic\t…1234\n"


def test_keys_delete_removes_the_key_and_the_scope(cli, store):
    store.set(keystore.key_entry("openai"), "sk-openai-0123456789abcdef")
    keystore.record_scope("openai", True)
    assert cli("keys", "delete", "openai")[0] == 0
    assert store.get(keystore.key_entry("openai")) is None and keystore.stored_scopes() == []


def test_an_empty_key_is_refused(cli, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert cli("keys", "set", "anthropic", "--stdin")[0] == 2


def test_status_json_says_where_each_setting_came_from(cli, logged_in, monkeypatch):
    monkeypatch.setenv("AIGATE_SERVER", SERVER)
    code, out, _ = cli("status", "--json")
    report = json.loads(out)
    assert code == 0 and report["user"] == "ann@corp.example" and report["server_reachable"] is True
    assert report["settings"]["server"]["source"] == "AIGATE_SERVER"


def test_commands_before_login_say_how_to_log_in(cli):
    code, _, err = cli("requests")
    assert code == 78 and "aigate login --server" in err


def test_logout_forgets_the_credential(cli, logged_in, store):
    assert cli("logout")[0] == 0
    assert store.get(keystore.device_entry(SERVER)) is None


def test_version(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("aigate ")


def test_run_without_a_tool_is_a_usage_error(cli):
    assert cli("run")[0] == 2


def test_an_unknown_command_is_a_usage_error_not_an_internal_error(cli):
    code, _, err = cli("bogus")

    assert code == 2
    assert "internal error" not in err


def test_a_missing_argument_is_a_usage_error(cli, logged_in):
    code, _, err = cli("admin", "approve")

    assert code == 2
    assert "internal error" not in err


class _Tty:
    def isatty(self):
        return True


def _answer_prompt(monkeypatch, exc):
    import getpass
    import sys

    def raise_(*a, **k):
        raise exc

    monkeypatch.setattr(sys, "stdin", _Tty())
    monkeypatch.setattr(getpass, "getpass", raise_)


def test_login_without_code_and_without_a_terminal_asks_for_code_option(cli, server):
    code, _, err = cli("login", "--server", SERVER)
    assert code == 2 and "--code" in err and "GetPassWarning" not in err
    assert "7KQ2-MX4P-9TRD" in server.codes


def test_keys_set_without_a_terminal_asks_for_stdin_option(cli):
    code, _, err = cli("keys", "set", "anthropic")
    assert code == 2 and "--stdin" in err


def test_ctrl_c_at_the_enrollment_code_prompt_exits_130_interrupted(cli, monkeypatch):
    _answer_prompt(monkeypatch, KeyboardInterrupt())
    code, _, err = cli("login", "--server", SERVER)
    assert code == 130 and "aigate: interrupted" in err and "internal error" not in err


def test_ctrl_d_at_the_enrollment_code_prompt_says_cancelled(cli, monkeypatch):
    _answer_prompt(monkeypatch, EOFError())
    code, _, err = cli("login", "--server", SERVER)
    assert code == 1 and "cancelled" in err and "internal error" not in err


def test_ctrl_c_at_the_key_prompt_exits_130_and_stores_nothing(cli, monkeypatch, store):
    _answer_prompt(monkeypatch, KeyboardInterrupt())
    code, _, err = cli("keys", "set", "anthropic")
    assert code == 130 and "interrupted" in err and store.get(keystore.key_entry("anthropic")) is None


EVIL = "ok\x1b[31m red \u202eevil"


def test_a_reason_with_terminal_escapes_is_refused_before_it_is_sent(cli, logged_in, server):
    code, _, err = cli("request", "claude", "--reason", EVIL)
    assert code == 2 and "reason" in err and server.requests == {}


def test_a_reason_with_terminal_escapes_from_the_server_is_printed_escaped_in_the_requests_table(
        cli, logged_in, server):
    cli("request", "claude", "--reason", "x")
    server.requests["r1"]["reason"] = EVIL  # as an older server, or another client, may have stored it
    _, out, _ = cli("requests")
    assert "\x1b" not in out and "\u202e" not in out and "\\x1b[31m" in out and "\\u202e" in out


def test_a_decision_reason_with_terminal_escapes_from_the_server_is_printed_escaped_in_the_request_line(
        cli, logged_in, server):
    from aigate import protocol
    from aigate.cli.output import request_line

    cli("request", "claude", "--reason", "x")
    item = protocol.from_wire(protocol.AccessRequest, {**server.requests["r1"], "decision_reason": EVIL})
    out = request_line(item)
    assert "\x1b" not in out and "\u202e" not in out and "\\x1b[31m" in out and "\\u202e" in out


def test_a_server_detail_with_terminal_escapes_is_printed_escaped_in_the_error(cli, server):
    server.enroll = lambda body: problem(400, "enrollment-code-invalid", detail=EVIL)
    code, _, err = cli("login", "--server", SERVER, "--code", "AAAA-BBBB-CCCC")
    assert code == 77 and "\x1b" not in err and "\u202e" not in err and "\\x1b[31m" in err


def test_login_with_the_null_keyring_is_refused_before_the_code_is_spent(server, capsys, monkeypatch):
    import httpx

    from aigate.cli.app import run_app
    from aigate.cli.entry import boundary
    from aigate.cli.state import CliState

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    state = CliState(http=lambda url, ca: httpx.Client(base_url=url, transport=httpx.MockTransport(server)))
    code = boundary(lambda: run_app(["login", "--server", SERVER, "--code", "7KQ2-MX4P-9TRD"], obj=state))
    assert code == 78 and "Logged in" not in capsys.readouterr().err and "7KQ2-MX4P-9TRD" in server.codes


def test_a_duration_above_the_maximum_says_the_maximum_as_a_duration(cli, logged_in):
    code, _, err = cli("request", "claude", "--reason", "x", "--duration", "99999d")
    assert code == 2 and "at most 366d" in err and "duration_seconds" not in err


def test_request_for_an_unknown_tool_does_not_suggest_aigate_run(cli, logged_in):
    code, _, err = cli("request", "nosuch", "--reason", "x")
    assert code == 2 and "claude, codex" in err and "aigate run" not in err


def test_a_whitespace_only_reason_is_refused_before_sending(cli, logged_in, server):
    code, _, err = cli("request", "claude", "--reason", "   ")
    assert code == 2 and "reason is empty" in err and server.requests == {}


def test_a_whitespace_only_deny_reason_is_refused(cli, logged_in):
    cli("request", "claude", "--reason", "x")
    code, _, err = cli("admin", "deny", "r1", "--reason", " ")
    assert code == 2 and "reason is empty" in err


def test_a_second_logout_says_not_logged_in(cli, logged_in):
    cli("logout")
    code, _, err = cli("logout")
    assert code == 0 and "Not logged in" in err and "Logged out" not in err


def test_status_never_cuts_a_long_path_in_a_narrow_terminal(cli, logged_in, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    code, out, _ = cli("status")
    assert code == 0 and "…" not in out and str(config.paths.user_config_file()) in out
