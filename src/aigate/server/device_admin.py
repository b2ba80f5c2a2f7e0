"""An admin's view of one user's enrolled devices, and revoking one of them (``aigate-server users
devices EMAIL``, ``aigate-server users revoke-device ID``): a lost laptop, or one whose ``aigate
logout`` could not reach the server, stops working without disabling the user's other devices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from aigate.server.audit import AuditEvent
from aigate.server.models import devices, users
from aigate.server.writer import Job


def list_devices(conn: Connection, email: str) -> list[dict[str, Any]] | None:
    """The user's devices, oldest first: ``id``, ``name``, ``platform``, ``created_at`` and
    ``revoked_at`` (Unix seconds; ``revoked_at`` None while active). None when there is no such user."""
    user_id = conn.execute(select(users.c.id).where(users.c.email == email)).scalar()
    if user_id is None:
        return None
    rows = conn.execute(select(devices.c.id, devices.c.name, devices.c.platform, devices.c.created_at,
                               devices.c.revoked_at).where(devices.c.user_id == user_id)
                        .order_by(devices.c.created_at, devices.c.id)).mappings().all()
    return [dict(row) for row in rows]


def revoke_device_job(device_id: str, actor: str) -> Job[str]:
    """Job: device ``device_id``'s credential stops working at once (audited ``device.revoked``).
    Result: the owner's email. LookupError when there is no such device; a revoked one stays revoked."""

    def job(conn: Connection, now: float) -> tuple[str, list[AuditEvent]]:
        row = conn.execute(select(users.c.email, devices.c.revoked_at).join(users, users.c.id == devices.c.user_id)
                           .where(devices.c.id == device_id)).first()
        if row is None:
            raise LookupError(device_id)
        if row.revoked_at is not None:
            return str(row.email), []
        conn.execute(update(devices).where(devices.c.id == device_id).values(revoked_at=int(now)))
        return str(row.email), [AuditEvent(actor, "device.revoked", device_id, {"user": row.email})]

    return job
