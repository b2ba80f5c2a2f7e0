"""Free text from clients: reasons and labels are refused when unreadable (control characters, line
and paragraph separators, bidi and invisible characters), NUL never reaches the database (PostgreSQL
would refuse it), and none of it is a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aigate.protocol import Paths, Role
from aigate.server.models import devices

BAD_REASONS = ["   ", "\n\t", "ok\x00", "bell\x07", "esc\x1b[31m", "del\x7f", "c1\x85",
               "rtl\u202e", "lre\u202a", "isolate\u2066", "pop\u2069", "line\u2028sep", "para\u2029sep",
               "zero\u200bwidth", "join\u200dner", "word\u2060joiner", "bom\ufeff", "soft\u00adhyphen",
               "filler\u3164", "\u200b\u200b"]


def _problem(answer, field):
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "invalid-request" and field in body["detail"]


@pytest.mark.parametrize("reason", BAD_REASONS)
def test_an_access_request_reason_with_control_bidi_or_only_whitespace_is_a_422_naming_reason(api, reason):
    headers = api.enroll("ann@corp.example")
    answer = api.client.post(Paths.ACCESS_REQUESTS, json={"tool": "claude", "reason": reason}, headers=headers)
    _problem(answer, "reason")


def test_a_reason_may_hold_newlines_and_tabs(api):
    headers = api.enroll("ann@corp.example")
    answer = api.client.post(Paths.ACCESS_REQUESTS, json={"tool": "claude", "reason": "line 1\n\tline 2"},
                             headers=headers)
    assert answer.status_code == 201 and answer.json()["reason"] == "line 1\n\tline 2"


@pytest.mark.parametrize("action", ["deny", "revoke"])
@pytest.mark.parametrize("reason", ["  ", "x\x00", "x\u202e"])
def test_a_deny_or_revoke_reason_with_control_bidi_or_only_whitespace_is_a_422_naming_reason(api, action, reason):
    ann = api.enroll("ann@corp.example")
    boss = api.enroll("boss@corp.example", role=Role.APPROVER)
    request_id = api.request(ann)["id"]
    if action == "revoke":
        assert api.approve(request_id, boss).status_code == 200
    path = (Paths.DENY if action == "deny" else Paths.REVOKE).format(id=request_id)
    _problem(api.client.post(path, json={"reason": reason}, headers=boss), "reason")


def test_a_nul_in_a_request_id_is_a_422_not_a_500(api):
    headers = api.enroll("ann@corp.example")
    answer = api.client.get(Paths.ACCESS_REQUEST.format(id="ab%00cd"), headers=headers)
    _problem(answer, "id")


def test_a_nul_in_the_tool_of_an_access_request_is_a_422_not_a_500(api):
    headers = api.enroll("ann@corp.example")
    answer = api.client.post(Paths.ACCESS_REQUESTS, json={"tool": "cla\x00ude", "reason": "x"}, headers=headers)
    _problem(answer, "tool")


def test_a_nul_in_the_tool_or_repository_of_a_token_request_is_not_a_500(api):
    headers = api.enroll("ann@corp.example", ["auto-team"])
    assert api.token(headers, tool="cla\x00ude").status_code in (403, 422)
    assert api.token(headers, repository="github.com/corp/x\x00y").status_code < 500


@pytest.mark.parametrize("field", ["session_id", "tool", "repository", "token_id"])
def test_a_nul_in_a_session_event_field_is_a_422_naming_it(api, field):
    headers = api.enroll("ann@corp.example")
    event = {"session_id": "s-1", "kind": "start", "tool": "claude", "at": "2026-11-29T16:00:00Z",
             field: "x\x00y"}
    _problem(api.client.post(Paths.SESSION_EVENTS, json=event, headers=headers), field)


@pytest.mark.parametrize("host", ["lap\x00top", "lap\u202etop", "lap\x1btop", "lap\ttop", "lap\u2028top",
                                  "lap\u200btop"])
def test_a_session_events_host_with_control_separator_or_invisible_characters_is_a_422(api, host):
    headers = api.enroll("ann@corp.example")
    event = {"session_id": "s-1", "kind": "start", "tool": "claude", "at": "2026-11-29T16:00:00Z", "host": host}
    _problem(api.client.post(Paths.SESSION_EVENTS, json=event, headers=headers), "host")


@pytest.mark.parametrize(("field", "value"), [("device_name", "lap\x00top\u2066"), ("platform", "lin\x07ux"),
                                              ("device_name", "lap\u2029top"), ("platform", "lin\u200dux")])
def test_an_enrolled_device_name_or_platform_with_such_characters_is_a_422(api, field, value):
    code = api.add_user("ann@corp.example")
    _problem(api.client.post(Paths.ENROLLMENTS, json={"code": code, field: value}), field)


def test_a_plain_device_name_and_platform_are_kept_as_given(api):
    code = api.add_user("ann@corp.example")
    answer = api.client.post(Paths.ENROLLMENTS, json={"code": code, "device_name": "Ann's laptop (ü)",
                                                      "platform": "Linux-6.1-x86_64"})
    assert answer.status_code == 201, answer.text
    with api.engine.connect() as conn:
        assert conn.execute(select(devices.c.name, devices.c.platform)).one() == ("Ann's laptop (ü)",
                                                                                  "Linux-6.1-x86_64")


def test_a_nul_in_an_enrollment_code_is_a_422_not_a_500(api):
    _problem(api.client.post(Paths.ENROLLMENTS, json={"code": "ABCD-\x00EFG"}), "code")


def test_a_short_enrollment_code_is_a_422_by_the_schema(api):
    _problem(api.client.post(Paths.ENROLLMENTS, json={"code": "ABCD"}), "code")
