"""The repository a run happens in: the normalized ``origin`` remote of the working directory.

As ``git remote get-url origin`` reports it: no remote, no repository (README). git itself is
asked (so ``insteadOf`` rewrites and worktrees behave as the user sees them); no git, not a
repository, or no ``origin`` all give None. The server checks the result against ``repos_denied``.

Normalizing is :func:`aigate.constants.normalize_repository`, the one rule both sides share. A remote
URL can carry a credential (``https://x-access-token:TOKEN@github.com/...``): only its normalized form
(which has no ``user[:password]@``) leaves this module.
"""

from __future__ import annotations

import os
from pathlib import Path

from aigate.constants import normalize_repository

GIT_TIMEOUT_SECONDS = 5.0


def detect_repository(cwd: Path | str | None = None, *, git: str = "git") -> str | None:
    """``host/path`` of ``origin`` for ``cwd`` (default: the current directory), or None."""
    remote = origin_url(cwd, git=git)
    return normalize_repository(remote) if remote else None


def origin_url(cwd: Path | str | None = None, *, git: str = "git") -> str | None:
    """``git remote get-url origin`` run in ``cwd``; None when git fails, is missing or takes > 5 s."""
    argv = [git, "-C", str(cwd or "."), "remote", "get-url", "origin"]
    output = _spawn_output(argv) if hasattr(os, "posix_spawnp") else _subprocess_output(argv)
    return output.strip() or None if output else None


def _spawn_output(argv: list[str], timeout: float = GIT_TIMEOUT_SECONDS) -> str | None:
    """stdout of ``argv`` if it exits 0. posix_spawn and a pipe: subprocess (with locale, threading
    and friends) costs ~8 ms to import on the warm path."""
    import select
    import time

    read_end, write_end = os.pipe()
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, write_end, 1),
               (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)]
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    except OSError:
        os.close(read_end)
        return None
    finally:
        os.close(write_end)
    chunks, deadline = [], time.monotonic() + timeout
    with os.fdopen(read_end, "rb") as pipe:
        while time.monotonic() < deadline and select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))[0]:
            chunk = os.read(pipe.fileno(), 4096)
            if not chunk:
                break
            chunks.append(chunk)
        else:
            os.kill(pid, 9)
    status = os.waitpid(pid, 0)[1]
    return b"".join(chunks).decode("utf-8", "replace") if os.waitstatus_to_exitcode(status) == 0 else None


def _subprocess_output(argv: list[str]) -> str | None:
    import subprocess

    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=GIT_TIMEOUT_SECONDS)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None
