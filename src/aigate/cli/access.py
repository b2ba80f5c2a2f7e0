"""``aigate request`` and ``aigate requests [cancel]``: a user's own access requests."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from aigate import access, protocol, tools
from aigate.cli.output import print_requests, request_line, safe
from aigate.cli.state import state_of
from aigate.constants import RequestState, format_duration
from aigate.errors import ConflictError, NotApproved, UsageError
from aigate.protocol import AccessRequest

if TYPE_CHECKING:
    from aigate.approval import ServerClient
    from aigate.cli.state import CliState

app = typer.Typer()  # `request`, merged into the top level by cli/app.py
requests_app = typer.Typer(help="Your access requests and their states.\n\nExample: aigate requests --json",
                           invoke_without_command=True, no_args_is_help=False)


@app.command()
def request(
    ctx: typer.Context,
    tool: Annotated[str, typer.Argument(metavar="TOOL", autocompletion=tools.complete_name, help="claude or codex")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why you need it (shown to the approver).")],
    duration: Annotated[str | None, typer.Option(
        "--duration", metavar="DURATION", help="How long, e.g. 8h (default: the policy's maximum).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the request is decided.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"id": ..., "state": ...} on stdout.')] = False,
) -> None:
    """File an access request for a tool.

    Example: aigate request claude --reason "refactor the billing module" --duration 8h
    """
    state = state_of(ctx)
    tools.get_tool(tool, hint='aigate request claude --reason "..."  (or codex)')
    if not reason.strip():
        raise UsageError("the reason is empty: say why you need the tool (the approver reads it)",
                         hint=f'aigate request {tool} --reason "refactor the billing module"')
    seconds = access.requested_seconds(duration)
    client = state.device()
    try:
        item = access.file_request(client, tool, reason, seconds)
    except ConflictError as err:
        existing = access.pending_request(client, tool)
        if existing is None:
            raise
        if not wait:
            raise ConflictError(err.message, hint=f"aigate requests wait {existing.id}  (waits on it)") from None
        if not as_json:
            typer.echo(safe(f"You already have a pending request {existing.id} for {tool}: waiting on it "
                            "(this --reason and --duration are not used)."), err=True)
        _wait_and_report(client, existing, state, as_json=as_json)
        return
    if not as_json:
        typer.echo(safe(f"Request {item.id} for {tool}: {item.state.value}."), err=True)
        if item.state == RequestState.PENDING:
            typer.echo(who_approves(item, wait=wait), err=True)
        if item.duration_capped:
            typer.echo(f"Asked-for duration capped at the policy's maximum, "
                       f"{format_duration(item.max_duration_seconds)}.", err=True)
    if wait:
        _wait_and_report(client, item, state, as_json=as_json)
    elif as_json:
        typer.echo(json.dumps({"id": item.id, "state": item.state.value}))


def _wait_and_report(client: ServerClient, item: protocol.AccessRequest, state: CliState, *, as_json: bool) -> None:
    """Wait on ``item`` until decided; ``{"id", "state"}`` on stdout with ``as_json``; NotApproved (77)
    unless it ends approved."""
    item = _wait(client, item, state, quiet=as_json)
    if as_json:
        typer.echo(json.dumps({"id": item.id, "state": item.state.value}))
    if item.state != RequestState.APPROVED:
        raise NotApproved(f"request {item.id} ended {item.state.value}" +
                          (f": {item.decision_reason}" if item.decision_reason else ""))


def _wait(client: ServerClient, item: protocol.AccessRequest, state: CliState, *, quiet: bool
          ) -> protocol.AccessRequest:
    """Wait for the decision; on stderr, a live line (spinner, time waited, state) unless ``quiet``."""
    if quiet or item.state != RequestState.PENDING:
        return access.wait_for_decision(client, item, poll_seconds=state.poll_seconds, sleep=state.sleep)
    from aigate.cli.live import WaitingLine

    with WaitingLine(item) as line:
        item = line.run(lambda: access.wait_for_decision(client, item, poll_seconds=state.poll_seconds,
                                                         sleep=state.sleep, on_answer=line.update))
    typer.echo(request_line(item), err=True)
    return item


def who_approves(item: AccessRequest, *, wait: bool) -> str:
    """Who can approve the new pending request: someone else, always; and when the server knows of
    no other approver or admin (a sole approver asking), that nobody can yet."""
    if item.other_reviewers == 0:
        return ("Someone else must approve it, and nobody else can yet: approvers never approve their own "
                "requests, and this server has no other approver or admin. Ask IT to add one "
                "(aigate-server users add EMAIL --role approver).")
    then = "" if wait else "; `aigate requests` shows its state"
    return f"Someone other than you must approve it (an approver or admin){then}."


@requests_app.callback(invoke_without_command=True)
def requests(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the requests as one JSON array on stdout.")] = False,
) -> None:
    """List your access requests (newest first).

    Example: aigate requests
    """
    if ctx.invoked_subcommand:
        return
    items = state_of(ctx).device().list_requests()
    print_requests(items, as_json=as_json)


@requests_app.command("cancel")
def cancel(ctx: typer.Context, request_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Withdraw one of your pending requests.

    Example: aigate requests cancel 01JD3T6W8Q
    """
    item = state_of(ctx).device().cancel(request_id)
    typer.echo(request_line(item), err=True)


@requests_app.command("wait")
def wait_on(ctx: typer.Context, request_id: Annotated[str, typer.Argument(metavar="ID")],
            as_json: Annotated[bool, typer.Option("--json", help='Print {"id": ..., "state": ...} on stdout.')] = False,
            ) -> None:
    """Wait until one of your requests is decided (0 approved, 77 otherwise; Ctrl-C stops waiting).

    Example: aigate requests wait 01JD3T6W8Q
    """
    client = state_of(ctx).device()
    _wait_and_report(client, client.get_request(request_id), state_of(ctx), as_json=as_json)
