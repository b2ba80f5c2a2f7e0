"""Approval tokens: one issuance flow, :func:`issue_token`, for the route and the ASGI fast path.

A token is issued only for an active grant of the calling device's user (or under an ``auto`` rule,
which records an automatic grant first), for that tool, outside the rule's denied repositories. Its
lifetime is ``min(token_ttl, grant end - now)``. The issuance itself is an audit event
(``approval_token.issued``, subject = the token's ``jti``); a refusal for a denied repository is one
too (``approval_token.refused``). See docs/architecture.md, "Approval tokens".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from aigate import protocol as p
from aigate.server import identity, prefetch, refusals
from aigate.server.access import ActiveGrant, active_grant, create_job
from aigate.server.audit import AuditEvent
from aigate.server.identity import Caller, authenticate
from aigate.server.policy import Policy, Verdict
from aigate.server.problems import ApiProblem
from aigate.server.signing import KeyRing

if TYPE_CHECKING:
    from aigate.server.services import Services

AUTOMATIC_GRANT_REASON = "automatic grant (policy: auto)"


async def issue_token(services: Services, credential: str, request: p.ApprovalTokenCreate) -> p.ApprovalToken:
    """The whole issuance of ``POST /v1/approval-tokens``, called by the FastAPI route and by the ASGI
    fast path alike: compute (one read job on the writer thread); under an ``auto`` rule without a
    grant, record the automatic grant and compute again.

    ``credential`` is the device credential from ``Authorization: Bearer``. Raises ApiProblem: 401
    unauthenticated, 403 user-disabled / denied-by-policy / not-approved / repository-denied (the last
    one audited as ``approval_token.refused``), 422 unknown-tool; database errors propagate (503 at
    the boundary).
    """
    job = IssueJob(credential=credential, tool=request.tool, repository=request.repository,
                   policy=services.policy, keys=services.keys, issuer=services.settings.public_url)
    outcome = await services.writer.compute(job)
    if isinstance(outcome, NeedsAutomaticGrant):
        grant = create_job(outcome.caller, outcome.verdict, AUTOMATIC_GRANT_REASON, None, services.policy.review_ttl)
        await services.writer.submit(grant)
        outcome = await services.writer.compute(replace(job, found=None))
    if isinstance(outcome, ApiProblem):  # refused, and the refusal is on record
        raise outcome
    if not isinstance(outcome, p.ApprovalToken):  # the automatic grant was gone at once (revoked)
        raise ApiProblem(409, p.ProblemCode.CONFLICT, f"the automatic grant for {request.tool} ended at once; retry")
    return outcome


def lookup(conn: Connection, credential: str, tool: str, now: float) -> tuple[Caller, ActiveGrant | None]:
    """Authenticate and find the user's active grant for ``tool``, in one read."""
    caller = authenticate(conn, credential)
    return caller, active_grant(conn, caller.user_id, tool, now)


def claims_for(caller: Caller, verdict: Verdict, grant: ActiveGrant, repository: str | None, *, issuer: str,
               token_ttl: int, now: float) -> dict[str, Any]:
    """The JWT claims of one approval token (names from :mod:`aigate.protocol`)."""
    issued = int(now)
    return {
        "iss": issuer, "aud": p.TOKEN_AUDIENCE, "sub": caller.email, "iat": issued, "nbf": issued,
        "exp": min(issued + token_ttl, grant.expires_at), "jti": secrets.token_urlsafe(16),
        p.CLAIM_TOOL: verdict.tool, p.CLAIM_KEY_SCOPE: grant.key_scope,
        p.CLAIM_ACCESS_REQUEST: grant.access_request_id, p.CLAIM_REPOSITORY: repository,
        p.CLAIM_BASE_URL: verdict.base_url, p.CLAIM_ENV: verdict.env, p.CLAIM_KEY_SOURCE: verdict.key_source,
    }


@dataclass(frozen=True)
class NeedsAutomaticGrant:
    """No grant yet, but an ``auto`` rule allows the tool: record an automatic grant, then retry."""

    caller: Caller
    verdict: Verdict


