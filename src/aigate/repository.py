"""The repository a run happens in: the normalized ``origin`` remote of the working directory.

DESIGN.md: "as ``git remote get-url origin`` reports it; no remote, no repository". git itself is
asked (so ``insteadOf`` rewrites and worktrees behave as the user sees them); no git, not a
repository, or no ``origin`` all give None. The server checks the result against ``repos_denied``.

Normalizing is :func:`aigate.protocol.normalize_repository`, the one rule both sides share; its
results are remembered in the cache dir (``remotes.json``, remote URL -> normalized) because
importing protocol costs ~30 ms on the warm path.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from aigate import paths

MAX_REMEMBERED = 64


def detect_repository(cwd: Path | str | None = None, *, git: str = "git", cache: Path | None = None) -> str | None:
    """``host/path`` of ``origin`` for ``cwd`` (default: the current directory), or None."""
    remote = origin_url(cwd, git=git)
    return normalized(remote, cache or paths.cache_dir() / "remotes.json") if remote else None


def origin_url(cwd: Path | str | None = None, *, git: str = "git") -> str | None:
    try:
        result = subprocess.run(
            [git, "remote", "get-url", "origin"],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def normalized(remote: str, cache: Path) -> str | None:
    """protocol.normalize_repository(remote), remembered in ``cache``."""
    try:
        known = json.loads(cache.read_text("utf-8"))
    except (OSError, ValueError):
        known = {}
    if isinstance(known, dict) and remote in known:
        return known[remote]
    from aigate.protocol import normalize_repository

    value = normalize_repository(remote)
    known = dict(list(known.items())[-(MAX_REMEMBERED - 1):]) if isinstance(known, dict) else {}
    known[remote] = value
    try:
        paths.write_private(cache, json.dumps(known).encode())
    except OSError:
        pass
    return value
