"""Printing access requests for people (rich table) or scripts (JSON)."""

from __future__ import annotations

import json

import typer

from aigate import protocol


def request_line(item: protocol.AccessRequest) -> str:
    """One line: ``Request ID (claude, alice@corp): approved until 2026-11-29T20:00:00+00:00.``"""
    text = f"Request {item.id} ({item.tool}, {item.requester}): {item.state.value}"
    if item.expires_at and item.state == protocol.RequestState.APPROVED:
        text += f" until {protocol.format_timestamp(item.expires_at)}"
    if item.decision_reason:
        text += f" ({item.decision_reason})"
    return text + "."


def print_requests(items: list[protocol.AccessRequest], *, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([protocol.to_wire(i) for i in items], indent=2))
        return
    if not items:
        typer.echo("No access requests.")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None)
    # Ids, tools and emails are never cut: people copy them into `aigate admin approve ID`.
    for name in ("id", "tool", "requester", "state", "asked"):
        table.add_column(name, no_wrap=True, min_width=max(len(name), *(len(_cell(i, name)) for i in items)))
    table.add_column("reason", overflow="fold")
    table.add_column("until", no_wrap=True)
    for i in items:
        until = protocol.format_timestamp(i.expires_at) if i.expires_at else "-"
        table.add_row(*(_cell(i, n) for n in ("id", "tool", "requester", "state", "asked")), i.reason, until)
    Console().print(table)


def _cell(item: protocol.AccessRequest, name: str) -> str:
    if name == "asked":
        return protocol.format_duration(item.requested_seconds)
    if name == "state":
        return item.state.value
    return str(getattr(item, name))
