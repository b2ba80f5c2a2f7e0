"""OpenID Connect sign-ins in flight, and the users they create or refresh.

A sign-in starts in a browser: the server stores the SHA-256 of its ``state`` and ``nonce`` and the
PKCE ``code_challenge``; the PKCE ``code_verifier`` goes to that browser only, in an HttpOnly cookie,
so the callback proves it comes back to the browser that started (RFC 9700 section 4.7: PKCE as the
CSRF defence of the redirect). A sign-in is single use and expires after :data:`LOGIN_TTL_SECONDS`.

Users (DESIGN.md "Identity"): the first sign-in creates the user (role ``user``); every sign-in
replaces their groups with the ID token's groups claim (kept as they are when the token has none);
a disabled user is refused. Roles come from the policy's ``[roles]`` (:mod:`aigate.server.roles`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from aigate.protocol import Role
from aigate.server import device_flow
from aigate.server.audit import AuditEvent
from aigate.server.identity import sha256_hex
from aigate.server.models import sso_logins, users
from aigate.server.oidc import Identity
from aigate.server.writer import Job

LOGIN_TTL_SECONDS = 600
PURPOSE_DEVICE = "device"
PURPOSE_CONSOLE = "console"  # a sign-in to the approver console (aigate.server.console)


class SignInRefused(Exception):
    """A sign-in that must stop; the message is shown in the browser (no secret in it)."""


@dataclass(frozen=True)
class PendingLogin:
    state_hash: str
    nonce_hash: str
    code_challenge: str
    purpose: str
    device_authorization_id: str | None
    return_to: str | None


@dataclass(frozen=True)
class SignedInUser:
    user_id: int
    email: str
    groups: list[str]
    role: Role
    created: bool


SignInResult = tuple[SignedInUser, device_flow.PendingDevice] | str  # a string: why the sign-in was refused


def begin_login_job(state: str, nonce: str, code_challenge: str, purpose: str, *,
                    device_authorization_id: str | None = None, return_to: str | None = None) -> Job[None]:
    """Job: record a sign-in about to be sent to the provider. Result: None; no audit event (nothing
    has happened to anyone yet)."""

    def job(conn: Connection, now: float) -> tuple[None, list[AuditEvent]]:
        conn.execute(insert(sso_logins).values(
            state_hash=sha256_hex(state), nonce_hash=sha256_hex(nonce), code_challenge=code_challenge,
            purpose=purpose, device_authorization_id=device_authorization_id, return_to=return_to,
            created_at=int(now), expires_at=int(now) + LOGIN_TTL_SECONDS))
        return None, []

    return job


def pending_login(conn: Connection, state: str, now: float) -> PendingLogin | None:
    """Read: the unused, unexpired sign-in whose ``state`` this is, or None."""
    row = conn.execute(select(sso_logins).where(sso_logins.c.state_hash == sha256_hex(state))).mappings().first()
    if row is None or row["used_at"] is not None or row["expires_at"] <= now:
        return None
    return PendingLogin(row["state_hash"], row["nonce_hash"], row["code_challenge"], row["purpose"],
                        row["device_authorization_id"], row["return_to"])


def claim_login(conn: Connection, login: PendingLogin, now: float) -> None:
    """Mark the sign-in used (inside a job); SignInRefused when another request used it first."""
    claimed = conn.execute(update(sso_logins).where(sso_logins.c.state_hash == login.state_hash,
                                                    sso_logins.c.used_at.is_(None),
                                                    sso_logins.c.expires_at > now).values(used_at=int(now)))
    if claimed.rowcount != 1:
        raise SignInRefused("this sign-in was already used or has expired; start again")


def provision_user(conn: Connection, identity: Identity, now: float) -> tuple[SignedInUser, list[AuditEvent]]:
    """Create the user on first sign-in, else refresh their groups; SignInRefused for a disabled user."""
    row = conn.execute(select(users).where(users.c.email == identity.email)).mappings().first()
    events: list[AuditEvent] = []
    if row is None:
        groups = identity.groups or []
        values = {"email": identity.email, "groups": json.dumps(groups), "role": Role.USER.value,
                  "disabled": False, "created_at": int(now)}
        user_id = conn.execute(insert(users).values(**values)).inserted_primary_key[0]  # type: ignore[index]
        events.append(AuditEvent(identity.email, "user.created", identity.email,
                                 {"groups": groups, "role": Role.USER.value, "via": "sso"}))
        return SignedInUser(user_id, identity.email, groups, Role.USER, True), events
    if row["disabled"]:
        raise SignInRefused(f"the user {identity.email} is disabled in aigate; ask your aigate admin")
    groups = json.loads(row["groups"])
    if identity.groups is not None and identity.groups != groups:
        conn.execute(update(users).where(users.c.id == row["id"]).values(groups=json.dumps(identity.groups)))
        events.append(AuditEvent(identity.email, "user.updated", identity.email,
                                 {"groups": identity.groups, "previous_groups": groups, "via": "sso"}))
        groups = identity.groups
    return SignedInUser(row["id"], identity.email, groups, Role(row["role"]), False), events


def finish_login_job(login: PendingLogin, identity: Identity, confirm_token: str) -> Job[SignInResult]:
    """Job of the callback: use the sign-in once, create or refresh the user, and for a ``device``
    sign-in bind the device authorization to them (see :mod:`aigate.server.device_flow`).

    Result: ``(SignedInUser, PendingDevice)``, or the message when the sign-in is refused (a
    disabled user: the device authorization is then denied, so the CLI stops waiting at once).
    """
    def job(conn: Connection, now: float) -> tuple[SignInResult, list[AuditEvent]]:
        claim_login(conn, login, now)
        try:
            user, events = provision_user(conn, identity, now)
        except SignInRefused as refused:
            if login.device_authorization_id:
                device_flow.deny(conn, login.device_authorization_id)
            return str(refused), [AuditEvent(identity.email, "sso.sign_in_refused", identity.email,
                                                     {"why": "user disabled"})]
        events.append(AuditEvent(user.email, "sso.signed_in", user.email,
                                 {"purpose": login.purpose, "groups": user.groups}))
        try:
            device = device_flow.sign_in(conn, login.device_authorization_id or "", user.user_id,
                                         confirm_token, now)
        except LookupError:
            raise SignInRefused("this device sign-in has expired or was finished elsewhere; "
                                "run `aigate login` again") from None
        return (user, device), events

    return job


def sweep_job(conn: Connection, now: float) -> tuple[int, list[AuditEvent]]:
    """Job: forget sign-ins that ended more than a day ago (they hold nothing but digests)."""
    done = conn.execute(delete(sso_logins).where(sso_logins.c.expires_at <= now - 86400))
    return done.rowcount, []
