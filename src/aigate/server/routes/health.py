"""Liveness, readiness and the JWKS (RFC 7517) of the approval token signing keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from aigate.protocol import Paths, ProblemCode
from aigate.server.deps import ServicesDep
from aigate.server.problems import problem_response

router = APIRouter(tags=["health"])


@router.get(Paths.LIVEZ, summary="200 while the process runs")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get(Paths.READYZ, summary="200 when the database answers and its migrations are current, else 503")
async def readyz(services: ServicesDep) -> Any:
    import asyncio

    ready = await asyncio.get_running_loop().run_in_executor(None, services.db.ping)
    if not ready:
        return problem_response(503, ProblemCode.UNAVAILABLE, "the database is unreachable or behind")
    return {"status": "ready"}


@router.get(Paths.JWKS, summary="The JWK Set of the approval token signing keys (RFC 7517)")
async def jwks(services: ServicesDep) -> JSONResponse:
    return JSONResponse(services.keys.jwks(services.clock()), headers={"Cache-Control": "max-age=60"})
