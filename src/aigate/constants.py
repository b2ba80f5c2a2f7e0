"""The facts both sides of aigate share, each defined once: API paths, problem codes, token claim names,
states, credential names, default key scopes, and the pure helpers on them (durations, timestamps,
repository normalization); stdlib only and cheap to import.

The warm path of ``aigate run`` imports this module (the wire shapes in :mod:`aigate.protocol` need
``dataclasses`` and ``typing``, which it avoids; see docs/architecture.md, "Warm-path budget").
:mod:`aigate.protocol` re-exports every name here, so the HTTP API stays one import for the server.

Conventions: timestamps are RFC 3339 strings in UTC (``2026-11-29T16:43:09Z``); durations on the wire
are whole seconds, and people write them ``30s``, ``10m``, ``8h``, ``7d`` or ``1h30m``
(:func:`parse_duration`).
"""

from __future__ import annotations

import enum
import re
import time

PROBLEM_CONTENT_TYPE = "application/problem+json"
MAX_BODY_BYTES = 64 * 1024  # the server refuses larger request bodies with 413
MAX_DURATION_SECONDS = 366 * 86400  # the longest access request, grant or session a field may state


class Paths:
    """API paths. ``{id}`` placeholders are filled with :meth:`str.format`."""

    ENROLLMENTS = "/v1/enrollments"  # POST EnrollmentCreate -> 201 Enrollment (no auth)
    ME = "/v1/me"  # GET -> Me
    CURRENT_DEVICE = "/v1/devices/current"  # DELETE -> 204 (logout: the credential stops working)
    ACCESS_REQUESTS = "/v1/access-requests"  # POST AccessRequestCreate -> 201; GET -> AccessRequestList
    ACCESS_REQUEST = "/v1/access-requests/{id}"  # GET -> AccessRequest
    CANCEL = "/v1/access-requests/{id}/cancel"  # POST -> AccessRequest (requester only)
    APPROVE = "/v1/access-requests/{id}/approve"  # POST Approval -> AccessRequest (approver/admin)
    DENY = "/v1/access-requests/{id}/deny"  # POST Decision -> AccessRequest (approver/admin)
    REVOKE = "/v1/access-requests/{id}/revoke"  # POST Decision -> AccessRequest (approver/admin)
    APPROVAL_TOKENS = "/v1/approval-tokens"  # POST ApprovalTokenCreate -> 201 ApprovalToken
    SESSION_EVENTS = "/v1/session-events"  # POST SessionEvent -> SessionEventAck (idempotent)
    CONSOLE_LINKS = "/v1/console-links"  # POST -> 201 ConsoleLink: a one-time console sign-in link
    JWKS = "/.well-known/jwks.json"  # GET -> RFC 7517 JWK Set of the token signing keys
    LIVEZ = "/livez"  # GET -> 200 while the process runs
    READYZ = "/readyz"  # GET -> 200 when the database answers and migrations are current, else 503
    GATEWAY_AUTHORIZE = "/v1/gateway/authorize/{scope}"  # any method -> 200 + vendor key (gateways only)
    OPENAPI = "/openapi.json"
    # SSO (DESIGN.md "Identity"): the device authorization flow the server brokers (RFC 8628 shape)
    DEVICE_AUTHORIZATIONS = "/v1/device-authorizations"  # POST DeviceAuthorizationCreate -> 201 DeviceAuthorization
    DEVICE_TOKEN = "/v1/device-authorizations/token"  # POST DeviceTokenRequest -> 201 Enrollment, or 400 pending...
    SSO_DEVICE = "/sso/device"  # browser: confirm the user code, then sign in with the OpenID provider
    SSO_CALLBACK = "/sso/callback"  # browser: the OpenID provider's redirect (`{public_url}/sso/callback`)


# Query parameters of GET Paths.ACCESS_REQUESTS: `state` (a RequestState, optional) and `scope`:
# "mine" (default, the caller's own requests) or "all" (approvers and admins only).
SCOPE_MINE = "mine"
SCOPE_ALL = "all"
# Query parameter of GET Paths.ACCESS_REQUEST: `wait` (seconds, at most MAX_WAIT_SECONDS): while the
# request is pending, the answer is held until it is decided or `wait` seconds have passed (long-poll).
MAX_WAIT_SECONDS = 30


# --- approval token (docs/architecture.md "Approval tokens"; checks per RFC 8725) -------------------

