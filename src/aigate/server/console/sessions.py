"""Console sign-in: one-time links, sessions, and the caller behind a session cookie.

``aigate admin console`` asks ``POST /v1/console-links`` (device credential) for a link
``{public_url}/console/signin?token=...``: 256 random bits, only its SHA-256 stored, works once and
for :data:`LINK_SECONDS`. Redeeming it (a POST from the sign-in page, so a link preview fetching the
URL cannot use it up) opens a session: the cookie holds another 256-bit secret (stored hashed) and
the session has its own CSRF token for every form. The session is bound to the device whose link
opened it: every page re-reads that device and its user, so logging the device out or disabling the
user ends the console session at once.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets

from sqlalchemy import Connection, delete, insert, or_, select, update

from aigate.protocol import ProblemCode, Role
from aigate.server.audit import AuditEvent
from aigate.server.identity import Caller, sha256_hex
from aigate.server.models import console_links, console_sessions, devices, users
from aigate.server.oidc import Identity
from aigate.server.problems import ApiProblem
from aigate.server.sso_logins import PendingLogin, claim_login, provision_user
from aigate.server.writer import Job

LINK_SECONDS = 5 * 60
SESSION_SECONDS = 8 * 3600
COOKIE = "__Host-aigate-console"  # __Host-: Secure, Path=/, no Domain (RFC 6265bis cookie prefixes)


_NEXT = re.compile(r"/console(/[A-Za-z0-9_./-]*)?(\?[A-Za-z0-9_=&.%-]*)?")


def safe_next(path: str | None) -> str:
    """``path`` when it is a console page of this server (where to go after signing in), else
    ``/console``: never another site, so a crafted link cannot send a fresh session elsewhere."""
    if path and len(path) <= 300 and _NEXT.fullmatch(path) and "//" not in path and ".." not in path:
        return path
    return "/console"


def link_job(caller: Caller, public_url: str) -> Job[tuple[str, int]]:
    """Job: a one-time sign-in link for the caller's device. Result: ``(url, expires_at epoch)``."""

    def job(conn: Connection, now: float) -> tuple[tuple[str, int], list[AuditEvent]]:
        token = secrets.token_urlsafe(32)
        expires = int(now) + LINK_SECONDS
        conn.execute(insert(console_links).values(token_hash=sha256_hex(token), user_id=caller.user_id,
                                                  device_id=caller.device_id, created_at=int(now), expires_at=expires))
        event = AuditEvent(caller.email, "console.link_issued", caller.device_id, {"expires_in": LINK_SECONDS},
                           caller.device_id)
        return (f"{public_url}/console/signin?token={token}", expires), [event]

    return job


def _invalid_link() -> ApiProblem:
    return ApiProblem(400, ProblemCode.INVALID_REQUEST,
                      "this sign-in link is unknown, already used or expired; run `aigate admin console` for a new one")


def redeem_job(token: str) -> Job[tuple[str, str, str]]:
    """Job: use a link once and open a session. Result: ``(cookie value, csrf token, email)``.
    ApiProblem 400 for an unknown, used or expired link, or one whose device or user was stopped."""

    def job(conn: Connection, now: float) -> tuple[tuple[str, str, str], list[AuditEvent]]:
        token_hash = sha256_hex(token)
        used = conn.execute(update(console_links).where(
            console_links.c.token_hash == token_hash, console_links.c.used_at.is_(None),
            console_links.c.expires_at > now).values(used_at=int(now)))
        if used.rowcount != 1:
            raise _invalid_link()
        link = conn.execute(select(console_links).where(console_links.c.token_hash == token_hash)).mappings().one()
        row = conn.execute(_WHO.where(devices.c.id == link["device_id"])).mappings().first()
        if row is None or row["revoked_at"] is not None or row["disabled"]:
            raise _invalid_link()
        cookie, csrf = open_session(conn, link["user_id"], link["device_id"], now)
        event = AuditEvent(row["email"], "console.signed_in", link["device_id"], {"by": "link"}, link["device_id"])
        return (cookie, csrf, row["email"]), [event]

    return job


