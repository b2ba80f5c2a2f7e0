"""The append-only, hash-chained audit log: appending batches, exporting and verifying the chain.

Each audit event carries ``prev_hash`` (the hash of the event before it; 64 zeros for the first) and
``hash`` = SHA-256 over the canonical JSON array ``[seq, at_ms, actor, device_id, action, subject,
data, prev_hash]``. Rewriting an event breaks its hash; rewriting it and recomputing every later hash
makes a chain that verifies, but its head differs from a head exported earlier and kept elsewhere,
which ``verify(..., head=...)`` catches. The database refuses UPDATE and DELETE on the table
(triggers, migration 0001); the one-row ``audit_head`` table is the lock every writer takes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, update

from aigate.server.models import audit_events, audit_head

GENESIS_HASH = "0" * 64


@dataclass
class AuditEvent:
    """One state change: who (``actor``: email, ``cli:<os user>`` or ``system``), from which device,
    what (``action`` such as ``access_request.approved``), on what (``subject``) and details."""

    actor: str
    action: str
    subject: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    device_id: str | None = None


SUBJECT_LENGTH: int = audit_events.c.subject.type.length  # type: ignore[attr-defined]  # String(254)


def storable_subject(subject: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(subject, data)`` as both databases store them alike: a subject longer than its column, or
    with a NUL (PostgreSQL refuses it in text), is shortened to fit with U+FFFD for each NUL, and the
    subject as given is kept whole in ``data["subject"]`` (JSON escapes what the column cannot hold)."""
    if len(subject) <= SUBJECT_LENGTH and "\x00" not in subject:
        return subject, data
    shown = subject.replace("\x00", "\ufffd")
    if len(shown) > SUBJECT_LENGTH:
        shown = shown[:SUBJECT_LENGTH - 1] + "\u2026"
    return shown, {**data, "subject": subject}


def canonical_json(value: Any) -> str:
    """The JSON the audit chain hashes: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(seq: int, at_ms: int, actor: str, device_id: str | None, action: str, subject: str,
               data: str, prev_hash: str) -> str:
    """SHA-256 hex of one event's canonical form (``data`` is its stored canonical JSON text)."""
    payload = canonical_json([seq, at_ms, actor, device_id, action, subject, data, prev_hash])
    return hashlib.sha256(payload.encode()).hexdigest()


def lock_head(conn: Connection) -> tuple[int, str]:
    """The chain head ``(seq, hash)``, locked for this transaction (PostgreSQL: row lock; SQLite:
    the writer's ``BEGIN IMMEDIATE`` already holds the database's write lock)."""
    query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    seq, digest = conn.execute(query).one()
    return int(seq), digest


class ChainAppender:
    """Collects the audit events of one write transaction, chained from the locked head."""

    def __init__(self, conn: Connection, at_ms: int):
        self.conn = conn
        self.at_ms = at_ms
        self.seq, self.hash = lock_head(conn)
        self.rows: list[dict[str, Any]] = []

    def add(self, event: AuditEvent) -> None:
        self.seq += 1
        subject, data_value = storable_subject(event.subject, event.data)
        data = canonical_json(data_value)
        digest = event_hash(self.seq, self.at_ms, event.actor, event.device_id, event.action,
                            subject, data, self.hash)
        self.rows.append({
            "seq": self.seq, "at_ms": self.at_ms, "actor": event.actor, "device_id": event.device_id,
            "action": event.action, "subject": subject, "data": data,
            "prev_hash": self.hash, "hash": digest,
        })
        self.hash = digest

    def flush(self) -> None:
        """Insert the collected events and move the head, once for the whole batch."""
        if not self.rows:
            return
        self.conn.execute(insert(audit_events), self.rows)
        self.conn.execute(update(audit_head).where(audit_head.c.id == 1)
                          .values(seq=self.seq, hash=self.hash))
        self.rows = []


