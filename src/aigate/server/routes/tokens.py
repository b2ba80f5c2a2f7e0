"""POST /v1/approval-tokens: the hot path (issue 2, item 10: >= 1,500/s on SQLite)."""

from __future__ import annotations

from fastapi import APIRouter

from aigate import protocol as p
from aigate.server import tokens
from aigate.server.access import create_job
from aigate.server.audit import AuditEvent
from aigate.server.deps import CredentialDep, ServicesDep
from aigate.server.problems import ApiProblem
from aigate.server.routes.access_requests import verdict_for

router = APIRouter(tags=["approval tokens"])


@router.post(p.Paths.APPROVAL_TOKENS, status_code=201, response_model=p.ApprovalToken,
             summary="Issue an approval token for an active grant (or an `auto` rule) of the caller's user")
async def issue(body: p.ApprovalTokenCreate, credential: CredentialDep, services: ServicesDep) -> p.ApprovalToken:
    now = services.clock()
    caller, grant = await services.db.read(tokens.lookup, credential, body.tool, now)
    verdict = verdict_for(services, caller, body.tool)
    repository = p.normalize_repository(body.repository or "")
    if verdict.repository_denied(repository):
        await services.writer.record([AuditEvent(caller.email, "approval_token.refused", repository or "",
                                                 {"tool": body.tool, "why": "repository denied"}, caller.device_id)])
        raise ApiProblem(403, p.ProblemCode.REPOSITORY_DENIED,
                         f"the policy denies {body.tool} in repository {repository}")
    if grant is None:
        if verdict.approval != p.ApprovalMode.AUTO:
            raise ApiProblem(403, p.ProblemCode.NOT_APPROVED,
                             f"no active grant for {body.tool}; file one with "
                             f"`aigate request {body.tool} --reason ...`")
        job = create_job(caller, verdict, "automatic grant (policy: auto)", None, services.policy.review_ttl)
        created = await services.writer.submit(job)
        grant = tokens.GrantRef(created.id, int(created.expires_at.timestamp()), created.key_scope, True)
    claims = tokens.claims_for(caller, verdict, grant, repository, issuer=services.settings.public_url,
                               token_ttl=services.policy.token_ttl, now=now)
    key = services.keys.current
    token = services.keys.sign(claims)
    await services.writer.record([tokens.issued_event(caller, claims, key.kid)])
    return tokens.envelope(token, claims)
