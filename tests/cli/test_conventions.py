"""Conventions of a good CLI: help without type labels, upper-case placeholders and paragraphs that
re-flow; completion scripts for the shell named; global options said to go first; a key scope nobody
uses is warned about; --json is one JSON document wherever a list is printed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from aigate.cli.app import app
from aigate.cli_style import apply

BIN = Path(sys.executable).parent


def command_paths() -> list[list[str]]:
    """Every command and group of `aigate`, as the words that name it (the root is [])."""
    root = typer.main.get_command(app)
    apply(root)
    found, stack = [], [([], root)]
    while stack:
        words, cmd = stack.pop()
        found.append(words)
        stack.extend((words + [name], sub) for name, sub in getattr(cmd, "commands", {}).items() if not sub.hidden)
    return sorted(found)


@pytest.mark.parametrize("words", command_paths(), ids=lambda w: " ".join(w) or "aigate")
def test_help_has_no_type_labels_and_upper_case_placeholders(cli, words, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")

    code, out, _ = cli(*words, "--help")

    assert code == 0
    assert not re.search(r"<(bool|str|int|path|float)>", out)
    assert "{" not in out.split("\n", 1)[0]  # the usage line: ID, not {ID}
    usage = out.splitlines()[0]
    placeholders = re.findall(r"\[?([A-Za-z_]+)\]?(?:\.\.\.)?", usage.split("[OPTIONS]")[-1])
    assert all(p.isupper() for p in placeholders if p not in ("ARGS",)), usage


def test_flags_show_no_placeholder_and_options_with_values_do(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    out = cli("--help")[1]

    assert re.search(r"^\s+--debug\s{2,}Show more", out, re.MULTILINE)
    assert re.search(r"^\s+--server URL\s", out, re.MULTILINE)
    assert re.search(r"^\s+--show-completion \[SHELL\]", out, re.MULTILINE)


def test_help_paragraphs_flow_to_the_terminal_width_not_the_source_lines(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")

    out = cli("status", "--help")[1]

    assert "stored key scopes (masked), and where each setting came from." in out


def test_run_help_names_its_placeholder_tool(cli):
    usage = cli("run", "--help")[1].splitlines()[0]

    assert usage.endswith("run [OPTIONS] [TOOL]")


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete -o default -F _aigate_completion aigate"),
                                               ("zsh", "#compdef aigate"), ("fish", "complete --command aigate"),
                                               ("powershell", "Register-ArgumentCompleter")])
def test_show_completion_prints_the_script_of_the_shell_named(cli, shell, marker):
    code, out, _ = cli("--show-completion", shell)

    assert code == 0 and marker in out
    assert out == (Path(__file__).resolve().parents[2] / "completions" /
                   f"aigate.{'ps1' if shell == 'powershell' else shell}").read_text()


def test_show_completion_of_an_unknown_shell_is_a_usage_error(cli):
    code, _, err = cli("--show-completion", "tcsh")

    assert code == 2 and "bash, zsh, fish, powershell" in err


@pytest.mark.parametrize(("words", "expected"), [("aigate run ", {"claude", "codex"}), ("aigate run co", {"codex"}),
                                                 ("aigate request cl", {"claude"})])
def test_tab_after_run_offers_the_tools(words, expected, tmp_path):
    env = {**os.environ, "_AIGATE_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split(" ")) - 1), "HOME": str(tmp_path)}

    done = subprocess.run([str(BIN / "aigate")], env=env, capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == expected


@pytest.mark.parametrize("args", [["status", "--server", "https://x.test"], ["requests", "--server=https://x.test"],
                                  ["admin", "requests", "--server", "https://x.test"]])
def test_a_global_option_after_the_command_says_it_goes_before_the_command(cli, args):
    code, _, err = cli(*args)

    assert code == 2
    assert "aigate: --server is a global option: it goes before the command" in err
    assert f"aigate --server https://x.test {args[0]}" in err


def test_debug_after_the_command_says_it_goes_before_the_command(cli):
    code, _, err = cli("status", "--debug")

    assert code == 2 and "aigate --debug status" in err


def test_login_keeps_its_own_server_option(cli, server):
    code, _, err = cli("login", "--server", "https://aigate.test", "--code", "7KQ2-MX4P-9TRD")

    assert code == 0, err


def test_keys_set_for_a_scope_nobody_uses_warns_naming_the_scopes_in_use(cli, monkeypatch, store):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("sk-ant-typo-0123456789\n"))

    code, _, err = cli("keys", "set", "antropic", "--stdin")

    assert code == 0 and store.get("key:antropic")
    assert "no tool and no policy here uses the key scope 'antropic'" in err
    assert "in use: anthropic, openai" in err


def test_keys_set_for_a_scope_in_use_says_no_warning(cli, monkeypatch):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("sk-ant-good-0123456789\n"))

    assert "warning" not in cli("keys", "set", "anthropic", "--stdin")[2]


def test_keys_list_json_is_one_array_with_masked_values_only(cli, monkeypatch, store):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("sk-ant-listed-0123456789\n"))
    cli("keys", "set", "anthropic", "--stdin")

    code, out, _ = cli("keys", "list", "--json")

    assert code == 0
    assert json.loads(out) == [{"scope": "anthropic", "stored": True, "masked": "…6789"}]
    assert "sk-ant-listed" not in out


def test_keys_list_json_with_no_keys_is_an_empty_array(cli):
    assert json.loads(cli("keys", "list", "--json")[1]) == []
