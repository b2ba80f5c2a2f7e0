"""Bounds on the paths anyone may call: enrollment-code guessing gets 429 with Retry-After after a
burst of failures from one address, and failed attempts are on record, aggregated per sweep."""

from __future__ import annotations

import json

from sqlalchemy import select

from aigate.protocol import Paths
from aigate.server import ratelimit
from aigate.server.app import sweep_once
from aigate.server.models import audit_events


def guess(api, code="AAAA-BBBB-CCCC"):
    return api.client.post(Paths.ENROLLMENTS, json={"code": code})


def recorded(api, action):
    with api.engine.connect() as conn:
        return [json.loads(d) | {"subject": s} for s, d in conn.execute(
            select(audit_events.c.subject, audit_events.c.data).where(audit_events.c.action == action))]


def sweep(api):
    """One sweep, on the app's own event loop (its writer answers there)."""
    api.client.portal.call(sweep_once, api.client.app.state.services)


def test_a_burst_of_failed_enrollments_gets_429_with_retry_after(api):
    statuses = [guess(api).status_code for _ in range(ratelimit.FAILURE_BURST)]
    assert statuses == [400] * ratelimit.FAILURE_BURST
    refused = guess(api)
    assert refused.status_code == 429 and refused.json()["code"] == "rate-limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= ratelimit.FAILURE_REFILL_SECONDS


def test_while_limited_even_a_good_code_waits_then_works_after_retry_after(api):
    for _ in range(ratelimit.FAILURE_BURST):
        guess(api)
    code = api.add_user("ann@corp.example")
    assert guess(api, code).status_code == 429
    api.clock.advance(ratelimit.FAILURE_REFILL_SECONDS)
    assert guess(api, code).status_code == 201


def test_failed_enrollments_are_one_aggregated_audit_event_per_address(api):
    for _ in range(ratelimit.FAILURE_BURST + 5):
        guess(api)
    sweep(api)
    events = recorded(api, "enrollment.failed")  # one per sweep (the app's own sweeper may have run too)
    assert {e["subject"] for e in events} == {"testclient"} and len(events) <= 2
    assert (sum(e["failures"] for e in events), sum(e["refused"] for e in events)) == (ratelimit.FAILURE_BURST, 5)


def test_unknown_credentials_are_counted_on_record_too(api):
    for _ in range(3):
        assert api.client.get(Paths.ME, headers={"Authorization": "Bearer agd_0000000000000000_x"}).status_code == 401
    sweep(api)
    assert sum(e["failures"] for e in recorded(api, "authentication.failed")) == 3


def test_unauthenticated_paths_have_a_request_rate_bound(api):
    api.client.app.state.services.limits.clock = lambda: 1000.0  # no refill while the test runs
    statuses = [api.client.get(Paths.LIVEZ).status_code for _ in range(ratelimit.REQUEST_BURST + 5)]
    assert statuses[:ratelimit.REQUEST_BURST] == [200] * ratelimit.REQUEST_BURST
    assert statuses[ratelimit.REQUEST_BURST:] == [429] * 5
