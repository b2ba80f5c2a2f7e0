"""Registered gateways: the engines (nginx) that hold no vendor key themselves but ask this server,
for every model call, whether the approval token a tool sent may pass, and get the scope's vendor key.

``gateway add NAME`` makes a credential ``agw_<gateway id>_<secret>`` (256 random bits), shown once;
the server keeps only its SHA-256 (as for device credentials, a slow hash buys nothing at this
entropy) and finds the gateway by the id inside. Adding and removing a gateway are audit events.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select

from aigate.errors import UsageError
from aigate.server.audit import AuditEvent
from aigate.server.db import Prepared
from aigate.server.identity import sha256_hex
from aigate.server.models import gateways
from aigate.server.writer import Job

CREDENTIAL_PREFIX = "agw"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CACHE_SECONDS = 2.0  # a removed gateway is refused within this long


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise UsageError(f"not a gateway name: {name!r}",
                         "a letter or digit, then up to 63 letters, digits, '.', '_' or '-'")
    return name


def add_job(name: str, actor: str) -> Job[tuple[str, str]]:
    """Job: register gateway ``name``. Result: ``(gateway id, credential)``. ValueError when it exists."""

    def job(conn: Connection, now: float) -> tuple[tuple[str, str], list[AuditEvent]]:
        if conn.execute(select(gateways.c.id).where(gateways.c.name == name)).first():
            raise ValueError(name)
        gateway_id = secrets.token_hex(8)
        credential = f"{CREDENTIAL_PREFIX}_{gateway_id}_{secrets.token_urlsafe(32)}"
        conn.execute(insert(gateways).values(id=gateway_id, name=name, credential_hash=sha256_hex(credential),
                                             created_at=int(now)))
        return (gateway_id, credential), [AuditEvent(actor, "gateway.added", name, {"id": gateway_id})]

    return job


def remove_job(name: str, actor: str) -> Job[None]:
    """Job: remove gateway ``name`` (its credential stops working). LookupError when there is none."""

    def job(conn: Connection, now: float) -> tuple[None, list[AuditEvent]]:
        if conn.execute(delete(gateways).where(gateways.c.name == name)).rowcount == 0:
            raise LookupError(name)
        return None, [AuditEvent(actor, "gateway.removed", name)]

    return job


def list_gateways(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(gateways.c.name, gateways.c.id, gateways.c.created_at)
                        .order_by(gateways.c.name)).mappings().all()
    return [dict(row) for row in rows]


def gateway_id_of(credential: str) -> str | None:
    parts = credential.split("_", 2)
    if len(parts) != 3 or parts[0] != CREDENTIAL_PREFIX or len(parts[1]) != 16 or len(credential) > 200:
        return None
    return parts[1]


_BY_ID = Prepared(select(gateways.c.name, gateways.c.credential_hash).where(gateways.c.id == bindparam("id")))


class GatewayAuth:
    """Which gateway a credential belongs to, remembered for CACHE_SECONDS (both answers)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}

    def cached(self, credential: str) -> tuple[bool, str | None]:
        """``(fresh, gateway name or None)`` from the cache."""
        entry = self._cache.get(sha256_hex(credential))
        if entry is None or self.clock() - entry[0] > CACHE_SECONDS:
            return False, None
        return True, entry[1]

    def load(self, reader: Any, credential: str) -> str | None:
        """The gateway's name for ``credential`` (read through ``reader``), or None; remembered."""
        digest = sha256_hex(credential)
        gateway_id = gateway_id_of(credential)
        name = None
        if gateway_id is not None:
            row = _BY_ID.first(reader, {"id": gateway_id})
            if row is not None and hmac.compare_digest(row[1], digest):
                name = str(row[0])
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[digest] = (self.clock(), name)
        return name
