"""A refusal says why: the latest access request's fate (revoked or denied: when, by whom, why)."""

from __future__ import annotations

from dataclasses import replace

from aigate.protocol import Paths, Role
from aigate.server.roles import Roles


def boss(api):
    return api.devices.get("boss@corp.example") or api.enroll("boss@corp.example", role=Role.APPROVER)


def test_a_token_refused_after_a_revocation_says_when_by_whom_and_why(api):
    ann = api.enroll("ann@corp.example")
    request_id = api.request(ann)["id"]
    api.approve(request_id, boss(api))
    api.client.post(Paths.REVOKE.format(id=request_id), json={"reason": "project ended"}, headers=boss(api))

    detail = api.token(ann).json()["detail"]

    assert detail.startswith(f"the grant for claude (request {request_id}) was revoked at 20")
    assert detail.endswith("by boss@corp.example: project ended")


def test_a_token_refused_after_a_denial_says_when_by_whom_and_why(api):
    ann = api.enroll("ann@corp.example")
    request_id = api.request(ann)["id"]
    api.client.post(Paths.DENY.format(id=request_id), json={"reason": "use the sandbox"}, headers=boss(api))

    detail = api.token(ann).json()["detail"]

    assert detail.startswith(f"request {request_id} for claude was denied at 20")
    assert detail.endswith("by boss@corp.example: use the sandbox")


def test_a_token_refused_while_the_request_is_pending_says_it_is_pending(api):
    ann = api.enroll("ann@corp.example")
    request_id = api.request(ann)["id"]

    assert api.token(ann).json()["detail"] == f"request {request_id} for claude is pending: no approver has decided yet"


def test_a_token_refused_without_any_request_says_none_was_asked_for_and_no_fix_line(api):
    detail = api.token(api.enroll("ann@corp.example")).json()["detail"]

    assert detail == "no active grant for claude: you have not asked for one"


def test_me_shows_the_latest_request_of_a_tool_without_a_grant(api):
    ann = api.enroll("ann@corp.example")
    request_id = api.request(ann)["id"]
    api.client.post(Paths.DENY.format(id=request_id), json={"reason": "use the sandbox"}, headers=boss(api))

    tools = {t["tool"]: t for t in api.client.get(Paths.ME, headers=ann).json()["tools"]}

    assert tools["claude"]["grant"] is None
    latest = tools["claude"]["latest_request"]
    assert (latest["id"], latest["state"], latest["decided_by"], latest["decision_reason"]) == (
        request_id, "denied", "boss@corp.example", "use the sandbox")
    assert tools["codex"]["latest_request"] is None


def test_a_sole_approvers_request_says_nobody_else_can_review_it(api):
    created = api.request(boss(api))

    assert created["state"] == "pending" and created["other_reviewers"] == 0


def test_a_request_says_how_many_others_could_review_it(api):
    boss(api)
    api.enroll("chief@corp.example", role=Role.ADMIN)

    assert api.request(api.enroll("ann@corp.example"))["other_reviewers"] == 2


def test_an_automatic_grant_has_no_reviewer_count(api):
    assert api.request(api.enroll("ann@corp.example", ["auto-team"]))["other_reviewers"] is None


def test_approvers_by_group_in_the_policys_roles_count_as_reviewers(api):
    api.enroll("lead@corp.example", ["eng-leads"])  # a plain user by role, an approver by group
    services = api.client.app.state.services
    services.policy = replace(services.policy, roles=Roles(approvers=("eng-leads",)))

    assert api.request(api.enroll("ann@corp.example"))["other_reviewers"] == 1
