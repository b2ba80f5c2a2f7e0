"""Every ``[...]`` written in a help text reaches the screen: rich markup swallows an unescaped
``[[notify]]`` (it showed ``Notifications to [] receivers.``). Walks every command of both programs."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from aigate.cli.app import app as client_app
from aigate.server.cli import app as server_app

BRACKETED = re.compile(r"\[[^\s\]]*\]+")


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command under ``group`` (a click group; typer may ship its own click) with its path."""
    found = [(path, group)]
    if hasattr(group, "commands"):
        for name, command in group.commands.items():
            found += _commands(command, (*path, name))
    return found


def _written(command: Any) -> str:
    texts = [command.help or "", command.short_help or ""] + [getattr(p, "help", None) or "" for p in command.params]
    return " ".join(texts).replace("\\[", "[")


@pytest.mark.parametrize("app", [client_app, server_app], ids=["aigate", "aigate-server"])
def test_every_bracket_in_a_help_text_is_shown(app):
    root = typer.main.get_command(app)
    runner = CliRunner()
    missing = []
    commands = _commands(root)
    assert len(commands) > 20
    for path, command in commands:
        shown = re.sub(r"\s", "", runner.invoke(app, [*path, "--help"], terminal_width=200).output)
        missing += [f"{' '.join(path)}: {token}" for token in BRACKETED.findall(_written(command))
                    if token not in shown]
    assert missing == []
