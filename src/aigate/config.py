"""Layered client settings: IT-enforced file > flag > environment > user config > default.

The keys and the file locations are the README's "Configuration reference".

Settings: ``server`` (URL of the aigate server), ``ca_bundle`` (a PEM file trusted in addition to the
OS store) and ``tools`` (a table ``[tools.NAME] path = "/abs/path"`` naming the binary IT installed).
Each value carries where it came from, for ``aigate status``.

The enforced file (:func:`aigate.paths.system_config_file`) wins over everything, and is refused with
exit 78, naming the file, when an ordinary user could change it: on POSIX when it, or its folder, is
writable by group or others or owned by anyone but root. tomllib is imported only when a file exists.
``$AIGATE_SYSTEM_CONFIG`` (tests) is honoured only when nothing exists at the fixed path, and its file
gets the same checks: it can never hide or replace IT's file.

On macOS and Windows, settings pushed by MDM (:mod:`aigate.mdm`: the managed-preferences plist, the
policy registry key) are enforced as well, with the same keys; where both set a key, MDM wins.
"""

from __future__ import annotations

import json
import os
import sys
from collections import namedtuple
from pathlib import Path

from aigate import paths
from aigate.errors import ConfigError, UsageError

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

ENV_SERVER = "AIGATE_SERVER"
KNOWN_KEYS = ("server", "ca_bundle")


# A value and its source: "enforced (/etc/aigate/aigate.toml)", "--server", "AIGATE_SERVER",
# "user config (~/.config/aigate/config.toml)" or "default". (No dataclasses on the warm path.)
Setting = namedtuple("Setting", "value source enforced", defaults=(False,))


class Config:
    """The merged settings: ``server`` and ``ca_bundle`` (Settings), ``tool_paths`` (enforced binary
    paths by tool name) and ``enforced_file`` (where IT's settings were read, for messages: the MDM
    source as ``"MDM: ..."`` when MDM set any, else the enforced file's path when one exists)."""

    def __init__(self, server: Setting, ca_bundle: Setting, tool_paths: dict[str, str] | None = None,
                 enforced_file: Path | str | None = None):
        self.server = server
        self.ca_bundle = ca_bundle
        self.tool_paths = tool_paths or {}
        self.enforced_file = enforced_file
        self.tool_sources: dict[str, str] = {}  # tool name -> where its enforced path was set

    def require_server(self) -> str:
        """The server URL, or ConfigError (78) with the login command as the fix; one that is not an
        http(s) URL is a UsageError (2) when it came from ``--server``, else a ConfigError naming its source."""
        if not self.server.value:
            raise ConfigError(
                "no aigate server is configured: this device is not logged in",
                hint="aigate login --server https://aigate.example.com",
            )
        server = str(self.server.value)
        if not server.startswith(("https://", "http://")):
            kind = UsageError if self.server.source == "--server" else ConfigError
            raise kind(f"the aigate server {server[:200]!r} (from {self.server.source}) is not an http(s) URL",
                       hint="give the server's URL, e.g. --server https://aigate.example.com")
        return server


def load_config(
    *,
    flag_server: str | None = None,
    env: Mapping[str, str] | None = None,
    system_file: Path | None = None,
    user_file: Path | None = None,
    managed: Callable[[], tuple[dict[str, Any], str | None]] | None = None,
) -> Config:
    """Read every layer and merge them. Raises ConfigError (78) for an unsafe or unreadable file.

    ``managed`` returns MDM's ``(settings, source)`` (default: :func:`aigate.mdm.read_managed` on macOS
    and Windows, nothing elsewhere).
    """
    env = os.environ if env is None else env
    system_file = system_file or paths.system_config_file()
    user_file = user_file or paths.user_config_file()
    enforced = _check_types(_read_enforced(system_file), system_file)
    mdm_values, mdm_source = _read_managed(managed)
    mdm_values = _check_types(mdm_values, mdm_source)
    user = _check_types(_read_toml(user_file), user_file) if user_file.exists() else {}
    layers = [
        (mdm_values, f"enforced (MDM: {mdm_source})", True),
        (enforced, f"enforced ({system_file})", True),
        ({"server": flag_server}, "--server", False),
        ({"server": env.get(ENV_SERVER)}, ENV_SERVER, False),
        (user, f"user config ({user_file})", False),
    ]
    file_tools = _tool_paths(enforced.get("tools", {}), system_file)
    mdm_tools = _tool_paths(mdm_values.get("tools", {}), mdm_source)
    tool_paths = {**file_tools, **mdm_tools}
    cfg = Config(
        server=_pick("server", layers),
        ca_bundle=_pick("ca_bundle", layers),
        tool_paths=tool_paths,
        enforced_file=f"MDM: {mdm_source}" if mdm_values else (system_file if enforced else None),
    )
    cfg.tool_sources = {name: layers[0][1] if name in mdm_tools else layers[1][1] for name in tool_paths}
    return cfg


def _read_managed(managed: Callable[[], tuple[dict[str, Any], str | None]] | None) -> tuple[dict[str, Any], str]:
    """MDM's settings and where they were read (``""`` when MDM sets nothing)."""
    if managed is None:
        if sys.platform not in ("darwin", "win32"):
            return {}, ""  # nothing to import or read on the warm path
        from aigate.mdm import read_managed

        values, source = read_managed(check_file=check_enforced_file)
    else:
        values, source = managed()
    if values:
        _warn_unknown(values, source or "MDM")
    return values, source or ""


