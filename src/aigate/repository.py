"""The repository a run happens in: the normalized ``origin`` remote of the working directory.

DESIGN.md: "as ``git remote get-url origin`` reports it; no remote, no repository". git itself is
asked (so ``insteadOf`` rewrites and worktrees behave as the user sees them); no git, not a
repository, or no ``origin`` all give None. The server checks the result against ``repos_denied``.

Normalizing is :func:`aigate.protocol.normalize_repository`, the one rule both sides share; its
results are remembered in the cache dir (``remotes.json``, remote URL without its userinfo ->
normalized) because importing protocol costs ~30 ms on the warm path. A remote URL can carry a
credential (``https://x-access-token:TOKEN@github.com/...``): it is never written or logged as is,
only without ``user[:password]@`` (:func:`without_userinfo`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from aigate import paths

MAX_REMEMBERED = 64
GIT_TIMEOUT_SECONDS = 5.0


def detect_repository(cwd: Path | str | None = None, *, git: str = "git", cache: Path | None = None) -> str | None:
    """``host/path`` of ``origin`` for ``cwd`` (default: the current directory), or None."""
    remote = origin_url(cwd, git=git)
    return normalized(remote, cache or paths.cache_dir() / "remotes.json") if remote else None


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


def without_userinfo(remote: str) -> str:
    """``remote`` without ``user[:password]@`` before its host (URL or scp-like ``git@host:path``);
    normalizing drops the user anyway, so this never changes the repository it names."""
    text = remote.strip()
    scheme, sep, rest = text.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    head, colon, path = text.partition(":")
    if colon and "/" not in head and "@" in head:
        return f"{head.rpartition('@')[2]}:{path}"
    return text


def normalized(remote: str, cache: Path) -> str | None:
    """protocol.normalize_repository(remote), remembered in ``cache`` under the remote without its
    userinfo (a credential in the URL never reaches the file)."""
    remote = without_userinfo(remote)
    try:
        known = json.loads(cache.read_text("utf-8"))
    except (OSError, ValueError):
        known = {}
    if isinstance(known, dict) and remote in known:
        return known[remote]
    from aigate.protocol import normalize_repository

    value = normalize_repository(remote)
    known = dict(list(known.items())[-(MAX_REMEMBERED - 1):]) if isinstance(known, dict) else {}
    known = {k: v for k, v in known.items() if k == without_userinfo(k)}  # older files may hold some
    known[remote] = value
    try:
        paths.write_private(cache, json.dumps(known).encode())
    except OSError:
        pass
    return value
