"""``aigate-server``: init, users, policy check, signing-key rotate, audit, and serve's refusals."""

from __future__ import annotations

import json
import re
import stat

import pytest

CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def test_init_writes_a_signing_key_readable_only_by_its_owner(home, tmp_path):
    (key,) = (tmp_path / "srv" / "signing-keys").glob("*.pem")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_init_writes_the_default_policy(home, tmp_path, cli):
    assert cli("policy", "check", str(tmp_path / "srv" / "policy.toml"))[0] == 0


def test_init_is_idempotent(home, tmp_path, cli):
    before = sorted(p.name for p in (tmp_path / "srv" / "signing-keys").iterdir())
    assert cli("init", *home)[0] == 0
    assert sorted(p.name for p in (tmp_path / "srv" / "signing-keys").iterdir()) == before


def test_users_add_prints_an_enrollment_code_as_its_last_line(home, cli):
    code, out, _ = cli("users", "add", "ann@corp.example", "--group", "dev", "--role", "approver", *home)
    assert code == 0 and CODE.match(out.strip().splitlines()[-1])


def test_users_add_again_prints_a_new_code(home, cli):
    first = cli("users", "add", "ann@corp.example", *home)[1].splitlines()[-1]
    second = cli("users", "add", "ann@corp.example", *home)[1].splitlines()[-1]
    assert first != second


def test_users_add_refuses_a_non_email_with_exit_2(home, cli):
    code, _, err = cli("users", "add", "not-an-email", *home)
    assert code == 2 and "not an email address" in err


def test_users_add_refuses_an_unknown_role_with_exit_2(home, cli):
    assert cli("users", "add", "ann@corp.example", "--role", "king", *home)[0] == 2


def test_users_list_shows_role_groups_and_state(home, cli):
    cli("users", "add", "ann@corp.example", "--group", "dev", *home)
    cli("users", "disable", "ann@corp.example", *home)
    (row,) = json.loads(cli("users", "list", "--json", *home)[1])
    assert (row["role"], row["groups"], row["disabled"]) == ("user", ["dev"], True)


