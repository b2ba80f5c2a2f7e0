"""Approval tokens: the claims of one issuance (DESIGN.md "Approval token", issue 2 item 6).

A token is issued only for an active grant of the calling device's user (or under an ``auto`` rule,
which records an automatic grant first), for that tool, outside the rule's denied repositories. Its
lifetime is ``min(token_ttl, grant end - now)``. The issuance itself is an audit event
(``approval_token.issued``, subject = the token's ``jti``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection

from aigate import protocol as p
from aigate.server.access import active_grant
from aigate.server.audit import AuditEvent
from aigate.server.identity import Caller, authenticate
from aigate.server.policy import Verdict


@dataclass(frozen=True)
class GrantRef:
    access_request_id: str | None
    expires_at: int
    key_scope: str
    automatic: bool = False


def lookup(conn: Connection, credential: str, tool: str, now: float) -> tuple[Caller, GrantRef | None]:
    """Authenticate and find the user's active grant for ``tool``, in one read."""
    caller = authenticate(conn, credential)
    row = active_grant(conn, caller.user_id, tool, now)
    return caller, None if row is None else GrantRef(row[0], row[1], row[2])


def claims_for(caller: Caller, verdict: Verdict, grant: GrantRef, repository: str | None, *, issuer: str,
               token_ttl: int, now: float) -> dict[str, Any]:
    """The JWT claims of one approval token (names from :mod:`aigate.protocol`)."""
    issued = int(now)
    return {
        "iss": issuer, "aud": p.TOKEN_AUDIENCE, "sub": caller.email, "iat": issued, "nbf": issued,
        "exp": min(issued + token_ttl, grant.expires_at), "jti": secrets.token_urlsafe(16),
        p.CLAIM_TOOL: verdict.tool, p.CLAIM_KEY_SCOPE: grant.key_scope,
        p.CLAIM_ACCESS_REQUEST: grant.access_request_id, p.CLAIM_REPOSITORY: repository,
        p.CLAIM_BASE_URL: verdict.base_url, p.CLAIM_ENV: verdict.env,
    }


def issued_event(caller: Caller, claims: dict[str, Any], kid: str) -> AuditEvent:
    data = {"tool": claims[p.CLAIM_TOOL], "repository": claims[p.CLAIM_REPOSITORY],
            "access_request": claims[p.CLAIM_ACCESS_REQUEST], "exp": claims["exp"], "kid": kid}
    return AuditEvent(caller.email, "approval_token.issued", claims["jti"], data, caller.device_id)


def envelope(token: str, claims: dict[str, Any]) -> p.ApprovalToken:
    return p.ApprovalToken(
        token=token, expires_at=datetime.fromtimestamp(claims["exp"], timezone.utc), tool=claims[p.CLAIM_TOOL],
        key_scope=claims[p.CLAIM_KEY_SCOPE], access_request_id=claims[p.CLAIM_ACCESS_REQUEST],
        repository=claims[p.CLAIM_REPOSITORY], base_url=claims[p.CLAIM_BASE_URL], env=claims[p.CLAIM_ENV],
    )