TOKEN_TYPE = "aigate-approval+jwt"  # JWS header `typ`
TOKEN_AUDIENCE = "aigate"
TOKEN_ALGORITHM = "EdDSA"  # Ed25519 (RFC 8037): what the server writes in the header `alg`
TOKEN_ALGORITHMS = (TOKEN_ALGORITHM, "Ed25519")  # what clients accept: also RFC 9864's fully specified name
TOKEN_LEEWAY_SECONDS = 30  # clock skew allowed when checking nbf/exp; never extends a cached token
CLAIM_TOOL = "tool"
CLAIM_KEY_SCOPE = "key_scope"
CLAIM_ACCESS_REQUEST = "access_request"  # the access request id the grant rests on; null for `auto`
CLAIM_REPOSITORY = "repository"  # normalized repository the token was issued for; null for none
CLAIM_BASE_URL = "base_url"  # where the tool must send its calls (policy), or null
CLAIM_ENV = "env"  # {name: value} the tool must run with (policy)
CLAIM_KEY_SOURCE = "key_source"  # "laptop" (the keyring) or "gateway" (enforced mode: the token is the key)
KEY_SOURCE_LAPTOP = "laptop"
KEY_SOURCE_GATEWAY = "gateway"


# --- enumerations -----------------------------------------------------------------------------------


class Role(str, enum.Enum):
    USER = "user"
    APPROVER = "approver"
    ADMIN = "admin"


class ApprovalMode(str, enum.Enum):
    """What a policy rule says about a tool: grant at once, wait for an approver, or refuse."""

    AUTO = "auto"
    REQUIRED = "required"
    DENY = "deny"


class RequestState(str, enum.Enum):
    """Access request states: pending -> approved | denied | expired | cancelled;
    approved -> revoked | ended (the grant ran out)."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REVOKED = "revoked"
    ENDED = "ended"


class NotifyEvent(str, enum.Enum):
    """What a ``[[notify]]`` receiver can be told about (its ``events``)."""

    REQUEST_CREATED = "request.created"
    REQUEST_APPROVED = "request.approved"
    REQUEST_DENIED = "request.denied"
    GRANT_REVOKED = "grant.revoked"
    GRANT_EXPIRING = "grant.expiring"


# Headers of a ``format = "json"`` notification (see aigate.server.notify_messages.Notification).
SIGNATURE_HEADER = "X-Aigate-Signature"  # t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
DELIVERY_HEADER = "X-Aigate-Delivery"  # the notification's id: the same on every retry
EVENT_HEADER = "X-Aigate-Event"  # a NotifyEvent value


class SessionEventKind(str, enum.Enum):
    START = "start"
    END = "end"


class ProblemCode(str, enum.Enum):
    """The `code` member of every problem details body, with the HTTP status it comes with."""

    UNAUTHENTICATED = "unauthenticated"  # 401: no, unknown or logged-out device credential
    USER_DISABLED = "user-disabled"  # 403: the user was disabled by an admin
    FORBIDDEN = "forbidden"  # 403: the caller's role may not do this (or reviews own request)
    NOT_APPROVED = "not-approved"  # 403: no active grant for this tool (none, expired, revoked)
    DENIED_BY_POLICY = "denied-by-policy"  # 403: a policy rule (or no rule) denies this tool
    REPOSITORY_DENIED = "repository-denied"  # 403: the repository matches the rule's repos_denied
    ENROLLMENT_CODE_INVALID = "enrollment-code-invalid"  # 400: unknown, used or expired code
    UNKNOWN_TOOL = "unknown-tool"  # 422: the tool is not in the server's policy
    NOT_FOUND = "not-found"  # 404
    CONFLICT = "conflict"  # 409: e.g. the request was already decided by someone else
    INVALID_REQUEST = "invalid-request"  # 400/422: malformed JSON, wrong types, limits exceeded
    PAYLOAD_TOO_LARGE = "payload-too-large"  # 413: body above MAX_BODY_BYTES
    RATE_LIMITED = "rate-limited"  # 429: too many requests or failed attempts from one address (Retry-After)
    UNAVAILABLE = "unavailable"  # 503: database down or schema behind
    INTERNAL = "internal"  # 500: a bug; the detail never carries internals
    # the device authorization flow (RFC 8628 section 3.5 errors, hyphenated like every code here)
    SSO_NOT_CONFIGURED = "sso-not-configured"  # 404: the server has no OpenID provider (use a code)
    AUTHORIZATION_PENDING = "authorization-pending"  # 400: the user has not finished in the browser yet
    SLOW_DOWN = "slow-down"  # 400: polled sooner than `interval`; wait 5 seconds more from now on
    EXPIRED_TOKEN = "expired-token"  # 400: the device code expired or was already used; start again
    ACCESS_DENIED = "access-denied"  # 400: the user refused the sign-in in the browser


# --- enforced mode: the gateway authorization endpoint (docs/enforced-mode.md) -----------------------
# A gateway (nginx ``auth_request``, Envoy ``ext_authz`` over HTTP, Traefik or Caddy forward-auth) asks
# ``{any method} Paths.GATEWAY_AUTHORIZE[/anything]`` for each model call, passing on the tool's own
# headers (its approval token as ``x-api-key`` or ``Authorization: Bearer``) and adding its credential.
# 200 carries the scope's vendor key, to a registered gateway only; 401 (no or bad token: the tool fetches
# a fresh one), 403 (not a gateway, not live, another scope, a tool not in enforced mode) or 503 (no
# vendor key stored) carry a problem details body and the problem code in GATEWAY_REASON_HEADER.

GATEWAY_AUTHORIZE_PREFIX = Paths.GATEWAY_AUTHORIZE.removesuffix("/{scope}")
GATEWAY_CREDENTIAL_HEADER = "X-Aigate-Gateway-Credential"
GATEWAY_VENDOR_KEY_HEADER = "X-Aigate-Vendor-Key"
GATEWAY_USER_HEADER = "X-Aigate-User"
GATEWAY_TOOL_HEADER = "X-Aigate-Tool"
GATEWAY_SCOPE_HEADER = "X-Aigate-Scope"
GATEWAY_REASON_HEADER = "X-Aigate-Reason"
#: The header each tool's vendor takes the key in, and its value's form (DESIGN notes, "Enforced mode").
VENDOR_KEY_STYLE = {"claude": ("x-api-key", "{key}"), "codex": ("Authorization", "Bearer {key}")}


# --- tools, key scopes, credentials -----------------------------------------------------------------

DEFAULT_KEY_SCOPES = {"claude": "anthropic", "codex": "openai"}
"""The key scope of each known tool when the policy names none (client registry and server policy)."""

KEY_SCOPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""A key scope name, as ``aigate keys set SCOPE`` accepts it; the server's policy check uses it too."""

