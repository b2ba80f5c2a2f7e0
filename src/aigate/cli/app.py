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

from aigate import __version__, cli_style, log
from aigate.cli import access, account, admin, doctor, keys, run, shims
from aigate.cli.state import CliState
from aigate.errors import UsageError

app = typer.Typer(
    name="aigate",
    help="Gate for AI coding agents: approval, scoped keys, audit.\n\nExample: aigate run claude",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,  # ours take the shell by name: cli_style.completion_options
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 200},  # the terminal's width
)
GLOBAL_OPTIONS = ("--server", "--debug")  # take effect only before the command


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aigate {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    server: Annotated[str | None, typer.Option(
        "--server", metavar="URL", help="aigate server URL (overrides AIGATE_SERVER and config.toml).")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show more about what aigate does (never a secret).")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version.")] = False,
    show_completion: cli_style.ShowCompletionOpt = None,
    install_completion: cli_style.InstallCompletionOpt = None,
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
    misplaced = misplaced_global_option(args)
    if misplaced:
        raise misplaced
    command = typer.main.get_command(app)
    cli_style.apply(command)
    try:
        command.main(args=args, prog_name="aigate", standalone_mode=True, obj=obj)
    except SystemExit as done:
        return _exit_code(done.code)
    return 0


def misplaced_global_option(args: list[str]) -> UsageError | None:
    """A global option (``--server URL``, ``--debug``) written after the command, where the command
    would say "No such option": the usage error that says where it goes, with the line that works.
    ``login --server`` is login's own option; everything after ``run TOOL`` belongs to the tool."""
    i = 0
    while i < len(args) and (args[i] in GLOBAL_OPTIONS or args[i].startswith("--server=")):
        i += 2 if args[i] == "--server" else 1
    if i >= len(args) or args[i] in ("run", "key-helper"):
        return None
    before, command, rest = args[:i], args[i], args[i + 1:]
    for j, arg in enumerate(rest):
        if arg == "--":
            return None
        name = arg.partition("=")[0]
        if name not in GLOBAL_OPTIONS or (command == "login" and name == "--server"):
            continue
        width = 1 if name == "--debug" or "=" in arg else 2
        taken = [name, arg.partition("=")[2]] if "=" in arg else rest[j:j + width]
        moved = [*before, *taken, command, *rest[:j], *rest[j + width:]]
        return UsageError(f"{name} is a global option: it goes before the command",
                          hint="aigate " + " ".join(moved))
    return None


def _exit_code(code: object) -> int:
    """SystemExit's ``code`` as a process exit status (None is 0; a message is 1, as Python does)."""
    if code is None:
        return 0
    return code if isinstance(code, int) else 1
