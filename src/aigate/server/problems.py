"""RFC 9457 problem details: the one shape of every error the server answers.

Domain code raises :class:`ApiProblem` (a status and a :class:`~aigate.protocol.ProblemCode`);
:func:`install` registers handlers that turn it, FastAPI's validation errors, unknown routes, wrong
methods, bad JSON and unexpected exceptions into ``application/problem+json`` bodies. An unexpected
exception is logged with its traceback and answered 500 with no internals in the body.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from aigate.protocol import PROBLEM_CONTENT_TYPE, ProblemCode

if TYPE_CHECKING:  # FastAPI is imported where it is used, so the CLI's jobs load without it
    from fastapi import FastAPI
    from starlette.responses import Response
    from starlette.types import Message, Receive, Scope, Send

log = logging.getLogger("aigate.server")
RETRY_AFTER_SECONDS = 5  # how long a client waits before retrying a 503

_TITLES = {
    ProblemCode.UNAUTHENTICATED: "Not authenticated",
    ProblemCode.USER_DISABLED: "User disabled",
    ProblemCode.FORBIDDEN: "Forbidden",
    ProblemCode.NOT_APPROVED: "Not approved",
    ProblemCode.DENIED_BY_POLICY: "Denied by policy",
    ProblemCode.REPOSITORY_DENIED: "Repository denied",
    ProblemCode.ENROLLMENT_CODE_INVALID: "Enrollment code invalid",
    ProblemCode.UNKNOWN_TOOL: "Unknown tool",
    ProblemCode.NOT_FOUND: "Not found",
    ProblemCode.CONFLICT: "Conflict",
    ProblemCode.INVALID_REQUEST: "Invalid request",
    ProblemCode.PAYLOAD_TOO_LARGE: "Payload too large",
    ProblemCode.RATE_LIMITED: "Too many requests",
    ProblemCode.UNAVAILABLE: "Service unavailable",
    ProblemCode.INTERNAL: "Internal server error",
    ProblemCode.SSO_NOT_CONFIGURED: "SSO not configured",
    ProblemCode.AUTHORIZATION_PENDING: "Authorization pending",
    ProblemCode.SLOW_DOWN: "Slow down",
    ProblemCode.EXPIRED_TOKEN: "Device code expired",
    ProblemCode.ACCESS_DENIED: "Access denied",
}
_STATUS_CODES = {404: ProblemCode.NOT_FOUND, 405: ProblemCode.INVALID_REQUEST,
                 413: ProblemCode.PAYLOAD_TOO_LARGE, 401: ProblemCode.UNAUTHENTICATED,
                 403: ProblemCode.FORBIDDEN, 409: ProblemCode.CONFLICT, 503: ProblemCode.UNAVAILABLE}


class ApiProblem(Exception):
    """An error answered as problem details: ``status``, ``code`` and a human ``detail``."""

    def __init__(self, status: int, code: ProblemCode, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}


def problem_body(status: int, code: ProblemCode, detail: str | None, instance: str | None = None) -> bytes:
    """An RFC 9457 problem details body as JSON bytes: ``type``, ``title`` (from the code), ``status``, ``code``,
    ``detail``, ``instance``."""
    body = {"type": f"https://aigate.dev/problems/{code.value}", "title": _TITLES[code],
            "status": status, "code": code.value, "detail": detail, "instance": instance}
    return json.dumps(body).encode()


def problem_response(status: int, code: ProblemCode, detail: str | None, *, instance: str | None = None,
                     headers: dict[str, str] | None = None) -> Response:
    """A Starlette response with :func:`problem_body` and ``application/problem+json``."""
    from starlette.responses import Response

    return Response(problem_body(status, code, detail, instance), status_code=status,
                    media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _describe(errors: list[dict[str, Any]]) -> tuple[int, str]:
    """Status and one readable line for pydantic/FastAPI validation errors."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "the body is not valid JSON"
    from aigate.constants import PATTERN_MEANINGS

    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        message = error.get("msg", "invalid")
        if error.get("type") == "string_pattern_mismatch":  # say what the pattern means, not the regex
            message = PATTERN_MEANINGS.get(str((error.get("ctx") or {}).get("pattern")), message)
        parts.append(f"{where}: {message}")
    return 422, "; ".join(parts)


