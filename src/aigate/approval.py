"""The client side of the aigate HTTP API (protocol.py), on httpx; the cold path only.

TLS verifies against the OS trust store (truststore; docs/tools.md: httpx alone trusts certifi, so
corporate TLS inspection would fail) plus an optional ``ca_bundle``; the proxy comes from the usual
environment variables, read the way curl reads them (:mod:`aigate.proxies`: ``NO_PROXY`` with CIDR
ranges, SOCKS through httpx's ``socks`` extra), and a proxy that does not answer is named with its
variable; every call has an explicit timeout. Tests pass an ``httpx.Client`` built on ``httpx.MockTransport`` instead.

Errors map to :mod:`aigate.errors` by the problem ``code`` (never by title or detail): transport
failures and 5xx are ServerUnreachable (69) naming the server; unauthenticated is ConfigError (78,
log in again); not-approved, denied-by-policy, repository-denied, user-disabled and forbidden are
NotApproved (77); so is a refused enrollment code; conflict is 1; invalid input and unknown tools are usage errors (2).
"""

from __future__ import annotations

import ssl
import time
from typing import Any, TypeVar

import httpx

from aigate import __version__, log, protocol, protocol_sso, proxies
from aigate.errors import (
    AigateError,
    ConfigError,
    ConflictError,
    DeviceFlowAnswer,
    ExitCode,
    NotApproved,
    ServerUnreachable,
    SsoNotConfigured,
    UsageError,
)
from aigate.protocol import Paths, ProblemCode, from_wire, to_wire  # from_wire: only in decode()

T = TypeVar("T")
CONNECT_TIMEOUT = 5.0  # seconds
READ_TIMEOUT = 15.0


def make_http_client(server: str, *, ca_bundle: str | None = None) -> httpx.Client:
    """An httpx client for ``server``: OS trust store (+ ``ca_bundle``), env proxies, timeouts."""
    import truststore

    _warn_if_plain_http(server)
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_bundle:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except OSError as err:
            raise ConfigError(f"cannot read ca_bundle {ca_bundle}: {err.strerror or err}",
                              hint="point ca_bundle at a readable PEM file of CA certificates, or remove the "
                                   "setting (`aigate status` says which file sets it)") from err
    proxy = proxies.proxy_for(server)
    log.debug(f"{server}: through the proxy {proxies.shown(proxy)}" if proxy else f"{server}: direct, no proxy")
    return httpx.Client(
        base_url=server,
        verify=context,
        trust_env=False,  # the proxy is decided above; nor is a ~/.netrc password sent to the server
        proxy=proxy.url if proxy else None,
        timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        headers={"User-Agent": f"aigate/{__version__}"},
    )


def _warn_if_plain_http(server: str) -> None:
    """Plain HTTP is for a server on this machine (tests, demos); elsewhere the credential is exposed."""
    from urllib.parse import urlsplit

    parts = urlsplit(server)
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        log.warn(f"{server} is plain HTTP: this device's credential and approvals travel unencrypted; use https://")


