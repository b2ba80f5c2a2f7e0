"""FastAPI dependencies: the services, the device credential and the authenticated caller."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aigate.server.identity import Caller, authenticate, authenticate_even_disabled, unauthenticated
from aigate.server.services import Services

_bearer = HTTPBearer(auto_error=False, description="the device credential returned by POST /v1/enrollments")


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_credential(
    auth: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The bearer device credential; 401 problem when missing or too long to be one."""
    if auth is None or len(auth.credentials) > 200:
        raise unauthenticated()
    return auth.credentials


ServicesDep = Annotated[Services, Depends(get_services)]
CredentialDep = Annotated[str, Depends(get_credential)]


async def get_caller(services: ServicesDep, credential: CredentialDep) -> Caller:
    """The device's user, with the role the policy's ``[roles]`` gives their groups (if higher)."""
    caller = await services.db.read_fast(authenticate, credential)
    return with_policy_role(services, caller)


def with_policy_role(services: Services, caller: Caller) -> Caller:
    role = services.policy.roles.role_for(caller.groups, caller.role)
    return caller if role == caller.role else dataclasses.replace(caller, role=role)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_caller_even_disabled(services: ServicesDep, credential: CredentialDep) -> Caller:
    """Like :func:`get_caller`, but a disabled user's device is let in (``Caller.disabled``)."""
    return with_policy_role(services, await services.db.read_fast(authenticate_even_disabled, credential))


AnyCallerDep = Annotated[Caller, Depends(get_caller_even_disabled)]
