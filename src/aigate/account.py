"""Login, logout and the status report: this device's relation with its server. No typer, no rich.

Functions take their dependencies (config, key store, client factory) as arguments and return data;
``aigate.cli.account`` prints it.
"""

from __future__ import annotations

import platform
import socket
import time
from collections.abc import Callable
from typing import Any

from aigate import config, constants, enrollment, keystore, paths, protocol, tokencache, tools
from aigate.approval import ServerClient
from aigate.errors import AigateError, ConfigError, UsageError

ClientFactory = Callable[[str], ServerClient]  # server URL -> a client (anonymous or as this device)


def choose_server(cfg: config.Config, requested: str | None) -> str:
    """The server to log in to: the enforced one (a different --server is refused), else the given or
    configured one. ConfigError (78) when there is none or IT set another."""
    if cfg.server.enforced:
        if requested and requested.rstrip("/") != cfg.server.value:
            raise ConfigError(
                f"the aigate server is set by IT to {cfg.server.value} in {cfg.enforced_file}; "
                f"it cannot be changed to {requested}",
                hint=f"aigate login --server {cfg.server.value}",
            )
        return str(cfg.server.value)
    server = (requested or cfg.server.value or "").rstrip("/")
    if not server:
        raise ConfigError("which aigate server? none is configured", hint="aigate login --server https://aigate.example.com")
    if not server.startswith(("https://", "http://")):
        raise UsageError(f"the server must be an http(s) URL, not {server!r}", hint="aigate login --server https://...")
    return server


def login(server: str, code: str, *, store: keystore.KeyStore, anonymous: ClientFactory,
          cfg: config.Config) -> enrollment.EnrollmentRecord:
    """Enroll this device with ``code``; keep the credential in ``store`` and remember the server."""
    client = anonymous(server)
    answer = client.enroll(code.strip().upper(), device_name=socket.gethostname(), platform=platform.platform())
    return remember(server, answer, store=store, cfg=cfg)


def remember(server: str, answer: protocol.Enrollment, *, store: keystore.KeyStore,
             cfg: config.Config) -> enrollment.EnrollmentRecord:
    """Keep a new device credential (enrollment code or SSO) in ``store`` and remember the server."""
    store.set(keystore.device_entry(server), answer.device_credential)
    record = enrollment.EnrollmentRecord(server, answer.issuer,
                                         answer.device_id, answer.user.email)
    enrollment.save(record)
    if not cfg.server.enforced:
        config.save_user_setting("server", server)
    tokencache.drop_all(paths.token_dir())
    return record


def previous_device(server: str, *, store: keystore.KeyStore) -> tuple[str, str] | None:
    """This computer's current ``(credential, device id)`` for ``server`` before a new login, or None."""
    credential = store.get(keystore.device_entry(server))
    if not credential:
        return None
    try:
        record = enrollment.load(server)
    except ConfigError:
        record = None
    return credential, record.device_id if record else "ID"


def retire_previous(server: str, previous: tuple[str, str] | None, new_device_id: str, *,
                    anonymous: ClientFactory) -> str | None:
    """After a new login, best-effort: the server forgets ``previous`` (from :func:`previous_device`),
    so a re-enrolled laptop leaves no second credential working. What to tell the user, or None when
    there was nothing to retire (none, the same device, or one the server no longer accepts)."""
    if previous is None or previous[1] == new_device_id:
        return None
    credential, device_id = previous
    client = anonymous(server)
    client.credential = credential
    try:
        client.logout()
    except ConfigError:
        return None  # the server no longer accepts it: already logged out or revoked
    except AigateError as err:
        return (f"the previous device {device_id} of this computer could not be revoked ({err.message}); "
                f"an admin can: `aigate-server users revoke-device {device_id}`")
    return f"The previous device {device_id} of this computer was revoked on the server."


def logged_in(server: str, *, store: keystore.KeyStore) -> bool:
    """Whether this device has an enrollment record or a credential for ``server`` (either is enough
    for ``logout`` to have something to forget)."""
    return enrollment.load(server) is not None or bool(store.get(keystore.device_entry(server)))


