"""A lock across aigate processes for the read-modify-write of its own small files; stdlib only.

Several aigate processes may change one file at once (an IT script running ``aigate keys set`` for
several scopes in parallel; two logins): each reads, changes and rewrites it, and without a lock the
last writer drops the others' changes. :class:`FileLock` holds an exclusive ``flock`` (POSIX) or
``msvcrt.locking`` (Windows) on ``.NAME.lock`` beside the file for the whole read-modify-write. The
wait is bounded (``timeout`` seconds): a process that holds the lock longer is named in the error.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from aigate.errors import ConfigError

TIMEOUT_SECONDS = 10.0


class FileLock:
    """``with FileLock(path):`` read, change and rewrite ``path``; ConfigError (78) after ``timeout``."""

    def __init__(self, path: Path, timeout: float = TIMEOUT_SECONDS):
        self.path = path.with_name(f".{path.name}.lock")
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise ConfigError(f"cannot create the lock file {self.path}: {err.strerror or type(err).__name__}",
                              hint=f"remove or fix {self.path.parent} (or whatever is in its way), then try again"
                              ) from err
        deadline = time.monotonic() + self.timeout
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                os.close(fd)
                raise ConfigError(f"another aigate process has held {self.path} for {self.timeout:.0f} s",
                                  hint="wait for it to finish (or end it), then try again")
            time.sleep(0.01)
        self._fd = fd
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]  # Windows only
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
