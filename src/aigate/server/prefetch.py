"""Batch reads for the token issuance path: one query for all devices, one for all their grants.

The writer runs a batch's token jobs together (:meth:`aigate.server.tokens.IssueJob.prefetch`);
on PostgreSQL every query is a network round trip, so two per batch instead of two per request
is what lets issuance keep up. Plain SQL on the DBAPI connection with the driver's placeholder
(``?`` for sqlite3, ``%s`` for psycopg); the columns match ``identity._AUTH``.
"""

from __future__ import annotations

from typing import Any

from aigate.server.access import ActiveGrant
from aigate.server.identity import DeviceAuth


def _in(reader: Any, column: str, values: list[Any]) -> tuple[str, list[Any]]:
    """``column IN (?, ?, ...)`` on SQLite; ``column = ANY(%s)`` with one array on PostgreSQL, so
    the statement text is the same for every batch size and psycopg's prepared statement is reused."""
    if reader.dialect.paramstyle == "qmark":
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)
    return f"{column} = ANY(%s)", [list(values)]


def _rows(reader: Any, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
    cursor = reader.dbapi.cursor()
    try:
        cursor.execute(sql, tuple(args))
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows
    finally:
        cursor.close()


def device_rows(reader: Any, device_ids: list[str | None]) -> dict[str, DeviceAuth]:
    """``{device_id: DeviceAuth}`` of the known ones among ``device_ids`` (None entries skipped)."""
    wanted = sorted({d for d in device_ids if d})
    if not wanted:
        return {}
    where, args = _in(reader, "devices.id", wanted)
    sql = ("SELECT devices.id, devices.credential_hash, devices.revoked_at, users.id, users.email, users.groups, "
           f"users.role, users.disabled FROM devices JOIN users ON users.id = devices.user_id WHERE {where}")
    return {row[0]: DeviceAuth(*row[1:]) for row in _rows(reader, sql, args)}


def grant_rows(reader: Any, user_ids: set[int], now: float) -> dict[tuple[int, str], ActiveGrant]:
    """``{(user_id, tool): ActiveGrant}``: per user and tool, the active grant that lasts longest."""
    if not user_ids:
        return {}
    mark = "?" if reader.dialect.paramstyle == "qmark" else "%s"
    where, args = _in(reader, "user_id", sorted(user_ids))
    sql = ("SELECT user_id, tool, id, expires_at, key_scope FROM access_requests "
           f"WHERE {where} AND state = 'approved' AND expires_at > {mark}")
    best: dict[tuple[int, str], ActiveGrant] = {}
    for user_id, tool, request_id, expires_at, scope in _rows(reader, sql, [*args, int(now)]):
        current = best.get((user_id, tool))
        if current is None or expires_at > current.expires_at:
            best[(user_id, tool)] = ActiveGrant(request_id, expires_at, scope)
    return best
