"""The HTTP API between ``aigate`` and ``aigate-server``: the wire shapes and their encoding; stdlib only.

Both sides import this module and nothing else of each other: the server declares its routes with
these dataclasses (FastAPI turns stdlib dataclasses into its request and response models, so the
published OpenAPI is generated from exactly these shapes), and the client encodes and decodes with
:func:`to_wire` and :func:`from_wire`. The paths, problem codes, claim names, states and helpers the
shapes use are defined in :mod:`aigate.constants` (cheap enough for the warm path) and re-exported
here, so ``protocol`` stays the one import for the whole API.

Conventions:

- JSON bodies, UTF-8. Timestamps are RFC 3339 strings in UTC (``2026-11-29T16:43:09Z``); durations on
  the wire are whole seconds (``*_seconds``).
- A device authenticates with ``Authorization: Bearer <device credential>``; the credential is the
  opaque string the server returned at enrollment.
- Every error is an RFC 9457 problem details object (``application/problem+json``, see
  :class:`Problem`) whose ``code`` member is one of :class:`ProblemCode`; clients branch on ``code``,
  never on ``title`` or ``detail``.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, TypeVar

# Re-exported: the API's paths, codes, claim names, states and helpers, defined once in constants.
# isort: off
from aigate.constants import (  # noqa: F401
    CLAIM_ACCESS_REQUEST, CLAIM_BASE_URL, CLAIM_ENV, CLAIM_KEY_SCOPE, CLAIM_KEY_SOURCE, CLAIM_REPOSITORY, CLAIM_TOOL,
    COMPETING_CREDENTIALS, DEFAULT_KEY_SCOPES, ENROLLMENT_CODE_PATTERN, KEY_SCOPE_PATTERN, LABEL_PATTERN,
    MAX_BODY_BYTES, MAX_DURATION_SECONDS, PROBLEM_CONTENT_TYPE, REASON_PATTERN, SCOPE_ALL,
    SCOPE_MINE, TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_LEEWAY_SECONDS, KEY_SOURCE_GATEWAY, KEY_SOURCE_LAPTOP,
    TOKEN_TYPE, ApprovalMode, Paths, ProblemCode, RequestState, Role, SessionEventKind, format_duration,
    characters, is_key_scope, normalize_repository, parse_duration, pattern_problem, rfc3339,
)
# isort: on

# --- field limits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """Length or range limit on a field, written as ``Annotated[str, Limit(max_length=200)]``.

    Stdlib only, but pydantic honours it through the ``__get_pydantic_core_schema__`` hook it
    documents for annotated metadata, so the server validates it and the OpenAPI shows it; the client
    can check the same numbers with :func:`check_limits` before sending.
    """

    min_length: int | None = None
    max_length: int | None = None
    ge: int | None = None
    le: int | None = None
    pattern: str | None = None  # a regex the whole string must match (constants: *_PATTERN, PATTERN_MEANINGS)

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        target = schema
        if target.get("type") == "nullable":
            target = target["schema"]
        for name in ("min_length", "max_length", "ge", "le", "pattern"):
            value = getattr(self, name)
            if value is not None:
                target[name] = value
        return schema

    def violation(self, value: Any) -> str | None:
        """Why ``value`` breaks this limit, or None when it does not."""
        if value is None:
            return None
        if isinstance(value, str):
            if self.min_length is not None and len(value) < self.min_length:
                return f"must be at least {characters(self.min_length)}"
            if self.max_length is not None and len(value) > self.max_length:
                return f"must be at most {characters(self.max_length)}"
            return pattern_problem(self.pattern, value) if self.pattern is not None else None
        elif isinstance(value, int):
            if self.ge is not None and value < self.ge:
                return f"must be at least {self.ge}"
            if self.le is not None and value > self.le:
                return f"must be at most {self.le}"
        return None


ToolName = Annotated[str, Limit(min_length=1, max_length=64, pattern=LABEL_PATTERN)]
Reason = Annotated[str, Limit(min_length=1, max_length=1000, pattern=REASON_PATTERN)]
Repository = Annotated[str, Limit(max_length=512, pattern=LABEL_PATTERN)]
Seconds = Annotated[int, Limit(ge=1, le=MAX_DURATION_SECONDS)]
ShortText = Annotated[str, Limit(max_length=255, pattern=LABEL_PATTERN)]
Identifier = Annotated[str, Limit(min_length=1, max_length=64, pattern=LABEL_PATTERN)]


# --- wire shapes ------------------------------------------------------------------------------------


@dataclass
class Problem:
    """RFC 9457 problem details, plus ``code`` (a ProblemCode value) as an extension member."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None


