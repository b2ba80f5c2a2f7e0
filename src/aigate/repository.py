"""The repository a run happens in: the normalized ``origin`` remote of the working directory.

DESIGN.md: "as ``git remote get-url origin`` reports it; no remote, no repository". git itself is
asked (so ``insteadOf`` rewrites and worktrees behave as the user sees them); no git, not a
repository, or no ``origin`` all give None. The server checks the result against ``repos_denied``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from aigate.protocol import normalize_repository


def detect_repository(cwd: Path | str | None = None, *, git: str = "git") -> str | None:
    """``host/path`` of ``origin`` for ``cwd`` (default: the current directory), or None."""
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
    if result.returncode != 0:
        return None
    return normalize_repository(result.stdout.strip())
