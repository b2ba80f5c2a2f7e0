"""The device authorization flow the server brokers for ``aigate login`` without a code (RFC 8628 shape).

1. The CLI asks for a device authorization: a ``device_code`` (its polling secret, 256 random bits)
   and a ``user_code`` (``BCDF-GHJK``: 8 characters of RFC 8628 section 6.1's 20 consonants, about
   34 bits) that the person confirms at ``{public_url}/sso/device``. Both are stored as SHA-256
   digests only, expire after :data:`DEVICE_CODE_TTL_SECONDS` and work once.
2. In the browser the person confirms the code and signs in with the OpenID provider
   (:mod:`aigate.server.sso_logins`); the authorization is then ``signed-in`` for that user, and the
   page asks "enroll device NAME as EMAIL?" with a one-time confirmation token (again a digest).
3. ``approved`` or ``denied``; the CLI's next poll gets the device credential (an :class:`Enrollment`,
   as an enrollment code would) or ``access-denied``. Polling sooner than ``interval`` answers
   ``slow-down`` and adds 5 seconds to the interval (RFC 8628 section 3.5).

States: pending -> signed-in -> approved | denied; approved -> used (the device exists).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from aigate import protocol as p
from aigate import protocol_sso
from aigate.server.audit import AuditEvent
from aigate.server.identity import CREDENTIAL_PREFIX, sha256_hex, user_public
from aigate.server.models import device_authorizations, devices, users
from aigate.server.problems import ApiProblem
from aigate.server.writer import Job

DEVICE_CODE_TTL_SECONDS = 600
POLL_INTERVAL_SECONDS = 5
SLOW_DOWN_STEP_SECONDS = 5  # RFC 8628 section 3.5
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 section 6.1: no vowels, no look-alikes
PENDING, SIGNED_IN, APPROVED, DENIED, USED = "pending", "signed-in", "approved", "denied", "used"


PollResult = tuple[str, str, p.UserPublic] | p.ProblemCode  # (device id, credential, user), or the answer


def new_user_code() -> str:
    chars = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalize_user_code(text: str) -> str:
    """Upper-case, without dashes or spaces: ``bcdf ghjk`` and ``BCDF-GHJK`` are the same code."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


@dataclass(frozen=True)
class PendingDevice:
    """A device authorization as the browser pages show it."""

    id: str
    device_name: str
    platform: str
    state: str
    expires_at: int


def start_job(device_name: str, platform: str, public_url: str) -> Job[protocol_sso.DeviceAuthorization]:
    """Job: a new device authorization. Result: :class:`protocol_sso.DeviceAuthorization` (the only time
    the codes exist in clear)."""

    def job(conn: Connection, now: float) -> tuple[protocol_sso.DeviceAuthorization, list[AuditEvent]]:
        device_code, user_code = secrets.token_urlsafe(32), new_user_code()
        conn.execute(insert(device_authorizations).values(
            id=secrets.token_hex(8), device_code_hash=sha256_hex(device_code),
            user_code_hash=sha256_hex(normalize_user_code(user_code)), device_name=device_name,
            platform=platform, state=PENDING, created_at=int(now),
            expires_at=int(now) + DEVICE_CODE_TTL_SECONDS, interval=POLL_INTERVAL_SECONDS))
        page = f"{public_url}{p.Paths.SSO_DEVICE}"
        return protocol_sso.DeviceAuthorization(device_code, user_code, page, f"{page}?user_code={user_code}",
                                     DEVICE_CODE_TTL_SECONDS, POLL_INTERVAL_SECONDS), []

    return job


def find_by_user_code(conn: Connection, user_code: str, now: float) -> PendingDevice | None:
    """Read: the pending, unexpired authorization of ``user_code``, or None."""
    row = conn.execute(select(device_authorizations).where(
        device_authorizations.c.user_code_hash == sha256_hex(normalize_user_code(user_code)))).mappings().first()
    if row is None or row["state"] != PENDING or row["expires_at"] <= now:
        return None
    return PendingDevice(row["id"], row["device_name"], row["platform"], row["state"], row["expires_at"])


def sign_in(conn: Connection, authorization_id: str, user_id: int, confirm_token: str, now: float) -> PendingDevice:
    """Inside the callback's job: bind the pending authorization to the user who signed in.
    LookupError when it is no longer pending (expired, or signed in from another browser)."""
    changed = conn.execute(update(device_authorizations).where(
        device_authorizations.c.id == authorization_id, device_authorizations.c.state == PENDING,
        device_authorizations.c.expires_at > now).values(state=SIGNED_IN, user_id=user_id,
                                                         confirm_hash=sha256_hex(confirm_token)))
    if changed.rowcount != 1:
        raise LookupError(authorization_id)
    row = conn.execute(select(device_authorizations).where(device_authorizations.c.id == authorization_id)
                       ).mappings().one()
    return PendingDevice(row["id"], row["device_name"], row["platform"], row["state"], row["expires_at"])


