"""The published OpenAPI, made to say what the server answers (checked by schemathesis in the tests).

FastAPI documents a success and a 422 of its own shape. :func:`install` replaces ``app.openapi`` with
a generator that, for every operation of the app (routes added later included), documents each
status the server can answer as ``application/problem+json`` (the :class:`~aigate.protocol.Problem`
shape, ``code`` one of :class:`~aigate.protocol.ProblemCode`), derived from what the operation has:

- any operation: 431 (request head too large, :mod:`aigate.server.httplimits`), and 503 with
  ``Retry-After`` unless it is one of :data:`NO_DATABASE` (the database cannot serve);
- a bearer security requirement: 401 (no valid credential) and 403 (user disabled, role, policy);
- a request body: 400 (not JSON), 413 (over 64 KiB) and 422 (fails the shape);
- parameters: 422; path parameters: 404;
- an unauthenticated path (:data:`aigate.server.ratelimit.UNAUTHENTICATED_PATHS`): 429 with ``Retry-After``;
- whatever the route declares in ``responses=`` (such as 409), its description kept.

Tool names in requests that the policy judges (``AccessRequestCreate.tool``,
``ApprovalTokenCreate.tool``) get the policy's tools as an enum, regenerated when the policy's tools
change. 405 is no operation's answer; it comes with an ``Allow`` header listing every method of the path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aigate.constants import PROBLEM_CONTENT_TYPE, Paths, ProblemCode

NO_DATABASE = frozenset({Paths.LIVEZ, Paths.JWKS})
POLICY_TOOL_FIELDS = (("AccessRequestCreate", "tool"), ("ApprovalTokenCreate", "tool"))
_TITLES = {400: "The body is not JSON", 401: "No valid device credential", 403: "Not allowed",
           404: "Not found", 409: "Conflict", 413: "Body too large", 422: "The request does not fit its shape",
           429: "Too many requests or failed attempts from this address", 431: "Request headers too large",
           503: "The database cannot serve now"}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                                "schema": {"type": "integer", "minimum": 1}}}


def install(app: Any, tools: Callable[[], list[str]]) -> None:
    """Make ``app.openapi()`` the truthful document (module docstring); ``tools()``: the policy's tools."""
    from fastapi.openapi.utils import get_openapi

    cache: dict[tuple[str, ...], dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        key = tuple(sorted(tools()))
        if key not in cache:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            cache.clear()
            cache[key] = document(schema, list(key))
        return cache[key]

    app.openapi = openapi


def document(schema: dict[str, Any], tools: list[str]) -> dict[str, Any]:
    """``schema`` (FastAPI's) with every answered status documented and tool enums set (in place)."""
    from aigate.server.ratelimit import UNAUTHENTICATED_PATHS

    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Problem"] = _problem_schema()
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            statuses = _statuses(path, operation, path in UNAUTHENTICATED_PATHS)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses | {int(s) for s in responses if s[0] in "45"}):
                declared = responses.get(str(status), {})
                responses[str(status)] = _problem_response(status, declared.get("description"))
    for name, field in POLICY_TOOL_FIELDS:
        prop = components.get(name, {}).get("properties", {}).get(field)
        if prop is not None and tools:
            prop["enum"] = tools
    return schema


def _statuses(path: str, operation: dict[str, Any], unauthenticated: bool) -> set[int]:
    statuses = {431}
    if path not in NO_DATABASE:
        statuses.add(503)
    if operation.get("security"):
        statuses |= {401, 403}
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    parameters = operation.get("parameters", [])
    if parameters:
        statuses.add(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if unauthenticated:
        statuses.add(429)
    return statuses


def _problem_response(status: int, description: str | None) -> dict[str, Any]:
    text = description if description and description != "Validation Error" else _TITLES.get(status, "Refused")
    response: dict[str, Any] = {"description": text, "content": {
        PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    if status in (429, 503):
        response["headers"] = _RETRY_AFTER
    return response


def _problem_schema() -> dict[str, Any]:
    return {
        "title": "Problem", "type": "object", "required": ["type", "title", "status", "code"],
        "description": "RFC 9457 problem details; clients branch on `code`, never on `title` or `detail`.",
        "properties": {
            "type": {"type": "string"}, "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "code": {"type": "string", "enum": [code.value for code in ProblemCode]},
            "detail": {"type": ["string", "null"]}, "instance": {"type": ["string", "null"]},
        },
    }
