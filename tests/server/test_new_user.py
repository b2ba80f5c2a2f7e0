"""What a new user's tester found on the server side: policy bounds, device revocation, bounded echoes."""

from __future__ import annotations

import json

import pytest

from aigate.server.policy import PolicyError, parse_policy
from aigate.server.problems import ApiProblem

RULE = '[[rules]]\ngroups = {groups}\ntools = {tools}\napproval = "required"\nmax_duration = "{max}"\n'


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    return caught.value.problems


@pytest.mark.parametrize("key", ["groups", "tools"])
def test_an_empty_groups_or_tools_list_is_refused_with_its_line(key):
    fields = {"groups": '["*"]', "tools": '["*"]', "max": "8h"} | {key: "[]"}
    line = 2 if key == "groups" else 3
    assert problems(RULE.format(**fields)) == [
        f"line {line}: {key} = [] matches nothing, so the rule never applies: name at least one "
        '("*" matches all), or delete the rule']


def test_a_max_duration_above_366_days_is_refused_with_its_line():
    assert problems(RULE.format(groups='["*"]', tools='["*"]', max="99999d")) == [
        "line 5: max_duration 99999d is too long: at most 366d, the longest grant aigate makes"]


def test_a_token_ttl_above_24h_is_refused_and_above_1h_warned():
    (problem,) = problems('token_ttl = "100d"\n')
    assert problem.startswith("line 1: token_ttl 100d is too long: at most 1d (")
    (warning,) = parse_policy('token_ttl = "2h"\n').warnings
    assert warning.startswith("line 1: token_ttl 2h is above 1h: a revoked grant")
    assert parse_policy('token_ttl = "1h"\n').warnings == ()


def test_policy_check_prints_the_token_ttl_warning(tmp_path, cli):
    path = tmp_path / "p.toml"
    path.write_text('token_ttl = "2h"\n' + RULE.format(groups='["*"]', tools='["*"]', max="8h"))
    code, _, err = cli("policy", "check", str(path))
    assert code == 0 and f"{path}: warning: line 1: token_ttl 2h is above 1h" in err


def test_users_add_with_a_5000_character_address_echoes_a_bounded_part(home, cli):
    code, _, err = cli("users", "add", "a" * 5000 + "@corp.example", *home)
    assert code == 2 and "(5013 characters)" in err and len(err) < 600


def test_users_devices_lists_and_revoke_device_revokes_one(home, cli, tmp_path):
    from aigate.server import identity
    from aigate.server.preflight import open_engine
    from aigate.server.writer import write_now

    code, out, _ = cli("users", "add", "ann@corp.example", *home)
    _, engine = open_engine(tmp_path / "srv", None)
    device_id, credential, _ = write_now(engine, identity.enroll_job(out.strip().splitlines()[-1], "lap", "linux"))
    code, out, _ = cli("users", "devices", "ann@corp.example", *home)
    assert code == 0 and out.startswith(f"{device_id}\tactive\tenrolled ") and out.rstrip().endswith("lap\tlinux")
    code, out, _ = cli("users", "devices", "ann@corp.example", "--json", *home)
    assert code == 0 and [(d["id"], d["revoked_at"]) for d in json.loads(out)] == [(device_id, None)]
    code, out, _ = cli("users", "revoke-device", device_id, *home)
    assert code == 0
    assert out.strip() == f"device {device_id} of ann@corp.example revoked: its credential no longer works"
    with engine.connect() as conn, pytest.raises(ApiProblem) as caught:
        identity.authenticate(conn, credential)
    assert caught.value.status == 401
    code, _, err = cli("users", "revoke-device", "nosuchdevice", *home)
    assert code == 1 and "users devices EMAIL" in err
    code, _, err = cli("users", "devices", "bob@corp.example", *home)
    assert code == 1 and "no user bob@corp.example" in err


def test_a_corrupt_database_is_said_corrupt_not_uninitialised(tmp_path, cli):
    (tmp_path / "bad.db").write_bytes(b"this is not SQLite" * 100)
    code, _, err = cli("users", "list", "--data-dir", str(tmp_path / "x"), "--db", f"sqlite:///{tmp_path / 'bad.db'}")
    assert code == 78 and "bad.db is corrupt: " in err and "file is not a database" in err
    assert "restore it from your backup" in err and "run `aigate-server init`" not in err
