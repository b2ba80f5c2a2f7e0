"""The hash-chained, append-only audit log: appends, verification, tampering, --head."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from aigate.server import audit
from aigate.server import db as dbmod
from aigate.server.audit import AuditEvent
from aigate.server.models import audit_events
from aigate.server.writer import write_now


@pytest.fixture
def engine(db_url):
    engine = dbmod.make_engine(db_url, writer=True, pool_size=1)
    yield engine
    engine.dispose()


def append(engine, count: int) -> None:
    events = [AuditEvent("ann@corp.example", "test.event", f"s{i}", {"n": i}) for i in range(count)]
    write_now(engine, lambda conn, now: (None, events))


def check(engine, head=None, head_seq=None) -> audit.VerifyResult:
    with engine.connect() as conn:
        return audit.verify(conn, head, head_seq)


def tamper(engine, sql: str) -> None:
    """What someone with write access to the database could do: lift the guard, rewrite, restore."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text(sql))


def test_an_empty_log_verifies(engine):
    assert check(engine).ok


def test_appended_events_chain_from_the_genesis_hash(engine):
    append(engine, 2)
    with engine.connect() as conn:
        rows = conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings().all()
    assert rows[0]["prev_hash"] == audit.GENESIS_HASH and rows[1]["prev_hash"] == rows[0]["hash"]


def test_a_whole_chain_verifies_and_reports_its_head(engine):
    append(engine, 5)
    result = check(engine)
    assert (result.ok, result.count, result.head_seq) == (True, 5, 5)


def test_the_database_refuses_to_update_an_audit_event(engine):
    append(engine, 1)
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1"))


def test_the_database_refuses_to_delete_an_audit_event(engine):
    append(engine, 1)
    with pytest.raises(DBAPIError), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))


def test_an_altered_event_is_named_by_verify(engine):
    append(engine, 3)
    tamper(engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    result = check(engine)
    assert not result.ok and result.problem.startswith("event 2:")


def test_a_chain_recomputed_after_tampering_verifies_alone_but_not_against_an_old_head(engine):
    append(engine, 3)
    old_head = check(engine).head_hash
    tamper(engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    _recompute(engine)
    assert check(engine).ok and not check(engine, head=old_head).ok


def test_an_exported_head_still_in_the_chain_verifies(engine):
    append(engine, 2)
    head = check(engine).head_hash
    append(engine, 2)
    assert check(engine, head=head).ok


def _recompute(engine) -> None:
    """Rewrite every hash so the altered chain is consistent again (the attack --head catches)."""
    with engine.connect() as conn:
        rows = conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings().all()
    prev = audit.GENESIS_HASH
    for row in rows:
        digest = audit.event_hash(row["seq"], row["at_ms"], row["actor"], row["device_id"], row["action"],
                                  row["subject"], row["data"], prev)
        tamper(engine, f"UPDATE audit_events SET prev_hash = '{prev}', hash = '{digest}' WHERE seq = {row['seq']}")
        prev = digest
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_head SET hash = '{prev}'"))


def test_a_recomputed_chain_checked_against_an_old_seq_and_head_is_reported_as_rewritten(engine):
    append(engine, 3)
    old = check(engine)
    tamper(engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    _recompute(engine)
    result = check(engine, head=old.head_hash, head_seq=old.head_seq)
    assert result.head_unknown and f"event {old.head_seq} of this chain has hash" in result.problem
