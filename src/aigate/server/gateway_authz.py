"""The gateway authorization decision: is the credential a tool sent a valid, live approval token
for this route's key scope, asked by a registered gateway? (docs/enforced-mode.md)

Checked in this order, each refusal final: the gateway's credential (403), the tool's token present
(401), its JWS (``EdDSA`` or RFC 9864's ``Ed25519`` only, ``typ``, a published ``kid``, the
signature), ``aud``, ``iss``, ``exp`` and ``nbf`` (401: the tool fetches a fresh token), its
``key_scope`` equal to the route's (403), its ``tool`` a tool the policy sends through a gateway
(403), then the live state in one read: the issuing device not logged out, the user not disabled,
the token's grant approved, unexpired, of that user, tool and scope (403). A decision is reused for
at most ``DECISION_CACHE_SECONDS`` (per server process), as are the gateway lookup and the decrypted
vendor key; every allowed call is counted (:mod:`aigate.server.usage`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select

from aigate import protocol as p
from aigate.constants import TOKEN_ALGORITHMS
from aigate.server.db import Prepared
from aigate.server.gateways import GatewayAuth
from aigate.server.models import access_requests, audit_events, devices, users
from aigate.server.policy import Policy
from aigate.server.signing import KeyRing
from aigate.server.usage import UsageCounter
from aigate.server.vendor_keys import VendorKeyCache

_TOOL_CREDENTIAL_LIMIT = 8192
#: How long one server process reuses a decision read from the database: a revocation, a disabled user
#: or a logged-out device stops the next call within this (the promise is 5 s).
DECISION_CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class Decision:
    """``status`` 200 with who and which tool, or a refusal: status, problem code and detail."""

    status: int
    code: p.ProblemCode | None = None
    detail: str = ""
    email: str = ""
    tool: str = ""

    @property
    def allowed(self) -> bool:
        return self.status == 200


def refuse(status: int, code: p.ProblemCode, detail: str) -> Decision:
    return Decision(status, code, detail)


class GatewayState:
    """What one server process keeps for its gateways: caches and the usage counter."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.vendor_keys = VendorKeyCache(data_dir, clock)
        self.gateways = GatewayAuth(clock)
        self.usage = UsageCounter()
        self._decisions: dict[tuple[str, str], tuple[float, Decision, float]] = {}

    def cached_decision(self, token: str, scope: str, now: float) -> Decision | None:
        entry = self._decisions.get((_digest(token), scope))
        if entry is None or self.clock() - entry[0] > DECISION_CACHE_SECONDS:
            return None
        _, decision, exp = entry
        if decision.allowed and now >= exp:
            return None  # expired meanwhile: decide again (and refuse)
        return decision

    def remember(self, token: str, scope: str, decision: Decision, exp: float) -> None:
        if len(self._decisions) > 4096:
            self._decisions.clear()
        self._decisions[(_digest(token), scope)] = (self.clock(), decision, exp)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def tool_credential(headers: dict[str, str]) -> str | Decision | None:
    """The tool's token from ``x-api-key`` or ``Authorization: Bearer`` (lower-case header names);
    None when there is none; a refusal when the two disagree or one is absurdly long."""
    api_key = headers.get("x-api-key", "").strip()
    auth = headers.get("authorization", "").strip()
    scheme, _, bearer = auth.partition(" ")
    bearer = bearer.strip() if scheme.lower() == "bearer" else ""
    if api_key and bearer and api_key != bearer:
        return refuse(401, p.ProblemCode.UNAUTHENTICATED, "two different credentials; send one approval token")
    token = api_key or bearer
    if len(token) > _TOOL_CREDENTIAL_LIMIT:
        return refuse(401, p.ProblemCode.UNAUTHENTICATED, "the credential is too long to be an approval token")
    return token or None


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_token(token: str, *, keys: KeyRing, issuer: str, scope: str, policy: Policy,
                now: float) -> tuple[dict[str, Any], Decision | None]:
    """``(claims, None)`` for a token whose JWS and claims check out for ``scope``, else ``({}, refusal)``.

    ``keys`` is the server's KeyRing: a token counts only when signed by a key the JWKS publishes.
    """
    bad = refuse(401, p.ProblemCode.UNAUTHENTICATED, "not a valid approval token; fetch a fresh one")
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(_b64(header_b64))
        claims = json.loads(_b64(payload_b64))
        signature = _b64(signature_b64)
    except ValueError:
        return {}, bad
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return {}, bad
    if header.get("alg") not in TOKEN_ALGORITHMS or header.get("typ") != p.TOKEN_TYPE:
        return {}, bad
    public = keys.public_key(header.get("kid"), now)
    if public is None:
        return {}, bad
    try:
        public.verify(signature, f"{header_b64}.{payload_b64}".encode("ascii"))
    except Exception:  # noqa: BLE001 - cryptography's InvalidSignature, or a malformed signature
        return {}, bad
    if claims.get("aud") != p.TOKEN_AUDIENCE or claims.get("iss") != issuer:
        return {}, bad
    try:
        exp, nbf = float(claims["exp"]), float(claims["nbf"])
    except (KeyError, TypeError, ValueError):
        return {}, bad
    if now >= exp:
        return {}, refuse(401, p.ProblemCode.UNAUTHENTICATED, "the approval token has expired; fetch a fresh one")
    if now + p.TOKEN_LEEWAY_SECONDS < nbf:
        return {}, bad
    if claims.get(p.CLAIM_KEY_SCOPE) != scope:
        return {}, refuse(403, p.ProblemCode.FORBIDDEN, f"this approval token is not for the key scope {scope!r}")
    tool = claims.get(p.CLAIM_TOOL)
    if not isinstance(tool, str) or not isinstance(claims.get("jti"), str) or not isinstance(claims.get("sub"), str):
        return {}, bad
    spec = policy.tools.get(tool)
    if spec is None or spec.key_source != p.KEY_SOURCE_GATEWAY:
        return {}, refuse(403, p.ProblemCode.FORBIDDEN, f"the policy does not send {tool} through a gateway")
    return claims, None


