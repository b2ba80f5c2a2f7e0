"""``aigate run`` and ``aigate key-helper``: the gate itself. No typer, no rich.

``run_tool`` does the checks cheapest first (docs/architecture.md, "Exit codes"): tool registry (2), binary on
PATH (127/126), settings and login (78), approval token, cached or fetched (69/77/78), a key stored
for the token's scope (78), then builds the child's argv and environment (:mod:`aigate.inject`,
:mod:`aigate.launch`) and runs it, spooling the session's start and end (:mod:`aigate.spool`).

The warm path (valid cached token) touches no HTTP client, JWT library or keyring: the scope check
reads the names-only index. The tool's key callback (``key_helper``) re-checks the approval the same
way, then takes the key from the session's key server (:mod:`aigate.keyserve`) or, without one, from
the keyring. Dependencies arrive in :class:`Deps`, whose defaults are the real ones; tests pass fakes.
"""

from __future__ import annotations

import os
import sys
import time
from collections import namedtuple

from aigate import (
    config,
    constants,
    enforced,
    enrollment,
    inject,
    keyserve,
    keystore,
    launch,
    locate,
    log,
    paths,
    spool,
    tokencache,
    tools,
)
from aigate.errors import (
    AigateError,
    ConfigError,
    ExitCode,
    NotApproved,
    ServerUnreachable,
    ToolNotExecutable,
    ToolNotFound,
)
from aigate.tokencache import CachedToken

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    from typing import Any


def _fetch(server: str, tool: str, repository: str | None, record: enrollment.EnrollmentRecord,
           ca_bundle: str | None) -> CachedToken:
    from aigate import connect, tokens

    client = connect.device_client(server, store=keystore.open_keystore(), ca_bundle=ca_bundle)
    try:
        with client.http:
            return tokens.fetch_token(client, tool=tool, repository=repository, issuer=record.issuer,
                                      now=time.time(), sub=record.email)
    except AigateError as err:
        if err.exit_code != ExitCode.FAILED:
            raise
        # 1 is a tool's generic failure: an answer of the server aigate cannot use is "unusable" (69)
        raise ServerUnreachable(err.message, hint=err.hint) from err


def _detect_repository(folder: str | None = None) -> str | None:
    from aigate.repository import detect_repository

    return detect_repository(folder)


def _open_store() -> keystore.KeyStore:
    return keystore.open_keystore()


ENV_RUNNING = "AIGATE_RUNNING_TOOL"  # set in the tool's environment: the tool aigate started


class Deps:
    """Everything the gate touches outside itself; defaults are the real things, keywords override.

    ``fetch(server, tool, repository, enrollment record, ca_bundle)`` returns a verified, cached token or raises
    AigateError kinds; ``run_child(argv, env, on_started)`` returns the exit status. A plain class, not
    a dataclass: the warm path does not import dataclasses (and inspect with it).
    """

    def __init__(self, **overrides: Any) -> None:
        self.env = dict(os.environ)
        self.flag_server: str | None = None
        self.clock = time.time
        self.load_config = config.load_config
        self.detect_repository = _detect_repository
        self.fetch = _fetch
        self.open_store = _open_store
        self.run_child = launch.run_child
        self.start_flusher = spool.start_flusher
        self.token_dir = paths.token_dir()
        self.spool_dir = paths.spool_dir()
        self.key_index = paths.key_index_file()
        self.enrollments = paths.enrollment_file()
        # the running entry, and the console script beside this Python (when run as `python -m aigate`)
        self.own_entry = [p for p in (sys.argv[0] if sys.argv else "", os.path.join(
            os.path.dirname(sys.executable), "aigate")) if p]
        self.python = sys.executable
        self.out = print
        self.serve_keys = keyserve.SUPPORTED  # hand the key to the tool's callbacks from this process
        for name, value in overrides.items():
            if not hasattr(self, name):
                raise TypeError(f"Deps has no {name!r}")
            setattr(self, name, value)


