"""``aigate-server``: the server's command line, its one list of commands, and its one error boundary.

``aigate-server COMMAND [--data-dir DIR] [--db URL]`` (options after the command; also
``AIGATE_SERVER_DATA_DIR`` and ``AIGATE_SERVER_DB``). Each command module has its own
``typer.Typer()``; they are joined below. Expected failures are :class:`AigateError`: :func:`main`
prints the message and its hint to stderr and exits with its code (1 failed, 2 usage, 69 unavailable:
``serve`` on a port already in use, 78 configuration, also any file or folder the command cannot use);
click's usage errors exit 2. No traceback reaches the user.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Annotated

import click
import typer

from aigate import cli_style
from aigate.errors import AigateError
from aigate.server import cli_admin, cli_gateway, cli_notify, cli_setup
from aigate.server.cli_options import say

_typer_click: ModuleType
try:  # typer >= 0.2x carries its own copy of click, with its own exception classes
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions
_EXIT = (click.exceptions.Exit, typer.Exit)
_USAGE = (click.ClickException, _typer_click.ClickException)
_ABORT = (click.exceptions.Abort, typer.Abort)

app = typer.Typer(help="The aigate approval server.", no_args_is_help=True, add_completion=False,
                  rich_markup_mode=None, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 200})


def _version(value: bool) -> None:
    if value:
        from aigate import __version__

        typer.echo(f"aigate-server {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                 help="Show the version.")] = False,
         show_completion: cli_style.ShowCompletionOpt = None,
         install_completion: cli_style.InstallCompletionOpt = None) -> None:
    """The aigate approval server. Options go after the command: aigate-server users list --data-dir DIR"""


app.add_typer(cli_setup.app)  # init, serve
app.add_typer(cli_admin.users_app, name="users")
app.add_typer(cli_admin.policy_app, name="policy")
app.add_typer(cli_admin.key_app, name="signing-key")
app.add_typer(cli_admin.audit_app, name="audit")
app.add_typer(cli_gateway.keys_app, name="keys")
app.add_typer(cli_gateway.gateway_app, name="gateway")
app.command("usage")(cli_gateway.usage_command)
app.add_typer(cli_notify.notify_app, name="notify")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``aigate-server``: run the command, map failures to a message and exit code."""
    try:
        command = typer.main.get_command(app)
        cli_style.apply(command)
        result = command.main(args=argv, prog_name="aigate-server", standalone_mode=False)
    except _EXIT as done:
        sys.exit(done.exit_code)
    except _USAGE as err:
        err.show()
        sys.exit(err.exit_code)
    except _ABORT:
        say("aborted")
        sys.exit(1)
    except AigateError as err:
        say(f"error: {err.message}")
        if err.hint:
            say(f"hint: {err.hint}")
        sys.exit(err.exit_code)
    except OSError as err:  # a file or folder the command needed: a configuration problem, never a traceback
        where = f": {err.filename}" if err.filename else ""
        say(f"error: {err.strerror or err}{where}")
        say("hint: check --data-dir / --db and that this account may write there")
        sys.exit(78)
    sys.exit(result if isinstance(result, int) else 0)
