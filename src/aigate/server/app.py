"""The FastAPI application factory.

``create_app(services)`` wires routes, problem details and the body-size limit around a
:class:`~aigate.server.services.Services`; ``create_app_from_env()`` is what ``serve``'s uvicorn
workers call (settings come through the environment, see :mod:`aigate.server.settings`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

import aigate
from aigate.protocol import MAX_BODY_BYTES, ProblemCode
from aigate.server import access, dbfaults, device_flow, live, openapi, outbox, problems, sso_logins
from aigate.server.audit import AuditEvent
from aigate.server.console import sessions as console_sessions
from aigate.server.fastpath import BodyTooLarge, TokenFastPath, read_body, replay
from aigate.server.gateway_fastpath import GatewayFastPath
from aigate.server.policy_reload import PolicyWatcher
from aigate.server.ratelimit import RateLimit
from aigate.server.routes import ROUTERS
from aigate.server.services import Services, open_services
from aigate.server.settings import Settings

SWEEP_SECONDS = 30.0
log = logging.getLogger("aigate.server")


def create_app(services: Services, *, sweep_seconds: float = SWEEP_SECONDS, token_fast_path: bool = True,
               gateway_fast_path: bool = True) -> FastAPI:
    """The app over ``services`` (closed when the app's lifespan ends). ``sweep_seconds``: how often
    time-driven state changes are written; ``token_fast_path=False`` leaves out the ASGI fast path of
    ``POST /v1/approval-tokens`` and ``gateway_fast_path=False`` that of the gateways' authorization
    requests (the FastAPI routes then answer every request; tests run both)."""
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(_sweep_forever(services, sweep_seconds)), *live.start(services, app.state)]
        watcher = asyncio.create_task(PolicyWatcher(services).run())
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            if services.oidc is not None:
                await services.oidc.aclose()
            services.close()

    app = FastAPI(title="aigate-server", version=aigate.__version__, lifespan=lifespan,
                  description="Approval server of aigate: enrollment, access requests, approval tokens, audit.")
    app.state.services = services
    problems.install(app)
    openapi.install(app, lambda: list(services.policy.tools))
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(problems.CatchAll)  # innermost: exceptions never reach Starlette's re-raising handler
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    if gateway_fast_path:
        app.add_middleware(GatewayFastPath, services=services)  # see gateway_fastpath.py
    if token_fast_path:
        app.add_middleware(TokenFastPath, services=services)  # see fastpath.py
    app.add_middleware(RateLimit, limits=services.limits)  # outermost: counts the fast path's 401s too
    return app


def create_app_from_env() -> FastAPI:
    """The uvicorn factory of ``aigate-server serve`` (one call per worker process)."""
    return create_app(open_services(Settings.resolve(), last_good_policy=True))


async def _sweep_forever(services: Services, every: float) -> None:
    while True:
        try:
            await sweep_once(services)
        except Exception as err:  # noqa: BLE001 - keep sweeping; the database may come back
            if dbfaults.unavailable(err) is None:  # else the writer has logged the condition once
                log.warning("sweep failed: %s", type(err).__name__)
        await asyncio.sleep(every)


async def sweep_once(services: Services) -> None:
    """Write time-driven state changes (expired requests, ended grants) and the counts of failed
    attempts (:mod:`aigate.server.ratelimit`); every :data:`SWEEP_SECONDS`. While writes fail for a
    database condition, it first tries to record ``server.writes_resumed`` (so readiness recovers)."""
    failing = services.writer.failing
    if failing is not None:
        await services.writer.record([AuditEvent("system", "server.writes_resumed", "", {"after": failing})])
    await services.writer.submit(access.sweep_job)
    for sweep in (device_flow.sweep_job, sso_logins.sweep_job, outbox.sweep_job, console_sessions.sweep_job):
        await services.writer.submit(sweep)
    failures = services.limits.drain()
    if failures:
        await services.writer.record([AuditEvent("system", action, address, data)
                                      for action, address, data in failures])


class BodyLimit:
    """Pure ASGI middleware: refuse bodies above ``limit`` bytes with a 413 problem, before any
    route reads them (by Content-Length, or by counting a chunked body as it arrives)."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await self._refuse(scope, send)
        if length is not None:
            return await self.app(scope, receive, send)
        try:
            body = await read_body(receive, self.limit)
        except BodyTooLarge:
            return await self._refuse(scope, send)
        if body is None:
            return None
        return await self.app(scope, replay(body, receive), send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        detail = f"request bodies are limited to {self.limit} bytes"
        body = problems.problem_body(413, ProblemCode.PAYLOAD_TOO_LARGE, detail, scope.get("path"))
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