@dataclass
class UserPublic:
    email: str
    groups: list[str]
    role: Role
    disabled: bool = False


@dataclass
class EnrollmentCreate:
    """Exchange a one-time enrollment code for a device credential."""

    code: Annotated[str, Limit(min_length=4, max_length=64, pattern=ENROLLMENT_CODE_PATTERN)]
    device_name: ShortText = ""
    platform: Annotated[str, Limit(max_length=64, pattern=LABEL_PATTERN)] = ""


@dataclass
class Enrollment:
    """The answer to an enrollment. ``device_credential`` is shown once; the client keeps it in the
    OS keyring and sends it as ``Authorization: Bearer``; the server keeps only its hash."""

    device_id: str
    device_credential: str
    user: UserPublic
    issuer: str  # the server's public URL: the `iss` every approval token of this server carries


@dataclass
class Grant:
    """An active grant: an approved access request (or an ``auto`` rule) that has not ended."""

    tool: str
    key_scope: str
    expires_at: datetime
    access_request_id: str | None = None  # None for an automatic grant under an `auto` rule


@dataclass
class ToolAccess:
    """What the policy says about one tool for the calling user, and their active grant if any."""

    tool: str
    approval: ApprovalMode
    key_scope: str
    max_duration_seconds: int
    grant: Grant | None = None
    key_source: str = KEY_SOURCE_LAPTOP  # "gateway": enforced mode, the vendor key is held by a gateway
    latest_request: AccessRequest | None = None  # no grant: the latest request for the tool says why


@dataclass
class Me:
    user: UserPublic
    device_id: str
    issuer: str
    token_ttl_seconds: int
    tools: list[ToolAccess] = field(default_factory=list)


@dataclass
class AccessRequestCreate:
    """File an access request. Without ``duration_seconds`` the rule's maximum is asked for; more than
    the maximum is capped, and the answer says so (``duration_capped``)."""

    tool: ToolName
    reason: Reason
    duration_seconds: Seconds | None = None


@dataclass
class AccessRequest:
    id: str
    tool: str
    requester: str  # the requester's email
    reason: str
    state: RequestState
    key_scope: str
    requested_seconds: int  # after capping to the rule's maximum
    duration_capped: bool  # True when the asked-for duration was above the rule's maximum
    max_duration_seconds: int
    automatic: bool  # True when granted by an `auto` rule without a reviewer
    created_at: datetime
    review_expires_at: datetime | None = None  # a pending request expires, unreviewed, at this time
    decided_at: datetime | None = None
    decided_by: str | None = None  # reviewer's email (or "policy" for automatic grants)
    decision_reason: str | None = None  # the reason given with deny or revoke
    granted_seconds: int | None = None
    expires_at: datetime | None = None  # end of the grant, once approved
    approval_capped: bool = False  # in an approve answer: the approver asked for more than the maximum
    other_reviewers: int | None = None  # a new pending request: how many others could review it (0: nobody)


@dataclass
class AccessRequestList:
    items: list[AccessRequest]


@dataclass
class Approval:
    """Approve a pending request, optionally for less (or, up to the rule's maximum, other) time
    than asked."""

    duration_seconds: Seconds | None = None


@dataclass
class Decision:
    """Deny a pending request or revoke an approved one; the reason is required and audited."""

    reason: Reason


@dataclass
class ApprovalTokenCreate:
    """Ask for an approval token to run ``tool`` in ``repository`` (normalized, see
    :func:`normalize_repository`; None outside a repository with an ``origin`` remote)."""

    tool: ToolName
    repository: Repository | None = None


