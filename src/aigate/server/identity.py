"""Users, one-time enrollment codes, devices and device authentication.

An enrollment code (``7KQ2-MX4P-9TRD``: 12 characters of Crockford's base32, 60 bits) works once and
for :data:`CODE_TTL_SECONDS`; only its SHA-256 is stored. Enrolling makes a device credential
``agd_<device id>_<secret>`` (the secret is 256 random bits), returned once; the server stores its
SHA-256 and finds the device by the id in it. Disabling a user stops all their devices at once,
because every authentication reads the user's ``disabled`` flag.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, func, insert, select, update

from aigate.protocol import ProblemCode, Role, UserPublic
from aigate.server.audit import AuditEvent
from aigate.server.db import Prepared, RawReader
from aigate.server.models import devices, enrollment_codes, users
from aigate.server.problems import ApiProblem
from aigate.server.writer import Job

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_TTL_SECONDS = 24 * 3600
CREDENTIAL_PREFIX = "agd"


def sha256_hex(text: str) -> str:
    """SHA-256 of ``text`` as hex: how enrollment codes and device credentials are stored (both are high-entropy,
    so no slow hash)."""
    return hashlib.sha256(text.encode()).hexdigest()


def new_code() -> str:
    """A fresh enrollment code: 12 characters of Crockford's base32 in groups of 4 (``7KQ2-MX4P-9TRD``, 60 bits)."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(chars[i:i + 4] for i in range(0, 12, 4))


def normalize_code(code: str) -> str:
    """Upper-case, without dashes or spaces; Crockford's look-alikes (O, I, L) read as digits."""
    cleaned = "".join(code.split()).replace("-", "").upper()
    return cleaned.translate(str.maketrans("OIL", "011"))


class DeviceAuth(NamedTuple):
    """What authenticating a device credential reads: its device and user (the columns of ``_AUTH``,
    in order, so a row of that select or of :func:`aigate.server.prefetch.device_rows` converts as
    ``DeviceAuth(*row)``)."""

    credential_hash: str  # SHA-256 hex of the device credential
    revoked_at: int | None  # epoch seconds of the logout, or None
    user_id: int
    email: str
    groups: str  # JSON list of group names
    role: str  # a Role value
    disabled: bool

    @classmethod
    def of(cls, row: Any) -> DeviceAuth | None:
        """``DeviceAuth(*row)``, or None for no row."""
        return None if row is None else cls(*row)


@dataclass(frozen=True)
class Caller:
    """The authenticated device and its user."""

    user_id: int
    email: str
    groups: list[str]
    role: Role
    device_id: str
    disabled: bool = False  # only ever True for the session-event route (see ``allow_disabled``)

    @property
    def reviewer(self) -> bool:
        """Whether the caller may review access requests (approver or admin)."""
        return self.role in (Role.APPROVER, Role.ADMIN)

    def public(self) -> UserPublic:
        """The caller's user as its wire shape."""
        return UserPublic(self.email, self.groups, self.role, False)


def user_public(row: Mapping[Any, Any]) -> UserPublic:
    """A ``users`` row as its wire shape."""
    return UserPublic(row["email"], json.loads(row["groups"]), Role(row["role"]), bool(row["disabled"]))


