"""The typer app: global options, the one list of commands, and how typer is run under the boundary.

Each command module has its own ``typer.Typer()`` and imports nothing of this one; they are joined
below, in the order ``aigate --help`` lists them, so importing this module gives the whole app. Each
command is thin: read options, call a function of the core, print. Errors are raised as AigateError
and printed by :func:`aigate.cli.entry.boundary`; typer's pretty exceptions are off (they could print
locals).
"""

from __future__ import annotations

from typing import Annotated

import typer

from aigate import __version__, log
from aigate.cli import access, account, admin, doctor, keys, run, shims
from aigate.cli.state import CliState

app = typer.Typer(
    name="aigate",
    help="Gate for AI coding agents: approval, scoped keys, audit.\n\nExample: aigate run claude",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aigate {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    server: Annotated[str | None, typer.Option(
        "--server", help="aigate server URL (overrides AIGATE_SERVER and config.toml).")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show more about what aigate does (never a secret).")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    """Global options go before the command: aigate --server https://aigate.corp.example status"""
    state = ctx.ensure_object(CliState)
    if server:
        state.flag_server = server
    if debug:
        log.enable_debug()


# The commands. A Typer added without a name has its commands merged into the top level.
app.add_typer(access.app)  # request
app.add_typer(account.app)  # login, logout, status
app.add_typer(run.app)  # run
app.add_typer(access.requests_app, name="requests")
app.add_typer(admin.app, name="admin")
app.add_typer(keys.app, name="keys")
app.add_typer(doctor.app)  # doctor
app.add_typer(shims.app, name="shims")


def run_app(args: list[str], obj: CliState | None = None) -> int:
    """Run the typer app on ``args``; the exit code. AigateError propagates to the boundary.

    Standalone mode lets typer print its own usage errors (exit 2) and turn Ctrl-C into 130. It ends
    with SystemExit, which is caught here, so this works whether typer uses click or its own vendored
    copy (typer 0.29 does: the ``click`` package's exception classes are then not the ones raised).
    """
    command = typer.main.get_command(app)
    try:
        command.main(args=args, prog_name="aigate", standalone_mode=True, obj=obj)
    except SystemExit as done:
        return _exit_code(done.code)
    return 0


def _exit_code(code: object) -> int:
    """SystemExit's ``code`` as a process exit status (None is 0; a message is 1, as Python does)."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1