def is_key_scope(name: str) -> bool:
    """Whether ``name`` matches :data:`KEY_SCOPE_PATTERN` (a letter or digit, then up to 63 letters,
    digits, ``.``, ``_`` or ``-``)."""
    return re.match(KEY_SCOPE_PATTERN, name) is not None


# --- text the server accepts (the wire shapes carry these as schema patterns) ------------------------

_INVISIBLE = (r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e"
              r"\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb")
TEXT_FORBIDDEN = r"\x00-\x08\x0b-\x1f\x7f-\x9f" + _INVISIBLE
"""A regex character class (without brackets) of what free text (reasons) may not hold: control
characters but tab and newline, DEL and C1 controls, line and paragraph separators (U+2028, U+2029),
bidi overrides and isolates, and invisible format characters (soft hyphen, zero-width and joiner
characters, word joiner, BOM, Hangul fillers...), any of which can make text read other than it is."""
LABEL_FORBIDDEN = r"\x00-\x1f\x7f-\x9f" + _INVISIBLE
"""The same for labels and names (device name, platform, host, tool, ids, repository): no tab or newline either."""
REASON_PATTERN = rf"^[^{TEXT_FORBIDDEN}]*[^\s{TEXT_FORBIDDEN}][^{TEXT_FORBIDDEN}]*$"
LABEL_PATTERN = rf"^[^{LABEL_FORBIDDEN}]*$"
ENROLLMENT_CODE_PATTERN = r"^[ -]*(?:[0-9A-TV-Za-tv-z][ -]*){12}$"
"""An enrollment code as ``users add`` prints it (12 characters of Crockford's base32, any case,
grouped with dashes or spaces)."""
PATTERN_MEANINGS = {
    REASON_PATTERN: "must not be blank, nor contain control, line or paragraph separator, bidi or invisible "
                    "characters (tab and newline are fine)",
    LABEL_PATTERN: "must not contain control, line or paragraph separator, bidi or invisible characters",
    ENROLLMENT_CODE_PATTERN: "must be an enrollment code as `aigate-server users add` prints it "
                             "(12 letters and digits, e.g. 7KQ2-MX4P-9TRD)",
}
"""What a violation of each pattern means, in the words error messages use."""


def characters(n: int) -> str:
    """``n`` with the word for it: ``1 character``, ``5 characters`` (limit messages)."""
    return f"{n} character" if n == 1 else f"{n} characters"


def pattern_problem(pattern: str, value: str) -> str | None:
    """What is wrong with ``value`` by ``pattern`` (one of the patterns above), or None when it matches."""
    return None if re.search(pattern, value) else PATTERN_MEANINGS.get(pattern, f"must match {pattern}")