def approved_token(tool: str, server: str, repository: str | None, cfg: config.Config, deps: Deps) -> CachedToken:
    """A valid token: the cached one if it checks out (tokencache: signature, user, tool, repository,
    scope, strictly before ``exp``), else a fresh one from the server."""
    record = enrollment.require(server, deps.enrollments, source=cfg.server.source)
    cached = tokencache.read_valid(deps.token_dir, server, tool, repository, now=deps.clock(), issuer=record.issuer,
                                   sub=record.email)
    if cached:
        log.debug(f"using the cached approval token for {tool} (expires {cached.expires_at})")
        return cached
    log.debug(f"asking {server} for an approval token for {tool} in {repository or 'no repository'}")
    return deps.fetch(server, tool, repository, record, cfg.ca_bundle.value)


def live_token(tool: str, server: str, repository: str | None, cfg: config.Config, deps: Deps) -> CachedToken:
    """A fresh token from the server, so that a revoked grant, a disabled user or a logged-out device
    is refused at the tool's next key callback; the cached token, while still valid, only when the
    server cannot be reached (69). A refusal drops the cached token, so no later run or callback uses it."""
    record = enrollment.require(server, deps.enrollments, source=cfg.server.source)
    try:
        return deps.fetch(server, tool, repository, record, cfg.ca_bundle.value)
    except ServerUnreachable as err:
        cached = tokencache.read_valid(deps.token_dir, server, tool, repository, now=deps.clock(),
                                       issuer=record.issuer, sub=record.email)
        if cached is None:
            raise
        log.debug(f"{err.message}; using the cached approval token (expires {cached.expires_at})")
        return cached
    except AigateError:
        tokencache.drop(deps.token_dir, server, tool, repository)
        raise


def resolve_binary(spec: tools.ToolSpec, cfg: config.Config | None, deps: Deps) -> list[str]:
    """The tool's argv prefix: the IT-enforced path when set, else PATH. 127/126 when unusable."""
    enforced = cfg.tool_paths.get(spec.name) if cfg else None
    if cfg and enforced:
        where = f"set by IT for {spec.name} in {cfg.enforced_file}"
        if not os.path.isfile(enforced):
            raise ToolNotFound(f"{enforced} ({where}) does not exist",
                               hint=f"ask IT to install {spec.name} there or to fix [tools.{spec.name}] path")
        if not os.access(enforced, os.X_OK):
            raise ToolNotExecutable(f"{enforced} ({where}) is not executable",
                                    hint=f"ask IT to fix the installation of {spec.name}")
        folder, name = os.path.split(enforced)
        return locate.find_binary(name, path_env=folder)
    return locate.find_binary(spec.binary, path_env=deps.env.get("PATH", os.defpath), own_entry=deps.own_entry)


def run_tool(tool_name: str, args: list[str], *, dry_run: bool = False, deps: Deps | None = None) -> int:
    """Run the gated tool with ``args`` (the user's, unchanged); its exit status. Raises AigateError."""
    deps = deps or Deps()
    spec = tools.get_tool(tool_name)
    try:
        loaded: config.Config | AigateError = deps.load_config(flag_server=deps.flag_server, env=deps.env)
    except AigateError as err:  # reported after the cheaper binary check
        loaded = err
    binary = resolve_binary(spec, None if isinstance(loaded, AigateError) else loaded, deps)
    if deps.env.get(ENV_RUNNING) == spec.name:
        raise ToolNotExecutable(
            f"the {spec.binary} found at {binary[0]} starts `aigate run {spec.name}` again (a loop)",
            hint=f"put the real {spec.binary} first on PATH, or name it in aigate.toml ([tools.{spec.name}] path)",
        )
    if isinstance(loaded, AigateError):
        raise loaded
    cfg = loaded
    server = cfg.require_server()
    inject.check_user_args(spec.name, args)  # the user's own options that clash with aigate's: 2, before 77
    repository, others = _repositories(spec, args, deps)
    token = approved_token(spec.name, server, repository, cfg, deps)
    for other in others:  # every other repository the tool is told to work in must be approved too (77)
        approved_token(spec.name, server, other, cfg, deps)
    scope = str(token.claims["key_scope"])
    gateway = enforced.held_by_gateway(token)
    if not gateway:  # enforced mode: the gateway holds the key, the keyring holds none
        keystore.check_recorded_backend(env=deps.env, state=deps.key_index.parent)
        if scope not in keystore.stored_scopes(deps.key_index):
            raise ConfigError(f"no API key is stored for the scope {scope!r}", hint=f"aigate keys set {scope}")
    child = build_command(spec, binary, args, token, server, repository, deps)
    if dry_run:
        serve = deps.serve_keys and not gateway
        names = [*child.names_set, keyserve.ENV_SOCKET] if serve else child.names_set
        described = launch.describe(child.argv, names, child.names_removed)
        deps.out(described + ("\n" + enforced.describe(token) if gateway else ""))
        return 0
    return _run_session(spec.name, child.argv, child.env, token, server, repository, deps)