def open_session(conn: Connection, user_id: int, device_id: str | None, now: float) -> tuple[str, str]:
    """Insert a session; ``(cookie value, csrf token)``."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_hex(32)
    conn.execute(insert(console_sessions).values(
        id_hash=sha256_hex(cookie), user_id=user_id, device_id=device_id, csrf_token=csrf,
        created_at=int(now), expires_at=int(now) + SESSION_SECONDS))
    return cookie, csrf


def sso_session_job(login: PendingLogin, identity: Identity) -> Job[tuple[str, str, str]]:
    """Job of the SSO callback for a ``console`` sign-in: use the sign-in once, create or refresh the
    user (groups from the ID token, as for a device sign-in), open a session bound to no device.
    Result: ``(cookie value, csrf token, email)``; SignInRefused for a used sign-in or a disabled user."""

    def job(conn: Connection, now: float) -> tuple[tuple[str, str, str], list[AuditEvent]]:
        claim_login(conn, login, now)
        user, events = provision_user(conn, identity, now)
        cookie, csrf = open_session(conn, user.user_id, None, now)
        events.append(AuditEvent(user.email, "console.signed_in", "", {"by": "sso", "groups": user.groups}))
        return (cookie, csrf, user.email), events

    return job


_WHO = select(devices.c.id.label("device_id"), devices.c.revoked_at, users.c.id, users.c.email, users.c.groups,
              users.c.role, users.c.disabled).join(users, users.c.id == devices.c.user_id)


def session_caller(conn: Connection, cookie: str | None, now: float) -> tuple[Caller, str] | None:
    """The Caller and CSRF token of a live session, or None (no, unknown, ended or expired session;
    its device logged out; its user disabled)."""
    if not cookie or len(cookie) > 100:
        return None
    query = (select(console_sessions.c.csrf_token, console_sessions.c.device_id, devices.c.revoked_at, users.c.id,
                    users.c.email, users.c.groups, users.c.role, users.c.disabled)
             .join(users, users.c.id == console_sessions.c.user_id)
             .outerjoin(devices, devices.c.id == console_sessions.c.device_id)
             .where(console_sessions.c.id_hash == sha256_hex(cookie), console_sessions.c.ended_at.is_(None),
                    console_sessions.c.expires_at > now))
    row = conn.execute(query).mappings().first()
    if row is None or row["disabled"] or (row["device_id"] is not None and row["revoked_at"] is not None):
        return None
    caller = Caller(row["id"], row["email"], json.loads(row["groups"]), Role(row["role"]), row["device_id"] or "")
    return caller, row["csrf_token"]


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def end_job(cookie: str, email: str) -> Job[None]:
    """Job: end a session (sign out)."""

    def job(conn: Connection, now: float) -> tuple[None, list[AuditEvent]]:
        conn.execute(update(console_sessions).where(console_sessions.c.id_hash == sha256_hex(cookie))
                     .values(ended_at=int(now)))
        return None, [AuditEvent(email, "console.signed_out", "")]

    return job


def cookie_header(value: str, max_age: int = SESSION_SECONDS) -> str:
    """The Set-Cookie value: Secure, HttpOnly, SameSite=Strict, host-only, Path=/."""
    return f"{COOKIE}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Strict"



def sweep_job(conn: Connection, now: float) -> tuple[int, list[AuditEvent]]:
    """Job: forget links and sessions that ended more than a day ago (they hold only digests)."""
    gone = conn.execute(delete(console_links).where(console_links.c.expires_at <= now - 86400)).rowcount
    gone += conn.execute(delete(console_sessions).where(or_(console_sessions.c.expires_at <= now - 86400,
                                                            console_sessions.c.ended_at <= now - 86400))).rowcount
    return gone, []
