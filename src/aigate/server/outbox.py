"""The notification outbox: rows written with the change they announce, delivered later.

A decision and its notification rows commit in one transaction (:func:`enqueue_hook` runs as a
writer hook), so a notification exists exactly when its change does, and a restart loses none: a row
stays ``pending`` until a delivery worker (:mod:`aigate.server.notify`) has it answered 2xx.
Every worker process of ``serve`` runs one; they take rows with :func:`claim_job`, a guarded
``UPDATE`` per row run through the writer (which serializes write batches across processes), so
two workers never send the same row at once. A claimed row carries a lease: a worker that dies
mid-send leaves it to be claimed again when the lease ends (delivery is at least once; receivers
can drop repeats by ``X-Aigate-Delivery``).

Retries: after the Nth failed attempt the row waits ``min(RETRY_BASE * 2**(N-1), RETRY_CAP)``
seconds; after MAX_ATTEMPTS it is ``failed`` (shown by ``aigate-server notify status``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from aigate.constants import NotifyEvent, RequestState
from aigate.server import access
from aigate.server.audit import AuditEvent
from aigate.server.models import access_requests, notify_outbox
from aigate.server.notify_messages import json_body, slack_body
from aigate.server.notify_policy import NotifyTarget
from aigate.server.policy import Policy
from aigate.server.writer import Hook, Job

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
RETRY_BASE = 2  # seconds
RETRY_CAP = 15 * 60
MAX_ATTEMPTS = 20
LEASE_SECONDS = 60  # longer than a send's timeout (notify.SEND_TIMEOUT)
EXPIRING_SCAN_LIMIT = 500
KEEP_DELIVERED_SECONDS = 7 * 86400  # delivered rows are kept this long (notify status shows them)

_ACTIONS = {
    "access_request.created": NotifyEvent.REQUEST_CREATED,
    "access_request.approved": NotifyEvent.REQUEST_APPROVED,
    "access_request.denied": NotifyEvent.REQUEST_DENIED,
    "access_request.revoked": NotifyEvent.GRANT_REVOKED,
}


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt (exponential, capped)."""
    return int(min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP))


def enqueue_hook(policy: Callable[[], Policy], public_url: str) -> Hook:
    """A writer hook: queue a notification per ``[[notify]]`` receiver for each audited change it
    subscribes to (grants made by an ``auto`` rule are not announced)."""

    def notify_outbox_hook(conn: Connection, events: list[AuditEvent], now: float) -> None:
        targets = policy().notify
        wanted = [(e, _ACTIONS[e.action]) for e in events if e.action in _ACTIONS]
        if not targets or not wanted:
            return
        for event, kind in wanted:
            request = access.load(conn, event.subject, now)
            if request is None or request.automatic:
                continue
            queue(conn, targets, kind, event.actor, request, public_url, now)

    return notify_outbox_hook


def queue(conn: Connection, targets: tuple[NotifyTarget, ...], kind: NotifyEvent, actor: str, request: Any,
          public_url: str, now: float, dedupe: bool = False) -> int:
    """Insert one outbox row per target subscribed to ``kind``; returns how many. With ``dedupe``,
    a row already queued for the same (kind, request, receiver) is not queued again."""
    rows = []
    for target in targets:
        if kind not in target.events:
            continue
        delivery = secrets.token_hex(16)
        body = (json_body(delivery, kind, actor, request, public_url, now) if target.format == "json"
                else slack_body(kind, actor, request, public_url))
        rows.append({"id": delivery, "receiver": target.receiver, "event": kind.value, "subject": request.id,
                     "dedupe": f"{kind.value}:{request.id}:{target.receiver}" if dedupe else None,
                     "body": body, "state": PENDING, "attempts": 0, "next_at": int(now),
                     "created_at": int(now)})
    if dedupe and rows:
        seen = set(conn.execute(select(notify_outbox.c.dedupe).where(
            notify_outbox.c.dedupe.in_([r["dedupe"] for r in rows]))).scalars())
        rows = [r for r in rows if r["dedupe"] not in seen]
    if rows:
        conn.execute(insert(notify_outbox), rows)
    return len(rows)


def expiring_job(policy: Callable[[], Policy], public_url: str) -> Job[int]:
    """Job: queue ``grant.expiring`` (once per grant and receiver) for reviewed grants that end
    within the policy's ``grant_expiring_before``."""

    def job(conn: Connection, now: float) -> tuple[int, list[AuditEvent]]:
        current = policy()
        targets = tuple(t for t in current.notify if NotifyEvent.GRANT_EXPIRING in t.events)
        if not targets:
            return 0, []
        ids = conn.execute(select(access_requests.c.id).where(
            access_requests.c.state == RequestState.APPROVED.value, access_requests.c.automatic.is_(False),
            access_requests.c.expires_at > now, access_requests.c.expires_at <= now + current.grant_expiring_before,
        ).limit(EXPIRING_SCAN_LIMIT)).scalars().all()
        queued = 0
        for request_id in ids:
            request = access.load(conn, request_id, now)
            queued += queue(conn, targets, NotifyEvent.GRANT_EXPIRING, "system", request, public_url, now,
                            dedupe=True)
        return queued, []

    return job


