"""Printing for people (plain aligned text) or scripts (JSON), and the hidden prompts."""

from __future__ import annotations

import json
import sys

import typer

from aigate import protocol
from aigate.errors import AigateError, ExitCode, UsageError
from aigate.log import printable

safe = printable  # the one neutralizer of terminal escapes (also on the warm path)


def prompt_hidden(label: str, *, without_terminal: str) -> str:
    """Ask for a secret with hidden input on the terminal.

    With no terminal on stdin, a usage error whose message is ``without_terminal`` (never Python's
    GetPassWarning and an echoing prompt). Ctrl-C ends with "interrupted" (130), Ctrl-D with
    "cancelled" (1); both as AigateError, so typer does not turn them into "Aborted!".
    """
    if not sys.stdin or not sys.stdin.isatty():
        raise UsageError(without_terminal)
    import getpass

    try:
        return getpass.getpass(f"{label}: ", stream=sys.stderr)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        raise AigateError("interrupted", exit_code=ExitCode.INTERRUPTED) from None
    except EOFError:
        sys.stderr.write("\n")
        raise AigateError("cancelled: nothing was entered") from None


def request_line(item: protocol.AccessRequest) -> str:
    """One line: ``Request ID (claude, alice@corp): approved until 2026-11-29T20:00:00+00:00.``"""
    text = f"Request {item.id} ({item.tool}, {item.requester}): {item.state.value}"
    if item.expires_at and item.state == protocol.RequestState.APPROVED:
        text += f" until {protocol.format_timestamp(item.expires_at)}"
    if item.decision_reason:
        text += f" ({item.decision_reason})"
    return safe(text + ".")


def print_requests(items: list[protocol.AccessRequest], *, as_json: bool) -> None:
    """The requests as one JSON document (an array of AccessRequest) with ``as_json``, else for people
    (:mod:`aigate.cli.request_table`: the reason and decision always shown, never cut)."""
    if as_json:
        typer.echo(json.dumps([protocol.to_wire(i) for i in items], indent=2))
        return
    if not items:
        typer.echo("No access requests.")
        return
    from aigate.cli.request_table import render

    typer.echo(render(items))