def _repositories(spec: tools.ToolSpec, args: list[str], deps: Deps) -> tuple[str | None, list[str]]:
    """The repository the tool works in (its own working-directory option, e.g. Codex's ``-C``, else the
    current directory) and the other repositories it is told to work in (``--add-dir``), deduplicated;
    each checked against the policy by the server. Folders that do not exist give the tool nothing."""
    work, extra = inject.work_directories(spec.name, args)
    repository = deps.detect_repository(work) if work else deps.detect_repository()
    others: list[str] = []
    for folder in extra:
        if os.path.isdir(folder):
            found = deps.detect_repository(folder)
            if found and found != repository and found not in others:
                others.append(found)
    return repository, others


ChildCommand = namedtuple("ChildCommand", "argv env names_set names_removed")
"""What the tool is started with: ``argv`` (list of str), ``env`` (the whole environment, dict), and,
for ``--dry-run`` and debug lines, the sorted names aigate set and the names it removed. Never a key."""


def build_command(spec: tools.ToolSpec, binary: list[str], args: list[str], token: CachedToken, server: str,
                  repository: str | None, deps: Deps) -> ChildCommand:
    """The child's :class:`ChildCommand`: the tool's callback options (:mod:`aigate.inject`) before the
    user's ``args``, the policy's ``env`` (never a competing credential), every competing credential
    removed. Raises UsageError (2) when the user's own options clash with aigate's."""
    claims = token.claims
    helper = inject.helper_command(spec.name, server, repository, deps.python)
    base_url = claims.get("base_url") or None
    ttl = enforced.refresh_seconds(token) if enforced.held_by_gateway(token) else token.lifetime_seconds
    policy_env = {}
    for name, value in (claims.get("env") or {}).items():
        if name in constants.COMPETING_CREDENTIALS:
            log.warn(f"ignoring the policy's {name}: aigate never passes a competing credential")
            continue
        policy_env[name] = str(value)
    if spec.name == "claude":
        injection = inject.for_claude(args, helper=helper, ttl_seconds=ttl, base_url=base_url, env=policy_env,
                                      blank=constants.COMPETING_CREDENTIALS)
    else:
        injection = inject.for_codex(args, helper=helper, ttl_seconds=ttl, base_url=base_url, env=deps.env)
    set_vars = {**injection.set_env, **policy_env}
    set_vars[ENV_RUNNING] = spec.name  # a wrapper on PATH that runs aigate again is caught, not looped
    env, removed = launch.child_env(deps.env, scrub=constants.COMPETING_CREDENTIALS, set_vars=set_vars)
    log.debug(f"child environment: set {sorted(set_vars)}, removed {removed}")
    return ChildCommand(binary + injection.argv_tail, env, sorted(set_vars), removed)


START_FLUSH_DELAY_SECONDS = 2.0  # a session still running then has its start sent at once


