"""Access requests over the HTTP API: the state machine, reviewers, conflicts, expiry."""

from __future__ import annotations

import threading

from aigate.protocol import Paths, Role


def reviewer(api):
    return api.devices.get("boss@corp.example") or api.enroll("boss@corp.example", role=Role.APPROVER)


def test_a_request_under_a_required_rule_is_pending(api):
    created = api.request(api.enroll("ann@corp.example"))
    assert created["state"] == "pending" and created["automatic"] is False


def test_a_request_without_duration_asks_for_the_rules_maximum(api):
    created = api.request(api.enroll("ann@corp.example"))
    assert created["requested_seconds"] == 8 * 3600 and created["duration_capped"] is False


def test_a_request_above_the_maximum_is_capped_and_says_so(api):
    created = api.request(api.enroll("ann@corp.example"), duration_seconds=24 * 3600)
    assert created["requested_seconds"] == 8 * 3600 and created["duration_capped"] is True


def test_a_request_under_an_auto_rule_is_approved_at_once(api):
    created = api.request(api.enroll("ann@corp.example", ["auto-team"]))
    assert created["state"] == "approved" and created["automatic"] and created["decided_by"] == "policy"


def test_a_request_under_a_deny_rule_is_refused(api):
    answer = api.client.post(Paths.ACCESS_REQUESTS, json={"tool": "claude", "reason": "x"},
                             headers=api.enroll("ann@corp.example", ["banned"]))
    assert answer.status_code == 403 and answer.json()["code"] == "denied-by-policy"


def test_a_request_for_an_unknown_tool_is_422_unknown_tool(api):
    answer = api.client.post(Paths.ACCESS_REQUESTS, json={"tool": "gemini", "reason": "x"},
                             headers=api.enroll("ann@corp.example"))
    assert answer.status_code == 422 and answer.json()["code"] == "unknown-tool"


def test_a_request_without_reason_is_refused(api):
    answer = api.client.post(Paths.ACCESS_REQUESTS, json={"tool": "claude", "reason": ""},
                             headers=api.enroll("ann@corp.example"))
    assert answer.status_code == 422 and answer.json()["code"] == "invalid-request"


def test_an_approver_approves_a_pending_request(api):
    created = api.request(api.enroll("ann@corp.example"))
    answer = api.approve(created["id"], reviewer(api))
    assert answer.json()["state"] == "approved" and answer.json()["decided_by"] == "boss@corp.example"


def test_an_approval_may_shorten_the_grant(api):
    created = api.request(api.enroll("ann@corp.example"))
    answer = api.approve(created["id"], reviewer(api), duration_seconds=600)
    assert answer.json()["granted_seconds"] == 600


def test_an_approval_never_exceeds_the_rules_maximum(api):
    created = api.request(api.enroll("ann@corp.example"))
    answer = api.approve(created["id"], reviewer(api), duration_seconds=30 * 86400)
    assert answer.json()["granted_seconds"] == 8 * 3600


def test_a_user_cannot_review(api):
    created = api.request(api.enroll("ann@corp.example"))
    answer = api.approve(created["id"], api.enroll("bob@corp.example"))
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"


def test_an_approver_cannot_approve_their_own_request(api):
    boss = reviewer(api)
    created = api.request(boss)
    answer = api.approve(created["id"], boss)
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"


def test_approving_a_decided_request_is_a_conflict(api):
    created = api.request(api.enroll("ann@corp.example"))
    api.approve(created["id"], reviewer(api))
    again = api.approve(created["id"], api.enroll("chief@corp.example", role=Role.ADMIN))
    assert again.status_code == 409 and again.json()["code"] == "conflict"


def test_of_two_simultaneous_approvals_exactly_one_wins(api):
    created = api.request(api.enroll("ann@corp.example"))
    first, second = reviewer(api), api.enroll("chief@corp.example", role=Role.ADMIN)
    barrier, statuses = threading.Barrier(2), []

    def approve(headers):
        barrier.wait()
        statuses.append(api.approve(created["id"], headers).status_code)

    threads = [threading.Thread(target=approve, args=(h,)) for h in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]


def test_a_denial_needs_a_reason_and_records_it(api):
    created = api.request(api.enroll("ann@corp.example"))
    answer = api.client.post(Paths.DENY.format(id=created["id"]), json={"reason": "not now"}, headers=reviewer(api))
    assert answer.json()["state"] == "denied" and answer.json()["decision_reason"] == "not now"


def test_the_requester_can_cancel_a_pending_request(api):
    ann = api.enroll("ann@corp.example")
    created = api.request(ann)
    answer = api.client.post(Paths.CANCEL.format(id=created["id"]), headers=ann)
    assert answer.json()["state"] == "cancelled"


def test_someone_else_cannot_cancel_a_request(api):
    created = api.request(api.enroll("ann@corp.example"))
    answer = api.client.post(Paths.CANCEL.format(id=created["id"]), headers=api.enroll("bob@corp.example"))
    assert answer.status_code == 404


