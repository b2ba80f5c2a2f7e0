"""A user's access requests, seen from the client: the asked-for duration and waiting for a decision.
No typer, no rich: ``aigate.cli.access`` parses and prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from aigate import protocol
from aigate.approval import ServerClient
from aigate.constants import MAX_DURATION_SECONDS, RequestState, format_duration, parse_duration
from aigate.errors import ServerUnreachable, UsageError

# httpx errors raised before the request left this computer: nothing was filed
UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError, httpx.UnsupportedProtocol)


def file_request(client: ServerClient, tool: str, reason: str, seconds: int | None) -> protocol.AccessRequest:
    """``client.create_request``; when the server stopped answering after the request was sent (a read
    timeout, a dropped connection, a 5xx), the ServerUnreachable (69) says it may have been filed and
    how to see it: filing again blindly would be refused as a second pending request."""
    try:
        return client.create_request(tool, reason, seconds)
    except ServerUnreachable as err:
        if isinstance(err.__cause__, UNSENT):
            raise
        raise ServerUnreachable(
            f"{err.message}; the request may have been filed before its answer was lost",
            hint="`aigate requests` shows whether it was, and `aigate requests wait ID` waits on it",
        ) from err


def pending_request(client: ServerClient, tool: str) -> protocol.AccessRequest | None:
    """The caller's pending access request for ``tool`` (the server keeps at most one), or None."""
    items = client.list_requests(state=RequestState.PENDING.value)
    return next((item for item in items if item.tool == tool), None)


def requested_seconds(text: str | None) -> int | None:
    """Seconds in a ``--duration`` (``8h``, ``1h30m``; see :func:`aigate.constants.parse_duration`), or
    None when not given. UsageError (2) when malformed, zero, or longer than MAX_DURATION_SECONDS."""
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if seconds > MAX_DURATION_SECONDS:
        raise UsageError(f"the duration {text} is too long: at most {format_duration(MAX_DURATION_SECONDS)}")
    return seconds


LONG_POLL_SECONDS = 25  # below the usual 30-60 s idle timeouts of proxies in between
MAX_UNREACHABLE = 5


def wait_for_decision(client: ServerClient, item: protocol.AccessRequest, *, poll_seconds: float,
                      sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                      on_answer: Callable[[protocol.AccessRequest], None] | None = None) -> protocol.AccessRequest:
    """``item`` as it is once no longer pending, without a busy loop.

    Each call is a long-poll (``GET /v1/access-requests/{id}?wait=N``): the server holds the answer
    until the request is decided or N seconds passed, so the wait ends the moment an approver decides.
    A server that answers a pending request at once (one too old to long-poll) is asked again only after
    ``poll_seconds``; one that cannot be reached is tried again after ``poll_seconds``, up to
    MAX_UNREACHABLE times in a row (a restart), then its ServerUnreachable (69) stands. ``on_answer``
    sees every answer; ``sleep`` and ``clock`` are the fake clock's in tests. Ctrl-C propagates and the
    request stays open on the server.
    """
    failures = 0
    while item.state == RequestState.PENDING:
        asked = clock()
        try:
            item = client.wait_request(item.id, LONG_POLL_SECONDS)
        except ServerUnreachable:
            failures += 1
            if failures >= MAX_UNREACHABLE:
                raise
            sleep(poll_seconds)
            continue
        failures = 0
        if on_answer is not None:
            on_answer(item)
        if item.state == RequestState.PENDING and clock() - asked < 1.0:
            sleep(poll_seconds)  # the server did not hold the answer: do not ask again at once
    return item
