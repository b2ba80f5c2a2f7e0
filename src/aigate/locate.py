"""Finding a tool's real binary on PATH; stdlib only. The first check of ``aigate run`` (cheapest).

- Missing: ToolNotFound (127). Found but not executable: ToolNotExecutable (126).
- aigate's own entry is never taken for the tool (a ``claude`` that is really aigate would loop), and
  neither is an aigate shim (:mod:`aigate.shims`, found by :data:`SHIM_MARKER` in its first bytes).
- Relative PATH entries (``""``, ``.``, ``bin``) are skipped: they name the working directory, and a
  repository's own ``claude`` or ``git`` is never started (as Go's ``exec.LookPath`` refuses them).
- Windows: names are tried with each PATHEXT extension; npm installs ``claude.cmd`` shims, and
  arguments cannot pass through cmd.exe safely (docs/tools.md, the "BatBadBut" class of bugs), so for a ``.cmd`` the
  command the shim would start (node and its script, or the tool's own .exe) is read out of it and
  started directly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aigate.errors import ToolNotExecutable, ToolNotFound

# npm's cmd-shim: `"%_prog%"  "%dp0%\node_modules\...\cli.js" %*` or `"%dp0%\...\tool.exe"   %*`
_SHIM_NODE = r'"%_prog%"\s+"%dp0%\\([^"]+)"\s+%\*'
_SHIM_EXE = r'^\s*"%dp0%\\([^"]+\.exe)"\s+%\*'
#: In the first bytes of every aigate shim (``aigate shims install``); such files are never the tool.
SHIM_MARKER = b"aigate-shim: runs `aigate run"


def find_binary(
    name: str,
    *,
    path_env: str | None,
    own_entry: str | list[str] | None = None,
    windows: bool = sys.platform == "win32",
    pathext: str | None = None,
) -> list[str]:
    """The argv prefix that starts tool ``name``: ``[binary]``, or ``[node, script]`` for an npm shim.

    ``path_env`` is the PATH to search; ``own_entry`` the path(s) of aigate's own entry (skipped).
    """
    entries = [own_entry] if isinstance(own_entry, str) else list(own_entry or [])
    own = {_real(e) for e in entries if e}
    not_executable = None
    for directory in (path_env or "").split(os.pathsep):
        if not os.path.isabs(directory):
            continue  # "", ".", "bin": the working directory, i.e. the repository's own files
        for candidate in _candidates(Path(directory), name, windows, pathext):
            if not candidate.is_file() or _real(str(candidate)) in own or is_shim(candidate):
                continue
            if windows or os.access(candidate, os.X_OK):
                return _windows_command(candidate, path_env) if windows else [str(candidate)]
            not_executable = not_executable or candidate
    if not_executable:
        raise ToolNotExecutable(
            f"{name} was found on PATH at {not_executable}, but that file is not executable",
            hint=f"reinstall {name} (or ask IT to)"
        )
    raise ToolNotFound(f"{name} was not found on PATH", hint=f"install {name} (or ask IT to), then try again")


def is_shim(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is an aigate shim (its first 256 bytes hold :data:`SHIM_MARKER`)."""
    try:
        with open(path, "rb") as handle:
            return SHIM_MARKER in handle.read(256)
    except OSError:
        return False


def _real(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _candidates(directory: Path, name: str, windows: bool, pathext: str | None) -> list[Path]:
    if not windows:
        return [directory / name]
    exts = (pathext or os.environ.get("PATHEXT") or ".COM;.EXE;.BAT;.CMD").split(";")
    return [directory / (name + ext.lower()) for ext in exts if ext]


def _windows_command(candidate: Path, path_env: str | None) -> list[str]:
    suffix = candidate.suffix.lower()
    if suffix in (".exe", ".com"):
        return [str(candidate)]
    if suffix not in (".cmd", ".bat"):
        raise ToolNotExecutable(f"{candidate} is not a program aigate can start")
    return command_from_shim(candidate, path_env)


def command_from_shim(shim: Path, path_env: str | None) -> list[str]:
    """What npm's ``.cmd`` shim at ``shim`` starts, as an argv prefix; 126 when it is not such a shim."""
    import re
    import shutil

    text = shim.read_text("utf-8", errors="replace")
    folder = shim.parent
    exe = re.search(_SHIM_EXE, text, re.IGNORECASE | re.MULTILINE)
    if exe:
        return [str(folder / exe.group(1).replace("\\", os.sep))]
    script = re.search(_SHIM_NODE, text, re.IGNORECASE)
    if script:
        local_node = folder / "node.exe"
        node = str(local_node) if local_node.is_file() else shutil.which("node", path=path_env)
        if not node:
            raise ToolNotFound(f"{shim} needs node, which was not found on PATH", hint="install Node.js")
        return [node, str(folder / script.group(1).replace("\\", os.sep))]
    raise ToolNotExecutable(
        f"{shim} is a batch file aigate cannot start safely (not an npm shim)",
        hint="point aigate at the tool's executable: [tools.NAME] path = ... in aigate.toml",
    )
