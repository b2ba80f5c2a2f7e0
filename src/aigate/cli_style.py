"""The command-line conventions both programs share (``aigate``, ``aigate-server``): how help reads,
and ``--show-completion [SHELL]`` / ``--install-completion [SHELL]``.

Help: plain text, flags without a type label, placeholders in upper case.

typer (0.2x) labels every parameter with its Python type (``--debug <bool>``, ``ID <str>``), which
reads as if flags took values, writes a required argument as ``{ID}`` in the usage line, and in its
rich layout keeps a docstring's line breaks, so a paragraph wrapped in the source is wrapped
mid-sentence on screen. :func:`apply` adjusts the built click command tree once, before it runs:

- every command uses click's plain layout, which re-flows each paragraph to the terminal's width, and
  lists its subcommands with their whole first paragraph (click's default cuts it with "...");
- a flag shows no placeholder, an option with a value shows its metavar (``--server URL``), or its
  name in upper case (``--state STATE``);
- an argument shows its name in upper case (``TOOL``, ``ID``): ``[TOOL]`` when optional, ``ID`` when
  required, as POSIX usage lines write them.

Completion: typer's own options take no value and print the script of the shell they detect, so
``aigate --show-completion zsh`` printed the bash script. :data:`ShowCompletionOpt` and
:data:`InstallCompletionOpt` are options
that take the shell by name (bash, zsh, fish, powershell; without one, the detected shell) and print or
install that shell's script, the same text as the files in ``completions/``
(``scripts/gen_completions.py``). The scripts only call the program back, so they stay current.

``tests/cli/test_conventions.py`` checks the result on every command's help.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer import core

from aigate.errors import UsageError

SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def apply(command: Any) -> None:
    """Give ``command`` and every subcommand the plain layout, and typer's parameters the labels above;
    and answer the completion scripts' calls (typer registers its shells only with its own options)."""
    from typer._completion_classes import completion_init

    completion_init()
    _patch_parameters()
    stack = [command]
    while stack:
        cmd = stack.pop()
        if hasattr(cmd, "rich_markup_mode"):
            cmd.rich_markup_mode = None
        if getattr(cmd, "help", None) and not cmd.short_help:  # the whole first paragraph, never cut with "..."
            cmd.short_help = " ".join(cmd.help.split("\n\n")[0].split())
        stack.extend(getattr(cmd, "commands", {}).values())


def _patch_parameters() -> None:
    if getattr(core, "_aigate_help_style", False):
        return
    core.TyperOption.display_type_rich = _option_placeholder  # type: ignore[method-assign]
    core.TyperArgument.display_type_rich = _no_type_label  # type: ignore[method-assign]
    core.TyperArgument._rich_display_name = _argument_name  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
    setattr(core, "_aigate_help_style", True)  # noqa: B010 - a marker on the module we adjusted


def _option_placeholder(self: Any, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    return self.metavar or (self.name or "value").upper()


def _no_type_label(self: Any, ctx: Any) -> None:
    return None


def _argument_name(self: Any) -> str:
    name = self.metavar or (self.name or "arg").upper()
    return f"{name}..." if self.nargs != 1 else name


def _argument_usage(self: Any) -> str:
    name = _argument_name(self)
    return name if self.required else f"[{name}]"


def complete_var(prog: str) -> str:
    """The variable a completion script sets to call ``prog`` back: ``_AIGATE_SERVER_COMPLETE``."""
    return "_{}_COMPLETE".format(prog.replace("-", "_").upper())


def completion_script(prog: str, shell: str) -> str:
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name=prog, complete_var=complete_var(prog), shell=shell)


def _shell(prog: str, value: str) -> str:
    if value:
        if value not in SHELLS:
            raise UsageError(f"unknown shell {value!r}: use one of {', '.join(SHELLS)}",
                             hint=f"{prog} --show-completion zsh")
        return value
    from typer._completion_shared import _get_shell_name

    detected = _get_shell_name()
    if not detected:
        raise UsageError("cannot tell which shell this is: name it", hint=f"{prog} --show-completion bash")
    return detected


SHELL_HELP = "the completion script of SHELL (bash, zsh, fish, powershell; default: this shell)."


def show_completion(ctx: typer.Context, value: str | None) -> None:
    """Eager callback of ``--show-completion [SHELL]``: print that shell's script and exit."""
    if value is not None:
        prog = ctx.find_root().info_name or "aigate"
        typer.echo(completion_script(prog, _shell(prog, value)))
        raise typer.Exit()


def install_completion(ctx: typer.Context, value: str | None) -> None:
    """Eager callback of ``--install-completion [SHELL]``: install that shell's script and exit."""
    if value is not None:
        from typer._completion_shared import install as typer_install

        prog = ctx.find_root().info_name or "aigate"
        shell, path = typer_install(shell=_shell(prog, value), prog_name=prog, complete_var=complete_var(prog))
        typer.echo(f"{shell} completion installed in {path}; it takes effect in a new shell", err=True)
        raise typer.Exit()


ShowCompletionOpt = Annotated[str | None, typer.Option(
    "--show-completion", callback=show_completion, is_eager=True, expose_value=False, is_flag=False, flag_value="",
    metavar="[SHELL]", help="Print " + SHELL_HELP)]
InstallCompletionOpt = Annotated[str | None, typer.Option(
    "--install-completion", callback=install_completion, is_eager=True, expose_value=False, is_flag=False,
    flag_value="", metavar="[SHELL]", help="Install " + SHELL_HELP)]