def logout(server: str, *, store: keystore.KeyStore, device: ClientFactory) -> str | None:
    """Forget this device's credential here, and on the server when it can be reached.

    Returns a warning when the server could not be told (the credential is forgotten locally anyway).
    """
    warning = None
    if store.get(keystore.device_entry(server)):
        try:
            device(server).logout()
        except AigateError as err:
            record = enrollment.load(server)
            warning = (f"the server was not told ({err.message}): this device's credential still works there "
                       "until an admin revokes it with `aigate-server users revoke-device "
                       f"{record.device_id if record else 'ID'}` (`aigate-server users devices EMAIL` lists them)")
    store.delete(keystore.device_entry(server))
    enrollment.forget(server)
    tokencache.drop_all(paths.token_dir())
    return warning


def scopes_in_use(me: protocol.Me | None) -> list[str]:
    """The key scopes something here uses: each tool's default scope, and, from the server's answer
    ``me`` (None: not asked), the scope the policy gives each tool for this user."""
    used = {spec.default_scope for spec in tools.TOOLS.values()}
    used.update(t.key_scope for t in (me.tools if me else []))
    return sorted(used)


def status_report(cfg: config.Config, *, store_opener: Callable[[], keystore.KeyStore],
                  device: ClientFactory, repository: str | None) -> dict[str, Any]:
    """Everything ``aigate status`` shows, as JSON-ready data (no secret; keys masked)."""
    server = cfg.server.value
    record = enrollment.load(server) if server else None
    report: dict[str, Any] = {
        "server": server,
        "logged_in": record is not None,
        "user": record.email if record else None,
        "repository": repository,
        "settings": {name: {"value": s.value, "source": s.source} for name, s in
                     (("server", cfg.server), ("ca_bundle", cfg.ca_bundle))} | {
            f"tools.{name}.path": {"value": path, "source": cfg.tool_sources.get(name, "enforced")}
            for name, path in cfg.tool_paths.items()},
        "server_reachable": None,
        "problem": None,
    }
    if server and record is None:
        report["problem"] = enrollment.not_enrolled(server, cfg.server.source).message
    me = None
    store = None
    try:
        store = store_opener()
        report["keyring"] = getattr(store, "description", type(store).__name__)
        if record:
            me = device(server).me()
            report["server_reachable"] = True
            report["user"] = me.user.email
            report["role"] = me.user.role.value
            report["token_ttl_seconds"] = me.token_ttl_seconds
    except AigateError as err:
        report["problem"] = err.message
        report["server_reachable"] = False if record else None
    report["tools"] = [_tool_status(name, me, record, repository) for name in tools.TOOLS]
    report["keys"] = _keys(store)
    return report


def _tool_status(name: str, me: protocol.Me | None, record: enrollment.EnrollmentRecord | None,
                 repository: str | None) -> dict[str, Any]:
    access = next((t for t in me.tools if t.tool == name), None) if me else None
    cached = tokencache.read_valid(paths.token_dir(), record.server, name, repository, now=time.time(),
                                   issuer=record.issuer, sub=record.email) if record else None
    scope = access.key_scope if access else (cached.claims.get("key_scope") if cached else None)
    grant = access.grant if access else None
    return {
        "tool": name,
        "approval": access.approval.value if access else "unknown",
        "key_scope": scope or tools.TOOLS[name].default_scope,
        "key_source": access.key_source if access else (cached.claims.get("key_source") if cached else None)
        or protocol.KEY_SOURCE_LAPTOP,
        "grant_expires_at": protocol.format_timestamp(grant.expires_at) if grant else None,
        "cached_token_expires_at": constants.rfc3339(cached.expires_at) if cached else None,
        # no grant: the latest access request for the tool says why (revoked, denied, pending, ...)
        "latest_request": protocol.to_wire(access.latest_request) if access and access.latest_request else None,
    }


def _keys(store: keystore.KeyStore | None) -> list[dict[str, Any]]:
    return [{"scope": key.scope, "stored": key.masked is not None, "masked": key.masked}
            for key in keystore.stored_keys(store)]
