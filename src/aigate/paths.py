"""Where aigate keeps things on disk; stdlib only, cheap to import (the warm ``aigate run`` uses it).

- config dir (``config.toml``, the user's settings)
- cache dir (``tokens/``: approval tokens and the server's JWKS; safe to delete)
- state dir (``enrollment.json``, ``keyring-backend``, ``keys.json``, ``spool/``)
- the IT-enforced ``aigate.toml`` at a fixed system path per platform (README, "Configuration reference")

On Linux the XDG rules are applied here by hand (``$XDG_CONFIG_HOME`` or ``~/.config``, and so on),
exactly as platformdirs does, because importing platformdirs costs ~25 ms on the warm path; other
platforms ask platformdirs. Nothing here ever holds a secret: secrets live in the keyring only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "aigate"
# For tests only: an enforced settings file used when none exists at the fixed path (see
# system_config_file: it can never replace or hide the fixed one).
ENV_SYSTEM_CONFIG = "AIGATE_SYSTEM_CONFIG"

_XDG = {
    "config": ("XDG_CONFIG_HOME", ".config"),
    "cache": ("XDG_CACHE_HOME", ".cache"),
    "state": ("XDG_STATE_HOME", ".local/state"),
}


def _user_dir(kind: str) -> Path:
    if sys.platform.startswith("linux"):
        variable, fallback = _XDG[kind]
        base = os.environ.get(variable, "").strip()
        return Path(base or os.path.expanduser(f"~/{fallback}")) / APP
    import platformdirs

    getter = getattr(platformdirs, f"user_{kind}_path")
    return getter(APP, appauthor=False)


def config_dir() -> Path:
    """The user config dir (``$XDG_CONFIG_HOME/aigate`` on Linux): ``config.toml``."""
    return _user_dir("config")


def cache_dir() -> Path:
    """The user cache dir (``$XDG_CACHE_HOME/aigate`` on Linux): token cache and JWKS, safe to delete."""
    return _user_dir("cache")


def state_dir() -> Path:
    """The user state dir (``$XDG_STATE_HOME/aigate`` on Linux): enrollment records, keyring choice, scope index,
    spool."""
    return _user_dir("state")


def user_config_file() -> Path:
    """The user's ``config.toml`` (flat ``key = "value"`` settings)."""
    return config_dir() / "config.toml"


def token_dir() -> Path:
    """Where approval tokens and the server's JWKS are cached (one file per server, tool and repository)."""
    return cache_dir() / "tokens"


def spool_dir() -> Path:
    """Where session events wait until the flusher sends them (one file per event)."""
    return state_dir() / "spool"


def enrollment_file() -> Path:
    """JSON ``{"server", "issuer", "device_id", "email"}``: who this device is; no secret."""
    return state_dir() / "enrollment.json"


def keyring_backend_file() -> Path:
    """One line: the class path of the keyring backend resolved at login or ``keys set``."""
    return state_dir() / "keyring-backend"


def key_index_file() -> Path:
    """JSON list of the key scopes stored in the keyring (names only), so ``run`` can check cheaply."""
    return state_dir() / "keys.json"


def fixed_system_config_file() -> Path:
    """The enforced settings file's fixed path: ``/etc/aigate/aigate.toml`` on Linux (README,
    "Configuration reference")."""
    if sys.platform == "darwin":
        return Path("/Library/Application Support/aigate/aigate.toml")
    if sys.platform == "win32":
        return Path(os.environ.get("ProgramFiles", r"C:\Program Files")) / "aigate" / "aigate.toml"
    return Path("/etc/aigate/aigate.toml")


def system_config_file() -> Path:
    """The enforced settings file to read.

    The fixed path (:func:`fixed_system_config_file`) whenever anything exists there, so no ordinary
    user can bypass IT's file. Only when nothing is at the fixed path does ``$AIGATE_SYSTEM_CONFIG``
    (for tests) name another file, and that file gets the same ownership and mode checks, so it can add
    an enforced file that root owns but never remove or replace IT's.
    """
    fixed = fixed_system_config_file()
    override = os.environ.get(ENV_SYSTEM_CONFIG)
    if override and not os.path.lexists(fixed):
        return Path(override)
    return fixed


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600 (tempfile in the same dir + os.replace).

    Two writers racing leave one complete file, never a mix; readers never see a partial file.
    ConfigError (78) naming ``path`` when it cannot be written (a folder where the file belongs, a
    file where its folder belongs, no space, no permission); callers writing a cache warn instead.
    """
    try:
        _write_private(path, data)
    except OSError as err:
        from aigate.errors import ConfigError

        raise ConfigError(f"cannot write {path}: {err.strerror or type(err).__name__}",
                          hint=f"remove or fix {path} (or whatever is in its way), then try again") from err


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp"  # no tempfile: warm path
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
