"""HTTP hardening: problem details for every error, limits, health, OpenAPI, session events."""

from __future__ import annotations

import pytest

from aigate.protocol import MAX_BODY_BYTES, PROBLEM_CONTENT_TYPE, Paths
from aigate.server.writer import write_now


def test_an_unknown_path_is_a_404_problem(api):
    answer = api.client.get("/v1/nothing-here")
    assert answer.status_code == 404 and answer.headers["content-type"] == PROBLEM_CONTENT_TYPE


def test_a_wrong_method_is_a_405_problem(api):
    answer = api.client.put(Paths.JWKS)
    assert answer.status_code == 405 and answer.json()["status"] == 405


def test_malformed_json_is_a_400_problem(api):
    answer = api.client.post(Paths.ENROLLMENTS, content=b'{"code": ', headers={"content-type": "application/json"})
    assert answer.status_code == 400 and answer.json()["code"] == "invalid-request"


def test_a_wrong_type_is_a_422_problem_naming_the_field(api):
    answer = api.client.post(Paths.ENROLLMENTS, json={"code": 12345})
    assert answer.status_code == 422 and "code" in answer.json()["detail"]


def test_a_too_long_field_is_refused(api):
    answer = api.client.post(Paths.ACCESS_REQUESTS, json={"tool": "claude", "reason": "x" * 1001},
                             headers=api.enroll("ann@corp.example"))
    assert answer.status_code == 422


def test_a_body_above_the_limit_is_a_413_problem(api):
    answer = api.client.post(Paths.ENROLLMENTS, content=b"x" * (MAX_BODY_BYTES + 1),
                             headers={"content-type": "application/json"})
    assert answer.status_code == 413 and answer.json()["code"] == "payload-too-large"


def test_a_chunked_body_above_the_limit_is_a_413_problem(api):
    chunks = iter([b"x" * 40000, b"x" * 40000])
    answer = api.client.post(Paths.ENROLLMENTS, content=chunks, headers={"content-type": "application/json"})
    assert answer.status_code == 413


def test_a_json_array_instead_of_an_object_is_a_4xx(api):
    answer = api.client.post(Paths.APPROVAL_TOKENS, json=[1, 2], headers=api.enroll("ann@corp.example"))
    assert answer.status_code == 422


def test_a_failed_request_writes_nothing(api):
    headers = api.enroll("ann@corp.example")
    before = api.audit_actions()
    api.client.post(Paths.ACCESS_REQUESTS, json={"tool": "gemini", "reason": "x"}, headers=headers)
    assert api.audit_actions() == before


def test_livez_answers_200(api):
    assert api.client.get(Paths.LIVEZ).status_code == 200


def test_readyz_answers_200_on_a_current_database(api):
    assert api.client.get(Paths.READYZ).json() == {"status": "ready"}


def test_openapi_lists_every_api_path(api):
    paths = api.client.get(Paths.OPENAPI).json()["paths"]
    for path in (Paths.ENROLLMENTS, Paths.ME, Paths.ACCESS_REQUESTS, Paths.APPROVE, Paths.APPROVAL_TOKENS,
                 Paths.SESSION_EVENTS, Paths.JWKS):
        assert path in paths


def test_openapi_shows_the_field_limits_of_protocol_py(api):
    schemas = api.client.get(Paths.OPENAPI).json()["components"]["schemas"]
    assert schemas["AccessRequestCreate"]["properties"]["reason"]["maxLength"] == 1000


def _event(kind="start", session="s-1"):
    return {"session_id": session, "kind": kind, "tool": "claude", "at": "2026-11-29T16:00:00Z", "host": "lap"}


def test_a_session_event_is_recorded(api):
    answer = api.client.post(Paths.SESSION_EVENTS, json=_event(), headers=api.enroll("ann@corp.example"))
    assert answer.status_code == 200 and answer.json()["recorded"] is True


