"""What every ``aigate-server`` command module shares: the ``--data-dir`` and ``--db`` options, the
stderr printer and the audit actor of a command run by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aigate.server.settings import ENV_DATA_DIR, ENV_DB

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", envvar=ENV_DATA_DIR, show_envvar=True, metavar="DIR",
                                                    help="Where the database, signing keys and policy live.")]
DbOpt = Annotated[str | None, typer.Option("--db", envvar=ENV_DB, show_envvar=True, metavar="URL",
                                              help="Database URL (default: SQLite in the data dir).")]


def say(text: str) -> None:
    """One line for the operator, on stderr (stdout is kept for what scripts read)."""
    typer.echo(text, err=True)


def cli_actor() -> str:
    """The audit actor of a command run by hand: ``cli:<login name>``, or ``cli`` without one."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container): still an actor
        return "cli"