def iter_events(conn: Connection, since: int = 0, chunk: int = 1000) -> Iterator[dict[str, Any]]:
    """Audit events with ``seq > since`` in order, as dicts of their stored columns."""
    last = since
    while True:
        rows = conn.execute(select(audit_events).where(audit_events.c.seq > last)
                            .order_by(audit_events.c.seq).limit(chunk)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last = rows[-1]["seq"]


def export_line(row: dict[str, Any]) -> str:
    """One JSON line of ``audit export``: the stored columns, ``data`` decoded."""
    return canonical_json({**row, "data": json.loads(row["data"])})


@dataclass
class VerifyResult:
    """What ``audit verify`` found: whether the chain is whole, how many events, the head (``seq``, ``hash``),
    the first break, and whether a given head is unknown."""
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    problem: str | None = None  # the first break, naming its seq
    head_unknown: bool = False  # the chain is whole, but the given head is none of its events


def verify(conn: Connection, head: str | None = None, head_seq: int | None = None) -> VerifyResult:
    """Walk the chain from the start: each event's ``prev_hash`` and ``hash`` must recompute.

    With ``head`` (a hash exported earlier), that hash must also be the hash of some event of this
    chain. When it is none (``head_unknown``), either it is another server's head or this chain was
    rewritten since the export; with ``head_seq`` (the seq exported with it) the two are told apart
    where they can be: an event at that seq with another hash means a rewrite (or another server's
    head), a chain shorter than that seq means events were removed (or another server's head).
    """
    prev, count, seq, seen_head, hash_at_seq = GENESIS_HASH, 0, 0, head is None, None
    for row in iter_events(conn):
        problem = _check_row(row, prev, seq + 1)
        if problem:
            return VerifyResult(False, count, seq, prev, problem)
        prev, seq, count = row["hash"], row["seq"], count + 1
        seen_head = seen_head or row["hash"] == head
        if head_seq is not None and row["seq"] == head_seq:
            hash_at_seq = row["hash"]
    stored_seq, stored_hash = conn.execute(select(audit_head.c.seq, audit_head.c.hash)).one()
    if (stored_seq, stored_hash) != (seq, prev):
        return VerifyResult(False, count, seq, prev,
                            f"the recorded chain head (seq {stored_seq}) does not match the last event")
    if not seen_head:
        return VerifyResult(False, count, seq, prev, _unknown_head(head or "", head_seq, hash_at_seq, seq),
                            head_unknown=True)
    if head_seq is not None and hash_at_seq != head:
        return VerifyResult(False, count, seq, prev,
                            f"head {head} is an event of this chain, but not event {head_seq}", head_unknown=True)
    return VerifyResult(True, count, seq, prev)


def _unknown_head(head: str, head_seq: int | None, hash_at_seq: str | None, last_seq: int) -> str:
    if head_seq is None:
        return (f"head {head} is not any event of this chain: either it is another server's chain head, or "
                "this chain was rewritten since that head was exported (give --head SEQ:HASH, as "
                "`audit export` prints it, to tell which)")
    if hash_at_seq is not None:
        return (f"event {head_seq} of this chain has hash {hash_at_seq}, not {head}: this chain was rewritten "
                f"at or before event {head_seq} since that export (unless the head is another server's)")
    return (f"this chain has {last_seq} event(s), fewer than the head's seq {head_seq}: events were removed "
            "since that export (unless the head is another server's)")


def _check_row(row: dict[str, Any], prev: str, expected_seq: int) -> str | None:
    seq = row["seq"]
    if seq != expected_seq:
        return f"event {expected_seq} is missing (next is {seq})"
    if row["prev_hash"] != prev:
        return f"event {seq}: prev_hash does not match the hash of event {seq - 1}"
    digest = event_hash(seq, row["at_ms"], row["actor"], row["device_id"], row["action"],
                        row["subject"], row["data"], row["prev_hash"])
    if digest != row["hash"]:
        return f"event {seq}: its content does not match its hash (the event was altered)"
    return None


def page(conn: Connection, filters: dict[str, str], before: int | None, limit: int = 100) -> list[dict[str, Any]]:
    """Audit events newest first, ``seq < before``; ``filters`` (actor, action, subject) match exactly,
    but an ``action`` ending in ``.`` matches as a prefix (``access_request.``)."""
    query = select(audit_events).order_by(audit_events.c.seq.desc()).limit(limit)
    if before:
        query = query.where(audit_events.c.seq < before)
    for name in ("actor", "subject"):
        if filters.get(name):
            query = query.where(audit_events.c[name] == filters[name])
    action = filters.get("action")
    if action:
        query = query.where(audit_events.c.action.startswith(action, autoescape=True) if action.endswith(".")
                            else audit_events.c.action == action)
    return [{**dict(r), "data": json.loads(r["data"])} for r in conn.execute(query).mappings()]