def test_a_resent_session_event_is_acknowledged_but_not_recorded_twice(api):
    headers = api.enroll("ann@corp.example")
    api.client.post(Paths.SESSION_EVENTS, json=_event(), headers=headers)
    again = api.client.post(Paths.SESSION_EVENTS, json=_event(), headers=headers)
    assert again.json()["recorded"] is False and api.audit_actions().count("session.start") == 1


def test_start_and_end_of_one_session_are_two_events(api):
    headers = api.enroll("ann@corp.example")
    api.client.post(Paths.SESSION_EVENTS, json=_event("start"), headers=headers)
    end = {**_event("end"), "exit_status": 0, "duration_ms": 1200}
    assert api.client.post(Paths.SESSION_EVENTS, json=end, headers=headers).json()["recorded"] is True


def test_a_session_event_needs_a_device_credential(api):
    assert api.client.post(Paths.SESSION_EVENTS, json=_event()).status_code == 401


def test_an_unexpected_error_is_a_500_problem_without_internals(api, monkeypatch):
    headers = api.enroll("ann@corp.example")

    def broken(*args):
        raise RuntimeError("secret internal state")

    monkeypatch.setattr(type(api.client.app.state.services.policy), "resolve", broken)
    answer = api.client.get(Paths.ME, headers=headers)
    assert answer.status_code == 500 and "secret" not in answer.text and answer.json()["code"] == "internal"


