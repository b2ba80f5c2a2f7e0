"""POST /v1/approval-tokens: the hot path (>= 1,500/s on SQLite, benchmarks/server_tokens.py).

The whole issuance (authenticate, find the grant, check policy and repository, sign) is one read
job on the writer thread (:meth:`Writer.compute`), so the request costs one thread hand-off and its
audit event commits in the same batch. Only the rare first token under an ``auto`` rule takes a
second step, to record the automatic grant.
"""

from __future__ import annotations

import json
from dataclasses import replace

from fastapi import APIRouter, Response

from aigate import protocol as p
from aigate.server import tokens
from aigate.server.access import create_job
from aigate.server.deps import CredentialDep, ServicesDep
from aigate.server.problems import ApiProblem

router = APIRouter(tags=["approval tokens"])


@router.post(p.Paths.APPROVAL_TOKENS, status_code=201, response_model=p.ApprovalToken,
             summary="Issue an approval token for an active grant (or an `auto` rule) of the caller's user")
async def issue(body: p.ApprovalTokenCreate, credential: CredentialDep, services: ServicesDep) -> Response:
    issue_job = tokens.IssueJob(credential=credential, tool=body.tool, repository=body.repository,
                                policy=services.policy, keys=services.keys, issuer=services.settings.public_url)
    outcome = await services.writer.compute(issue_job)
    if isinstance(outcome, tokens.NeedsAutomaticGrant):
        job = create_job(outcome.caller, outcome.verdict, "automatic grant (policy: auto)", None,
                         services.policy.review_ttl)
        await services.writer.submit(job)
        outcome = await services.writer.compute(replace(issue_job, found=None))
    if isinstance(outcome, ApiProblem):  # refused, and the refusal is on record
        raise outcome
    # Already the declared response model; encoding it here skips a second validation pass.
    return Response(json.dumps(p.to_wire(outcome)), status_code=201, media_type="application/json")
