"""One-time sign-in links to the approver console (``aigate admin console``)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from aigate import protocol as p
from aigate.server.console import sessions
from aigate.server.deps import CallerDep, ServicesDep

router = APIRouter(tags=["console"])


@router.post(p.Paths.CONSOLE_LINKS, status_code=201, response_model=p.ConsoleLink,
             summary="A console sign-in link for this device's user: works once, for minutes")
async def create(caller: CallerDep, services: ServicesDep) -> p.ConsoleLink:
    url, expires = await services.writer.submit(sessions.link_job(caller, services.settings.public_url))
    return p.ConsoleLink(url, datetime.fromtimestamp(expires, UTC))