def test_an_approved_grant_can_be_revoked(api):
    created = api.request(api.enroll("ann@corp.example"))
    api.approve(created["id"], reviewer(api))
    answer = api.client.post(Paths.REVOKE.format(id=created["id"]), json={"reason": "left"}, headers=reviewer(api))
    assert answer.json()["state"] == "revoked"


def test_a_pending_request_cannot_be_revoked(api):
    created = api.request(api.enroll("ann@corp.example"))
    answer = api.client.post(Paths.REVOKE.format(id=created["id"]), json={"reason": "x"}, headers=reviewer(api))
    assert answer.status_code == 409


def test_an_unreviewed_request_expires(api):
    ann = api.enroll("ann@corp.example")
    created = api.request(ann)
    api.clock.advance(3601)
    assert api.client.get(Paths.ACCESS_REQUEST.format(id=created["id"]), headers=ann).json()["state"] == "expired"


def test_an_expired_request_cannot_be_approved(api):
    created = api.request(api.enroll("ann@corp.example"))
    api.clock.advance(3601)
    assert api.approve(created["id"], reviewer(api)).status_code == 409


def test_a_grant_ends_when_its_time_is_up(api):
    ann = api.enroll("ann@corp.example")
    created = api.request(ann)
    api.approve(created["id"], reviewer(api), duration_seconds=60)
    api.clock.advance(61)
    assert api.client.get(Paths.ACCESS_REQUEST.format(id=created["id"]), headers=ann).json()["state"] == "ended"


def test_the_sweeper_records_expiry_in_the_audit_log(api):
    from aigate.server.access import sweep_job
    from aigate.server.writer import write_now

    api.request(api.enroll("ann@corp.example"))
    api.clock.advance(3601)
    write_now(api.engine, sweep_job, api.clock)
    assert "access_request.expired" in api.audit_actions()


def test_a_user_lists_only_their_own_requests(api):
    ann, bob = api.enroll("ann@corp.example"), api.enroll("bob@corp.example")
    api.request(ann)
    api.request(bob)
    items = api.client.get(Paths.ACCESS_REQUESTS, headers=ann).json()["items"]
    assert [i["requester"] for i in items] == ["ann@corp.example"]


def test_a_reviewer_lists_everyones_pending_requests(api):
    api.request(api.enroll("ann@corp.example"))
    api.request(api.enroll("bob@corp.example"))
    answer = api.client.get(Paths.ACCESS_REQUESTS, params={"scope": "all", "state": "pending"}, headers=reviewer(api))
    assert len(answer.json()["items"]) == 2


def test_a_user_cannot_list_everyones_requests(api):
    answer = api.client.get(Paths.ACCESS_REQUESTS, params={"scope": "all"}, headers=api.enroll("ann@corp.example"))
    assert answer.status_code == 403


def test_every_transition_is_an_audit_event(api):
    created = api.request(api.enroll("ann@corp.example"))
    api.approve(created["id"], reviewer(api))
    actions = api.audit_actions()
    assert "access_request.created" in actions and "access_request.approved" in actions


def test_an_approval_above_the_rules_maximum_says_it_was_capped(api):
    created = api.request(api.enroll("ann@corp.example"))
    answer = api.approve(created["id"], reviewer(api), duration_seconds=99 * 3600)
    assert answer.json()["approval_capped"] is True and answer.json()["max_duration_seconds"] == 8 * 3600


def test_an_approval_within_the_rules_maximum_is_not_capped(api):
    created = api.request(api.enroll("ann@corp.example"))
    assert api.approve(created["id"], reviewer(api), duration_seconds=3600).json()["approval_capped"] is False


def test_an_approval_without_duration_is_not_capped(api):
    created = api.request(api.enroll("ann@corp.example"))
    assert api.approve(created["id"], reviewer(api)).json()["approval_capped"] is False


def test_a_second_pending_request_for_the_same_tool_is_a_409_naming_the_first(api):
    headers = api.enroll("ann@corp.example")
    first = api.request(headers)
    answer = api.client.post(Paths.ACCESS_REQUESTS, json={"tool": "claude", "reason": "again"}, headers=headers)
    assert answer.status_code == 409 and answer.json()["code"] == "conflict" and first["id"] in answer.json()["detail"]


def test_a_pending_request_for_another_tool_is_allowed(api):
    headers = api.enroll("ann@corp.example")
    api.request(headers, "claude")
    assert api.request(headers, "codex")["state"] == "pending"


def test_another_user_may_have_a_pending_request_for_the_same_tool(api):
    api.request(api.enroll("ann@corp.example"))
    assert api.request(api.enroll("bob@corp.example"))["state"] == "pending"


def test_a_new_request_is_allowed_once_the_pending_one_was_cancelled(api):
    headers = api.enroll("ann@corp.example")
    first = api.request(headers)
    api.client.post(Paths.CANCEL.format(id=first["id"]), headers=headers)
    assert api.request(headers)["state"] == "pending"


def test_a_new_request_is_allowed_once_the_pending_one_expired_unreviewed(api):
    headers = api.enroll("ann@corp.example")
    api.request(headers)
    api.clock.advance(2 * 3600)  # review_ttl of the test policy: 1h
    assert api.request(headers)["state"] == "pending"
