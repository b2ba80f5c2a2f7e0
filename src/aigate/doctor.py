"""``aigate doctor``: what is wrong on this laptop, one check per line, each with its fix. No typer.

DESIGN.md, "IT deployment": settings and the enforced file, server reachable, TLS, clock skew against
the server, login, keyring backend answering, key scopes, each tool's real binary and version,
ungated copies of the tools on PATH, shims, proxy variables, spool backlog; and (issue 11) vendor keys
in the shell's environment and tool logins holding a credential.

The checks are data: :func:`default_checks` lists ``(name, function, seconds)``; each function takes the
shared :class:`Probe` (what earlier checks found) and returns a :class:`Check`. :func:`run_checks` runs
each in a daemon thread bounded by its seconds, so a hung keyring or server is a failed check, not a
hung doctor. No detail or fix ever holds a secret: keys are named by scope, proxies lose their
``user:password@``, credentials files are named, never read out.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aigate import config, enrollment, keystore, paths, protocol, tools
from aigate.errors import AigateError


@dataclass
class Check:
    """One line of the report: ``name``, ``ok``, ``detail`` (what was found), ``fix`` (None when ok)."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def as_json(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}


@dataclass
class Probe:
    """The doctor's dependencies (real by default) and what earlier checks found for later ones.

    ``http(server, ca_bundle)`` builds an httpx client; ``open_store()`` the keyring store;
    ``clock()`` epoch seconds; ``run(argv, seconds)`` a CompletedProcess (for ``--version``).
    """

    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    flag_server: str | None = None
    http: Callable | None = None
    open_store: Callable[[], keystore.KeyStore] = keystore.open_keystore
    clock: Callable[[], float] = time.time
    run: Callable | None = None
    cfg: config.Config | None = None
    server_answered: bool = False
    server_date: float | None = None  # the server's clock (its Date header), epoch seconds
    local_date: float | None = None
    me: protocol.Me | None = None
    store: keystore.KeyStore | None = None


def check_settings(probe: Probe) -> Check:
    try:
        probe.cfg = config.load_config(flag_server=probe.flag_server, env=probe.env)
    except AigateError as err:
        return Check("settings", False, err.message, err.hint)
    cfg = probe.cfg
    enforced = [f"{name} from {setting.source}" for name, setting in (("server", cfg.server),
                                                                      ("ca_bundle", cfg.ca_bundle)) if setting.enforced]
    enforced += [f"tools.{name}.path from {cfg.tool_sources.get(name, 'enforced')}" for name in cfg.tool_paths]
    where = "; ".join(enforced) if enforced else f"no enforced settings ({paths.system_config_file()} absent)"
    return Check("settings", True, f"server {cfg.server.value or '(none)'} ({cfg.server.source}); {where}")


def _server(probe: Probe) -> str | None:
    return probe.cfg.server.value if probe.cfg else None


def check_server(probe: Probe) -> Check:
    server = _server(probe)
    if not server:
        return Check("server", False, "no aigate server is configured", "aigate login --server https://aigate.example.com")
    import httpx

    from aigate import connect

    try:
        with (probe.http or connect.default_http)(server, probe.cfg.ca_bundle.value) as http:
            response = http.get(protocol.Paths.READYZ)
    except (httpx.HTTPError, AigateError) as err:
        why = getattr(err, "message", None) or (str(err).splitlines() or [type(err).__name__])[0][:200]
        return Check("server", False, f"cannot reach {server}: {why}",
                     "check the network (VPN, proxy variables) and the server URL; ask IT whether the server is up")
    probe.server_answered = True
    probe.local_date = probe.clock()
    probe.server_date = _http_date(response.headers.get("date"))
    if response.status_code != 200:
        return Check("server", False, f"{server} answered {response.status_code} to {protocol.Paths.READYZ}",
                     "the server is up but not ready (database or migrations): tell IT")
    return Check("server", True, f"{server} is ready")


def _http_date(value: str | None) -> float | None:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).timestamp() if value else None
    except (TypeError, ValueError):
        return None


def check_tls(probe: Probe) -> Check:
    server = _server(probe)
    if not server:
        return Check("tls", False, "no server configured", "aigate login --server https://...")
    from urllib.parse import urlsplit

    parts = urlsplit(server)
    if parts.scheme == "https":
        if probe.server_answered:
            bundle = f" and {probe.cfg.ca_bundle.value}" if probe.cfg.ca_bundle.value else ""
            return Check("tls", True, f"certificate of {parts.hostname} verified against the OS trust store{bundle}")
        return Check("tls", False, f"no TLS connection to {parts.hostname} (see server)",
                     "if the error mentions a certificate, ask IT for the CA and set ca_bundle in aigate.toml")
    if parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return Check("tls", True, "plain HTTP to this machine (loopback)")
    return Check("tls", False, f"{server} is plain HTTP: the device credential travels unencrypted",
                 "ask IT for the https:// URL of the aigate server")


