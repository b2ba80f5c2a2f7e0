"""``aigate login``, ``logout`` and ``status``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from aigate import account
from aigate.cli.app import app, state_of
from aigate.cli.output import cell, prompt_hidden, safe
from aigate.errors import UsageError


@app.command()
def login(
    ctx: typer.Context,
    server: Annotated[str | None, typer.Option("--server", help="The aigate server's URL.")] = None,
    code: Annotated[str | None, typer.Option("--code", help="One-time enrollment code from your admin (prompted, hidden, when not given).")] = None,
) -> None:
    """Enroll this device with an aigate server and remember the server.

    Example: aigate login --server https://aigate.corp.example --code 7KQ2-MX4P-9TRD
    """
    state = state_of(ctx)
    cfg = state.config()
    target = account.choose_server(cfg, server or state.flag_server)
    store = state.store()  # a keyring problem shows before the one-time code is spent
    if not code:
        code = prompt_hidden("Enrollment code", without_terminal=(
            "no terminal to prompt for the enrollment code: pass it with --code CODE"))
    if not code.strip():
        raise UsageError("the enrollment code is empty")
    record = account.login(target, code, store=store, anonymous=state.anonymous, cfg=cfg)
    typer.echo(safe(f"Logged in to {target} as {record.email} (device {record.device_id})."), err=True)


@app.command()
def logout(ctx: typer.Context) -> None:
    """Forget this device's credential (here and on the server).

    Example: aigate logout
    """
    state = state_of(ctx)
    server = state.server()
    warning = account.logout(server, store=state.store(), device=state.device)
    if warning:
        typer.echo(f"aigate: warning: {safe(warning)}", err=True)
    typer.echo(safe(f"Logged out of {server}."), err=True)


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Show the server, user, each tool's approval and expiry, stored key scopes (masked), and where
    each setting came from.

    Example: aigate status --json
    """
    from aigate.repository import detect_repository

    state = state_of(ctx)
    report = account.status_report(state.config(), store_opener=state.store, device=state.device,
                                   repository=detect_repository())
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    _print_status(report)


def _print_status(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    who = cell(report["user"] or "not logged in")
    console.print(f"server      {cell(report['server'] or '(none)')}  "
                  f"[dim]({cell(report['settings']['server']['source'])})[/dim]")
    console.print(f"user        {who}" + (f" ({cell(report['role'])})" if report.get("role") else ""))
    console.print(f"repository  {cell(report['repository'] or '(none)')}")
    if report.get("keyring"):
        console.print(f"keyring     {cell(report['keyring'])}")
    if report["problem"]:
        console.print(f"[yellow]problem     {cell(report['problem'])}[/yellow]")
    tools = Table("tool", "policy", "key scope", "grant until", "cached token until", box=None)
    for t in report["tools"]:
        tools.add_row(*(cell(v or "-") for v in (t["tool"], t["approval"], t["key_scope"], t["grant_expires_at"],
                                                  t["cached_token_expires_at"])))
    console.print(tools)
    keys = Table("key scope", "stored", box=None)
    for k in report["keys"]:
        keys.add_row(cell(k["scope"]), cell(k["masked"]) if k["stored"] else "missing from the keyring")
    console.print(keys if report["keys"] else "keys        (none stored: aigate keys set SCOPE)")
    settings = Table("setting", "value", "from", box=None)
    for name, s in report["settings"].items():
        settings.add_row(cell(name), cell(s["value"] or "-"), cell(s["source"]))
    console.print(settings)
