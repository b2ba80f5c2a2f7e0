"""The repository a run happens in: the normalized ``origin`` remote of the working directory.

As ``git remote get-url origin`` reports it: no remote, no repository (README). git itself is
asked (so ``insteadOf`` rewrites and worktrees behave as the user sees them). A repository that
exists but cannot be read never counts as "no repository": that would let it past every deny rule.

- git answers: its URL, normalized. git says there is no ``origin`` (exit 2): no repository.
- git refuses (exit 128) where a ``.git`` exists (another user's repository, "dubious ownership";
  an unreadable or damaged ``.git``): the ``origin`` is read from the repository's config file with
  ``git config --file`` run outside the repository (a config file is only read, nothing in the
  repository runs), the repository's own ``insteadOf`` rules applied by ``git ls-remote --get-url``;
  if even that fails, ConfigError (78) naming the repository and the fix.
- git is missing, or does not answer within ``GIT_TIMEOUT_SECONDS``, inside a repository: 78.
- No ``.git`` up to the root and git says "not a repository": no repository.

git is found on PATH without its relative entries (a repository's own ``./git`` never runs) and
started with ``posix_spawn`` (subprocess costs ~8 ms to import on the warm path). Normalizing is
:func:`aigate.constants.normalize_repository`, the one rule both sides share. A remote URL can carry
a credential (``https://x-access-token:TOKEN@github.com/...``): only its normalized form (which has
no ``user[:password]@``) leaves this module, and messages name the repository's folder, not its URL.
"""

from __future__ import annotations

import os
from pathlib import Path

from aigate.constants import normalize_repository
from aigate.errors import ConfigError

GIT_TIMEOUT_SECONDS = 5.0
NO_SUCH_REMOTE = 2  # `git remote get-url` exit status for a missing remote


class GitFailed(Exception):
    """git could not be run or did not answer in time (``reason`` says which)."""


def detect_repository(cwd: Path | str | None = None, *, git: str = "git") -> str | None:
    """``host/path`` of ``origin`` for ``cwd`` (default: the current directory), or None when ``cwd``
    is in no repository or its repository has no ``origin``. ConfigError (78) when a repository is
    there but its ``origin`` cannot be read (see the module docstring)."""
    remote = origin_url(cwd, git=git)
    return normalize_repository(remote) if remote else None


def origin_url(cwd: Path | str | None = None, *, git: str = "git") -> str | None:
    """The ``origin`` URL as git reads it for ``cwd``; None for no repository or no ``origin``."""
    cwd = os.path.abspath(cwd or ".")
    dotgit = find_dotgit(cwd)
    try:
        status, out, err = run_git([git, "-C", cwd, "remote", "get-url", "origin"])
    except GitFailed as failed:
        if dotgit is None:
            return None  # no git and no repository: nothing to read
        raise _unreadable(dotgit or cwd, str(failed)) from None
    if status == 0:
        return out.strip() or None
    if status == NO_SUCH_REMOTE or dotgit is None:
        return None
    return _origin_from_config(dotgit, git, why=err.strip().splitlines()[0] if err.strip() else f"exit {status}")


def find_dotgit(start: str) -> Path | None:
    """The nearest ``.git`` (folder or worktree file) at ``start`` or above it, or None."""
    folder = Path(start)
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate / ".git"
    return None


def _origin_from_config(dotgit: Path, git: str, why: str) -> str | None:
    """``remote.origin.url`` read from the config file of the repository at ``dotgit`` without git
    opening the repository; None when the config has no ``origin``. 78 when it cannot be read."""
    config = _config_file(dotgit)
    if config is None or not os.access(config, os.R_OK):
        raise _unreadable(dotgit, why)
    neutral = os.path.dirname(os.path.abspath(os.sep))  # outside any repository: the root
    try:
        status, url, _ = run_git([git, "-C", neutral, "config", "--file", str(config), "--get", "remote.origin.url"])
        if status != 0 or not url.strip():
            return None
        _, rules, _ = run_git([git, "-C", neutral, "config", "--file", str(config), "--get-regexp",
                               r"^url\..*\.insteadof$"])
        rewrite = [a for line in rules.splitlines() if " " in line
                   for a in ("-c", f"{line.split(' ', 1)[0]}={line.split(' ', 1)[1]}")]
        status, expanded, _ = run_git([git, *rewrite, "-C", neutral, "ls-remote", "--get-url", url.strip()])
    except GitFailed as failed:
        raise _unreadable(dotgit, str(failed)) from None
    return (expanded.strip() if status == 0 else "") or url.strip()