def check_clock(probe: Probe) -> Check:
    if probe.server_date is None or probe.local_date is None:
        return Check("clock", False, "not checked: the server did not answer with its time (see server)",
                     "fix the server check first")
    skew = probe.local_date - probe.server_date
    limit = protocol.TOKEN_LEEWAY_SECONDS
    detail = f"this clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the server's"
    if abs(skew) > limit:
        return Check("clock", False, f"{detail} (more than {limit} s: approval tokens look expired or not yet valid)",
                     "turn on automatic time (NTP) on this laptop")
    return Check("clock", True, detail)


def check_login(probe: Probe) -> Check:
    server = _server(probe)
    if not server:
        return Check("login", False, "not logged in: no server", "aigate login --server https://...")
    record = enrollment.load(server)
    if record is None:
        return Check("login", False, f"this device is not enrolled with {server}", f"aigate login --server {server}")
    if not probe.server_answered:
        return Check("login", False, f"enrolled as {record.email}; not confirmed (see server)", "fix the server check first")
    if probe.store is None:
        return Check("login", False, f"enrolled as {record.email}; not confirmed: no keyring (see keyring)",
                     "fix the keyring check first")
    from aigate import connect

    try:
        probe.me = connect.device_client(server, store=probe.store, ca_bundle=probe.cfg.ca_bundle.value,
                                         http=probe.http or connect.default_http).me()
    except AigateError as err:
        return Check("login", False, err.message, err.hint or f"aigate login --server {server}")
    return Check("login", True, f"{probe.me.user.email} ({probe.me.user.role.value}), device {probe.me.device_id}")


def check_keyring(probe: Probe) -> Check:
    try:
        store = probe.open_store()
        store.get(keystore.key_entry("aigate-doctor-probe"))  # a read: does the backend answer?
    except AigateError as err:
        return Check("keyring", False, err.message, err.hint)
    probe.store = store
    return Check("keyring", True, f"{getattr(store, 'description', type(store).__name__)} answers")


def check_keys(probe: Probe) -> Check:
    if probe.store is None:
        return Check("keys", False, "not checked: no keyring (see keyring)", "fix the keyring check first")
    needed = {}
    for name, spec in tools.TOOLS.items():
        access = next((t for t in probe.me.tools if t.tool == name), None) if probe.me else None
        if access is None or access.approval != protocol.ApprovalMode.DENY:
            needed.setdefault(access.key_scope if access else spec.default_scope, []).append(name)
    missing = [scope for scope in needed if not probe.store.get(keystore.key_entry(scope))]
    found = ", ".join(f"{scope} ({'/'.join(names)})" for scope, names in needed.items() if scope not in missing)
    if missing:
        return Check("keys", False, f"no key stored for {', '.join(missing)}" + (f"; stored: {found}" if found else ""),
                     "; ".join(f"aigate keys set {scope}" for scope in missing) + " (IT: run it as the user, --stdin)")
    return Check("keys", True, f"stored: {found}")


HUNG = "it did not answer within {seconds:g} s"
CheckFunction = Callable[[Probe], "Check | list[Check]"]


def default_checks() -> list[tuple[str, CheckFunction, float, str]]:
    """``(name, check, seconds, fix when it hangs)`` in the order they run (later checks use what
    earlier ones found). The local checks are in :mod:`aigate.doctor_local`."""
    from aigate import doctor_local as local

    return [
        ("settings", check_settings, 5, "check the enforced settings file and MDM profile"),
        ("server", check_server, 10, "check the network (VPN, proxy) and the server URL"),
        ("tls", check_tls, 2, "see the server check"),
        ("clock", check_clock, 2, "see the server check"),
        ("keyring", check_keyring, 5, "unlock the keyring (log in to the desktop session), or check PYTHON_KEYRING_BACKEND"),
        ("login", check_login, 10, "check the network and the keyring, then aigate login --server URL"),
        ("keys", check_keys, 5, "unlock the keyring, then aigate keys list"),
        ("tools", local.check_tools, 30, "a tool hangs on --version: reinstall it"),
        ("path", local.check_path, 5, "check PATH"),
        ("shims", local.check_shims, 5, "check PATH"),
        ("environment", local.check_environment, 2, "check the shell's environment"),
        ("tool logins", local.check_tool_logins, 2, "check the tools' own login files"),
        ("proxy", local.check_proxy, 2, "check the proxy variables"),
        ("spool", local.check_spool, 5, "check the spool folder"),
    ]


def run_checks(probe: Probe | None = None, *, checks=None, scale: float = 1.0) -> list[Check]:
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


def _bounded(function: Callable[[Probe], Check | list[Check]], probe: Probe, seconds: float):
    """``function(probe)`` in a daemon thread; None when it has not returned within ``seconds`` (the
    thread is abandoned: a keyring call stuck in D-Bus cannot be interrupted)."""
    box: list = []

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