def _run_session(tool: str, argv: list[str], env: dict[str, str], token: CachedToken, server: str,
                 repository: str | None, deps: Deps) -> int:
    """Run the child with the session recorded: the start spooled at launch and sent by a flusher
    once the tool has run START_FLUSH_DELAY_SECONDS (a shorter run sends start and end together,
    saving a process), the end spooled and sent at exit. Neither waits on the network."""
    import threading

    session_id = os.urandom(16).hex()
    started = deps.clock()
    base = {"session_id": session_id, "tool": tool, "host": _hostname()[:255],
            "repository": repository, "token_id": token.claims.get("jti")}
    scope = str(token.claims["key_scope"])
    serve = deps.serve_keys and not enforced.held_by_gateway(token)
    key_server = keyserve.KeyServer(scope, deps.open_store, keystore.key_entry(scope)) if serve else None
    if key_server:
        env = {**env, keyserve.ENV_SOCKET: key_server.address}
    start_flush = threading.Timer(START_FLUSH_DELAY_SECONDS, deps.start_flusher, [deps.spool_dir])
    start_flush.daemon = True

    def on_started(_pid: int) -> None:
        if key_server:
            key_server.start()
        spool.record(deps.spool_dir, server, {**base, "kind": "start", "at": constants.rfc3339(started)})
        start_flush.start()

    try:
        status = deps.run_child(argv, env, on_started)
    finally:
        start_flush.cancel()
        if key_server:
            key_server.close()
    ended = deps.clock()
    spool.record(deps.spool_dir, server, {**base, "kind": "end", "at": constants.rfc3339(ended), "exit_status": status,
                                          "duration_ms": max(0, int((ended - started) * 1000))})
    deps.start_flusher(deps.spool_dir)
    return status


def _hostname() -> str:
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def key_helper(tool_name: str, server: str, repository: str | None, *, deps: Deps | None = None) -> str:
    """The key for the approved scope, after re-checking the approval with the server (:func:`live_token`);
    in enforced mode the approval token itself, cached (the gateway checks the grant on every model call)
    and renewed when it would expire before the next call.

    Called by the tool (Claude's apiKeyHelper, Codex's provider auth command); the caller prints the
    key on stdout and nothing else. Refusals raise AigateError, so the tool gets a non-zero exit.
    """
    deps = deps or Deps()
    spec = tools.get_tool(tool_name)
    cfg = deps.load_config(flag_server=server, env=deps.env)
    if cfg.server.enforced and cfg.server.value != server:
        raise NotApproved(f"the enforced aigate server is {cfg.server.value}, not {server}")
    record = enrollment.require(server, deps.enrollments)
    cached = tokencache.read_valid(deps.token_dir, server, spec.name, repository, now=deps.clock(),
                                   issuer=record.issuer, sub=record.email)
    if cached and enforced.held_by_gateway(cached):  # the gateway checks the grant live on every call (5 s)
        token = cached
    else:
        token = live_token(spec.name, server, repository, cfg, deps)
    if enforced.held_by_gateway(token):  # the approval token is the tool's only credential
        if enforced.needs_renewal(token, deps.clock()):
            record = enrollment.require(server, deps.enrollments)
            token = deps.fetch(server, spec.name, repository, record, cfg.ca_bundle.value)
        return token.token
    scope = str(token.claims["key_scope"])
    key = _key_from_session(deps.env.get(keyserve.ENV_SOCKET), scope)
    if key is None:
        key = deps.open_store().get(keystore.key_entry(scope))
    if not key:
        raise ConfigError(f"no API key is stored for the scope {scope!r}", hint=f"aigate keys set {scope}")
    return key


def _key_from_session(address: str | None, scope: str) -> str | None:
    """The key from the ``aigate run`` that started this tool (see keyserve), or None to read the
    keyring here (no such session, another scope, or the session is gone)."""
    if not address:
        return None
    try:
        reply = keyserve.ask(address, scope)
    except OSError as err:
        log.debug(f"no key server at {address}: {err}; reading the keyring")
        return None
    if reply.code == keyserve.OK:
        return str(reply.text)
    if reply.code == keyserve.NO_KEY:
        raise ConfigError(reply.text, hint=f"aigate keys set {scope}")
    log.debug(f"key server: {reply.text}; reading the keyring")
    return None
