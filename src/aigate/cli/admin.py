"""``aigate admin requests|approve|deny|revoke|console``: for approvers and admins."""

from __future__ import annotations

from typing import Annotated

import typer

from aigate.access import requested_seconds
from aigate.cli.output import print_requests, request_line
from aigate.cli.state import state_of
from aigate.constants import RequestState, format_duration
from aigate.errors import UsageError

app = typer.Typer(no_args_is_help=True, help=(
    "Review access requests (approvers and admins).\n\nExample: aigate admin requests --state pending"))


@app.command("requests")
def list_requests(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(
        "--state", help="Only this state: pending, approved, denied, ...")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the requests as one JSON array on stdout.")] = False,
) -> None:
    """List everyone's access requests.

    Example: aigate admin requests --state pending
    """
    if state and state not in {s.value for s in RequestState}:
        raise UsageError(f"unknown state {state!r}: use one of {', '.join(s.value for s in RequestState)}")
    items = state_of(ctx).device().list_requests(state=state, everyone=True)
    print_requests(items, as_json=as_json)


@app.command("approve")
def approve(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(metavar="ID")],
    duration: Annotated[str | None, typer.Option(
        "--duration", metavar="DURATION", help="Grant for this long (default: as asked).")] = None,
) -> None:
    """Approve a pending access request.

    Example: aigate admin approve 01JD3T6W8Q --duration 4h
    """
    item = state_of(ctx).device().approve(request_id, requested_seconds(duration))
    typer.echo(request_line(item))
    if item.approval_capped:
        typer.echo(f"capped at the policy's maximum of {format_duration(item.max_duration_seconds)}", err=True)


@app.command("deny")
def deny(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why (shown to the requester, audited).")],
) -> None:
    """Deny a pending access request.

    Example: aigate admin deny 01JD3T6W8Q --reason "use the sandbox repo"
    """
    _require_reason(reason, "deny", request_id)
    item = state_of(ctx).device().deny(request_id, reason)
    typer.echo(request_line(item))


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why (shown to the requester, audited).")],
) -> None:
    """Revoke an approved access request; running sessions stop at their next key callback.

    Example: aigate admin revoke 01JD3T6W8Q --reason "project ended"
    """
    _require_reason(reason, "revoke", request_id)
    item = state_of(ctx).device().revoke(request_id, reason)
    typer.echo(request_line(item))


def _require_reason(reason: str, action: str, request_id: str) -> None:
    if not reason.strip():
        raise UsageError(f"the reason is empty: say why you {action} it (the requester reads it)",
                         hint=f'aigate admin {action} {request_id} --reason "..."')


@app.command("console")
def console(
    ctx: typer.Context,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Only print the link.")] = False,
) -> None:
    """Print a one-time sign-in link to the approver console (and open it in a browser, if there is one).

    The link works once, for a few minutes, and only while this device stays logged in.

    Example: aigate admin console
    """
    from aigate.cli.browser import open_in_browser

    link = state_of(ctx).device().console_link()
    typer.echo(link.url)
    typer.echo(f"Works once, until {link.expires_at:%H:%M} UTC; do not share it.", err=True)
    if not no_browser and open_in_browser(link.url):
        typer.echo("Opened in your browser.", err=True)
