"""``aigate doctor [--json]``: print the checks of :mod:`aigate.doctor`; exit 0 when all pass, else 1."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from aigate import __version__, doctor
from aigate.cli.output import safe
from aigate.cli.state import state_of

app = typer.Typer()


@app.command("doctor")
def doctor_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option(
        "--json", help='Print {"checks": [{"name", "ok", "detail", "fix"}], "ok": bool}.')] = False,
) -> None:
    """Check this laptop's aigate setup, one line per check, each failure with its fix (for the help desk).

    Example: aigate doctor > ticket.txt
    """
    state = state_of(ctx)
    probe = doctor.Probe(env=state.environ(), flag_server=state.flag_server, open_store=state.open_store,
                         clock=state.clock, http=state.http)
    checks = doctor.run_checks(probe)
    ok = all(check.ok for check in checks)
    if as_json:
        typer.echo(json.dumps({"checks": [c.as_json() for c in checks], "ok": ok}, indent=2))
    else:
        typer.echo(render(checks, ok))
    raise typer.Exit(0 if ok else 1)


def render(checks: list[doctor.Check], ok: bool) -> str:
    """Plain text for a help-desk ticket: ``ok``/``FAIL``, the name, the detail; ``fix:`` below a failure."""
    width = max(len(c.name) for c in checks)
    lines = [f"aigate {__version__} doctor"]
    for check in checks:
        lines.append(f"{'ok  ' if check.ok else 'FAIL'}  {check.name.ljust(width)}  {safe(check.detail)}")
        if not check.ok and check.fix:
            lines.append(f"      {' ' * width}  fix: {safe(check.fix)}")
    failed = sum(not c.ok for c in checks)
    lines.append("all checks passed" if ok else f"{failed} of {len(checks)} checks failed")
    return "\n".join(lines)
