"""A user's access requests, seen from the client: the asked-for duration and waiting for a decision.
No typer, no rich: ``aigate.cli.access`` parses and prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aigate import protocol
from aigate.approval import ServerClient
from aigate.constants import MAX_DURATION_SECONDS, RequestState, format_duration, parse_duration
from aigate.errors import UsageError


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


def wait_for_decision(client: ServerClient, item: protocol.AccessRequest, *, poll_seconds: float,
                      sleep: Callable[[float], None] = time.sleep) -> protocol.AccessRequest:
    """``item`` as it is once no longer pending: asks the server every ``poll_seconds`` seconds
    (``sleep`` waits; tests pass a fake clock's). Raises what :class:`ServerClient` raises
    (ServerUnreachable 69, ...); Ctrl-C propagates and the request stays open on the server."""
    while item.state == RequestState.PENDING:
        sleep(poll_seconds)
        item = client.get_request(item.id)
    return item