class ServerClient:
    """One aigate server, optionally as one enrolled device (``credential``: the Bearer secret).

    Every method is one API call (paths in :class:`aigate.constants.Paths`) and returns the decoded
    wire shape of :mod:`aigate.protocol`. Every method raises, through :meth:`call`: ServerUnreachable
    (69) for transport errors, 5xx and answers that are not aigate's; ConfigError (78) for an unknown or
    logged-out device; NotApproved (77) for not-approved, denied-by-policy, repository-denied,
    user-disabled and forbidden; ConflictError (1) for conflict; UsageError (2) for invalid input and
    unknown tools; AigateError (1) for not-found. Durations are whole seconds.
    """

    def __init__(self, http: httpx.Client, server: str, credential: str | None = None):
        self.http = http
        self.server = server
        self.credential = credential
        # seconds the server's clock was ahead of this computer's at the last answer (its Date header)
        self.clock_offset: float | None = None

    # --- enrollment and identity ---------------------------------------------------------------

    def enroll(self, code: str, *, device_name: str = "", platform: str = "") -> protocol.Enrollment:
        """Exchange a one-time enrollment ``code`` for this device's credential (no auth); names are
        cut to the server's limits (255 and 64 characters). The answer holds the credential: keep it
        in the keyring only."""
        body = protocol.EnrollmentCreate(code=code, device_name=device_name[:255], platform=platform[:64])
        return self.decode(protocol.Enrollment, self.call("POST", Paths.ENROLLMENTS, body=body, auth=False))

    def start_device_authorization(self, *, device_name: str = "",
                                   platform: str = "") -> protocol_sso.DeviceAuthorization:
        """SSO login: SsoNotConfigured (78) when the server has none."""
        body = protocol_sso.DeviceAuthorizationCreate(device_name=device_name[:255], platform=platform[:64])
        no_sso = SsoNotConfigured(f"{self.server} has no SSO login (an older aigate server)",
                                  hint=f"aigate login --server {self.server} --code CODE")
        data = self.call("POST", Paths.DEVICE_AUTHORIZATIONS, body=body, auth=False, if_404=no_sso)
        return self.decode(protocol_sso.DeviceAuthorization, data)

    def poll_device_token(self, device_code: str) -> protocol.Enrollment:
        """The device credential once the user confirmed; DeviceFlowAnswer while not (yet)."""
        data = self.call("POST", Paths.DEVICE_TOKEN, body=protocol_sso.DeviceTokenRequest(device_code), auth=False)
        return self.decode(protocol.Enrollment, data)

    def me(self) -> protocol.Me:
        """The caller, their device, token lifetime and, per tool, the policy and any active grant."""
        return self.decode(protocol.Me, self.call("GET", Paths.ME))

    def logout(self) -> None:
        """Tell the server this device's credential stops working (204)."""
        self.call("DELETE", Paths.CURRENT_DEVICE)

    # --- access requests -----------------------------------------------------------------------

    def create_request(self, tool: str, reason: str, duration_seconds: int | None) -> protocol.AccessRequest:
        """File an access request for ``tool`` (None: the rule's maximum duration; more is capped and
        the answer says so). ConflictError when the user has a pending one for the tool."""
        body = protocol.AccessRequestCreate(tool=tool, reason=reason, duration_seconds=duration_seconds)
        return self.decode(protocol.AccessRequest, self.call("POST", Paths.ACCESS_REQUESTS, body=body))

    def list_requests(self, *, state: str | None = None, everyone: bool = False) -> list[protocol.AccessRequest]:
        """Access requests, newest first: the caller's own, or (``everyone``, reviewers only) all;
        ``state``: a RequestState value to keep only those."""
        params = {"scope": protocol.SCOPE_ALL if everyone else protocol.SCOPE_MINE}
        if state:
            params["state"] = state
        data = self.call("GET", Paths.ACCESS_REQUESTS, params=params)
        return self.decode(protocol.AccessRequestList, data).items

    def get_request(self, request_id: str) -> protocol.AccessRequest:
        """One access request by its id; AigateError (1, "not found") when there is none."""
        return self._request_action("GET", Paths.ACCESS_REQUEST, request_id)

    def wait_request(self, request_id: str, seconds: int) -> protocol.AccessRequest:
        """The request, held by the server (long-poll) up to ``seconds`` while it stays pending."""
        from urllib.parse import quote

        path = Paths.ACCESS_REQUEST.format(id=quote(request_id, safe=""))
        data = self.call("GET", path, params={"wait": seconds}, timeout=seconds + READ_TIMEOUT)
        return self.decode(protocol.AccessRequest, data)

    def console_link(self) -> protocol.ConsoleLink:
        """A one-time sign-in link to the approver console for this device's user."""
        return self.decode(protocol.ConsoleLink, self.call("POST", Paths.CONSOLE_LINKS))

    def cancel(self, request_id: str) -> protocol.AccessRequest:
        """Withdraw one of the caller's pending requests; ConflictError when it is no longer pending."""
        return self._request_action("POST", Paths.CANCEL, request_id)

    def approve(self, request_id: str, duration_seconds: int | None) -> protocol.AccessRequest:
        """Approve a pending request (reviewers, never the requester) for ``duration_seconds`` (None:
        as asked), capped at the rule's maximum (``approval_capped`` in the answer)."""
        return self._request_action("POST", Paths.APPROVE, request_id, protocol.Approval(duration_seconds))

    def deny(self, request_id: str, reason: str) -> protocol.AccessRequest:
        """Deny a pending request with ``reason`` (shown to the requester, audited)."""
        return self._request_action("POST", Paths.DENY, request_id, protocol.Decision(reason))

    def revoke(self, request_id: str, reason: str) -> protocol.AccessRequest:
        """Revoke an approved request with ``reason``; its tokens stop within the token lifetime."""
        return self._request_action("POST", Paths.REVOKE, request_id, protocol.Decision(reason))

    def _request_action(self, method: str, path: str, request_id: str, body: Any = None) -> protocol.AccessRequest:
        from urllib.parse import quote

        data = self.call(method, path.format(id=quote(request_id, safe="")), body=body)
        return self.decode(protocol.AccessRequest, data)

    # --- tokens and sessions -------------------------------------------------------------------

    def issue_token(self, tool: str, repository: str | None) -> protocol.ApprovalToken:
        """An approval token for ``tool`` in ``repository`` (normalized, or None). Unverified here:
        :func:`aigate.tokens.fetch_token` checks it against the JWKS before anything trusts it."""
        body = protocol.ApprovalTokenCreate(tool=tool, repository=repository)
        return self.decode(protocol.ApprovalToken, self.call("POST", Paths.APPROVAL_TOKENS, body=body, tool=tool))

    def jwks(self) -> dict[str, Any]:
        """The server's JWK Set (RFC 7517, ``{"keys": [...]}``), no auth; ServerUnreachable when the
        answer does not have that shape."""
        data = self.call("GET", Paths.JWKS, auth=False)
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise not_aigate(self.server, "its key set (JWKS) has the wrong shape")
        return data

    def decode(self, cls: type[T], data: Any) -> T:
        """``protocol.from_wire(cls, data)`` for every answer of the server: a wrong shape is "that URL
        is not an aigate server" (69), never an internal error. The one place answers are decoded."""
        try:
            return from_wire(cls, data)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise not_aigate(self.server, f"its answer has the wrong shape ({err})") from err

    def send_event(self, event: protocol.SessionEvent) -> protocol.SessionEventAck:
        """Report a session start or end; idempotent on ``(session_id, kind)`` (``recorded`` False
        for a resend)."""
        return self.decode(protocol.SessionEventAck, self.call("POST", Paths.SESSION_EVENTS, body=event))

    # --- plumbing ------------------------------------------------------------------------------

    def call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
             auth: bool = True, tool: str | None = None, if_404: AigateError | None = None,
             timeout: float | None = None) -> Any:
        """One API call; the decoded JSON answer (None for 204). ``body``: a protocol dataclass, checked
        against its field limits first (UsageError). ``tool`` names the tool in refusal messages;
        ``timeout`` (seconds) replaces the read timeout (long-polls).
        Raises the AigateError kinds listed on the class, by the problem ``code``; or ``if_404`` for a
        404 that is not an aigate problem of another code (an older server without that path)."""
        if body is not None:
            problems = protocol.check_limits(body)
            if problems:
                raise UsageError("; ".join(problems))
        headers = {"Authorization": f"Bearer {self.credential}"} if auth and self.credential else {}
        try:
            limit = self.http.timeout if timeout is None else httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
            response = self.http.request(method, path, json=None if body is None else to_wire(body),
                                         params=params, headers=headers, timeout=limit)
        except httpx.HTTPError as err:
            proxy = proxies.proxy_for(self.server)
            if proxy and isinstance(err, (httpx.ProxyError, httpx.ConnectError, httpx.ConnectTimeout)):
                raise ServerUnreachable(
                    f"cannot reach the aigate server {self.server} through the proxy {proxies.shown(proxy)}: "
                    f"{_why(err)}",
                    hint=f"check that proxy (is it running?), or add the server's host to NO_PROXY; {proxy.variable} "
                         "is read as curl reads it",
                ) from err
            raise ServerUnreachable(
                f"cannot reach the aigate server {self.server}: {_why(err)}",
                hint="check the network (VPN, proxy) and the server URL shown by `aigate status`",
            ) from err
        self.clock_offset = clock_offset(response.headers.get("date"), time.time())
        if response.status_code == 204:
            return None
        if response.status_code == 404 and if_404 is not None and _problem_code(response) in (
                None, ProblemCode.NOT_FOUND):
            raise if_404
        data = _json(response, self.server)
        if response.is_success:
            return data
        raise problem_error(response.status_code, data, server=self.server, tool=tool)


