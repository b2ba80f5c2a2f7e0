"""Shims: a ``claude`` and a ``codex`` that run ``aigate run TOOL`` (DESIGN.md, "IT deployment"); stdlib only.

A shim directory that IT puts first on PATH makes the bare ``claude`` and ``codex`` (habits, scripts,
IDE integrations) go through the gate. Each shim is a POSIX shell script ending in ``exec``, so the
tool's arguments, stdin, terminal, signals and exit status are exactly those of ``aigate run``; on
Windows it is a ``.cmd`` file. Every shim carries :data:`MARKER` in its first lines: the gate's
binary lookup (:func:`aigate.locate.is_shim`) skips any file that does, so a shim never starts itself or
another shim, and the real binary is the enforced ``[tools.X] path``, else the first non-shim on PATH.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from aigate import paths, tools
from aigate.errors import AigateError, ConfigError
from aigate.locate import SHIM_MARKER, is_shim

#: In the first bytes of every shim; :func:`aigate.locate.is_shim` looks for it.
MARKER = SHIM_MARKER.decode()
#: The system-wide default (DESIGN.md): used when installing as root on Linux and macOS.
SYSTEM_DIR = Path("/usr/local/lib/aigate/shims")


def default_dir() -> Path:
    """Where ``aigate shims install`` writes without ``--dir``: :data:`SYSTEM_DIR` as root, else the
    user's ``~/.local/share/aigate/shims`` (``$XDG_DATA_HOME``); ``%LOCALAPPDATA%\\aigate\\shims`` on Windows."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local", paths.APP, "shims")
    if os.geteuid() == 0:
        return SYSTEM_DIR
    data = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
    return Path(data) / paths.APP / "shims"


def aigate_command() -> list[str]:
    """How a shim starts this aigate: the running ``aigate`` entry when it is a file (console script,
    ``/usr/bin/aigate``), or this Python with the ``.pyz`` it runs from; else ``aigate`` on PATH."""
    entry = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if entry.endswith(".pyz") and os.path.isfile(entry):
        return [sys.executable, "-I", entry]
    if os.path.basename(entry) in ("aigate", "aigate.exe") and os.path.isfile(entry):
        return [entry]
    beside = Path(sys.executable).parent / ("aigate.exe" if sys.platform == "win32" else "aigate")
    return [str(beside)] if beside.is_file() else ["aigate"]


def shim_text(tool: str, command: list[str], *, windows: bool) -> str:
    """The shim file for ``tool``: ``exec COMMAND run TOOL "$@"`` (POSIX) or its ``.cmd`` equivalent."""
    if windows:
        quoted = " ".join(f'"{part}"' for part in command)
        return f"@echo off\r\nrem {MARKER} {tool}` (written by `aigate shims install`)\r\n{quoted} run {tool} %*\r\n"
    quoted = " ".join(shlex.quote(part) for part in command)
    return (f"#!/bin/sh\n# {MARKER} {tool}` (written by `aigate shims install`; remove with "
            f"`aigate shims remove`)\nexec {quoted} run {tool} \"$@\"\n")


def shim_path(directory: Path, tool: str, *, windows: bool = sys.platform == "win32") -> Path:
    return directory / (str(tools.TOOLS[tool].binary) + (".cmd" if windows else ""))


def install(directory: Path, *, command: list[str] | None = None,
            windows: bool = sys.platform == "win32") -> list[Path]:
    """Write a shim for every tool into ``directory`` (created, 0755); the paths written.

    Installing again rewrites the same files. A file there that is not a shim (a real ``claude``) is
    never overwritten: ConfigError (78) naming it. Writes are atomic (a temp file, then rename).
    """
    command = command or aigate_command()
    try:
        return _write_all(directory, command, windows)
    except OSError as err:
        raise _write_error(err, directory) from err


def _write_all(directory: Path, command: list[str], windows: bool) -> list[Path]:
    targets = [shim_path(directory, name, windows=windows) for name in tools.TOOLS]
    for target in targets:  # all checked before anything is written
        if os.path.lexists(target) and not is_shim(target):
            raise ConfigError(f"{target} exists and is not an aigate shim; it was left as it is",
                              hint=f"choose another folder with --dir, or move {target} away")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, target in zip(tools.TOOLS, targets, strict=True):
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_text(shim_text(name, command, windows=windows), encoding="utf-8", newline="")
        tmp.chmod(0o755)
        os.replace(tmp, target)
        written.append(target)
    return written


def remove(directory: Path, *, windows: bool = sys.platform == "win32") -> list[Path]:
    """Delete the shims in ``directory`` (only files that are shims), and the folder when that leaves
    it empty; the paths removed. Nothing there is not an error."""
    removed = []
    for name in tools.TOOLS:
        target = shim_path(directory, name, windows=windows)
        if is_shim(target):
            try:
                target.unlink()
            except OSError as err:
                raise _write_error(err, directory) from err
            removed.append(target)
    try:
        directory.rmdir()
    except OSError:
        pass  # not empty (other files are not ours), or already gone
    return removed


def first_on_path(binary: str, path_env: str | None) -> list[Path]:
    """Every ``binary`` on ``path_env``, in PATH order (shims included); for ``doctor``."""
    import shutil

    found = []
    for directory in (path_env or "").split(os.pathsep):
        hit = shutil.which(binary, path=directory or ".")
        if hit and Path(hit) not in found:
            found.append(Path(hit))
    return found


def _write_error(err: OSError, directory: Path) -> AigateError:
    return ConfigError(f"cannot change the shims in {directory}: {err.strerror}",
                       hint="run as an administrator (sudo aigate shims install), or pick a folder with --dir")