@dataclass
class ApprovalToken:
    """A signed approval token (compact JWS) and, for convenience, what it says. The client trusts only
    the verified claims, never these envelope fields."""

    token: str
    expires_at: datetime
    tool: str
    key_scope: str
    access_request_id: str | None = None
    repository: str | None = None
    base_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class SessionEvent:
    """A run's start or end, reported by the client. Idempotent on (session_id, kind): the client
    resends spooled events after an outage, and a resent one is acknowledged, not recorded twice."""

    session_id: Identifier
    kind: SessionEventKind
    tool: ToolName
    at: datetime
    host: ShortText = ""
    repository: Repository | None = None
    token_id: Annotated[str, Limit(max_length=64, pattern=LABEL_PATTERN)] | None = None  # the token's `jti`
    exit_status: Annotated[int, Limit(ge=-1, le=1023)] | None = None  # on `end`
    duration_ms: Annotated[int, Limit(ge=0, le=MAX_DURATION_SECONDS * 1000)] | None = None  # on `end`


@dataclass
class SessionEventAck:
    session_id: str
    kind: SessionEventKind
    recorded: bool  # False when this (session_id, kind) had been recorded before, or when refused
    refused: str | None = None  # why the server refused it; it is then on record as `session.refused`


@dataclass
class ConsoleLink:
    """A one-time approver console sign-in link (``aigate admin console``): works once, until ``expires_at``."""

    url: str
    expires_at: datetime


# --- encoding ---------------------------------------------------------------------------------------


def to_wire(value: Any) -> Any:
    """A dataclass (or list, dict, enum, datetime) as JSON-ready Python data; None fields kept."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    return value


T = TypeVar("T")


def from_wire(cls: type[T], data: Any) -> T:
    """Build dataclass ``cls`` from decoded JSON, converting nested shapes, enums and timestamps.

    Unknown members are ignored (a newer server may add some). Raises ValueError when a required
    member is missing or a value has the wrong shape.
    """
    import typing

    decoded: T = _decode(typing.get_type_hints(cls, include_extras=False), cls, data)
    return decoded


def _decode(hints: dict[str, Any], cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = _convert(hints[f.name], data[f.name], f"{cls.__name__}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{cls.__name__}: missing member {f.name!r}")
    return cls(**values)


def _convert(tp: Any, value: Any, where: str) -> Any:
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _convert(args[0], value, where)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_convert(item, v, where) for v in _expect(list, value, where)]
    if origin is dict:
        _, item = typing.get_args(tp)
        return {str(k): _convert(item, v, where) for k, v in _expect(dict, value, where).items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _decode(typing.get_type_hints(tp), tp, value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise ValueError(f"{where}: unknown value {value!r}") from None
    if tp is datetime:
        return parse_timestamp(_expect(str, value, where))
    if tp is int and isinstance(value, bool):
        raise ValueError(f"{where}: expected an integer")
    return _expect(tp, value, where) if tp in (str, int, bool) else value


def _expect(tp: type, value: Any, where: str) -> Any:
    if not isinstance(value, tp):
        raise ValueError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")
    return value


def check_limits(value: Any) -> list[str]:
    """The :class:`Limit` violations of a dataclass instance, as ``"field must be ..."`` strings."""
    import typing

    problems = []
    hints = typing.get_type_hints(type(value), include_extras=True)
    for f in dataclasses.fields(value):
        for limit in _limits_of(hints[f.name]):
            why = limit.violation(getattr(value, f.name))
            if why:
                problems.append(f"{f.name} {why}")
    return problems


def _limits_of(tp: Any) -> list[Limit]:
    import typing

    found = [m for m in getattr(tp, "__metadata__", ()) if isinstance(m, Limit)]
    for arg in typing.get_args(tp):
        found.extend(_limits_of(arg))
    return found


# --- timestamps -------------------------------------------------------------------------------------


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` and whole seconds (:func:`aigate.constants.rfc3339`); a naive
    datetime raises ValueError."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: aigate timestamps are always timezone-aware")
    return rfc3339(moment.timestamp())


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; a value without an offset is refused (ValueError)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    return moment
