"""Access requests and grants: the state machine of the access flow.

    pending -> approved | denied | expired | cancelled        approved -> revoked | ended

Every transition is a guarded ``UPDATE ... WHERE state = <expected>``: of two reviewers acting at the
same moment exactly one changes the row; the other sees 0 rows and gets 409 conflict. Time-driven
transitions (a pending request past ``review_expires_at`` is expired, a grant past ``expires_at`` has
ended) hold at once for every reader (:func:`effective_state`) and are written, with their audit
events, by the sweeper (:func:`sweep_job`). A grant is an approved request that has not ended; it
belongs to the user, so all of the user's devices can use it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, insert, select, update

from aigate.protocol import AccessRequest, ApprovalMode, ProblemCode, RequestState
from aigate.server.audit import AuditEvent
from aigate.server.db import Prepared
from aigate.server.identity import Caller
from aigate.server.models import access_requests, users
from aigate.server.policy import Verdict
from aigate.server.problems import ApiProblem
from aigate.server.writer import Job

PENDING, APPROVED = RequestState.PENDING.value, RequestState.APPROVED.value
SWEEP_LIMIT = 500

_WITH_EMAIL = select(access_requests, users.c.email).join(users, users.c.id == access_requests.c.user_id)


def _time(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def effective_state(row: Any, now: float) -> RequestState:
    """The state as of ``now``, counting time-driven transitions the sweeper has not written yet."""
    if row["state"] == PENDING and row["review_expires_at"] is not None and row["review_expires_at"] <= now:
        return RequestState.EXPIRED
    if row["state"] == APPROVED and row["expires_at"] is not None and row["expires_at"] <= now:
        return RequestState.ENDED
    return RequestState(row["state"])


def to_wire(row: Any, now: float) -> AccessRequest:
    """A stored access request (joined with its requester's ``email``) as the wire shape."""
    return AccessRequest(
        id=row["id"], tool=row["tool"], requester=row["email"], reason=row["reason"],
        state=effective_state(row, now), key_scope=row["key_scope"],
        requested_seconds=row["requested_seconds"], duration_capped=bool(row["duration_capped"]),
        max_duration_seconds=row["max_duration_seconds"], automatic=bool(row["automatic"]),
        created_at=_moment(row["created_at"]), review_expires_at=_time(row["review_expires_at"]),
        decided_at=_time(row["decided_at"]), decided_by=row["decided_by"],
        decision_reason=row["decision_reason"], granted_seconds=row["granted_seconds"],
        expires_at=_time(row["expires_at"]),
    )


def _fetch(conn: Connection, request_id: str) -> Any:
    return conn.execute(_WITH_EMAIL.where(access_requests.c.id == request_id)).mappings().first()


def load(conn: Connection, request_id: str, now: float) -> AccessRequest | None:
    """One request as the wire shape, for anyone (callers check who may see it), or None."""
    row = _fetch(conn, request_id)
    return None if row is None else to_wire(row, now)


def not_found(request_id: str) -> ApiProblem:
    """The 404 not-found problem for ``request_id``."""
    return ApiProblem(404, ProblemCode.NOT_FOUND, f"no access request {request_id!r}")


_PENDING_OF = Prepared(
    select(access_requests.c.id)
    .where(access_requests.c.user_id == bindparam("user_id"), access_requests.c.tool == bindparam("tool"),
           access_requests.c.state == PENDING, access_requests.c.review_expires_at > bindparam("now"))
    .limit(1)
)


def create_job(caller: Caller, verdict: Verdict, reason: str, duration: int | None,
               review_ttl: int) -> Job[AccessRequest]:
    """Job: file an access request under ``verdict`` (auto or required; deny is refused earlier).

    Without ``duration`` the rule's maximum is asked for; above it, capped and marked so. A second
    pending request of the same user for the same tool is refused, 409 conflict naming the first.
    """

    def job(conn: Connection, now: float) -> tuple[AccessRequest, list[AuditEvent]]:
        if verdict.approval != ApprovalMode.AUTO:
            existing = _PENDING_OF.first(conn, {"user_id": caller.user_id, "tool": verdict.tool, "now": int(now)})
            if existing is not None:
                raise ApiProblem(409, ProblemCode.CONFLICT,
                                 f"you already have a pending request {existing[0]} for {verdict.tool}; wait for "
                                 f"its review, or withdraw it with `aigate requests cancel {existing[0]}`")
        values = new_request_values(caller, verdict, reason, duration, now, review_ttl)
        conn.execute(insert(access_requests).values(**values))
        events = [AuditEvent(caller.email, "access_request.created", values["id"],
                             {"tool": verdict.tool, "reason": reason, "seconds": values["requested_seconds"]},
                             caller.device_id)]
        if values["automatic"]:
            events.append(_granted_event(caller, values))
        return to_wire(_fetch(conn, values["id"]), now), events

    return job


def new_request_values(caller: Caller, verdict: Verdict, reason: str, duration: int | None, now: float,
                       review_ttl: int) -> dict[str, Any]:
    """The ``access_requests`` row of a new request: the duration asked (``None``: the rule's maximum) capped at
    the maximum, seconds throughout; under an ``auto`` rule it is approved at once."""
    maximum = verdict.max_duration
    requested = min(duration or maximum, maximum)
    values = {"id": secrets.token_hex(8), "user_id": caller.user_id, "tool": verdict.tool, "reason": reason,
              "state": PENDING, "key_scope": verdict.key_scope, "requested_seconds": requested,
              "duration_capped": duration is not None and duration > maximum,
              "max_duration_seconds": maximum, "automatic": False, "created_at": int(now),
              "review_expires_at": int(now) + review_ttl}
    if verdict.approval == ApprovalMode.AUTO:
        values.update(state=APPROVED, automatic=True, review_expires_at=None, decided_at=int(now),
                      decided_by="policy", granted_seconds=requested, expires_at=int(now) + requested)
    return values


def _granted_event(caller: Caller, values: dict[str, Any]) -> AuditEvent:
    return AuditEvent("policy", "access_request.approved", values["id"],
                      {"tool": values["tool"], "seconds": values["granted_seconds"], "automatic": True,
                       "requester": caller.email}, caller.device_id)


def review_job(caller: Caller, request_id: str, action: str, *, reason: str | None = None,
               duration: int | None = None) -> Job[AccessRequest]:
    """Job: ``approve`` or ``deny`` a pending request, or ``revoke`` an approved one.

    Errors: 404 no such request; 403 forbidden for a non-reviewer or the requester themself;
    409 conflict when the request is no longer in the state the action needs.
    """

    def job(conn: Connection, now: float) -> tuple[AccessRequest, list[AuditEvent]]:
        row = _fetch(conn, request_id)
        if row is None:
            raise not_found(request_id)
        if row["user_id"] == caller.user_id:
            raise ApiProblem(403, ProblemCode.FORBIDDEN, "nobody reviews their own access request")
        changes, expected = _transition(row, action, reason, duration, caller, now)
        guard = [access_requests.c.id == request_id, access_requests.c.state == expected]
        if expected == PENDING:
            guard.append(access_requests.c.review_expires_at > now)
        else:
            guard.append(access_requests.c.expires_at > now)
        if conn.execute(update(access_requests).where(*guard).values(**changes)).rowcount != 1:
            raise _conflict(request_id, effective_state(_fetch(conn, request_id), now), action)
        data = {"tool": row["tool"], "requester": row["email"], "reason": reason,
                "seconds": changes.get("granted_seconds")}
        capped = action == "approve" and duration is not None and duration > row["max_duration_seconds"]
        if capped:
            data["capped"] = True
        event = AuditEvent(caller.email, f"access_request.{changes['state']}", request_id, data, caller.device_id)
        answer = to_wire(_fetch(conn, request_id), now)
        answer.approval_capped = capped  # the approver asked for more than the rule's maximum
        return answer, [event]

    return job


def _transition(row: Any, action: str, reason: str | None, duration: int | None, caller: Caller,
                now: float) -> tuple[dict[str, Any], str]:
    """The column changes of ``action`` and the state it requires."""
    decided = {"decided_at": int(now), "decided_by": caller.email}
    if action == "approve":
        granted = min(duration or row["requested_seconds"], row["max_duration_seconds"])
        return {**decided, "state": APPROVED, "granted_seconds": granted,
                "expires_at": int(now) + granted}, PENDING
    if action == "deny":
        return {**decided, "state": RequestState.DENIED.value, "decision_reason": reason}, PENDING
    return {**decided, "state": RequestState.REVOKED.value, "decision_reason": reason}, APPROVED


def _conflict(request_id: str, state: RequestState, action: str) -> ApiProblem:
    return ApiProblem(409, ProblemCode.CONFLICT,
                      f"access request {request_id} is {state.value}; it cannot be {_past(action)} now")


def _past(action: str) -> str:
    return {"approve": "approved", "deny": "denied", "revoke": "revoked", "cancel": "cancelled"}[action]


def cancel_job(caller: Caller, request_id: str) -> Job[AccessRequest]:
    """Job: the requester withdraws a pending request. 404 unknown (or someone else's), 409 not pending."""

    def job(conn: Connection, now: float) -> tuple[AccessRequest, list[AuditEvent]]:
        row = _fetch(conn, request_id)
        if row is None or row["user_id"] != caller.user_id:
            raise not_found(request_id)
        result = conn.execute(update(access_requests).where(
            access_requests.c.id == request_id, access_requests.c.state == PENDING,
            access_requests.c.review_expires_at > now).values(state=RequestState.CANCELLED.value,
                                                              decided_at=int(now), decided_by=caller.email))
        if result.rowcount != 1:
            raise _conflict(request_id, effective_state(row, now), "cancel")
        event = AuditEvent(caller.email, "access_request.cancelled", request_id, {"tool": row["tool"]},
                           caller.device_id)
        return to_wire(_fetch(conn, request_id), now), [event]

    return job


def get_request(conn: Connection, caller: Caller, request_id: str, now: float) -> AccessRequest:
    """One request: the requester's own, or any for a reviewer; 404 otherwise."""
    row = _fetch(conn, request_id)
    if row is None or (row["user_id"] != caller.user_id and not caller.reviewer):
        raise not_found(request_id)
    return to_wire(row, now)


def list_requests(conn: Connection, caller: Caller, everyone: bool, state: RequestState | None,
                  now: float, limit: int = 500) -> list[AccessRequest]:
    """Newest first: the caller's own requests, or (``everyone``, reviewers only) all of them."""
    query = _WITH_EMAIL.order_by(access_requests.c.created_at.desc(), access_requests.c.id).limit(limit)
    if not everyone:
        query = query.where(access_requests.c.user_id == caller.user_id)
    if state in (RequestState.EXPIRED, RequestState.PENDING):
        query = query.where(access_requests.c.state.in_([PENDING, RequestState.EXPIRED.value]))
    elif state in (RequestState.ENDED, RequestState.APPROVED):
        query = query.where(access_requests.c.state.in_([APPROVED, RequestState.ENDED.value]))
    elif state is not None:
        query = query.where(access_requests.c.state == state.value)
    items = [to_wire(row, now) for row in conn.execute(query).mappings()]
    return [i for i in items if state is None or i.state == state]


class ActiveGrant(NamedTuple):
    """An approved, unexpired access request as token issuance reads it (the columns of
    ``_ACTIVE_GRANT``, in order; also :func:`aigate.server.prefetch.grant_rows`)."""

    access_request_id: str
    expires_at: int  # epoch seconds: the end of the grant
    key_scope: str


_ACTIVE_GRANT = Prepared(
    select(access_requests.c.id, access_requests.c.expires_at, access_requests.c.key_scope)
    .where(access_requests.c.user_id == bindparam("user_id"), access_requests.c.tool == bindparam("tool"),
           access_requests.c.state == APPROVED, access_requests.c.expires_at > bindparam("now"))
    .order_by(access_requests.c.expires_at.desc()).limit(1)
)


def active_grant(conn: Connection, user_id: int, tool: str, now: float) -> ActiveGrant | None:
    """The user's approved, unexpired request for ``tool`` that lasts longest, or None (``now``: epoch
    seconds)."""
    row = _ACTIVE_GRANT.first(conn, {"user_id": user_id, "tool": tool, "now": int(now)})
    return None if row is None else ActiveGrant(*row)


def sweep_job(conn: Connection, now: float) -> tuple[int, list[AuditEvent]]:
    """Job: write the time-driven transitions (pending -> expired, approved -> ended), audited."""
    events: list[AuditEvent] = []
    for old, new, column in ((PENDING, RequestState.EXPIRED.value, access_requests.c.review_expires_at),
                             (APPROVED, RequestState.ENDED.value, access_requests.c.expires_at)):
        ids = conn.execute(select(access_requests.c.id).where(access_requests.c.state == old, column <= now)
                           .limit(SWEEP_LIMIT)).scalars().all()
        if ids:
            conn.execute(update(access_requests).where(access_requests.c.id.in_(ids),
                                                       access_requests.c.state == old).values(state=new))
            events.extend(AuditEvent("system", f"access_request.{new}", i) for i in ids)
    return len(events), events