# One read for the live state of a token: the device that fetched it (from its audit event), the
# device's user, and the grant (access request) it rests on.
_LIVE = Prepared(
    select(devices.c.revoked_at, users.c.id, users.c.email, users.c.disabled, access_requests.c.user_id,
           access_requests.c.tool, access_requests.c.key_scope, access_requests.c.state,
           access_requests.c.expires_at)
    .select_from(audit_events)
    .join(devices, devices.c.id == audit_events.c.device_id)
    .join(users, users.c.id == devices.c.user_id)
    .outerjoin(access_requests, access_requests.c.id == bindparam("grant"))
    .where(audit_events.c.subject == bindparam("jti"), audit_events.c.action == "approval_token.issued")
    .limit(1)
)


def live_decision(reader: Any, claims: dict[str, Any], now: float) -> Decision:
    """Allow, or refuse with why, from the database's state now (``reader``: a read connection)."""
    row = _LIVE.first(reader, {"jti": claims["jti"], "grant": claims.get(p.CLAIM_ACCESS_REQUEST) or ""})
    gone = refuse(403, p.ProblemCode.NOT_APPROVED, "no approval behind this token")
    if row is None:
        return gone
    revoked_at, user_id, email, disabled, grant_user, grant_tool, grant_scope, state, expires_at = row
    tool, scope = claims[p.CLAIM_TOOL], claims[p.CLAIM_KEY_SCOPE]
    if revoked_at is not None:
        return refuse(403, p.ProblemCode.UNAUTHENTICATED, "the device that fetched this token has logged out")
    if disabled:
        return refuse(403, p.ProblemCode.USER_DISABLED, f"user {email} is disabled")
    if email != claims["sub"] or grant_user != user_id or grant_tool != tool or grant_scope != scope:
        return gone
    if state != p.RequestState.APPROVED.value or expires_at is None or expires_at <= now:
        return refuse(403, p.ProblemCode.NOT_APPROVED, f"the grant for {tool} was revoked or has ended")
    return Decision(200, email=email, tool=tool)


def flush_usage(state: GatewayState, engine: Any) -> None:
    """Write the counts not yet written (when the server stops); a failure is logged, not raised."""
    import logging

    from aigate.server import usage
    from aigate.server.writer import write_now

    counts = state.usage.take()
    if not counts:
        return
    try:
        write_now(engine, usage.add_job(counts))
    except Exception as err:  # noqa: BLE001 - stopping the server must not fail on a count
        logging.getLogger("aigate.server").warning("usage counts not written: %s", type(err).__name__)
