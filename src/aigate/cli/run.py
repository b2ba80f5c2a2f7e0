"""``aigate run``: typer's view of it, for ``--help`` and malformed calls.

A well-formed ``aigate run [--dry-run] TOOL ...`` never reaches typer: :mod:`aigate.cli.entry` sends it
straight to the gate. Both paths call :func:`aigate.gate.run_tool` the same way.
"""

from __future__ import annotations

from typing import Annotated

import typer

from aigate import gate, tools
from aigate.cli.state import state_of
from aigate.errors import UsageError

app = typer.Typer()  # `run`, merged into the top level by cli/app.py


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False},
)
def run(
    ctx: typer.Context,
    tool: Annotated[str | None, typer.Argument(
        metavar="TOOL", autocompletion=tools.complete_name,
        help="claude or codex; everything after it goes to the tool unchanged.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what would run and which variables would be set (names only).")] = False,
) -> None:
    """Run a gated tool with the approved key; everything after TOOL goes to the tool, --help included.

    Example: aigate run codex exec "fix the failing test"
    """
    if not tool:
        raise UsageError("which tool? aigate run TOOL [ARGS...], e.g. aigate run claude")
    state = state_of(ctx)
    deps = gate.Deps(flag_server=state.flag_server)
    raise typer.Exit(gate.run_tool(tool, list(ctx.args), dry_run=dry_run, deps=deps))