def test_users_enable_undoes_disable(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    cli("users", "disable", "ann@corp.example", *home)
    cli("users", "enable", "ann@corp.example", *home)
    assert json.loads(cli("users", "list", "--json", *home)[1])[0]["disabled"] is False


def test_disabling_an_unknown_user_fails_with_exit_1(home, cli):
    code, _, err = cli("users", "disable", "nobody@corp.example", *home)
    assert code == 1 and "no user nobody@corp.example" in err


def test_policy_check_reports_mistakes_with_lines_and_exit_1(tmp_path, cli):
    bad = tmp_path / "policy.toml"
    bad.write_text('token_ttl = "10m"\n[[rules]]\ngroups = ["*"]\ntools = ["*"]\napproval = "sometimes"\n')
    code, _, err = cli("policy", "check", str(bad))
    assert code == 1 and f"{bad}: line 5: approval must be one of" in err


def test_policy_check_of_a_missing_file_fails(tmp_path, cli):
    assert cli("policy", "check", str(tmp_path / "none.toml"))[0] == 1


def test_signing_key_rotate_makes_a_new_current_key(home, tmp_path, cli):
    code, _, _ = cli("signing-key", "rotate", *home)
    assert code == 0 and len(list((tmp_path / "srv" / "signing-keys").glob("*.pem"))) == 2


def test_audit_export_writes_json_lines_and_reports_the_head(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    code, out, err = cli("audit", "export", *home)
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [e["seq"] for e in lines] == [1, 2] and f"hash {lines[-1]['hash']}" in err


def test_audit_export_since_resumes_after_that_event(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    cli("users", "add", "bob@corp.example", *home)
    out = cli("audit", "export", "--since", "2", *home)[1]
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [3, 4]


def test_audit_verify_passes_on_a_whole_chain(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    code, out, _ = cli("audit", "verify", *home)
    assert code == 0 and "audit chain whole: 2 event(s)" in out


def test_audit_verify_with_a_head_not_in_the_chain_fails(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    code, _, err = cli("audit", "verify", "--head", "ab" * 32, *home)
    assert code == 1 and "is not any event of this chain" in err


def test_audit_verify_with_an_unknown_head_does_not_claim_events_were_rewritten(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    err = cli("audit", "verify", "--head", "ab" * 32, *home)[2]
    assert "another server's chain head" in err and "were rewritten or removed" not in err


def test_audit_verify_with_an_unknown_head_says_the_chain_itself_is_whole(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    assert "audit chain whole: 2 event(s)" in cli("audit", "verify", "--head", "ab" * 32, *home)[2]


def test_audit_verify_with_a_head_that_is_not_a_hash_is_a_usage_error(home, cli):
    code, _, err = cli("audit", "verify", "--head", "deadbeef", *home)
    assert code == 2 and "is not a chain head" in err


def test_audit_verify_accepts_the_seq_and_hash_that_audit_export_prints(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    hint = cli("audit", "export", *home)[2].splitlines()
    head = next(line for line in hint if "audit verify --head" in line).rsplit(" ", 1)[1]
    code, out, _ = cli("audit", "verify", "--head", head, *home)
    assert code == 0 and "is part of this chain" in out


def test_audit_verify_with_a_seq_beyond_the_chain_says_events_were_removed_or_another_servers(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    code, _, err = cli("audit", "verify", "--head", f"99:{'ab' * 32}", *home)
    assert code == 1 and "fewer than the head's seq 99" in err


def test_audit_verify_with_another_hash_at_that_seq_says_the_chain_was_rewritten(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    code, _, err = cli("audit", "verify", "--head", f"1:{'ab' * 32}", *home)
    assert code == 1 and "event 1 of this chain has hash" in err and "rewritten" in err


def test_audit_verify_names_a_tampered_event(home, tmp_path, cli):
    import sqlite3

    cli("users", "add", "ann@corp.example", *home)
    with sqlite3.connect(tmp_path / "srv" / "aigate.db") as raw:
        raw.execute("DROP TRIGGER audit_events_no_update")
        raw.execute("UPDATE audit_events SET subject = 'eve@corp.example' WHERE seq = 1")
    code, _, err = cli("audit", "verify", *home)
    assert code == 1 and "event 1:" in err


def test_commands_refuse_a_database_whose_migrations_are_behind(tmp_path, cli):
    code, _, err = cli("users", "list", "--data-dir", str(tmp_path / "empty"), "--db",
                       f"sqlite:///{tmp_path / 'new.db'}")
    assert code == 78 and "aigate-server init" in err


def test_serve_refuses_a_database_whose_migrations_are_behind(tmp_path, cli):
    code, _, err = cli("serve", "--data-dir", str(tmp_path / "x"), "--db", f"sqlite:///{tmp_path / 'new.db'}")
    assert code == 78 and "run `aigate-server init`" in err


def test_serve_refuses_a_bad_policy_saying_why(home, tmp_path, cli):
    bad = tmp_path / "bad.toml"
    bad.write_text('token_ttl = "forever"\n')
    code, _, err = cli("serve", "--policy", str(bad), *home)
    assert code == 78 and "line 1: token_ttl" in err


def test_serve_needs_tls_cert_and_key_together(home, tmp_path, cli):
    assert cli("serve", "--tls-cert", str(tmp_path / "c.pem"), *home)[0] == 2


def test_an_unusable_database_url_is_a_clean_error(tmp_path, cli):
    code, _, err = cli("users", "list", "--data-dir", str(tmp_path), "--db", "nosuchdb://x")
    assert code == 78 and "Traceback" not in err


def test_an_unknown_command_is_a_usage_error(cli):
    assert cli("frobnicate")[0] == 2


@pytest.mark.parametrize("email", ["ann\x00@corp.example", "ann\x1b@corp.example", "ann@corp\u202e.example",
                                   "ann@\tcorp.example", "   "])
def test_users_add_refuses_an_email_with_control_bidi_or_space_characters_with_exit_2(home, cli, email):
    code, _, err = cli("users", "add", email, *home)
    assert code == 2 and "not an email address" in err and "Traceback" not in err


def test_users_add_refuses_a_group_with_control_characters_with_exit_2(home, cli):
    code, _, err = cli("users", "add", "ann@corp.example", "--group", "d\x00ev", *home)
    assert code == 2 and "group" in err


def test_serve_warns_when_the_policy_has_no_rules(home, tmp_path, cli, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    from aigate.server.settings import Settings

    for name in Settings.resolve(tmp_path).export():  # serve exports its settings for its workers
        monkeypatch.setenv(name, "")  # so it is removed again afterwards
    empty = tmp_path / "empty.toml"
    empty.write_text('token_ttl = "10m"\n')
    code, _, err = cli("serve", "--policy", str(empty), "--port", "0", *home)
    assert code == 0 and "no rules: every tool is denied" in err


@pytest.mark.parametrize("command", [["init"], ["users", "list"], ["users", "add", "ann@corp.example"],
                                     ["serve"], ["signing-key", "rotate"], ["audit", "verify"], ["audit", "export"]])
def test_a_data_dir_that_is_a_file_is_a_clean_error_with_exit_78(tmp_path, cli, command):
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = cli(*command, "--data-dir", str(afile))
    assert code == 78 and f"data dir {afile} is a file" in err and "Traceback" not in err


def test_init_in_a_folder_that_cannot_be_made_is_a_clean_error_with_exit_78(tmp_path, cli):
    (tmp_path / "afile").write_text("x")
    code, _, err = cli("init", "--data-dir", str(tmp_path / "afile" / "sub"))
    assert code == 78 and "cannot be created" in err


@pytest.mark.parametrize("command", [["users", "list"], ["audit", "verify"], ["signing-key", "rotate"]])
def test_a_missing_data_dir_is_a_clean_error_with_exit_78(tmp_path, cli, command):
    code, _, err = cli(*command, "--data-dir", str(tmp_path / "nothere"))
    assert code == 78 and "does not exist" in err and not (tmp_path / "nothere").exists()


def test_a_command_other_than_init_does_not_create_an_empty_database(tmp_path, cli):
    code, _, err = cli("users", "list", "--data-dir", str(tmp_path))
    assert code == 78 and "no database at" in err and not (tmp_path / "aigate.db").exists()


def test_a_sqlite_database_path_that_is_a_directory_is_a_clean_error_with_exit_78(tmp_path, cli):
    code, _, err = cli("init", "--data-dir", str(tmp_path / "d"), "--db", f"sqlite:///{tmp_path}")
    assert code == 78 and "is a directory" in err


def test_a_sqlite_database_in_a_missing_folder_is_a_clean_error_with_exit_78(tmp_path, cli):
    code, _, err = cli("init", "--data-dir", str(tmp_path / "d"), "--db", f"sqlite:///{tmp_path}/no/x.db")
    assert code == 78 and "does not exist" in err


def test_an_unreadable_file_in_the_data_dir_is_a_clean_error_with_exit_78(home, cli, monkeypatch):
    from aigate.server import signing

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/srv/signing-keys/new.pem")

    monkeypatch.setattr(signing, "create_key", denied)
    code, _, err = cli("signing-key", "rotate", *home)
    assert code == 78 and "Permission denied: /srv/signing-keys/new.pem" in err and "Traceback" not in err


def _user(cli, home):
    (user,) = json.loads(cli("users", "list", "--json", *home)[1])
    return user


def test_users_add_for_an_existing_user_without_group_or_role_keeps_them(home, cli):
    cli("users", "add", "ann@corp.example", "--group", "dev", "--role", "approver", *home)
    code, _, err = cli("users", "add", "ann@corp.example", *home)
    row = _user(cli, home)
    assert code == 0 and (row["groups"], row["role"]) == (["dev"], "approver") and "updated" not in err


def test_users_add_for_an_existing_user_with_group_and_role_changes_them_and_says_so(home, cli):
    cli("users", "add", "ann@corp.example", "--group", "dev", *home)
    code, _, err = cli("users", "add", "ann@corp.example", "--group", "ops", "--role", "admin", *home)
    row = _user(cli, home)
    assert code == 0 and (row["groups"], row["role"]) == (["ops"], "admin")
    assert "updated ann@corp.example: groups ['dev'] -> ['ops'], role user -> admin" in err


def test_users_add_for_an_existing_user_still_prints_a_code_last(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    out = cli("users", "add", "ann@corp.example", "--role", "admin", *home)[1]
    assert CODE.match(out.splitlines()[-1])


def test_users_add_with_the_same_role_says_nothing_changed(home, cli):
    cli("users", "add", "ann@corp.example", "--role", "admin", *home)
    assert "updated" not in cli("users", "add", "ann@corp.example", "--role", "admin", *home)[2]


@pytest.fixture
def taken_port():
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.fixture
def no_uvicorn(tmp_path, monkeypatch):
    """serve stops short of uvicorn (recorded) and leaves the environment as it found it."""
    import uvicorn

    from aigate.server.settings import Settings

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    for name in Settings.resolve(tmp_path).export():
        monkeypatch.setenv(name, "")
    return calls


def test_serve_on_a_port_in_use_fails_with_exit_69_naming_the_port(home, cli, taken_port, no_uvicorn):
    code, _, err = cli("serve", "--port", str(taken_port), *home)
    assert code == 69 and f"port {taken_port} on 127.0.0.1 is in use" in err and not no_uvicorn


def test_serve_on_a_port_in_use_prints_no_ready_banner(home, cli, taken_port, no_uvicorn):
    err = cli("serve", "--port", str(taken_port), *home)[2]
    assert "aigate-server http" not in err


def test_serve_on_a_free_port_prints_its_banner_and_starts_uvicorn(home, cli, no_uvicorn):
    code, _, err = cli("serve", "--port", "0", *home)
    assert code == 0 and "aigate-server http://127.0.0.1:0" in err and len(no_uvicorn) == 1


def test_init_writes_a_policy_that_points_to_the_readme_not_to_files_outside_the_repository(home, tmp_path):
    text = (tmp_path / "srv" / "policy.toml").read_text()
    assert "README" in text and "DESIGN.md" not in text and "FIELD_NOTES" not in text


def test_no_help_text_points_to_files_outside_the_repository(cli):
    for command in ([], ["init"], ["serve"], ["users", "add"], ["policy", "check"], ["audit", "verify"]):
        out = cli(*command, "--help")[1]
        assert "DESIGN.md" not in out and "FIELD_NOTES" not in out


def test_users_list_json_is_one_array_even_with_several_users(home, cli):
    cli("users", "add", "ann@corp.example", *home)
    cli("users", "add", "bob@corp.example", "--role", "approver", *home)

    users = json.loads(cli("users", "list", "--json", *home)[1])

    assert [u["email"] for u in users] == ["ann@corp.example", "bob@corp.example"]


def test_users_list_json_with_no_users_is_an_empty_array(home, cli):
    assert json.loads(cli("users", "list", "--json", *home)[1]) == []


def test_audit_export_help_names_json_lines(cli):
    assert "JSON Lines" in cli("audit", "export", "--help")[1]


@pytest.mark.parametrize("words", [[], ["users"], ["users", "add"], ["serve"], ["audit", "verify"]])
def test_server_help_has_no_type_labels_and_upper_case_placeholders(cli, words):
    out = cli(*words, "--help")[1]

    assert "<bool>" not in out and "<str>" not in out and "{" not in out.splitlines()[0]


def test_server_show_completion_prints_the_script_of_the_shell_named(cli):
    assert "#compdef aigate-server" in cli("--show-completion", "zsh")[1]