@dataclass
class IssueJob:
    """Read job (see :meth:`Writer.compute`): an ApprovalToken and its ``approval_token.issued`` event.

    Raises ApiProblem: 401/403 (authentication), 422 unknown-tool, 403 denied-by-policy, 403
    not-approved. Returns (not raises) a 403 repository-denied problem with an
    ``approval_token.refused`` event, so the refusal is audited; or NeedsAutomaticGrant.
    The writer first calls :meth:`prefetch` for all IssueJobs of a batch: two queries in all
    instead of two per request.
    """

    credential: str
    tool: str
    repository: str | None
    policy: Policy
    keys: KeyRing
    issuer: str
    found: tuple[Caller, ActiveGrant | None] | None = None

    @staticmethod
    def prefetch(reader: Any, jobs: list[IssueJob], now: float) -> None:
        """Load the devices and grants of every IssueJob of one writer batch with two queries, and hand each job
        its caller and grant (a job whose credential fails is left to raise by itself)."""
        devices = prefetch.device_rows(reader, [identity.device_id_of(j.credential) for j in jobs])
        callers: dict[int, tuple[identity.DeviceAuth, str]] = {}
        for job in jobs:
            device_id = identity.device_id_of(job.credential)
            row = devices.get(device_id) if device_id else None
            if row is not None and device_id:
                callers[id(job)] = (row, device_id)
        grants = prefetch.grant_rows(reader, {row.user_id for row, _ in callers.values()}, now)
        for job in jobs:
            known = callers.get(id(job))
            if known is None:
                continue
            try:
                caller = identity.caller_from_row(known[0], job.credential, known[1])
            except ApiProblem:
                continue  # the job itself raises it again
            job.found = (caller, grants.get((caller.user_id, job.tool)))

    def __call__(self, reader: Any, now: float) -> tuple[Any, list[AuditEvent]]:
        caller, grant = self.found or lookup(reader, self.credential, self.tool, now)
        verdict = resolve_verdict(self.policy, caller, self.tool)
        normalized = p.normalize_repository(self.repository or "")
        if verdict.repository_denied(normalized):
            refused = AuditEvent(caller.email, "approval_token.refused", normalized or "",
                                 {"tool": self.tool, "why": "repository denied"}, caller.device_id)
            return ApiProblem(403, p.ProblemCode.REPOSITORY_DENIED,
                              f"the policy denies {self.tool} in repository {normalized}"), [refused]
        if grant is None:
            if verdict.approval == p.ApprovalMode.AUTO:
                return NeedsAutomaticGrant(caller, verdict), []
            latest = refusals.latest_request(reader, caller.user_id, self.tool, now)
            raise ApiProblem(403, p.ProblemCode.NOT_APPROVED, refusals.not_approved_detail(latest, self.tool))
        claims = claims_for(caller, verdict, grant, normalized, issuer=self.issuer,
                            token_ttl=self.policy.token_ttl, now=now)
        kid, token = self.keys.sign(claims)
        return envelope(token, claims), [issued_event(caller, claims, kid)]


def resolve_verdict(policy: Policy, caller: Caller, tool: str) -> Verdict:
    """The policy verdict for ``tool``: ApiProblem 422 unknown-tool or 403 denied-by-policy."""
    verdict = policy.resolve(tool, caller.groups)
    if verdict is None:
        known = ", ".join(sorted(policy.tools))
        raise ApiProblem(422, p.ProblemCode.UNKNOWN_TOOL, f"unknown tool {tool!r}; this server knows: {known}")
    if verdict.approval == p.ApprovalMode.DENY:
        raise ApiProblem(403, p.ProblemCode.DENIED_BY_POLICY, f"the policy does not allow {tool} for {caller.email}")
    return verdict


def issued_event(caller: Caller, claims: dict[str, Any], kid: str) -> AuditEvent:
    """The ``approval_token.issued`` audit event of a token: subject its ``jti``; tool, repository, access
    request, ``exp`` (epoch seconds) and signing ``kid``."""
    data = {"tool": claims[p.CLAIM_TOOL], "repository": claims[p.CLAIM_REPOSITORY],
            "access_request": claims[p.CLAIM_ACCESS_REQUEST], "exp": claims["exp"], "kid": kid}
    return AuditEvent(caller.email, "approval_token.issued", claims["jti"], data, caller.device_id)


def envelope(token: str, claims: dict[str, Any]) -> p.ApprovalToken:
    """The ApprovalToken wire shape for a signed ``token`` and its ``claims`` (``expires_at`` from ``exp``)."""
    return p.ApprovalToken(
        token=token, expires_at=datetime.fromtimestamp(claims["exp"], UTC), tool=claims[p.CLAIM_TOOL],
        key_scope=claims[p.CLAIM_KEY_SCOPE], access_request_id=claims[p.CLAIM_ACCESS_REQUEST],
        repository=claims[p.CLAIM_REPOSITORY], base_url=claims[p.CLAIM_BASE_URL], env=claims[p.CLAIM_ENV],
    )
