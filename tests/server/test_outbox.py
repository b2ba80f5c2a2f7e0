"""The notification outbox's jobs on SQLite and PostgreSQL: claim once, settle with backoff, give up, sweep."""

from __future__ import annotations

from sqlalchemy import insert, select

from aigate.server import outbox
from aigate.server.models import notify_outbox
from aigate.server.writer import write_now


def queued(api, now: float, **values) -> str:
    row = {"id": "d" * 32, "receiver": "r" * 32, "event": "request.created", "subject": "req1", "body": "{}",
           "state": outbox.PENDING, "attempts": 0, "next_at": int(now), "created_at": int(now), **values}
    with api.engine.begin() as conn:
        conn.execute(insert(notify_outbox).values(**row))
    return row["id"]


def row_of(api, delivery_id: str) -> dict:
    with api.engine.connect() as conn:
        return dict(conn.execute(select(notify_outbox).where(notify_outbox.c.id == delivery_id)).mappings().one())


def test_a_due_row_is_claimed_once_until_its_lease_ends(api):
    now = api.clock()
    queued(api, now)
    assert len(write_now(api.engine, outbox.claim_job(10), lambda: now)) == 1
    assert write_now(api.engine, outbox.claim_job(10), lambda: now) == []
    again = write_now(api.engine, outbox.claim_job(10), lambda: now + outbox.LEASE_SECONDS + 1)
    assert [r["attempts"] for r in again] == [2]  # its worker died mid-send: sent again


def test_a_failed_attempt_waits_longer_each_time_then_gives_up(api):
    now = api.clock()
    delivery = queued(api, now)
    (claimed,) = write_now(api.engine, outbox.claim_job(10), lambda: now)
    assert write_now(api.engine, outbox.settle_job(delivery, claimed["attempts"], "HTTP 503"), lambda: now) == "pending"
    assert row_of(api, delivery)["next_at"] == int(now) + outbox.RETRY_BASE
    assert [outbox.retry_delay(n) for n in (1, 2, 3)] == [2, 4, 8] and outbox.retry_delay(30) == outbox.RETRY_CAP
    write_now(api.engine, outbox.settle_job(delivery, claimed["attempts"], "HTTP 503"), lambda: now)  # stale: no-op
    row = row_of(api, delivery)
    assert row["state"] == "pending" and row["last_error"] == "HTTP 503"
    last = queued(api, now, id="e" * 32, state=outbox.SENDING, attempts=outbox.MAX_ATTEMPTS, lease_until=int(now) + 60)
    assert write_now(api.engine, outbox.settle_job(last, outbox.MAX_ATTEMPTS, "ConnectError"), lambda: now) == "failed"


def test_delivered_rows_are_forgotten_after_a_week_failed_ones_are_kept(api):
    # Judged a month ahead of the app's clock, so the app's own start-up sweep (real time, running in
    # the background) can never remove the old row before this test's sweep counts it.
    now = api.clock() + 30 * 86400
    old = now - outbox.KEEP_DELIVERED_SECONDS - 1
    queued(api, old, id="a" * 32, state=outbox.DELIVERED, delivered_at=int(old))
    queued(api, old, id="b" * 32, state=outbox.FAILED)
    queued(api, now, id="c" * 32, state=outbox.DELIVERED, delivered_at=int(now))
    assert write_now(api.engine, outbox.sweep_job, lambda: now) == 1
    with api.engine.connect() as conn:
        assert sorted(conn.execute(select(notify_outbox.c.id)).scalars()) == ["b" * 32, "c" * 32]
