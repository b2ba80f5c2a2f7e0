"""POST /v1/session-events: a run's start and end, idempotent on (session_id, kind)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import Connection, insert, select

from aigate import protocol as p
from aigate.server.audit import AuditEvent
from aigate.server.deps import AnyCallerDep, ServicesDep
from aigate.server.identity import Caller
from aigate.server.models import session_events
from aigate.server.text import clean_label, refuse_nul

router = APIRouter(tags=["sessions"])


def record_job(caller: Caller, event: p.SessionEvent):
    """Job: store the event unless (session_id, kind) is already stored. Result: recorded (bool).

    Jobs run one after another under the chain head lock, so check-then-insert cannot race.
    """

    def job(conn: Connection, now: float):
        key = (session_events.c.session_id == event.session_id, session_events.c.kind == event.kind.value)
        if conn.execute(select(session_events.c.session_id).where(*key)).first() is not None:
            return False, []
        values = {"session_id": event.session_id, "kind": event.kind.value, "user_id": caller.user_id,
                  "device_id": caller.device_id, "tool": event.tool, "at": int(event.at.timestamp()),
                  "host": clean_label(event.host), "repository": event.repository, "token_id": event.token_id,
                  "exit_status": event.exit_status, "duration_ms": event.duration_ms, "received_at": int(now)}
        conn.execute(insert(session_events).values(**values))
        data = {k: values[k] for k in ("tool", "host", "repository", "token_id", "exit_status", "duration_ms")}
        data["at"] = p.format_timestamp(event.at)
        if caller.disabled:
            data["user_disabled"] = True
        return True, [AuditEvent(caller.email, f"session.{event.kind.value}", event.session_id, data,
                                 caller.device_id)]

    return job


@router.post(p.Paths.SESSION_EVENTS, response_model=p.SessionEventAck,
             summary="Report a run's start or end; a resent event is acknowledged, not recorded twice")
async def report(body: p.SessionEvent, caller: AnyCallerDep, services: ServicesDep) -> p.SessionEventAck:
    refuse_nul(session_id=body.session_id, tool=body.tool, repository=body.repository, token_id=body.token_id)
    recorded = await services.writer.submit(record_job(caller, body))
    return p.SessionEventAck(body.session_id, body.kind, recorded)
