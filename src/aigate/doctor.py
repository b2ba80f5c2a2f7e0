"""``aigate doctor``: what is wrong on this laptop, one check per line, each with its fix. No typer.

DESIGN.md, "IT deployment": settings and the enforced file, server reachable, TLS, clock skew against
the server, login, keyring backend answering, key scopes, each tool's real binary and version,
ungated copies of the tools on PATH, shims, proxy variables, spool backlog; and (issue 11) vendor keys
in the shell's environment and tool logins holding a credential.

The checks are data: :func:`default_checks` lists ``(name, function, seconds, fix when hung)``; each
function (:mod:`aigate.doctor_server`, :mod:`aigate.doctor_local`) takes the shared
:class:`~aigate.diagnosis.Probe` (what earlier checks found) and returns a
:class:`~aigate.diagnosis.Check`. :func:`run_checks` runs each in a daemon thread bounded by its
seconds, so a hung keyring or server is a failed check, not a hung doctor. No detail or fix ever holds
a secret: keys are named by scope, proxies lose their ``user:password@``, credentials files are named,
never read out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from aigate import doctor_local as local
from aigate import doctor_server as remote
from aigate.diagnosis import Check, Probe

__all__ = ["Check", "Probe", "default_checks", "run_checks"]


HUNG = "it did not answer within {seconds:g} s"
CheckFunction = Callable[[Probe], "Check | list[Check]"]


def default_checks() -> list[tuple[str, CheckFunction, float, str]]:
    """``(name, check, seconds, fix when it hangs)`` in the order they run (later checks use what
    earlier ones found). The local checks are in :mod:`aigate.doctor_local`."""
    return [
        ("settings", remote.check_settings, 5, "check the enforced settings file and MDM profile"),
        ("server", remote.check_server, 10, "check the network (VPN, proxy) and the server URL"),
        ("tls", remote.check_tls, 2, "see the server check"),
        ("clock", remote.check_clock, 2, "see the server check"),
        ("keyring", remote.check_keyring, 5,
         "unlock the keyring (log in to the desktop session), or check PYTHON_KEYRING_BACKEND"),
        ("login", remote.check_login, 10, "check the network and the keyring, then aigate login --server URL"),
        ("keys", remote.check_keys, 5, "unlock the keyring, then aigate keys list"),
        ("tools", local.check_tools, 30, "a tool hangs on --version: reinstall it"),
        ("path", local.check_path, 5, "check PATH"),
        ("shims", local.check_shims, 5, "check PATH"),
        ("environment", local.check_environment, 2, "check the shell's environment"),
        ("tool logins", local.check_tool_logins, 2, "check the tools' own login files"),
        ("proxy", local.check_proxy, 2, "check the proxy variables"),
        ("spool", local.check_spool, 5, "check the spool folder"),
    ]


def run_checks(probe: Probe | None = None, *, checks: list[tuple[str, CheckFunction, float, str]] | None = None,
               scale: float = 1.0) -> list[Check]:
    """Every check in order, each bounded by its seconds (times ``scale``); the report's lines."""
    probe = probe or Probe()
    out: list[Check] = []
    for name, function, seconds, hung_fix in checks or default_checks():
        result = _bounded(function, probe, seconds * scale)
        if result is None:
            out.append(Check(name, False, HUNG.format(seconds=seconds * scale), hung_fix))
        else:
            out.extend(result if isinstance(result, list) else [result])
    return out


def _bounded(function: CheckFunction, probe: Probe, seconds: float) -> Check | list[Check] | None:
    """``function(probe)`` in a daemon thread; None when it has not returned within ``seconds`` (the
    thread is abandoned: a keyring call stuck in D-Bus cannot be interrupted)."""
    box: list[Check | list[Check]] = []

    def target() -> None:
        try:
            box.append(function(probe))
        except Exception as err:  # noqa: BLE001  (a bug in one check must not hide the others)
            box.append(Check(function.__name__.removeprefix("check_"), False,
                             f"the check failed: {type(err).__name__}", "run aigate --debug doctor and tell IT"))

    worker = threading.Thread(target=target, name=f"doctor-{function.__name__}", daemon=True)
    worker.start()
    worker.join(seconds)
    return box[0] if box else None
