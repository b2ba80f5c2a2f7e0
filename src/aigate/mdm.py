"""Enforced settings pushed by device management (MDM); stdlib only, imported on macOS and Windows only.

DESIGN.md, "IT deployment": the same keys as the enforced ``aigate.toml`` (``server``, ``ca_bundle``,
``tools.NAME.path``), with the same rule: a value IT sets cannot be overridden.

- macOS: the managed-preferences plist of the domain ``com.aigate.client``
  (:data:`PLIST`, written by the MDM profile's ``com.apple.ManagedClient.preferences`` payload), read with
  ``plistlib``. It gets the enforced file's checks (root-owned, not writable by others; 78 otherwise).
  ``tools`` is a dictionary: ``tools -> claude -> path``.
- Windows: the policy registry key ``HKLM\\SOFTWARE\\Policies\\aigate`` (64-bit view), read with
  ``winreg``: string values ``server`` and ``ca_bundle``, and a subkey ``tools\\NAME`` with a string
  value ``path``. HKLM\\SOFTWARE\\Policies is writable by administrators only, so no file check applies.

Both readers return ``{}`` when nothing is managed. The registry module is a parameter (a seam): tests
pass an object with winreg's ``OpenKey``/``EnumValue``/``EnumKey`` over a dict.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aigate.errors import ConfigError

PLIST = Path("/Library/Managed Preferences/com.aigate.client.plist")
REGISTRY_PATH = r"SOFTWARE\Policies\aigate"
REGISTRY_SOURCE = r"HKLM\SOFTWARE\Policies\aigate"


def read_managed(*, platform: str = sys.platform, plist: Path = PLIST, registry: Any = None,
                 check_file: Callable[[Path, os.stat_result], None] | None = None) -> tuple[dict[str, Any], str | None]:
    """``(settings, source)``: what MDM enforces on this platform, and where it was read (None when
    nothing is). ``check_file(path, stat)`` raises for a plist an ordinary user could change
    (:func:`aigate.config.check_enforced_file`). Raises ConfigError (78) for an unsafe or unreadable source."""
    if platform == "darwin":
        values = read_plist(plist, check_file)
        return values, (str(plist) if values else None)
    if platform == "win32":
        if registry is None:
            import winreg as registry  # Windows only
        values = read_registry(registry)
        return values, (REGISTRY_SOURCE if values else None)
    return {}, None


def read_plist(path: Path, check_file: Callable[[Path, os.stat_result], None] | None = None) -> dict[str, Any]:
    """The plist's top-level dictionary; ``{}`` when there is none. 78 for an unsafe or broken file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise ConfigError(f"cannot read the managed preferences {path}: {err.strerror}") from err
    if check_file is not None:
        check_file(path, info)
    import plistlib
    from xml.parsers.expat import ExpatError

    try:
        with open(path, "rb") as handle:
            values: object = plistlib.load(handle)
    except (plistlib.InvalidFileException, ExpatError, ValueError, OSError) as err:
        raise ConfigError(f"the managed preferences {path} are not a valid plist ({err})",
                          hint="ask IT to fix the configuration profile for com.aigate.client") from err
    if not isinstance(values, dict):
        raise ConfigError(f"the managed preferences {path} must hold a dictionary of settings",
                          hint="ask IT to fix the configuration profile for com.aigate.client")
    return values


def read_registry(winreg: Any) -> dict[str, Any]:
    """``HKLM\\SOFTWARE\\Policies\\aigate`` as ``{"server": ..., "ca_bundle": ..., "tools": {NAME:
    {"path": ...}}}``; ``{}`` when the key does not exist."""
    access = winreg.KEY_READ | getattr(winreg, "KEY_WOW64_64KEY", 0)
    try:
        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, REGISTRY_PATH, 0, access)
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise ConfigError(f"cannot read {REGISTRY_SOURCE}: {err}") from err
    with key:
        values = _values(winreg, key)
        tools: dict[str, dict[str, Any]] = {}
        try:
            tools_key = winreg.OpenKey(key, "tools", 0, access)
        except FileNotFoundError:
            tools_key = None
        if tools_key is not None:
            with tools_key:
                for name in _subkeys(winreg, tools_key):
                    with winreg.OpenKey(tools_key, name, 0, access) as tool_key:
                        tools[name.lower()] = _values(winreg, tool_key)
    if tools:
        values["tools"] = tools
    return values


def _values(winreg: Any, key: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    index = 0
    while True:
        try:
            name, data, _kind = winreg.EnumValue(key, index)
        except OSError:  # no more values
            return out
        out[name.lower()] = data  # registry names are case-insensitive
        index += 1


def _subkeys(winreg: Any, key: object) -> list[str]:
    out: list[str] = []
    index = 0
    while True:
        try:
            out.append(winreg.EnumKey(key, index))
        except OSError:
            return out
        index += 1
