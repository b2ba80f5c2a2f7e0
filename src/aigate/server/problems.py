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

log = logging.getLogger("aigate.server")

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
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
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
        status, detail = _describe(list(exc.errors()))
        return problem_response(status, ProblemCode.INVALID_REQUEST, detail, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, ProblemCode.INVALID_REQUEST)
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.url.path}"
        return problem_response(exc.status_code, code, detail, instance=request.url.path,
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        status, body, headers = render(exc, request.url.path, request.method)
        return Response(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def render(exc: BaseException, path: str, method: str = "") -> tuple[int, bytes, dict[str, str]]:
    """``(status, problem body, headers)`` for an exception: an ApiProblem as itself, a database
    that is down or locked as 503 (with Retry-After), anything else as a logged 500."""
    if isinstance(exc, ApiProblem):
        return exc.status, problem_body(exc.status, exc.code, exc.detail, path), exc.headers
    if _database_down(exc):
        log.error("database unavailable: %s", type(exc).__name__)
        body = problem_body(503, ProblemCode.UNAVAILABLE, "the database is unavailable; retry later", path)
        return 503, body, {"Retry-After": "5"}
    log.error("unexpected error on %s %s", method, path, exc_info=exc)
    return 500, problem_body(500, ProblemCode.INTERNAL, "an unexpected error; it was logged", path), {}


def _database_down(exc: BaseException) -> bool:
    """SQLAlchemy's OperationalError, or a DBAPI driver's own (raw connections on the hot path)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    module = type(exc).__module__.split(".")[0]
    return module in ("sqlite3", "psycopg") and type(exc).__name__ in ("OperationalError", "InterfaceError")