def _problem_code(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("code") if isinstance(data, dict) else None


def clock_offset(date_header: str | None, now: float) -> float | None:
    """Seconds the clock that wrote ``date_header`` (an HTTP date, RFC 9110) is ahead of ``now``;
    None without a usable header. The header has whole seconds, so this is exact to about 1 s."""
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(date_header).timestamp() - now if date_header else None
    except (TypeError, ValueError, IndexError):
        return None


def _why(err: Exception) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0][:200]


def not_aigate(server: str, why: str) -> ServerUnreachable:
    """69: whatever answered at ``server`` (a web site, a proxy's or captive portal's page, another API)
    is not an aigate server, or not one this client understands."""
    return ServerUnreachable(f"{server} does not look like an aigate server: {why}",
                             hint="check the server URL (`aigate status`) and the network path (a proxy or "
                                  "login page may be answering instead)")


def _json(response: httpx.Response, server: str) -> Any:
    """The decoded answer. A success must be JSON and a failure an aigate problem (JSON with a
    ``code``), except a 5xx page from a proxy in front of the server: anything else is not aigate."""
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        if status >= 500:
            raise ServerUnreachable(f"the aigate server {server} failed ({status})",
                                    hint="try again later; tell your aigate admin if it persists") from None
        raise not_aigate(server, f"it answered {status} with no JSON") from None
    if not response.is_success and status < 500 and not (isinstance(data, dict) and isinstance(data.get("code"), str)):
        raise not_aigate(server, f"it answered {status} without an aigate problem")
    return data


