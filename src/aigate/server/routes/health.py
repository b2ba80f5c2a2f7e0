"""Liveness, readiness and the JWKS (RFC 7517) of the approval token signing keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from aigate.protocol import Paths, ProblemCode
from aigate.server.deps import ServicesDep
from aigate.server.problems import RETRY_AFTER_SECONDS, problem_response

router = APIRouter(tags=["health"])


@router.get(Paths.LIVEZ, summary="200 while the process runs")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get(Paths.READYZ, summary="200 when the database answers, its migrations are current and it takes writes, "
            "else 503")
async def readyz(services: ServicesDep) -> Any:
    """Ready: the database answers and its migrations are current (checked at most once a second, so
    the probe cannot load the database), and the last write transaction did not fail for a database
    condition (a full disk, say; the sweeper retries a write every sweep until one commits)."""
    if not await _database_answers(services):
        return problem_response(503, ProblemCode.UNAVAILABLE, "the database is unreachable or behind",
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    failing = services.writer.failing
    if failing is not None:
        return problem_response(503, ProblemCode.UNAVAILABLE, f"the database refuses writes: {failing}",
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return {"status": "ready"}


_PING_SECONDS = 1.0
_ping: dict[int, tuple[float, bool]] = {}  # id(services) -> (monotonic time, answer)


async def _database_answers(services: Any) -> bool:
    import asyncio
    import time

    at, answer = _ping.get(id(services), (float("-inf"), False))
    if time.monotonic() - at >= _PING_SECONDS:
        answer = await asyncio.get_running_loop().run_in_executor(None, services.db.ping)
        _ping[id(services)] = (time.monotonic(), answer)
    return answer


@router.get(Paths.JWKS, summary="The JWK Set of the approval token signing keys (RFC 7517)")
async def jwks(services: ServicesDep) -> JSONResponse:
    return JSONResponse(services.keys.jwks(services.clock()), headers={"Cache-Control": "max-age=60"})