def deny(conn: Connection, authorization_id: str) -> None:
    """Inside a job: a pending authorization is denied (its user may not sign in)."""
    conn.execute(update(device_authorizations).where(device_authorizations.c.id == authorization_id,
                                                     device_authorizations.c.state == PENDING)
                 .values(state=DENIED))


def confirm_job(confirm_token: str, approve: bool) -> Job[str | None]:
    """Job: the signed-in person approves or denies the device. Result: the user's email, or None when
    the token is unknown, used or expired."""

    def job(conn: Connection, now: float) -> tuple[str | None, list[AuditEvent]]:
        row = conn.execute(select(device_authorizations, users.c.email)
                           .join(users, users.c.id == device_authorizations.c.user_id)
                           .where(device_authorizations.c.confirm_hash == sha256_hex(confirm_token))
                           ).mappings().first()
        if row is None or row["state"] != SIGNED_IN or row["expires_at"] <= now:
            return None, []
        state = APPROVED if approve else DENIED
        conn.execute(update(device_authorizations).where(device_authorizations.c.id == row["id"],
                                                         device_authorizations.c.state == SIGNED_IN)
                     .values(state=state, confirm_hash=None))
        event = AuditEvent(row["email"], f"device_authorization.{state}", row["id"],
                           {"name": row["device_name"], "platform": row["platform"]})
        return row["email"], [event]

    return job


def poll_job(device_code: str) -> Job[PollResult]:
    """Job: one poll of the CLI. Result: ``(device_id, credential, UserPublic)``, or the ProblemCode to answer
    (authorization-pending, slow-down, expired-token, access-denied). The poll time is written even
    when the answer is an error, so ``slow-down`` holds across polls."""

    def job(conn: Connection, now: float) -> tuple[PollResult, list[AuditEvent]]:
        row = conn.execute(select(device_authorizations).where(
            device_authorizations.c.device_code_hash == sha256_hex(device_code))).mappings().first()
        if row is None or row["state"] == USED or row["expires_at"] <= now:
            return p.ProblemCode.EXPIRED_TOKEN, []
        where = device_authorizations.c.id == row["id"]
        if row["last_polled_at"] is not None and now - row["last_polled_at"] < row["interval"]:
            conn.execute(update(device_authorizations).where(where).values(
                last_polled_at=int(now), interval=row["interval"] + SLOW_DOWN_STEP_SECONDS))
            return p.ProblemCode.SLOW_DOWN, []
        conn.execute(update(device_authorizations).where(where).values(last_polled_at=int(now)))
        if row["state"] == DENIED:
            return p.ProblemCode.ACCESS_DENIED, []
        if row["state"] != APPROVED:
            return p.ProblemCode.AUTHORIZATION_PENDING, []
        return _enroll(conn, row, now)

    return job


def _enroll(conn: Connection, row: RowMapping, now: float) -> tuple[PollResult, list[AuditEvent]]:
    """The approved authorization becomes a device (once); a user disabled meanwhile gets none."""
    user = conn.execute(select(users).where(users.c.id == row["user_id"])).mappings().one()
    if user["disabled"]:
        raise ApiProblem(403, p.ProblemCode.USER_DISABLED, f"user {user['email']} is disabled")
    device_id = secrets.token_hex(8)
    credential = f"{CREDENTIAL_PREFIX}_{device_id}_{secrets.token_urlsafe(32)}"
    claimed = conn.execute(update(device_authorizations).where(
        device_authorizations.c.id == row["id"], device_authorizations.c.state == APPROVED)
        .values(state=USED, device_id=device_id))
    if claimed.rowcount != 1:
        return p.ProblemCode.EXPIRED_TOKEN, []
    conn.execute(insert(devices).values(id=device_id, user_id=user["id"], credential_hash=sha256_hex(credential),
                                        name=row["device_name"], platform=row["platform"], created_at=int(now)))
    event = AuditEvent(user["email"], "device.enrolled", device_id,
                       {"name": row["device_name"], "platform": row["platform"], "via": "sso"}, device_id)
    return (device_id, credential, user_public(user)), [event]


def sweep_job(conn: Connection, now: float) -> tuple[int, list[AuditEvent]]:
    """Job: forget device authorizations that expired more than a day ago (digests only)."""
    done = conn.execute(delete(device_authorizations).where(device_authorizations.c.expires_at <= now - 86400))
    return done.rowcount, []
