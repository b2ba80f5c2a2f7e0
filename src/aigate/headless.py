"""What to tell someone whose session has no usable OS keyring (an SSH login, a minimal desktop,
a container); stdlib only. The README's "Headless machines" section says the same at length.

On Linux the OS keyring is the Secret Service on the D-Bus session bus. Without a session bus
(``DBUS_SESSION_BUS_ADDRESS`` unset) there is none, and ``keyring`` falls back to its fail backend
(or to keyrings.alt's plain file, where that is installed). The ways out, best first:

1. start a Secret Service for this session (gnome-keyring in a ``dbus-run-session``): the keys stay
   encrypted on disk with a password the user chose;
2. for CI and demos only, keyrings.alt's plain file with ``AIGATE_ALLOW_INSECURE_KEYRING=1``; the
   package must be added to aigate's own environment, in the words of the installer that made it
   (:mod:`aigate.installer`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from aigate import installer

ENV_BUS = "DBUS_SESSION_BUS_ADDRESS"
SECRET_SERVICE_STEPS = ("dbus-run-session -- $SHELL; then, in that shell: "
                        "gnome-keyring-daemon --unlock --components=secrets (type a keyring password, then Ctrl-D)")
README = 'the README, "Headless machines"'


def no_session_bus(env: Mapping[str, str]) -> bool:
    """True on Linux when this process has no D-Bus session bus (so no Secret Service)."""
    return sys.platform.startswith("linux") and not env.get(ENV_BUS)


def session_bus_reachable(env: Mapping[str, str]) -> bool:
    """Cheaply (no D-Bus library, no connection): whether ``env`` names a D-Bus session bus that can exist.

    False when ``DBUS_SESSION_BUS_ADDRESS`` is unset or empty, or when every address it lists is a
    ``unix:path=`` socket that does not exist (a bus recorded by a session that has ended). Other
    transports (``unix:abstract=``, ``tcp:``) are not probed and count as reachable. Not Linux: True.
    """
    if not sys.platform.startswith("linux"):
        return True
    address = env.get(ENV_BUS) or ""
    entries = [entry for entry in address.split(";") if entry.strip()]
    for entry in entries:
        transport, _, params = entry.partition(":")
        options = dict(part.partition("=")[::2] for part in params.split(","))
        if transport != "unix" or "path" not in options or os.path.exists(options["path"]):
            return True
    return False


def why(env: Mapping[str, str]) -> str:
    """A clause saying why no keyring answers, for the message."""
    if no_session_bus(env):
        return "this session has no D-Bus session bus, so no Secret Service (an SSH login or a minimal desktop?)"
    if not session_bus_reachable(env):
        return (f"the D-Bus session bus in {ENV_BUS} ({env.get(ENV_BUS)}) does not exist (a session that ended?), "
                "so no Secret Service")
    return "no keyring backend answered"


def fixes(env: Mapping[str, str], *, allow_var: str, insecure_loaded: bool | None = None) -> str:
    """The ways out, one per line, best first (``insecure_loaded``: keyrings.alt is already there;
    None: look)."""
    if insecure_loaded is None:
        insecure_loaded = keyrings_alt_installed()
    lines = [f"keep the keys encrypted: start a Secret Service for this session: {SECRET_SERVICE_STEPS}"
             if no_session_bus(env) else
             "unlock your desktop keyring (GNOME Keyring / KWallet), or start a Secret Service: "
             + SECRET_SERVICE_STEPS]
    plain = f"export {allow_var}=1" if insecure_loaded else (
        f"{installer.add_package('keyrings.alt')}, then export {allow_var}=1")
    lines.append(f"or, for CI and demos only (keys in a plain file): {plain}")
    lines.append(f"more in {README}")
    return "\n".join(lines)


def because(env: Mapping[str, str]) -> str:
    """``"; <why>"`` to append to a keyring failure when this session has no D-Bus session bus, else ""."""
    return f"; {why(env)}" if no_session_bus(env) else ""


def failed_hint(env: Mapping[str, str], *, allow_var: str) -> str:
    """The fix for a keyring that failed to answer: the ways out without a session bus, else unlock it."""
    if no_session_bus(env):
        return fixes(env, allow_var=allow_var)
    return "unlock your keyring (or log in to the desktop session) and try again"


def plain_file_hint(env: Mapping[str, str], *, allow_var: str) -> str:
    """The fix when a plain-file backend was found but not allowed."""
    if no_session_bus(env):
        return fixes(env, allow_var=allow_var, insecure_loaded=True)
    return f"use the OS keyring; for CI and demos only, set {allow_var}=1"


def keyrings_alt_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("keyrings.alt") is not None
    except (ImportError, ValueError):
        return False
