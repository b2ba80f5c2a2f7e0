"""Bad values and database faults, on SQLite and PostgreSQL side by side: the same answers on both,
one bad item never fails the others of its write batch, and a database that cannot serve is a 503
with Retry-After (recognized by SQLSTATE class or SQLite result code), logged once per condition."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import event, select, text

from aigate.protocol import Paths, Role
from aigate.server import dbfaults
from aigate.server.audit import AuditEvent, verify
from aigate.server.db import make_engine
from aigate.server.models import audit_events
from aigate.server.writer import Writer

LONG_DENIED = "github.com/corp/llama-" + "x" * 284  # 306 characters, matches repos_denied "*/llama-*"


def approved(api):
    headers = api.enroll("ann@corp.example", ["dev"])
    boss = api.enroll("boss@corp.example", role=Role.APPROVER)
    assert api.approve(api.request(headers)["id"], boss).status_code == 200
    return headers


def test_a_long_denied_repository_is_refused_403_and_audited(api):
    answer = api.token(approved(api), repository=f"https://{LONG_DENIED}.git")
    assert (answer.status_code, answer.json()["code"]) == (403, "repository-denied")
    with api.engine.connect() as conn:
        row = conn.execute(select(audit_events.c.subject, audit_events.c.data)
                           .where(audit_events.c.action == "approval_token.refused")).one()
        assert len(row.subject) <= 254 and LONG_DENIED in row.data
        assert verify(conn).ok


@pytest.mark.parametrize("repository", ["github.com/corp/llama-\x00x", "github.com/corp/app\x00x",
                                        "github.com/corp/app\u2028x"])
def test_a_control_character_in_a_repository_is_a_422_at_the_edge_on_both_databases(api, repository):
    """Refused by the wire shape's pattern (so the OpenAPI says it too), before the policy is asked:
    the same answer on both databases, whether or not the repository is a denied one."""
    answer = api.token(approved(api), repository=repository)
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid-request")
    assert "repository" in answer.json()["detail"]


def test_an_audit_subject_with_a_nul_is_stored_alike_on_both_databases(db_url):
    """Should a NUL reach an audit subject, PostgreSQL (which refuses NUL in text) stores it as SQLite does."""
    engine = make_engine(db_url, writer=True, pool_size=1)
    writer = Writer(engine)
    try:
        asyncio.run(writer.record([AuditEvent("ann@corp.example", "test.nul", "a\x00b")]))
    finally:
        writer.close()
    with engine.connect() as conn:
        row = conn.execute(select(audit_events.c.subject, audit_events.c.data)
                           .where(audit_events.c.action == "test.nul")).one()
        assert row.subject == "a\ufffdb" and "a\\u0000b" in row.data and verify(conn).ok
    engine.dispose()


def test_one_event_the_database_refuses_fails_alone_in_its_batch(db_url):
    """A NOT NULL violation at the batch's one INSERT: the others of the batch still commit."""
    engine = make_engine(db_url, writer=True, pool_size=1)
    writer = Writer(engine)

    async def batch():
        good = [AuditEvent("ann@corp.example", "test.good", f"s{i}") for i in range(5)]
        bad = AuditEvent(None, "test.bad", "x")  # type: ignore[arg-type]
        jobs = [writer.record([e]) for e in good[:2]] + [writer.record([bad])] + [writer.record([e]) for e in good[2:]]
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        outcomes = asyncio.run(batch())
    finally:
        writer.close()
    assert [isinstance(o, Exception) for o in outcomes] == [False, False, True, False, False, False]
    with engine.connect() as conn:
        actions = conn.execute(select(audit_events.c.action)).scalars().all()
        assert actions.count("test.good") == 5 and "test.bad" not in actions
        assert verify(conn).ok
    engine.dispose()


def test_postgresql_admin_shutdown_is_a_503_with_retry_after_then_service_resumes(api, db_url, caplog):
    """``pg_terminate_backend`` sends the server's connections SQLSTATE 57P01 (admin_shutdown), as a
    restart does; the request that meets it gets 503, the next one works again."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    headers = approved(api)
    assert api.token(headers).status_code == 201
    with api.engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        conn.commit()
    caplog.set_level(logging.WARNING)
    statuses = []
    for _ in range(4):
        answer = api.token(headers)
        statuses.append(answer.status_code)
        if answer.status_code == 503:
            assert answer.headers["Retry-After"] == "5"
            assert answer.headers["content-type"] == "application/problem+json"
    assert statuses[-1] == 201 and set(statuses) <= {201, 503}
    assert "Traceback" not in caplog.text and "unexpected error" not in caplog.text


@pytest.mark.parametrize(("sqlstate", "condition"), [
    ("57P01", "database shut down"), ("57P02", "database shut down"), ("57P03", "database shut down"),
    ("08006", "database unreachable"), ("53100", "disk full"), ("53300", "database out of resources"),
    ("40001", "database busy"), ("55P03", "database busy"), ("25006", "database read-only"),
    ("23505", None), ("22001", None), ("22021", None),
])
def test_postgresql_errors_are_classified_by_sqlstate(sqlstate, condition):
    import psycopg.errors
    from sqlalchemy.exc import DBAPIError

    driver_error = psycopg.errors.lookup(sqlstate)("test")
    assert dbfaults.unavailable(driver_error) == condition
    assert dbfaults.unavailable(DBAPIError("stmt", {}, driver_error)) == condition


def test_sqlite_disk_full_is_a_503_logged_once_and_readiness_reports_it(api, db_url, caplog):
    """SQLITE_FULL through ``PRAGMA max_page_count``: every write answers a clean 503 with Retry-After,
    one warning for the condition, /readyz 503 naming it; freeing room makes both work again."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    headers = approved(api)
    writer_engine = api.client.app.state.services.writer.engine
    limit = {"pages": None}

    @event.listens_for(writer_engine, "begin")
    def _cap(conn):
        if limit["pages"] is not None:
            conn.exec_driver_sql(f"PRAGMA max_page_count = {limit['pages']}")
        else:
            conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")

    with writer_engine.connect() as conn:
        limit["pages"] = conn.exec_driver_sql("PRAGMA page_count").scalar()
    caplog.set_level(logging.WARNING)
    statuses = [api.token(headers, repository=f"github.com/corp/app{i}" + "x" * 400).status_code
                for i in range(40)]
    assert 503 in statuses and set(statuses) <= {201, 503}
    full = api.token(headers, repository="github.com/corp/" + "y" * 400)
    assert full.status_code == 503 and full.headers["Retry-After"] == "5"
    ready = api.client.get(Paths.READYZ)
    assert ready.status_code == 503 and "disk full" in ready.json()["detail"]
    warnings = [r for r in caplog.records if "disk full" in r.getMessage()]
    assert len(warnings) == 1 and not any(r.exc_info for r in caplog.records)
    limit["pages"] = None
    assert api.token(headers).status_code == 201
    assert api.client.get(Paths.READYZ).status_code == 200