def _config_file(dotgit: Path) -> Path | None:
    """The config file of the repository at ``dotgit``: ``.git/config``, or for a worktree or
    submodule (``.git`` is a file ``gitdir: PATH``) the config of its common dir."""
    try:
        if dotgit.is_dir():
            return dotgit / "config"
        text = dotgit.read_text("utf-8").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    gitdir = (dotgit.parent / text[len("gitdir:"):].strip()).resolve()
    try:
        common = (gitdir / "commondir").read_text("utf-8").strip()
        gitdir = (gitdir / common).resolve()
    except OSError:
        pass
    return gitdir / "config"


def _unreadable(where: Path | str, why: str) -> ConfigError:
    folder = Path(where).parent if Path(where).name == ".git" else Path(where)
    return ConfigError(
        f"cannot read the origin of the git repository at {folder} ({why}), so aigate cannot check it "
        "against the policy",
        hint=f"if it is yours and safe: git config --global --add safe.directory {folder} (or fix its "
             "owner or permissions); make sure git is installed and answers",
    )


def run_git(argv: list[str], timeout: float | None = None) -> tuple[int, str, str]:
    """``(exit status, stdout, stderr)`` of git. GitFailed when git is missing or takes longer than
    ``timeout`` seconds (default ``GIT_TIMEOUT_SECONDS``)."""
    timeout = GIT_TIMEOUT_SECONDS if timeout is None else timeout
    binary = _find_git(argv[0])
    if binary is None:
        raise GitFailed(f"{argv[0]} is not installed (not on PATH)")
    argv = [binary, *argv[1:]]
    return _spawn(argv, timeout) if hasattr(os, "posix_spawn") else _subprocess(argv, timeout)


def git_env() -> dict[str, str]:
    """This process's environment without git's own variables (``GIT_*``): ``GIT_DIR``/``GIT_WORK_TREE``
    would point git at another repository than the folder's, and ``GIT_CONFIG_COUNT``/``KEY_n``/``VALUE_n``
    could rewrite ``origin`` (``url.*.insteadOf``), either slipping a denied repository past the policy."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def _find_git(name: str) -> str | None:
    """``name`` on PATH, absolute entries only: a relative entry would be the repository's own files."""
    if os.path.isabs(name):
        return name if os.access(name, os.X_OK) else None
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        for candidate in (os.path.join(folder, name), os.path.join(folder, name + ".exe")):
            if os.path.isabs(folder) and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None


def _spawn(argv: list[str], timeout: float) -> tuple[int, str, str]:
    import select
    import time

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, out_w, 1),
               (os.POSIX_SPAWN_DUP2, err_w, 2), (os.POSIX_SPAWN_CLOSE, out_r), (os.POSIX_SPAWN_CLOSE, err_r)]
    try:
        pid = os.posix_spawn(argv[0], argv, git_env(), file_actions=actions)
    except OSError as err:
        os.close(out_r)
        os.close(err_r)
        raise GitFailed(f"cannot start {argv[0]}: {err.strerror}") from None
    finally:
        os.close(out_w)
        os.close(err_w)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    open_fds, deadline = [out_r, err_r], time.monotonic() + timeout
    try:
        while open_fds:
            left = deadline - time.monotonic()
            ready = select.select(open_fds, [], [], max(0.0, left))[0] if left > 0 else []
            if not ready:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                raise GitFailed(f"git did not answer within {timeout:.0f} s")
            for fd in ready:
                chunk = os.read(fd, 65536)
                if chunk:
                    chunks[fd].append(chunk)
                else:
                    open_fds.remove(fd)
    finally:
        os.close(out_r)
        os.close(err_r)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    stdout, stderr = (b"".join(chunks[fd]).decode("utf-8", "replace") for fd in (out_r, err_r))
    return status, stdout, stderr


def _subprocess(argv: list[str], timeout: float) -> tuple[int, str, str]:
    import subprocess

    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False,
                              env=git_env())
    except subprocess.TimeoutExpired:
        raise GitFailed(f"git did not answer within {timeout:.0f} s") from None
    except OSError as err:
        raise GitFailed(f"cannot start {argv[0]}: {err.strerror}") from None
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