def _due(now: float) -> Any:
    return or_(and_(notify_outbox.c.state == PENDING, notify_outbox.c.next_at <= now),
               and_(notify_outbox.c.state == SENDING, notify_outbox.c.lease_until <= now))


def has_due(conn: Connection, now: float) -> bool:
    """True when some row is due (a cheap read, so idle workers take no write lock)."""
    return conn.execute(select(notify_outbox.c.id).where(_due(now)).limit(1)).first() is not None


def claim_job(limit: int, lease: int = LEASE_SECONDS) -> Job[list[dict[str, Any]]]:
    """Job: take up to ``limit`` due rows (pending and due, or sending with an ended lease) for
    this worker; each is claimed by a guarded UPDATE, so a row goes to one worker. Result: list of
    dicts (id, receiver, event, body, attempts)."""

    def job(conn: Connection, now: float) -> tuple[list[dict[str, Any]], list[AuditEvent]]:
        rows = conn.execute(select(notify_outbox).where(_due(now)).order_by(notify_outbox.c.next_at, notify_outbox.c.id)
                            .limit(limit)).mappings().all()
        claimed = []
        for row in rows:
            taken = conn.execute(update(notify_outbox).where(
                notify_outbox.c.id == row["id"], notify_outbox.c.state == row["state"],
                notify_outbox.c.attempts == row["attempts"],
            ).values(state=SENDING, lease_until=int(now) + lease, attempts=row["attempts"] + 1))
            if taken.rowcount == 1:
                claimed.append({"id": row["id"], "receiver": row["receiver"], "event": row["event"],
                                "body": row["body"], "attempts": row["attempts"] + 1})
        return claimed, []

    return job


def settle_job(delivery_id: str, attempts: int, error: str | None) -> Job[str]:
    """Job: record the attempt's outcome (``error`` None: delivered). Guarded by ``attempts``, so a
    worker whose lease ran out cannot overwrite the outcome of the worker that took the row next."""

    def job(conn: Connection, now: float) -> tuple[str, list[AuditEvent]]:
        values: dict[str, Any]
        if error is None:
            values = {"state": DELIVERED, "delivered_at": int(now), "lease_until": None, "last_error": None}
        elif attempts >= MAX_ATTEMPTS:
            values = {"state": FAILED, "lease_until": None, "last_error": error[:255]}
        else:
            values = {"state": PENDING, "next_at": int(now) + retry_delay(attempts), "lease_until": None,
                      "last_error": error[:255]}
        conn.execute(update(notify_outbox).where(notify_outbox.c.id == delivery_id, notify_outbox.c.state == SENDING,
                                                 notify_outbox.c.attempts == attempts).values(**values))
        return str(values["state"]), []

    return job


def status(conn: Connection) -> list[dict[str, Any]]:
    """Per receiver id and state: count, oldest ``created_at``, soonest ``next_at``, newest error."""
    rows = conn.execute(select(notify_outbox.c.receiver, notify_outbox.c.state, func.count().label("count"),
                               func.min(notify_outbox.c.created_at).label("oldest"),
                               func.min(notify_outbox.c.next_at).label("next_at"))
                        .group_by(notify_outbox.c.receiver, notify_outbox.c.state)
                        .order_by(notify_outbox.c.receiver, notify_outbox.c.state)).mappings().all()
    out = []
    for row in rows:
        error = conn.execute(select(notify_outbox.c.last_error).where(
            notify_outbox.c.receiver == row["receiver"], notify_outbox.c.state == row["state"],
            notify_outbox.c.last_error.is_not(None)).order_by(notify_outbox.c.next_at.desc()).limit(1)).scalar()
        out.append({**dict(row), "last_error": error})
    return out


def sweep_job(conn: Connection, now: float) -> tuple[int, list[AuditEvent]]:
    """Job: forget notifications delivered more than KEEP_DELIVERED_SECONDS ago (failed ones stay)."""
    done = conn.execute(delete(notify_outbox).where(notify_outbox.c.state == DELIVERED,
                                                    notify_outbox.c.delivered_at <= now - KEEP_DELIVERED_SECONDS))
    return done.rowcount, []
