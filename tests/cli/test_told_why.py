"""People are told why: requests show the decision and its reason, status says a grant was revoked
(when, by whom, why), and `admin requests` shows every reason whole at any terminal width."""

from __future__ import annotations

import json

import pytest

REASON = "refactor the billing module before the audit in December, with the new ledger types"


@pytest.fixture
def decided(cli, logged_in, server):
    """r1 revoked ("project ended"), r2 denied ("use the sandbox"), r3 pending, all by the fake boss."""
    for tool in ("claude", "codex", "claude"):
        cli("request", tool, "--reason", REASON)
    cli("admin", "approve", "r1")
    cli("admin", "revoke", "r1", "--reason", "project ended")
    cli("admin", "deny", "r2", "--reason", "use the sandbox")
    return server


def test_requests_show_the_decision_who_when_and_why(cli, decided, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")

    out = cli("requests")[1]

    (r1,) = [line for line in out.splitlines() if line.startswith("r1 ")]
    assert "revoked 2026-11-30T20:00:00Z by boss@corp.example: project ended" in r1
    (r2,) = [line for line in out.splitlines() if line.startswith("r2 ")]
    assert "denied 2026-11-30T20:00:00Z by boss@corp.example: use the sandbox" in r2
    assert out.splitlines()[0].split() == ["id", "tool", "requester", "state", "asked", "until", "reason", "decision"]


@pytest.mark.parametrize("columns", [60, 80])
def test_admin_requests_on_a_narrow_terminal_shows_every_reason_whole_in_blocks(cli, decided, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))

    out = cli("admin", "requests")[1]

    lines = out.splitlines()
    assert all(len(line) <= columns for line in lines)
    heads = [line for line in lines if not line.startswith(" ")]
    assert [h.split()[0] for h in heads] == ["r1", "r2", "r3"]
    assert heads[0].split()[1:4] == ["claude", "ann@corp.example", "revoked"]
    text = " ".join(line.strip() for line in lines)
    assert text.count(REASON) == 3  # each reason whole: wrapped at spaces, never cut
    assert "revoked 2026-11-30T20:00:00Z by boss@corp.example: project ended" in text


def test_admin_requests_json_is_unchanged_by_the_width(cli, decided, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    narrow = json.loads(cli("admin", "requests", "--json")[1])
    monkeypatch.setenv("COLUMNS", "250")
    wide = json.loads(cli("admin", "requests", "--json")[1])

    assert narrow == wide and [r["id"] for r in wide] == ["r1", "r2", "r3"]
    assert wide[0]["decision_reason"] == "project ended" and wide[0]["reason"] == REASON


def test_status_says_a_grant_was_revoked_when_by_whom_and_why(cli, decided):
    revoked = {**decided.requests["r1"], "requester": "ann@corp.example"}
    decided.me_tools = [{"tool": "claude", "approval": "required", "key_scope": "anthropic",
                         "max_duration_seconds": 28800, "grant": None, "latest_request": revoked}]

    code, out, _ = cli("status")

    assert code == 0
    assert ("claude: no grant; request r1 revoked 2026-11-30T20:00:00Z by boss@corp.example: project ended"
            in out.splitlines())
    report = json.loads(cli("status", "--json")[1])
    assert report["tools"][0]["latest_request"]["decision_reason"] == "project ended"


def test_aigate_server_naming_another_server_than_the_enrolled_one_says_so(cli, logged_in, monkeypatch):
    monkeypatch.setenv("AIGATE_SERVER", "https://other.test")

    code, _, err = cli("requests")

    assert code == 78
    assert ("aigate: this device is enrolled with https://aigate.test, not with the server in use, "
            "https://other.test (chosen by AIGATE_SERVER)") in err.splitlines()
    assert "aigate: to fix: unset AIGATE_SERVER to use https://aigate.test" in err.splitlines()
    assert "chosen by AIGATE_SERVER" in json.loads(cli("status", "--json")[1])["problem"]


def test_a_sole_approver_filing_a_request_is_told_someone_else_must_approve_it(cli, logged_in, server):
    server.other_reviewers = 0

    code, _, err = cli("request", "claude", "--reason", "try it")

    assert code == 0
    assert "Someone else must approve it, and nobody else can yet" in err
    assert "aigate-server users add EMAIL --role approver" in err


def test_a_requester_is_told_someone_other_than_them_approves(cli, logged_in):
    err = cli("request", "claude", "--reason", "try it")[2]

    assert "Someone other than you must approve it (an approver or admin); `aigate requests` shows its state." in err
