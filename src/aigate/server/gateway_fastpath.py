"""A direct ASGI path for the gateways' authorization requests (``/v1/gateway/authorize/...``), one per
model call: FastAPI's routing and dependency solving cost more than the decision itself, which is
usually answered from the per-process caches. The very same :func:`~.routes.gateway_authz.decide` as
the FastAPI route answers; errors are rendered as the problem handlers render them. No body is read.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from aigate import constants as c
from aigate.server import problems
from aigate.server.routes.gateway_authz import decide
from aigate.server.services import Services

_PREFIX = c.GATEWAY_AUTHORIZE_PREFIX + "/"


class GatewayFastPath:
    def __init__(self, app: ASGIApp, services: Services):
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        key_scope = path[len(_PREFIX):].split("/", 1)[0] if path.startswith(_PREFIX) else ""
        if not key_scope:
            return await self.app(scope, receive, send)
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        try:
            answer = await decide(self.services, key_scope, lambda name: headers.get(name.lower()), path)
            status, extra, body = answer.status, answer.headers, answer.body
        except Exception as exc:  # noqa: BLE001 - rendered exactly as the exception handlers do
            status, body, extra = problems.render(exc, path, scope["method"])
            extra = {**extra, "Content-Type": c.PROBLEM_CONTENT_TYPE}
        await _respond(send, status, extra, b"" if scope["method"] == "HEAD" else body, len(body))


async def _respond(send: Any, status: int, headers: dict[str, str], body: bytes, length: int) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
