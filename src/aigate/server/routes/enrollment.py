"""Enrollment (code -> device credential), who am I, and logout of the current device."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Response
from sqlalchemy import Connection

from aigate import protocol as p
from aigate.server import refusals
from aigate.server.access import active_grant
from aigate.server.deps import CallerDep, ServicesDep
from aigate.server.identity import enroll_job, revoke_device_job
from aigate.server.text import clean_label

router = APIRouter(tags=["enrollment"])


@router.post(p.Paths.ENROLLMENTS, status_code=201, response_model=p.Enrollment, responses={
    400: {"description": "The enrollment code is unknown, used or expired (enrollment-code-invalid)"},
    403: {"description": "The user is disabled (user-disabled)"}},
             summary="Exchange a one-time enrollment code for a device credential (shown once)")
async def enroll(body: p.EnrollmentCreate, services: ServicesDep) -> p.Enrollment:
    device_id, credential, user = await services.writer.submit(
        enroll_job(body.code, clean_label(body.device_name), clean_label(body.platform)))
    return p.Enrollment(device_id, credential, user, services.settings.public_url)


@router.get(p.Paths.ME, response_model=p.Me, summary="The caller, their device, and each tool's access")
async def me(caller: CallerDep, services: ServicesDep) -> p.Me:
    now = services.clock()
    policy = services.policy
    grants = await services.db.read(_grants, caller.user_id, list(policy.tools), now)
    tools = []
    for name in sorted(policy.tools):
        verdict = policy.resolve(name, caller.groups)
        if verdict is None:  # not reached: every name of policy.tools resolves
            continue
        grant = grants.get(name) if verdict.approval != p.ApprovalMode.DENY else None
        latest = None if grant else await services.db.read(refusals.latest_request, caller.user_id, name, now)
        tools.append(p.ToolAccess(name, verdict.approval, verdict.key_scope, verdict.max_duration, grant,
                                  verdict.key_source, latest))
    return p.Me(caller.public(), caller.device_id, services.settings.public_url, policy.token_ttl, tools)


def _grants(conn: Connection, user_id: int, tools: list[str], now: float) -> dict[str, p.Grant]:
    from datetime import datetime

    found = {}
    for tool in tools:
        grant = active_grant(conn, user_id, tool, now)
        if grant is not None:
            found[tool] = p.Grant(tool, grant.key_scope, datetime.fromtimestamp(grant.expires_at, UTC),
                                  grant.access_request_id)
    return found


@router.delete(p.Paths.CURRENT_DEVICE, status_code=204, summary="Log out: this device's credential stops working")
async def logout(caller: CallerDep, services: ServicesDep) -> Response:
    await services.writer.submit(revoke_device_job(caller))
    return Response(status_code=204)
