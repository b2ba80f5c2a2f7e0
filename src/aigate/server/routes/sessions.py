"""POST /v1/session-events: a run's start and end, idempotent on (session_id, kind).

What the server checks, so a device cannot put invented sessions on record:

- ``at`` lies between :data:`EARLIEST` (2020-01-01) and one day after the server's clock;
- ``token_id``, when given, is the ``jti`` of an approval token issued to the caller's user (its
  ``approval_token.issued`` audit event, found by the indexed subject).
- An event failing either check is refused, but not lost: it is recorded as a ``session.refused``
  audit event (its fields and ``why``) and acknowledged with ``recorded: false`` and ``refused: why``,
  so the client's spool lets it go and ``audit export`` shows it. One without ``token_id`` is recorded
  as reported.
- An ``end`` is accepted even without a recorded ``start`` of the same session by the same user (the
  start may have been refused, or lost with a wiped spool), but its audit event then carries
  ``"start_recorded": false``, so a reviewer sees it stands alone.
- Events from the device of a disabled user are still accepted (the records of their last sessions),
  with ``"user_disabled": true`` in the audit event; unknown or logged-out credentials are refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from sqlalchemy import Connection, insert, select

from aigate import protocol as p
from aigate.server.audit import AuditEvent
from aigate.server.deps import AnyCallerDep, ServicesDep
from aigate.server.identity import Caller
from aigate.server.models import audit_events, session_events
from aigate.server.problems import ApiProblem
from aigate.server.text import clean_label, refuse_nul
from aigate.server.writer import Job

router = APIRouter(tags=["sessions"])

EARLIEST = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
FUTURE_SLACK_SECONDS = 86400


def _invalid(detail: str) -> ApiProblem:
    return ApiProblem(422, p.ProblemCode.INVALID_REQUEST, detail)


def check_time(at: datetime, now: float) -> None:
    """422 when ``at`` is before 2020-01-01 or more than a day ahead of ``now``."""
    moment = at.timestamp() if at.tzinfo else at.replace(tzinfo=UTC).timestamp()
    if moment < EARLIEST:
        raise _invalid("at: must not be before 2020-01-01")
    if moment > now + FUTURE_SLACK_SECONDS:
        raise _invalid("at: must not be more than a day ahead of the server's clock")


def _token_issued_to(conn: Connection, token_id: str, email: str) -> bool:
    rows = conn.execute(select(audit_events.c.actor).where(
        audit_events.c.subject == token_id, audit_events.c.action == "approval_token.issued")).scalars()
    return email in rows


def record_job(caller: Caller, event: p.SessionEvent) -> Job[tuple[bool, str | None]]:
    """Job: store the event unless (session_id, kind) is already stored. Result: ``(recorded, refused)``.

    Jobs run one after another under the chain head lock, so check-then-insert cannot race.
    """

    def job(conn: Connection, now: float) -> tuple[tuple[bool, str | None], list[AuditEvent]]:
        try:
            check_time(event.at, now)
        except ApiProblem as refused:
            return _refused(caller, event, refused.detail)
        key = (session_events.c.session_id == event.session_id, session_events.c.kind == event.kind.value)
        if conn.execute(select(session_events.c.session_id).where(*key)).first() is not None:
            return (False, None), []
        if event.token_id is not None and not _token_issued_to(conn, event.token_id, caller.email):
            return _refused(caller, event, f"token_id: no approval token {event.token_id!r} was issued to "
                                           f"{caller.email}")
        values = {"session_id": event.session_id, "kind": event.kind.value, "user_id": caller.user_id,
                  "device_id": caller.device_id, "tool": event.tool, "at": int(event.at.timestamp()),
                  "host": clean_label(event.host), "repository": event.repository, "token_id": event.token_id,
                  "exit_status": event.exit_status, "duration_ms": event.duration_ms, "received_at": int(now)}
        data = {k: values[k] for k in ("tool", "host", "repository", "token_id", "exit_status", "duration_ms")}
        data["at"] = p.format_timestamp(event.at)
        if event.kind == p.SessionEventKind.END:
            start = conn.execute(select(session_events.c.user_id).where(
                session_events.c.session_id == event.session_id,
                session_events.c.kind == p.SessionEventKind.START.value)).scalar()
            if start != caller.user_id:
                data["start_recorded"] = False
        if caller.disabled:
            data["user_disabled"] = True
        conn.execute(insert(session_events).values(**values))
        return (True, None), [AuditEvent(caller.email, f"session.{event.kind.value}", event.session_id, data,
                                         caller.device_id)]

    return job


def _refused(caller: Caller, event: p.SessionEvent, why: str) -> tuple[tuple[bool, str | None], list[AuditEvent]]:
    """Job result for an event the server will not store as a session: ``(False, why)`` and its
    ``session.refused`` audit event, so it is on record rather than lost."""
    data = {"kind": event.kind.value, "why": why, "at": p.format_timestamp(event.at), "tool": event.tool,
            "host": clean_label(event.host), "repository": event.repository, "token_id": event.token_id,
            "exit_status": event.exit_status, "duration_ms": event.duration_ms}
    if caller.disabled:
        data["user_disabled"] = True
    return (False, why), [AuditEvent(caller.email, "session.refused", event.session_id, data, caller.device_id)]


@router.post(p.Paths.SESSION_EVENTS, response_model=p.SessionEventAck,
             summary="Report a run's start or end; a resent event is acknowledged, not recorded twice")
async def report(body: p.SessionEvent, caller: AnyCallerDep, services: ServicesDep) -> p.SessionEventAck:
    """Record a session event (checks in the module docstring): one with an ``at`` outside
    2020-01-01 .. now + 1 day or a ``token_id`` never issued to the caller's user is recorded as
    ``session.refused`` and acknowledged with ``refused``; an ``end`` without a matching ``start`` is
    recorded with ``start_recorded: false`` in its audit event."""
    refuse_nul(session_id=body.session_id, tool=body.tool, repository=body.repository, token_id=body.token_id)
    recorded, refused = await services.writer.submit(record_job(caller, body))
    return p.SessionEventAck(body.session_id, body.kind, recorded, refused)
