"""A direct ASGI path for the hottest request, ``POST /v1/approval-tokens``.

FastAPI's routing and dependency solving cost more than the issuance itself (about 60 % of the
CPU in a profile of the token benchmark). This middleware answers the plain case itself: a JSON
body within limits that validates as :class:`~aigate.protocol.ApprovalTokenCreate` (the same
pydantic validation the route uses) and a bearer credential. It calls the same issuance function as the
FastAPI route (:func:`aigate.server.tokens.issue_token`) and renders errors with the same problem
details. Anything unusual (no or wrong content type, bad JSON or fields, missing credential) is handed
to FastAPI untouched, so behaviour and OpenAPI stay one thing. ``create_app(token_fast_path=False)``
leaves it out, so the tests run the token suite through both.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aigate import protocol as p
from aigate.server import problems, tokens

if TYPE_CHECKING:
    from aigate.server.services import Services

_BODY = TypeAdapter(p.ApprovalTokenCreate)
_MAX_BODY = 4096
_JSON_HEADERS = [(b"content-type", b"application/json")]


class TokenFastPath:
    def __init__(self, app: ASGIApp, services: Services):
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != p.Paths.APPROVAL_TOKENS or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        auth = headers.get(b"authorization", b"")
        if (not length.isdigit() or int(length) > _MAX_BODY or not auth.startswith(b"Bearer ")
                or not headers.get(b"content-type", b"").startswith(b"application/json")):
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        if body is None:
            return None
        try:
            request = _BODY.validate_json(body)
        except ValidationError:
            return await self.app(scope, replay(body, receive), send)
        credential = auth[7:].decode("latin-1").strip()
        if not credential or len(credential) > 200:
            return await self.app(scope, replay(body, receive), send)
        try:
            token = await tokens.issue_token(self.services, credential, request)
        except Exception as exc:  # noqa: BLE001 - rendered exactly as the exception handlers do
            status, payload, extra = problems.render(exc, scope["path"], "POST")
            problem_headers = [(b"content-type", p.PROBLEM_CONTENT_TYPE.encode())]
            problem_headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
            return await _respond(send, status, payload, problem_headers)
        await _respond(send, 201, json.dumps(p.to_wire(token)).encode(), _JSON_HEADERS)


class BodyTooLarge(Exception):
    """The body grew past the limit given to :func:`read_body`."""


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The whole request body from ASGI ``receive``; None if the client disconnected first.

    Raises BodyTooLarge as soon as more than ``limit`` bytes have arrived (chunked bodies included).
    """
    body, more = bytearray(), True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body.extend(message.get("body", b""))
        more = message.get("more_body", False)
        if limit is not None and len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields ``body`` (already read) once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
