"""Usage: authorized model calls through a gateway, per UTC day, user, tool and key scope.

The authorization endpoint counts in memory (:class:`UsageCounter`, no database write per call) and
hands the counts to the writer ``FLUSH_SECONDS`` after the first call it counted, and when the server
stops;
``aigate-server usage`` reads the table. Counts are for approvers and for cost, not an audit record.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from aigate.server.audit import AuditEvent
from aigate.server.models import gateway_usage
from aigate.server.writer import Job

FLUSH_SECONDS = 5.0


class UsageCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str, str], int] = {}

    def count(self, now: float, email: str, tool: str, scope: str) -> bool:
        """Count one call; True when it is the first since the last :meth:`take` (schedule a flush)."""
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        key = (day, email, tool, scope)
        with self._lock:
            first = not self._counts
            self._counts[key] = self._counts.get(key, 0) + 1
        return first

    def take(self) -> dict[tuple[str, str, str, str], int]:
        with self._lock:
            counts, self._counts = self._counts, {}
        return counts


def add_job(counts: dict[tuple[str, str, str, str], int]) -> Job[None]:
    """Job (see writer): add ``counts`` to the table. No audit event: a count is not a state change."""

    def job(conn: Connection, now: float) -> tuple[None, list[AuditEvent]]:
        for (day, email, tool, scope), calls in counts.items():
            where = ((gateway_usage.c.day == day) & (gateway_usage.c.email == email)
                     & (gateway_usage.c.tool == tool) & (gateway_usage.c.scope == scope))
            done = conn.execute(update(gateway_usage).where(where).values(calls=gateway_usage.c.calls + calls))
            if done.rowcount == 0:
                conn.execute(insert(gateway_usage).values(day=day, email=email, tool=tool, scope=scope,
                                                          calls=calls))
        return None, []

    return job


def report(conn: Connection, since: str | None) -> list[dict[str, Any]]:
    """``[{"day", "user", "tool", "scope", "calls"}]`` from ``since`` (YYYY-MM-DD) on, by day and user."""
    query = select(gateway_usage).order_by(gateway_usage.c.day, gateway_usage.c.email, gateway_usage.c.tool,
                                           gateway_usage.c.scope)
    if since:
        query = query.where(gateway_usage.c.day >= since)
    return [{"day": r["day"], "user": r["email"], "tool": r["tool"], "scope": r["scope"], "calls": int(r["calls"])}
            for r in conn.execute(query).mappings()]
