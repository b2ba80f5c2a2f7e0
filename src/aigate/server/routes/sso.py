"""The device authorization API of SSO login (RFC 8628 shape; the flow: :mod:`aigate.server.device_flow`).

The browser half (confirm the code, sign in with the OpenID provider) is :mod:`.sso_pages`.
"""

from __future__ import annotations

from fastapi import APIRouter

from aigate import protocol as p
from aigate import protocol_sso as sso
from aigate.server import device_flow
from aigate.server.deps import ServicesDep
from aigate.server.oidc import OidcClient
from aigate.server.problems import ApiProblem
from aigate.server.services import Services
from aigate.server.text import clean_label

router = APIRouter(tags=["sso"])

POLL_ANSWERS = {
    p.ProblemCode.AUTHORIZATION_PENDING: "the sign-in has not been confirmed in the browser yet",
    p.ProblemCode.SLOW_DOWN: f"polled too often: wait {device_flow.SLOW_DOWN_STEP_SECONDS} seconds more "
                             "between polls from now on",
    p.ProblemCode.EXPIRED_TOKEN: "this device code is unknown, used or expired; run `aigate login` again",
    p.ProblemCode.ACCESS_DENIED: "the sign-in was denied in the browser",
}
_PROBLEM = {"model": p.Problem, "content": {p.PROBLEM_CONTENT_TYPE: {}}}


def require_oidc(services: Services) -> OidcClient:
    """The OpenID client; 404 sso-not-configured on a server without one."""
    if services.oidc is None:
        raise ApiProblem(404, p.ProblemCode.SSO_NOT_CONFIGURED,
                         "this aigate server has no SSO configured: ask your aigate admin for an enrollment "
                         "code (`aigate login --server URL --code CODE`)")
    return services.oidc


@router.post(p.Paths.DEVICE_AUTHORIZATIONS, status_code=201, response_model=sso.DeviceAuthorization,
             responses={404: _PROBLEM},
             summary="Start an SSO sign-in for a device: a device code to poll with, a user code to confirm")
async def start(body: sso.DeviceAuthorizationCreate, services: ServicesDep) -> sso.DeviceAuthorization:
    require_oidc(services)
    job = device_flow.start_job(clean_label(body.device_name), clean_label(body.platform),
                                services.settings.public_url)
    return await services.writer.submit(job)


@router.post(p.Paths.DEVICE_TOKEN, status_code=201, response_model=p.Enrollment,
             responses={400: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM},
             summary="Poll: the device credential once the user confirmed in the browser (RFC 8628 3.4)")
async def poll(body: sso.DeviceTokenRequest, services: ServicesDep) -> p.Enrollment:
    require_oidc(services)
    result = await services.writer.submit(device_flow.poll_job(body.device_code))
    if isinstance(result, p.ProblemCode):
        raise ApiProblem(400, result, POLL_ANSWERS[result])
    device_id, credential, user = result
    user.role = services.policy.roles.role_for(user.groups, user.role)
    return p.Enrollment(device_id, credential, user, services.settings.public_url)
