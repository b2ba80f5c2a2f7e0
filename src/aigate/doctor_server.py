"""The checks of ``aigate doctor`` that concern settings, the server and the keyring: settings and
their sources, server reachable, TLS, clock skew (the server's ``Date`` against this clock, beyond the
token leeway), login, keyring answering, a key for each tool's scope. See :mod:`aigate.doctor`."""

from __future__ import annotations

from aigate import config, constants, enrollment, keystore, paths, tools
from aigate.diagnosis import Check, Probe
from aigate.errors import AigateError


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


def _ca_bundle(probe: Probe) -> str | None:
    return probe.cfg.ca_bundle.value if probe.cfg else None


def check_server(probe: Probe) -> Check:
    server = _server(probe)
    if not server:
        return Check("server", False, "no aigate server is configured", "aigate login --server https://aigate.example.com")
    import httpx

    from aigate import connect

    try:
        with (probe.http or connect.default_http)(server, _ca_bundle(probe)) as http:
            response = http.get(constants.Paths.READYZ)
    except (httpx.HTTPError, AigateError) as err:
        why = getattr(err, "message", None) or (str(err).splitlines() or [type(err).__name__])[0][:200]
        return Check("server", False, f"cannot reach {server}: {why}",
                     "check the network (VPN, proxy variables) and the server URL; ask IT whether the server is up")
    probe.server_answered = True
    probe.local_date = probe.clock()
    probe.server_date = _http_date(response.headers.get("date"))
    if response.status_code != 200:
        return Check("server", False, f"{server} answered {response.status_code} to {constants.Paths.READYZ}",
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
            bundle = f" and {_ca_bundle(probe)}" if _ca_bundle(probe) else ""
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
    limit = constants.TOKEN_LEEWAY_SECONDS
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
        return Check("login", False, f"enrolled as {record.email}; not confirmed (see server)",
                     "fix the server check first")
    if probe.store is None:
        return Check("login", False, f"enrolled as {record.email}; not confirmed: no keyring (see keyring)",
                     "fix the keyring check first")
    from aigate import connect

    try:
        probe.me = connect.device_client(server, store=probe.store, ca_bundle=_ca_bundle(probe),
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
    """A key in the keyring for the scope of every tool the policy does not deny, except where the
    gateway holds the vendor key (enforced mode: the approval token is the tool's key)."""
    if probe.store is None:
        return Check("keys", False, "not checked: no keyring (see keyring)", "fix the keyring check first")
    needed: dict[str, list[str]] = {}
    gateway = []
    for name, spec in tools.TOOLS.items():
        access = next((t for t in probe.me.tools if t.tool == name), None) if probe.me else None
        if access is not None and access.key_source == constants.KEY_SOURCE_GATEWAY:
            gateway.append(name)
        elif access is None or access.approval != constants.ApprovalMode.DENY:
            needed.setdefault(access.key_scope if access else spec.default_scope, []).append(name)
    missing = [scope for scope in needed if not probe.store.get(keystore.key_entry(scope))]
    found = ", ".join(f"{scope} ({'/'.join(names)})" for scope, names in needed.items() if scope not in missing)
    held = f"; held by the gateway: {', '.join(gateway)}" if gateway else ""
    if missing:
        return Check("keys", False, f"no key stored for {', '.join(missing)}" + (f"; stored: {found}" if found else "")
                     + held, "; ".join(f"aigate keys set {scope}" for scope in missing)
                     + " (IT: run it as the user, --stdin)")
    return Check("keys", True, (f"stored: {found}" if found else "no key needed on this laptop") + held)