def add_user_job(email: str, groups: list[str] | None, role: Role | None, actor: str,
                 changed: list[str] | None = None) -> Job[tuple[UserPublic, str]]:
    """Job (see writer): create the user, or update groups/role given; then issue a fresh code.

    For an existing user, ``groups``/``role`` of None leave them as they are; given, they replace
    them, and each real change is appended to ``changed`` (``"role user -> admin"``), so the caller
    can say what it changed. Result: ``(UserPublic, code)``.
    """

    def job(conn: Connection, now: float) -> tuple[tuple[UserPublic, str], list[AuditEvent]]:
        events: list[AuditEvent] = []
        row = conn.execute(select(users).where(users.c.email == email)).mappings().first()
        if row is None:
            values = {"email": email, "groups": json.dumps(groups or []), "role": (role or Role.USER).value,
                      "disabled": False, "created_at": int(now)}
            user_id = conn.execute(insert(users).values(**values)).inserted_primary_key[0]  # type: ignore[index]
            events.append(AuditEvent(actor, "user.created", email, {"groups": groups or [],
                                                                    "role": values["role"]}))
        else:
            user_id = row["id"]
            changes = {}
            said = []
            old_groups = json.loads(row["groups"])
            if groups is not None and groups != old_groups:
                changes["groups"] = json.dumps(groups)
                said.append(f"groups {old_groups} -> {groups}")
            if role is not None and role.value != row["role"]:
                changes["role"] = role.value
                said.append(f"role {row['role']} -> {role.value}")
            if changed is not None:
                changed.extend(said)
            if changes:
                conn.execute(update(users).where(users.c.id == user_id).values(**changes))
                events.append(AuditEvent(actor, "user.updated", email,
                                         {"groups": groups, "role": role.value if role else None}))
        code = new_code()
        conn.execute(insert(enrollment_codes).values(
            code_hash=sha256_hex(normalize_code(code)), user_id=user_id, created_at=int(now),
            expires_at=int(now) + CODE_TTL_SECONDS))
        events.append(AuditEvent(actor, "enrollment_code.issued", email, {"expires_in": CODE_TTL_SECONDS}))
        user = conn.execute(select(users).where(users.c.id == user_id)).mappings().one()
        return (user_public(user), code), events

    return job


def set_disabled_job(email: str, disabled: bool, actor: str) -> Job[UserPublic]:
    """Job: disable or enable a user. Result: UserPublic. LookupError when there is no such user."""

    def job(conn: Connection, now: float) -> tuple[UserPublic, list[AuditEvent]]:
        result = conn.execute(update(users).where(users.c.email == email).values(disabled=disabled))
        if result.rowcount == 0:
            raise LookupError(email)
        row = conn.execute(select(users).where(users.c.email == email)).mappings().one()
        action = "user.disabled" if disabled else "user.enabled"
        return user_public(row), [AuditEvent(actor, action, email)]

    return job


def enroll_job(code: str, device_name: str, platform: str) -> Job[tuple[str, str, UserPublic]]:
    """Job: exchange an enrollment code for a new device. Result: ``(device_id, credential, UserPublic)``.

    Raises ApiProblem 400 enrollment-code-invalid for an unknown, used or expired code, 403
    user-disabled for a disabled user.
    """

    def job(conn: Connection, now: float) -> tuple[tuple[str, str, UserPublic], list[AuditEvent]]:
        code_hash = sha256_hex(normalize_code(code))
        row = conn.execute(select(enrollment_codes).where(enrollment_codes.c.code_hash == code_hash)
                           ).mappings().first()
        if row is None or row["used_at"] is not None or row["expires_at"] <= now:
            raise ApiProblem(400, ProblemCode.ENROLLMENT_CODE_INVALID,
                             "this enrollment code is unknown, already used or expired; ask an admin "
                             "for a new one (`aigate-server users add EMAIL`)")
        user = conn.execute(select(users).where(users.c.id == row["user_id"])).mappings().one()
        if user["disabled"]:
            raise ApiProblem(403, ProblemCode.USER_DISABLED, f"user {user['email']} is disabled")
        device_id = secrets.token_hex(8)
        credential = f"{CREDENTIAL_PREFIX}_{device_id}_{secrets.token_urlsafe(32)}"
        claimed = conn.execute(update(enrollment_codes).where(enrollment_codes.c.code_hash == code_hash,
                                                              enrollment_codes.c.used_at.is_(None))
                               .values(used_at=int(now), device_id=device_id))
        if claimed.rowcount != 1:
            raise ApiProblem(400, ProblemCode.ENROLLMENT_CODE_INVALID, "this enrollment code was just used")
        conn.execute(insert(devices).values(id=device_id, user_id=user["id"], credential_hash=sha256_hex(credential),
                                            name=device_name, platform=platform, created_at=int(now)))
        event = AuditEvent(user["email"], "device.enrolled", device_id,
                           {"name": device_name, "platform": platform}, device_id)
        return (device_id, credential, user_public(user)), [event]

    return job