def install(app: FastAPI) -> None:
    """Register the problem-details handlers on ``app``."""
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.responses import Response

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> Response:
        return problem_response(exc.status, exc.code, exc.detail, instance=request.url.path,
                                headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI parses the body before it runs the dependencies that authenticate: a caller without
        # a credential learns nothing about the body and gets the 401 it would get otherwise.
        if _secured(request.scope.get("route")) and not request.headers.get("authorization", "").startswith("Bearer "):
            return problem_response(401, ProblemCode.UNAUTHENTICATED, "no device credential (Authorization: Bearer)",
                                    instance=request.url.path, headers={"WWW-Authenticate": "Bearer"})
        status, detail = _describe(list(exc.errors()))
        return problem_response(status, ProblemCode.INVALID_REQUEST, detail, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, ProblemCode.INVALID_REQUEST)
        detail = exc.detail if isinstance(exc.detail, str) else None
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.url.path}"
        if exc.status_code == 405:  # Starlette names the methods of one route; the path may have several
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
            detail = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
        return problem_response(exc.status_code, code, detail, instance=request.url.path, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        status, body, headers = render(exc, request.url.path, request.method)
        return Response(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method ``app`` answers at ``path``, sorted (for ``Allow``): the operations of its OpenAPI
    paths whose template matches, and plain Starlette routes (the docs pages) by their own pattern."""
    import re

    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path):
            methods |= {method.upper() for method in operations}
    for route in app.router.routes:
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and route_methods and regex.match(path):
            methods |= set(route_methods)
    return sorted(methods)


def _secured(route: Any) -> bool:
    """Whether a FastAPI route depends, at any depth, on a security scheme (a bearer credential)."""
    from fastapi.security.base import SecurityBase

    todo = [getattr(route, "dependant", None)]
    while todo:
        dependant = todo.pop()
        if dependant is None:
            continue
        if isinstance(dependant.call, SecurityBase):
            return True
        todo.extend(dependant.dependencies)
    return False


def render(exc: BaseException, path: str, method: str = "") -> tuple[int, bytes, dict[str, str]]:
    """``(status, problem body, headers)`` for an exception: an ApiProblem as itself, a database
    that cannot serve now (:func:`aigate.server.dbfaults.unavailable`) as 503 with Retry-After, logged
    once per condition, anything else as a 500 logged with its traceback."""
    from aigate.server import dbfaults

    if isinstance(exc, ApiProblem):
        return exc.status, problem_body(exc.status, exc.code, exc.detail, path), exc.headers
    condition = dbfaults.unavailable(exc)
    if condition is not None:
        dbfaults.DATABASE.failed(condition)
        body = problem_body(503, ProblemCode.UNAVAILABLE, "the database is unavailable; retry later", path)
        return 503, body, {"Retry-After": str(RETRY_AFTER_SECONDS)}
    log.error("unexpected error on %s %s", method, path, exc_info=exc)
    return 500, problem_body(500, ProblemCode.INTERNAL, "an unexpected error; it was logged", path), {}


class CatchAll:
    """Pure ASGI middleware: any exception a route lets out is answered here with :func:`render`.

    Starlette's own last-resort handler answers too, but then re-raises, so the server logs a
    traceback and closes the keep-alive connection: under a database fault that is a traceback per
    request and clients left without an answer on their next request.
    """

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:
                raise
            status, body, headers = render(exc, scope.get("path", ""), scope.get("method", ""))
            await send({"type": "http.response.start", "status": status, "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in headers.items())]})
            await send({"type": "http.response.body", "body": body})
