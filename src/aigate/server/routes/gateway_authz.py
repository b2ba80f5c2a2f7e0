"""``/v1/gateway/authorize/{scope}``: the authorization subrequest of a gateway (nginx ``auth_request``,
Envoy ``ext_authz`` over HTTP, Traefik and Caddy forward-auth); any method, no body read, and any
path after the scope (Envoy appends the original path). The decision is :mod:`..gateway_authz`'s;
the contract is in :mod:`aigate.constants` ("enforced mode") and docs/enforced-mode.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import APIRouter, Request, Response

from aigate import constants as c
from aigate.protocol import ProblemCode
from aigate.server import usage
from aigate.server.deps import ServicesDep
from aigate.server.gateway_authz import Decision, check_token, live_decision, refuse, tool_credential
from aigate.server.problems import problem_body
from aigate.server.services import Services

router = APIRouter(tags=["gateway"])
log = logging.getLogger("aigate.server")
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_HEADER = {"schema": {"type": "string"}}
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    200: {"description": "authorized: the scope's vendor key, for the gateway to put on the call (no body)",
          "headers": {c.GATEWAY_VENDOR_KEY_HEADER: {**_HEADER, "description": "the vendor key"},
                      c.GATEWAY_USER_HEADER: {**_HEADER, "description": "the user (the token's sub)"},
                      c.GATEWAY_TOOL_HEADER: {**_HEADER, "description": "the tool"},
                      c.GATEWAY_SCOPE_HEADER: {**_HEADER, "description": "the key scope"}}},
    401: {"description": "no, or no valid, approval token: the tool should fetch a fresh one"},
    403: {"description": "not a registered gateway, or the approval is not (or no longer) live"},
    503: {"description": "no vendor key is stored for this scope, or the database is down"},
}
_SUMMARY = ("Authorize one model call of a tool through a gateway; 200 carries the scope's vendor key "
            "(X-Aigate-Vendor-Key) to a registered gateway only")
_tasks: set[asyncio.Task[None]] = set()


async def authorize(scope: str, request: Request, services: ServicesDep) -> Response:
    return _response(await decide(services, scope, request.headers.get, request.url.path))


async def authorize_with_path(scope: str, rest: str, request: Request, services: ServicesDep) -> Response:
    return _response(await decide(services, scope, request.headers.get, request.url.path))


for _method in _METHODS:  # one operation per method, each with its own operationId
    router.add_api_route(c.Paths.GATEWAY_AUTHORIZE, authorize, methods=[_method], summary=_SUMMARY, responses=_PROBLEMS,
                         operation_id=f"gateway_authorize_{_method.lower()}", response_class=Response)
router.add_api_route(c.Paths.GATEWAY_AUTHORIZE + "/{rest:path}", authorize_with_path, methods=_METHODS,
                     include_in_schema=False)


class Answer(NamedTuple):
    """What the endpoint answers: status, headers, body (empty when allowed, problem details otherwise)."""

    status: int
    headers: dict[str, str]
    body: bytes


def _response(answer: Answer) -> Response:
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


async def decide(services: Services, scope: str, header: Callable[[str], str | None], path: str) -> Answer:
    """The answer for one authorization request to ``path`` for ``scope``; ``header(name)`` reads a
    request header (any case). The FastAPI route and the ASGI fast path (``gateway_fastpath``) both call
    this. Database errors propagate (503 through the problem handlers)."""
    state = services.gateway
    now = services.clock()
    credential = (header(c.GATEWAY_CREDENTIAL_HEADER) or "").strip()
    fresh, gateway = state.gateways.cached(credential) if credential else (True, None)
    if not fresh:
        gateway = await services.db.read_fast(state.gateways.load, credential)
    if gateway is None:
        return _refusal(refuse(403, ProblemCode.FORBIDDEN, f"only a registered gateway may ask here (send "
                               f"{c.GATEWAY_CREDENTIAL_HEADER}; `aigate-server gateway add NAME`)"), path)
    token = tool_credential({"x-api-key": header("x-api-key") or "", "authorization": header("authorization") or ""})
    if token is None:
        return _refusal(refuse(401, ProblemCode.UNAUTHENTICATED, "no approval token: run the tool with "
                               "`aigate run`"), path)
    if isinstance(token, Decision):
        return _refusal(token, path)
    decision = state.cached_decision(token, scope, now)
    if decision is None:
        claims, decision = check_token(token, keys=services.keys, issuer=services.settings.public_url,
                                       scope=scope, policy=services.policy, now=now)
        if decision is None:
            decision = await services.db.read_fast(live_decision, claims, now)
        state.remember(token, scope, decision, float(claims.get("exp", 0)))
    if not decision.allowed:
        return _refusal(decision, path)
    fresh, key = state.vendor_keys.cached(scope)
    if not fresh:
        key = await services.db.read(state.vendor_keys.load, scope)
    if key is None:
        return _refusal(refuse(503, ProblemCode.UNAVAILABLE, f"no vendor key is stored for the scope {scope!r}: "
                               f"`aigate-server keys set {scope}`"), path)
    if state.usage.count(now, decision.email, decision.tool, scope):
        _flush_usage_later(services)
    name, form = c.VENDOR_KEY_STYLE.get(decision.tool, ("x-api-key", "{key}"))
    answer = {c.GATEWAY_VENDOR_KEY_HEADER: key, name: form.format(key=key), c.GATEWAY_USER_HEADER: decision.email,
              c.GATEWAY_TOOL_HEADER: decision.tool, c.GATEWAY_SCOPE_HEADER: scope, "Cache-Control": "no-store"}
    return Answer(200, answer, b"")


def _refusal(decision: Decision, path: str) -> Answer:
    reason = decision.code.value if decision.code else "refused"
    headers = {c.GATEWAY_REASON_HEADER: reason, "Cache-Control": "no-store", "Content-Type": c.PROBLEM_CONTENT_TYPE}
    if decision.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    body = problem_body(decision.status, decision.code or ProblemCode.FORBIDDEN, decision.detail, path)
    return Answer(decision.status, headers, body)


def _flush_usage_later(services: Services) -> None:
    """Write the counts FLUSH_SECONDS from now: one write for all the calls counted meanwhile."""

    async def flush() -> None:
        await asyncio.sleep(usage.FLUSH_SECONDS)
        counts = services.gateway.usage.take()
        try:
            if counts:
                await services.writer.submit(usage.add_job(counts))
        except Exception as err:  # noqa: BLE001 - counts are for cost reports; never fail a model call
            log.warning("usage counts not written: %s", type(err).__name__)

    task = asyncio.get_running_loop().create_task(flush())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