def test_a_database_error_on_the_token_path_is_a_503_problem(api, monkeypatch):
    import sqlite3

    from aigate.server import tokens

    headers = api.enroll("ann@corp.example")

    def down(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(tokens.IssueJob, "__call__", down)
    monkeypatch.setattr(tokens.IssueJob, "prefetch", staticmethod(lambda *a: None))
    answer = api.token(headers)
    assert answer.status_code == 503 and answer.json()["code"] == "unavailable"


def _disable(api, email):
    from aigate.server.identity import set_disabled_job

    write_now(api.engine, set_disabled_job(email, True, "test"))


def test_a_disabled_users_device_may_still_report_its_session_events(api):
    headers = api.enroll("ann@corp.example")
    _disable(api, "ann@corp.example")
    answer = api.client.post(Paths.SESSION_EVENTS, json=_event(), headers=headers)
    assert answer.status_code == 200 and answer.json()["recorded"] is True


def test_a_session_event_of_a_disabled_user_says_so_in_its_audit_event(api):
    import json as _json

    from sqlalchemy import select

    from aigate.server.models import audit_events

    headers = api.enroll("ann@corp.example")
    _disable(api, "ann@corp.example")
    api.client.post(Paths.SESSION_EVENTS, json=_event(), headers=headers)
    with api.engine.connect() as conn:
        data = conn.execute(select(audit_events.c.data).where(audit_events.c.action == "session.start")).scalar()
    assert _json.loads(data)["user_disabled"] is True


def test_a_disabled_user_still_gets_no_approval_token(api):
    headers = api.enroll("ann@corp.example")
    _disable(api, "ann@corp.example")
    assert api.token(headers).status_code == 403


def test_a_logged_out_device_cannot_report_session_events(api):
    headers = api.enroll("ann@corp.example")
    assert api.client.delete(Paths.CURRENT_DEVICE, headers=headers).status_code == 204
    assert api.client.post(Paths.SESSION_EVENTS, json=_event(), headers=headers).status_code == 401


def _issued_token_id(api, headers):
    import jwt

    answer = api.token(headers)
    assert answer.status_code == 201, answer.text
    return jwt.decode(answer.json()["token"], options={"verify_signature": False})["jti"]


def test_a_session_event_with_the_jti_of_the_users_own_token_is_recorded(api):
    headers = api.enroll("ann@corp.example", ["auto-team"])
    event = {**_event(), "token_id": _issued_token_id(api, headers)}
    assert api.client.post(Paths.SESSION_EVENTS, json=event, headers=headers).status_code == 200


def _refused(api, answer):
    """The answer is an acknowledgement naming why the event was refused; the event is on record."""
    assert answer.status_code == 200, answer.text
    ack = answer.json()
    assert ack["recorded"] is False and ack["refused"]
    data = _session_audit_data(api, "session.refused")
    assert data["why"] == ack["refused"]
    return ack["refused"]


def test_a_session_start_with_an_unknown_token_id_is_refused_and_on_record(api):
    headers = api.enroll("ann@corp.example")
    answer = api.client.post(Paths.SESSION_EVENTS, json={**_event(), "token_id": "invented"}, headers=headers)
    assert "token_id" in _refused(api, answer)


def test_a_session_event_with_another_users_token_id_is_refused_and_on_record(api):
    ann = api.enroll("ann@corp.example", ["auto-team"])
    bob = api.enroll("bob@corp.example")
    event = {**_event(), "token_id": _issued_token_id(api, ann)}
    assert "token_id" in _refused(api, api.client.post(Paths.SESSION_EVENTS, json=event, headers=bob))


@pytest.mark.parametrize("at", ["2019-12-31T23:59:59Z", "1970-01-01T00:00:00Z"])
def test_a_session_event_before_2020_is_refused_and_on_record(api, at):
    headers = api.enroll("ann@corp.example")
    answer = api.client.post(Paths.SESSION_EVENTS, json={**_event(), "at": at}, headers=headers)
    assert "at:" in _refused(api, answer)


def test_a_session_event_more_than_a_day_ahead_is_refused_and_on_record(api):
    from datetime import UTC, datetime, timedelta

    ahead = (datetime.now(UTC) + timedelta(days=1, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = api.enroll("ann@corp.example")
    _refused(api, api.client.post(Paths.SESSION_EVENTS, json={**_event(), "at": ahead}, headers=headers))


def test_a_refused_session_event_shows_in_audit_export(api, cli):
    headers = api.enroll("ann@corp.example")
    api.client.post(Paths.SESSION_EVENTS, json={**_event(), "token_id": "invented"}, headers=headers)
    code, out, _ = cli("audit", "export", "--data-dir", str(api.settings.data_dir), "--db", api.settings.db_url)
    assert code == 0
    refused = [line for line in out.splitlines() if '"session.refused"' in line]
    assert len(refused) == 1 and "invented" in refused[0]


def _session_audit_data(api, action):
    import json as _json

    from sqlalchemy import select

    from aigate.server.models import audit_events

    with api.engine.connect() as conn:
        return _json.loads(conn.execute(select(audit_events.c.data).where(audit_events.c.action == action)).scalar())


def test_an_end_without_a_recorded_start_is_recorded_but_flagged(api):
    headers = api.enroll("ann@corp.example")
    end = {**_event("end"), "exit_status": 0, "duration_ms": 5}
    assert api.client.post(Paths.SESSION_EVENTS, json=end, headers=headers).json()["recorded"] is True
    assert _session_audit_data(api, "session.end")["start_recorded"] is False


def test_an_end_matching_its_start_is_not_flagged(api):
    headers = api.enroll("ann@corp.example")
    api.client.post(Paths.SESSION_EVENTS, json=_event("start"), headers=headers)
    api.client.post(Paths.SESSION_EVENTS, json={**_event("end"), "exit_status": 0}, headers=headers)
    assert "start_recorded" not in _session_audit_data(api, "session.end")


def test_an_end_for_another_users_start_is_flagged(api):
    ann = api.enroll("ann@corp.example")
    bob = api.enroll("bob@corp.example")
    api.client.post(Paths.SESSION_EVENTS, json=_event("start"), headers=ann)
    api.client.post(Paths.SESSION_EVENTS, json={**_event("end"), "exit_status": 0}, headers=bob)
    assert _session_audit_data(api, "session.end")["start_recorded"] is False
