"""``aigate shims install|remove [--dir DIR]``: the ``claude`` and ``codex`` shims (:mod:`aigate.shims`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aigate import shims

app = typer.Typer(help="Shims that make a bare `claude` or `codex` go through the gate.\n\n"
                       "Example: sudo aigate shims install", no_args_is_help=True)

DirOption = Annotated[Path | None, typer.Option(
    "--dir", help="The shim folder (default: /usr/local/lib/aigate/shims as root, else "
                  "~/.local/share/aigate/shims). Put it first on PATH.")]


@app.command("install")
def install(directory: DirOption = None) -> None:
    """Write `claude` and `codex` shims that run `aigate run TOOL "$@"`; installing again is harmless."""
    folder = directory or shims.default_dir()
    for path in shims.install(folder):
        typer.echo(f"wrote {path}", err=True)
    typer.echo(f"Put {folder} first on PATH (before the real claude and codex); `aigate doctor` checks it.",
               err=True)


@app.command("remove")
def remove(directory: DirOption = None) -> None:
    """Delete the shims (only files aigate wrote), and their folder when it is left empty."""
    folder = directory or shims.default_dir()
    removed = shims.remove(folder)
    for path in removed:
        typer.echo(f"removed {path}", err=True)
    if not removed:
        typer.echo(f"no aigate shims in {folder}", err=True)