COMPETING_CREDENTIALS: tuple[str, ...] = (
    # Anthropic / Claude Code
    "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY", "ANTHROPIC_FOUNDRY_API_KEY",
    "CLAUDE_CODE_API_KEY_HELPER_TTL_MS",
    "ANTHROPIC_CUSTOM_HEADERS",  # "Name: value" lines sent on every call: an x-api-key line replaces the key
    # OpenAI / Codex
    "OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN", "AZURE_API_KEY",
    # Cloud providers that can serve either model family
    "AWS_BEARER_TOKEN_BEDROCK", "GOOGLE_API_KEY", "GEMINI_API_KEY", "VERTEX_API_KEY",
    # Other model vendors a tool can be pointed at
    "MISTRAL_API_KEY", "GROQ_API_KEY", "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY", "XAI_API_KEY",
    "TOGETHER_API_KEY", "FIREWORKS_API_KEY",
)
"""Every credential (or credential switch) of every provider a coding tool may pick up on its own.

The client removes them all from the tool's environment, so the tool receives exactly one credential,
the one aigate hands it (docs/tools.md); a policy's ``env`` may not set them. General cloud credentials
(``AWS_ACCESS_KEY_ID``, ``GOOGLE_APPLICATION_CREDENTIALS``) stay: the tools reach Bedrock or Vertex with
them only behind the ``CLAUDE_CODE_USE_*`` switches, which are removed, and a developer's own shell
commands inside the tool may need them."""


# --- timestamps and durations -----------------------------------------------------------------------


def rfc3339(epoch: float) -> str:
    """``epoch`` (seconds since 1970, UTC) as RFC 3339 with a ``Z`` and whole seconds:
    ``2026-11-29T16:43:09Z``. The one timestamp format of aigate's files, output and wire."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# Patterns are compiled on first use (re caches them), not at import: the warm path imports this module.
_DURATION_RE = r"([0-9]+)([dhms])"  # ASCII digits only: \d also takes fullwidth digits (U+FF10..U+FF19)


def parse_duration(text: str) -> int:
    """Seconds in a duration written ``30s``, ``10m``, ``8h``, ``7d`` or combined (``1h30m``).

    Units may not repeat and must go from largest to smallest; digits are ASCII (a fullwidth digit is
    refused). Raises ValueError with a message that shows the accepted forms for anything else, zero included.
    """
    cleaned = text.strip().lower()
    parts = re.findall(_DURATION_RE, cleaned)
    units = [unit for _, unit in parts]
    ordered = sorted(set(units), key="dhms".index)
    if not parts or "".join(n + u for n, u in parts) != cleaned or units != ordered:
        raise ValueError(f"invalid duration {text!r}: write it like 30s, 10m, 8h, 7d or 1h30m")
    seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: it must be longer than zero")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest :func:`parse_duration` form of ``seconds``: 5400 -> ``1h30m``; 0 -> ``0s``."""
    if seconds <= 0:
        return "0s"
    out = []
    for unit, size in _DURATION_UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


# --- repositories -----------------------------------------------------------------------------------

# git's scp-like form (connect.c, ``url_is_local_not_ssh``): ``[user@]host:path`` when a colon comes
# before any slash; the host may be bracketed: ``[::1]``, ``user@[::1]``, or ``[user@host:port]``.
_SCP_LIKE = r"^(?:[^@/\[\]]*@)?(?:\[([^\]/]*)\]|([^:/\[\]]+)):(?!//)(.*)$"  # compiled on first use


def normalize_repository(remote: str) -> str | None:
    """A git remote URL as ``host/path``: lower-case, no scheme, user, port or ``.git``.

    ``git@github.com:Corp/llama-weights.git`` and ``https://github.com/Corp/llama-weights`` both give
    ``github.com/corp/llama-weights``. Every form git accepts is read as git reads it (tested against
    git itself): scp-like with bracketed hosts (``[git@host:2222]:path``, ``git@[::1]:path``), URLs with
    ports and IPv6 hosts, ``git+ssh://``; a host's trailing dot, repeated slashes and percent-encoding
    in a URL's path name the same repository and are folded away. A local path (``/srv/repo.git``,
    ``file:///srv/repo``) gives its path without host. Returns None for an empty string. The client
    sends this form and the server normalizes again before matching ``repos_denied``, so both sides
    apply this one rule (it is idempotent).
    """
    from urllib.parse import unquote, urlsplit

    text = remote.strip()
    if not text:
        return None
    if "://" in text:
        parts = urlsplit(text)
        host, path = parts.hostname or "", unquote(parts.path)
    else:
        match = re.match(_SCP_LIKE, text)
        if match is None:
            host, path = "", text
        else:
            host = _bracketed_host(match.group(1)) if match.group(1) is not None else match.group(2)
            path = match.group(3)
    host = host.lower().rstrip(".")
    path = re.sub(r"/{2,}", "/", path).strip("/")
    if path.lower().endswith(".git"):
        path = path[:-4].rstrip("/")
    joined = f"{host}/{path}" if host else path
    return joined.lower() or None


def _bracketed_host(inside: str) -> str:
    """The host in git's ``[...]`` of an scp-like remote: ``user@host:port`` or an IPv6 address."""
    inside = inside.rpartition("@")[2]
    head, colon, port = inside.rpartition(":")
    return head if colon and ":" not in head and port.isdigit() else inside