def _pick(key: str, layers: list[tuple[dict[str, Any], str, bool]]) -> Setting:
    for values, source, enforced in layers:
        value = values.get(key)
        if value:
            return Setting(str(value).rstrip("/") if key == "server" else str(value), source, enforced)
    return Setting(None, "default")


def _check_types(values: dict[str, Any], path: Path | str) -> dict[str, Any]:
    """ConfigError (78) naming the key and the file when a known setting has the wrong type."""
    for key in KNOWN_KEYS:
        if key in values and not isinstance(values[key], str):
            raise ConfigError(f"{path}: `{key}` must be a string in quotes, like {key} = \"...\"",
                              hint=f"fix `{key}` in {path}")
    return values


def _read_enforced(path: Path) -> dict[str, Any]:
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise ConfigError(f"cannot read the enforced settings file {path}: {err.strerror}") from err
    check_enforced_file(path, info)
    values = _read_toml(path, fix=f"ask IT to fix {path}")
    _warn_unknown(values, path)
    return values


def check_enforced_file(path: Path, info: os.stat_result | None = None) -> None:
    """Refuse (78) an enforced file that an ordinary user could change or replace: it, or any folder
    above it up to ``/``, writable by group or others (a folder only without the sticky bit, like
    ``/tmp``) or owned by a non-root user (docs/architecture.md, "Client decisions")."""
    if sys.platform == "win32":
        return  # ACLs, not mode bits; the installer sets them (documented limitation)
    items = [(path, info or path.stat(), False)]
    folder = path.absolute().parent
    while True:
        items.append((folder, folder.stat(), True))
        if folder.parent == folder:
            break
        folder = folder.parent
    for item, st, is_folder in items:
        writable = st.st_mode & 0o022 and not (is_folder and st.st_mode & 0o1000)
        if st.st_uid != 0 or writable:
            raise ConfigError(
                f"refusing the enforced settings file {path}: {item} can be changed by an ordinary user",
                hint=f"ask IT to make it root-owned and writable only by root (chown root {item}; chmod go-w {item})",
            )


def _warn_unknown(values: dict[str, Any], path: Path | str) -> None:
    unknown = sorted(set(values) - {*KNOWN_KEYS, "tools"})
    if unknown:
        from aigate import log

        log.warn(f"{path}: unknown setting(s) ignored: {', '.join(unknown)} (known: server, ca_bundle, tools)")


def _read_toml(path: Path, fix: str | None = None) -> dict[str, Any]:
    """The file's settings. Flat ``key = "string"`` files (what aigate writes) are read by hand,
    anything else by tomllib, which costs ~20 ms to import on the warm path. ConfigError (78) with
    ``fix`` (default: for the user's own file, mend it or start afresh) when unreadable or not TOML."""
    fix = fix or (f"fix it, or remove it and log in again (rm {path}; aigate login --server URL writes "
                  "it again)")
    try:
        text = path.read_text("utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read settings file {path}: {err.strerror}", hint=fix) from err
    except UnicodeDecodeError:
        raise ConfigError(f"settings file {path} is not UTF-8 text", hint=fix) from None
    flat = _read_flat(text)
    if flat is not None:
        return flat
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"settings file {path} is not valid TOML: {err}", hint=fix) from err


def _read_flat(text: str) -> dict[str, Any] | None:
    """``{key: value}`` when every line is blank, a comment, or ``key = "basic string"`` without
    escapes; None otherwise (then tomllib decides)."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not (sep and key.replace("_", "").isalnum() and key not in values and len(value) >= 2
                and value[0] == value[-1] == '"' and '"' not in value[1:-1] and "\\" not in value):
            return None
        values[key] = value[1:-1]
    return values


def _tool_paths(table: object, source: Path | str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: `tools` must be a table like [tools.claude] path = \"/opt/...\"")
    out = {}
    for name, spec in table.items():
        path = spec.get("path") if isinstance(spec, dict) else None
        if path is not None and not isinstance(path, str):
            raise ConfigError(f"{source}: `tools.{name}.path` must be a string in quotes, like path = \"/opt/...\"")
        if path:
            out[name] = path
    return out


def save_user_setting(key: str, value: str | None, user_file: Path | None = None) -> Path:
    """Set (or, with None, remove) one top-level string setting in the user's config.toml.

    Only the flat ``key = "string"`` form is written; other keys already in the file are kept. The
    read-modify-write holds a lock (:mod:`aigate.locking`) and the file is replaced atomically, so two
    logins keep both changes and a run reading it meanwhile never sees half a file.
    """
    from aigate.locking import FileLock

    user_file = user_file or paths.user_config_file()
    with FileLock(user_file):
        current = _read_toml(user_file) if user_file.exists() else {}
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
        lines = [f"{k} = {json.dumps(str(v))}" for k, v in current.items() if not isinstance(v, dict)]
        paths.write_private(user_file, "".join(line + "\n" for line in lines).encode("utf-8"))
    return user_file
