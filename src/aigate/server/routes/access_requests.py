"""Access requests: file, list, read, cancel; approve, deny, revoke (approvers and admins)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from aigate import protocol as p
from aigate.constants import MAX_WAIT_SECONDS
from aigate.server import access, live, refusals
from aigate.server.deps import CallerDep, ServicesDep
from aigate.server.identity import Caller
from aigate.server.policy import Verdict
from aigate.server.problems import ApiProblem
from aigate.server.services import Services
from aigate.server.text import check_text, refuse_nul
from aigate.server.tokens import resolve_verdict

router = APIRouter(tags=["access requests"])
CONFLICT: dict[int | str, dict[str, Any]] = {409: {
    "description": "The request is not in the state this needs (someone else decided it first, or the same "
                   "tool already has a pending request)"}}


def verdict_for(services: Services, caller: Caller, tool: str) -> Verdict:
    """The policy verdict for ``tool``: 422 unknown-tool, 403 denied-by-policy."""
    return resolve_verdict(services.policy, caller, tool)


def require_reviewer(caller: Caller) -> None:
    if not caller.reviewer:
        raise ApiProblem(403, p.ProblemCode.FORBIDDEN, "only approvers and admins review access requests")


@router.post(p.Paths.ACCESS_REQUESTS, status_code=201, responses=CONFLICT, response_model=p.AccessRequest,
             summary="File an access request; an `auto` rule grants it at once")
async def create(body: p.AccessRequestCreate, caller: CallerDep, services: ServicesDep) -> p.AccessRequest:
    refuse_nul(tool=body.tool)
    check_text("reason", body.reason)
    verdict = verdict_for(services, caller, body.tool)
    job = access.create_job(caller, verdict, body.reason, body.duration_seconds, services.policy.review_ttl)
    created = await services.writer.submit(job)
    if created.state == p.RequestState.PENDING:
        created.other_reviewers = await services.db.read(refusals.other_reviewers, caller.user_id,
                                                         services.policy.roles)
    return created


@router.get(p.Paths.ACCESS_REQUESTS, response_model=p.AccessRequestList,
            summary="The caller's access requests (scope=mine) or everyone's (scope=all, reviewers)")
async def list_all(caller: CallerDep, services: ServicesDep, state: p.RequestState | None = None,
                   scope: Literal["mine", "all"] = Query(p.SCOPE_MINE)) -> p.AccessRequestList:
    everyone = scope == p.SCOPE_ALL
    if everyone:
        require_reviewer(caller)
    items = await services.db.read(access.list_requests, caller, everyone, state, services.clock())
    return p.AccessRequestList(items)


@router.get(p.Paths.ACCESS_REQUEST, response_model=p.AccessRequest,
            summary="One access request; with `wait`, held (long-poll) while it is pending")
async def get_one(request_id: Annotated[str, Path(alias="id", min_length=1, max_length=64)],
                  caller: CallerDep, services: ServicesDep, request: Request,
                  wait: Annotated[int, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0) -> p.AccessRequest:
    refuse_nul(id=request_id)
    if wait:
        item: p.AccessRequest = await live.read_until_decided(services, request.app.state.waiters, caller,
                                                             request_id, wait)
        return item
    return await services.db.read(access.get_request, caller, request_id, services.clock())


@router.post(p.Paths.CANCEL, responses=CONFLICT, response_model=p.AccessRequest,
             summary="Withdraw a pending request (requester)")
async def cancel(request_id: Annotated[str, Path(alias="id", min_length=1, max_length=64)],
                 caller: CallerDep, services: ServicesDep) -> p.AccessRequest:
    refuse_nul(id=request_id)
    return await services.writer.submit(access.cancel_job(caller, request_id))


@router.post(p.Paths.APPROVE, responses=CONFLICT, response_model=p.AccessRequest,
             summary="Approve a pending request, for at most the rule's maximum (409 if already decided)")
async def approve(request_id: Annotated[str, Path(alias="id", min_length=1, max_length=64)],
                  caller: CallerDep, services: ServicesDep, body: p.Approval | None = None) -> p.AccessRequest:
    require_reviewer(caller)
    refuse_nul(id=request_id)
    duration = body.duration_seconds if body else None
    return await services.writer.submit(access.review_job(caller, request_id, "approve", duration=duration))


@router.post(p.Paths.DENY, responses=CONFLICT, response_model=p.AccessRequest,
             summary="Deny a pending request, with a reason")
async def deny(request_id: Annotated[str, Path(alias="id", min_length=1, max_length=64)], body: p.Decision,
               caller: CallerDep, services: ServicesDep) -> p.AccessRequest:
    require_reviewer(caller)
    refuse_nul(id=request_id)
    check_text("reason", body.reason)
    return await services.writer.submit(access.review_job(caller, request_id, "deny", reason=body.reason))


@router.post(p.Paths.REVOKE, responses=CONFLICT, response_model=p.AccessRequest,
             summary="Revoke an approved grant, with a reason")
async def revoke(request_id: Annotated[str, Path(alias="id", min_length=1, max_length=64)], body: p.Decision,
                 caller: CallerDep, services: ServicesDep) -> p.AccessRequest:
    require_reviewer(caller)
    refuse_nul(id=request_id)
    check_text("reason", body.reason)
    return await services.writer.submit(access.review_job(caller, request_id, "revoke", reason=body.reason))
