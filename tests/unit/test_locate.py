import os

import pytest

from aigate import locate
from aigate.errors import ToolNotExecutable, ToolNotFound


def make(path, mode=0o755, text="#!/bin/sh\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_finds_the_first_executable_on_path(tmp_path):
    make(tmp_path / "b" / "claude")
    found = locate.find_binary("claude", path_env=f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    assert found == [str(tmp_path / "b" / "claude")]


def test_missing_is_127(tmp_path):
    with pytest.raises(ToolNotFound) as caught:
        locate.find_binary("claude", path_env=str(tmp_path))
    assert caught.value.exit_code == 127


def test_present_but_not_executable_is_126(tmp_path):
    make(tmp_path / "claude", mode=0o644)
    with pytest.raises(ToolNotExecutable) as caught:
        locate.find_binary("claude", path_env=str(tmp_path))
    assert caught.value.exit_code == 126


def test_aigates_own_entry_is_never_the_tool(tmp_path):
    own = make(tmp_path / "a" / "claude")
    real = make(tmp_path / "b" / "claude")
    got = locate.find_binary("claude", path_env=f"{own.parent}:{real.parent}", own_entry=str(own))
    assert got == [str(real)]


NODE_SHIM = ('@ECHO off\r\nSETLOCAL\r\nIF EXIST "%dp0%\\node.exe" (\r\n  SET "_prog=%dp0%\\node.exe"\r\n) ELSE (\r\n'
             '  SET "_prog=node"\r\n)\r\n"%_prog%"  "%dp0%\\node_modules\\@anthropic-ai\\claude-code\\cli.js" %*\r\n')
EXE_SHIM = '@ECHO off\r\n"%dp0%\\node_modules\\@openai\\codex\\bin\\codex.exe"   %*\r\n'


def test_windows_npm_shim_starts_node_with_the_script_not_cmd_exe(tmp_path):
    make(tmp_path / "claude.cmd", text=NODE_SHIM)
    make(tmp_path / "node.exe")
    got = locate.find_binary("claude", path_env=str(tmp_path), windows=True, pathext=".EXE;.CMD")
    assert got[0] == str(tmp_path / "node.exe") and got[1].endswith("cli.js")


def test_windows_shim_of_an_executable_starts_the_executable(tmp_path):
    make(tmp_path / "codex.cmd", text=EXE_SHIM)
    got = locate.find_binary("codex", path_env=str(tmp_path), windows=True, pathext=".CMD")
    assert got[0].endswith("codex.exe") and "cmd" not in got[0].lower().rsplit(".", 1)[-1]


def test_windows_batch_file_that_is_no_npm_shim_is_refused(tmp_path):
    make(tmp_path / "claude.bat", text="@echo off\r\nstart something %*\r\n")
    with pytest.raises(ToolNotExecutable):
        locate.find_binary("claude", path_env=str(tmp_path), windows=True, pathext=".BAT")


def test_the_126_hint_says_not_executable_and_never_suggests_chmod(tmp_path):
    make(tmp_path / "claude", mode=0o644)
    with pytest.raises(ToolNotExecutable) as caught:
        locate.find_binary("claude", path_env=str(tmp_path))
    assert "not executable" in caught.value.message and "chmod" not in (caught.value.hint or "")


def test_relative_path_entries_are_never_searched(tmp_path, monkeypatch):
    """A repository's own `claude` in the working directory is not taken for the tool (issue 7)."""
    planted = tmp_path / "claude"
    planted.write_text("#!/bin/sh\n")
    planted.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    for path_env in ("", ".", f"{os.pathsep}/nonexistent", "./"):
        with pytest.raises(ToolNotFound):
            locate.find_binary("claude", path_env=path_env, windows=False)