_DEVICE_FLOW_CODES = (ProblemCode.AUTHORIZATION_PENDING, ProblemCode.SLOW_DOWN, ProblemCode.EXPIRED_TOKEN,
                      ProblemCode.ACCESS_DENIED)


def problem_error(status: int, data: Any, *, server: str, tool: str | None = None) -> AigateError:
    """The AigateError for an RFC 9457 problem body from ``server`` (see the module docstring)."""
    data = data if isinstance(data, dict) else {}
    code = data.get("code")
    detail = data.get("detail") or data.get("title") or f"HTTP {status}"
    # --wait: files a request and waits, or, with one already pending, waits on that one (never a 409)
    request_hint = f'aigate request {tool} --reason "..." --wait' if tool else None
    if code in _DEVICE_FLOW_CODES:
        return DeviceFlowAnswer(code, detail)
    if code == ProblemCode.SSO_NOT_CONFIGURED:
        return SsoNotConfigured(f"{server} has no SSO configured: {detail}",
                                hint=f"aigate login --server {server} --code CODE (ask your aigate admin for a code)")
    if code == ProblemCode.UNAUTHENTICATED or status == 401:
        return ConfigError(f"{server} did not accept this device's credential: {detail}",
                           hint=f"aigate login --server {server}")
    if code == ProblemCode.NOT_APPROVED:
        return NotApproved(f"not approved: {detail}", hint=request_hint)
    if code in (ProblemCode.DENIED_BY_POLICY, ProblemCode.REPOSITORY_DENIED, ProblemCode.USER_DISABLED):
        return NotApproved(f"refused by policy: {detail}", hint="ask your aigate admin if this looks wrong")
    if code == ProblemCode.FORBIDDEN or status == 403:
        return NotApproved(f"not allowed: {detail}")
    if code == ProblemCode.CONFLICT or status == 409:
        return ConflictError(detail)
    if code == ProblemCode.RATE_LIMITED or status == 429:
        return ServerUnreachable(f"the aigate server {server} refused for now: {detail}",
                                 hint="wait and try again; tell your aigate admin if it persists")
    if code == ProblemCode.ENROLLMENT_CODE_INVALID:
        return AigateError(f"enrollment failed: {detail}", hint="ask your aigate admin for a new enrollment code",
                           exit_code=ExitCode.NOPERM)  # a refused credential: 77, as for the other refusals
    if code in (ProblemCode.UNKNOWN_TOOL, ProblemCode.INVALID_REQUEST, ProblemCode.PAYLOAD_TOO_LARGE):
        return UsageError(detail)
    if code == ProblemCode.NOT_FOUND or status == 404:
        return AigateError(f"not found: {detail}")
    if status >= 500:
        return ServerUnreachable(f"the aigate server {server} failed ({status}): {detail}",
                                 hint="try again later; tell your aigate admin if it persists")
    return AigateError(f"the aigate server {server} refused the request ({status}): {detail}")
