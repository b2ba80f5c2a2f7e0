"""``aigate login``, ``logout`` and ``status``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aigate import account
from aigate.cli.output import prompt_hidden, safe
from aigate.cli.state import state_of
from aigate.errors import UsageError

if TYPE_CHECKING:
    from aigate.cli.state import CliState
    from aigate.config import Config
    from aigate.enrollment import EnrollmentRecord
    from aigate.keystore import KeyStore

app = typer.Typer()  # login, logout, status: merged into the top level by cli/app.py


@app.command()
def login(
    ctx: typer.Context,
    server: Annotated[str | None, typer.Option("--server", metavar="URL", help="The aigate server's URL.")] = None,
    code: Annotated[str | None, typer.Option(
        "--code", metavar="CODE",
        help="One-time enrollment code from your admin; without it, sign in with SSO (or, on a "
                       "server without SSO, the code is prompted, hidden).")] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="SSO: only print the URL and code.")] = False,
) -> None:
    """Enroll this device with an aigate server and remember the server.

    Without --code, sign in with your company account (SSO) in a browser.

    Examples: aigate login --server https://aigate.corp.example
              aigate login --server https://aigate.corp.example --code 7KQ2-MX4P-9TRD
    """
    state = state_of(ctx)
    cfg = state.config()
    target = account.choose_server(cfg, server or state.flag_server)
    store = state.store()  # a keyring problem shows before the one-time code is spent
    previous = account.previous_device(target, store=store)
    if not code:
        record = _sso_login(target, store, state, cfg, open_browser=not no_browser)
        if record is not None:
            _logged_in(target, record, previous, state)
            return
        code = prompt_hidden("Enrollment code", without_terminal=(
            "no terminal to prompt for the enrollment code: pass it with --code CODE"))
    if not code.strip():
        raise UsageError("the enrollment code is empty")
    record = account.login(target, code, store=store, anonymous=state.anonymous, cfg=cfg)
    _logged_in(target, record, previous, state)


def _logged_in(target: str, record: EnrollmentRecord, previous: tuple[str, str] | None, state: CliState) -> None:
    typer.echo(safe(f"Logged in to {target} as {record.email} (device {record.device_id})."), err=True)
    note = account.retire_previous(target, previous, record.device_id, anonymous=state.anonymous)
    if note:
        typer.echo(safe(note), err=True)


def _sso_login(target: str, store: KeyStore, state: CliState, cfg: Config, *,
               open_browser: bool) -> EnrollmentRecord | None:
    """The SSO login's record, or None on a server without SSO (then the code is prompted for)."""
    from aigate.cli.device_prompt import DevicePrompt
    from aigate.device_login import device_login
    from aigate.errors import SsoNotConfigured

    prompt = DevicePrompt(open_browser=open_browser)
    try:
        return device_login(target, store=store, anonymous=state.anonymous, cfg=cfg, show=prompt.show,
                            wait=prompt.wait)
    except SsoNotConfigured:
        typer.echo(safe(f"{target} has no SSO; log in with an enrollment code from your aigate admin."), err=True)
        return None
    finally:
        prompt.close()


@app.command()
def logout(ctx: typer.Context) -> None:
    """Forget this device's credential (here and on the server).

    Example: aigate logout
    """
    state = state_of(ctx)
    server = state.server()
    store = state.store()
    if not account.logged_in(server, store=store):
        typer.echo(safe(f"Not logged in to {server}; nothing to do."), err=True)
        return
    warning = account.logout(server, store=store, device=state.device)
    if warning:
        typer.echo(f"aigate: warning: {safe(warning)}", err=True)
    typer.echo(safe(f"Logged out of {server}."), err=True)


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object on stdout.")] = False,
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


def _print_status(report: dict[str, Any]) -> None:
    """Plain lines and space-aligned tables: paths, URLs and ids are never cut, wrapped or ellipsized,
    whatever the terminal's width (people copy them)."""
    lines = [f"server      {safe(report['server'] or '(none)')}  ({safe(report['settings']['server']['source'])})",
             f"user        {safe(report['user'] or 'not logged in')}"
             + (f" ({safe(report['role'])})" if report.get("role") else ""),
             f"repository  {safe(report['repository'] or '(none)')}"]
    if report.get("keyring"):
        from aigate.keystore import is_insecure

        plain = "  (a plain file: CI and demos only)" if is_insecure(report["keyring"]) else ""
        lines.append(f"keyring     {safe(report['keyring'])}{plain}")
    if report["problem"]:
        lines.append(f"problem     {safe(report['problem'])}")
    lines.append("")
    lines += _table(("tool", "policy", "key scope", "key held by", "grant until", "cached token until"),
                    [(t["tool"], t["approval"], t["key_scope"], _holder(t["key_source"]), t["grant_expires_at"] or "-",
                      t["cached_token_expires_at"] or "-") for t in report["tools"]])
    lines += _why_no_grant(report["tools"])
    lines.append("")
    if report["keys"]:
        lines += _table(("key scope", "stored"), [(k["scope"], k["masked"] if k["stored"]
                                                   else "missing from the keyring")
                                                  for k in report["keys"]])
    else:
        lines.append("keys        (none stored: aigate keys set SCOPE)")
    lines.append("")
    lines += _table(("setting", "value", "from"), [(name, s["value"] or "-", s["source"])
                                                   for name, s in report["settings"].items()])
    typer.echo("\n".join(lines))


def _holder(key_source: str) -> str:
    return "the gateway (enforced mode)" if key_source == "gateway" else "this computer's keyring"


def _why_no_grant(tool_rows: list[dict[str, Any]]) -> list[str]:
    """For each tool without a grant, its latest access request's fate: who revoked or denied it,
    when and why, or that it is pending."""
    from aigate import protocol
    from aigate.cli.request_table import decision

    lines = []
    for t in tool_rows:
        if t["grant_expires_at"] or not t.get("latest_request"):
            continue
        item = protocol.from_wire(protocol.AccessRequest, t["latest_request"])
        said = decision(item) or "pending: no approver has decided yet"
        lines.append(safe(f"{t['tool']}: no grant; request {item.id} {said}"))
    return [""] + lines if lines else []


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    cells = [header, *[tuple(safe(v) for v in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
