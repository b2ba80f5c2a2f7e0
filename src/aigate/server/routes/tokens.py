"""POST /v1/approval-tokens: the hot path (>= 1,500/s on SQLite, benchmarks/server_tokens.py).

The route only decodes and encodes: the issuance is :func:`aigate.server.tokens.issue_token`, which the
ASGI fast path (:mod:`aigate.server.fastpath`) calls too, so both answer alike.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Response

from aigate import protocol as p
from aigate.server import tokens
from aigate.server.deps import CredentialDep, ServicesDep

router = APIRouter(tags=["approval tokens"])


@router.post(p.Paths.APPROVAL_TOKENS, status_code=201, response_model=p.ApprovalToken,
             summary="Issue an approval token for an active grant (or an `auto` rule) of the caller's user")
async def issue(body: p.ApprovalTokenCreate, credential: CredentialDep, services: ServicesDep) -> Response:
    token = await tokens.issue_token(services, credential, body)
    # Already the declared response model; encoding it here skips a second validation pass.
    return Response(json.dumps(p.to_wire(token)), status_code=201, media_type="application/json")