# Built once: building a select costs far more than running it (hot path of every request).
_AUTH = Prepared(
    select(devices.c.credential_hash, devices.c.revoked_at, users.c.id, users.c.email, users.c.groups,
           users.c.role, users.c.disabled)
    .join(users, users.c.id == devices.c.user_id).where(devices.c.id == bindparam("device_id"))
)


def authenticate(conn: Connection | RawReader, credential: str, allow_disabled: bool = False) -> Caller:
    """The Caller behind a device credential; ApiProblem 401 unauthenticated or 403 user-disabled.

    ``allow_disabled``: a disabled user's (known, not logged-out) device still authenticates, with
    ``Caller.disabled`` set; only session events use it, so the records of the sessions a user ran
    before being disabled still reach the audit log.
    """
    device_id = _device_id_of(credential)
    found = DeviceAuth.of(_AUTH.first(conn, {"device_id": device_id}))
    return caller_from_row(found, credential, device_id, allow_disabled)


def authenticate_even_disabled(conn: Connection | RawReader, credential: str) -> Caller:
    """:func:`authenticate` that lets a disabled user's device through (session events only)."""
    return authenticate(conn, credential, allow_disabled=True)


def caller_from_row(row: DeviceAuth | None, credential: str, device_id: str, allow_disabled: bool = False) -> Caller:
    """Check ``credential`` against its device's :class:`DeviceAuth` (None: no such device).

    Raises ApiProblem 401 unauthenticated (unknown device, logged out, wrong secret; compared in
    constant time) or 403 user-disabled (unless ``allow_disabled``)."""
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.credential_hash,
                                                                              sha256_hex(credential)):
        raise unauthenticated()
    if row.disabled and not allow_disabled:
        raise ApiProblem(403, ProblemCode.USER_DISABLED,
                         f"user {row.email} is disabled; an admin can enable it (`aigate-server users enable`)")
    return Caller(row.user_id, row.email, json.loads(row.groups), Role(row.role), device_id, bool(row.disabled))


def device_id_of(credential: str) -> str | None:
    """The device id inside a well-formed credential, or None."""
    try:
        return _device_id_of(credential)
    except ApiProblem:
        return None


def _device_id_of(credential: str) -> str:
    parts = credential.split("_", 2)
    if len(parts) != 3 or parts[0] != CREDENTIAL_PREFIX or len(parts[1]) != 16:
        raise unauthenticated()
    return parts[1]


def unauthenticated() -> ApiProblem:
    """The 401 problem for a missing, unknown or logged-out device credential (with ``WWW-Authenticate:
    Bearer``)."""
    return ApiProblem(401, ProblemCode.UNAUTHENTICATED,
                      "no valid device credential; enroll with `aigate login --server URL`",
                      headers={"WWW-Authenticate": "Bearer"})


def revoke_device_job(caller: Caller) -> Job[None]:
    """Job: the calling device's credential stops working (logout)."""

    def job(conn: Connection, now: float) -> tuple[None, list[AuditEvent]]:
        conn.execute(update(devices).where(devices.c.id == caller.device_id).values(revoked_at=int(now)))
        return None, [AuditEvent(caller.email, "device.logged_out", caller.device_id, {}, caller.device_id)]

    return job


def list_users(conn: Connection) -> list[dict[str, Any]]:
    """Every user with their count of active devices, ordered by email (for ``users list``)."""
    active = (select(devices.c.user_id, func.count().label("n")).where(devices.c.revoked_at.is_(None))
              .group_by(devices.c.user_id).subquery())
    rows = conn.execute(select(users, active.c.n).outerjoin(active, active.c.user_id == users.c.id)
                        .order_by(users.c.email)).mappings().all()
    return [{"email": r["email"], "groups": json.loads(r["groups"]), "role": r["role"],
             "disabled": bool(r["disabled"]), "devices": int(r["n"] or 0)} for r in rows]
