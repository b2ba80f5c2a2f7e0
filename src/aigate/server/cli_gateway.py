"""``aigate-server keys|gateway|usage ...``: enforced mode's commands (see :mod:`.cli`, README
"Enforced mode"). Vendor keys are read from a hidden prompt or stdin, never from argv, and never printed
(a masked tail at most); a gateway's credential is printed once, as the last line of ``gateway add``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from aigate.constants import rfc3339
from aigate.errors import AigateError, ConfigError, UsageError
from aigate.server import gateways, nginx_config, usage, vendor_keys
from aigate.server.cli_options import DataDirOpt, DbOpt, cli_actor, say
from aigate.server.preflight import open_engine
from aigate.server.settings import Settings
from aigate.server.writer import write_now

keys_app = typer.Typer(help="Vendor API keys held by the server (enforced mode), encrypted at rest.",
                       no_args_is_help=True)
gateway_app = typer.Typer(help="Gateways that hold no vendor key and ask this server for every model call.",
                          no_args_is_help=True)


def _scope(scope: str) -> str:
    from aigate.server.policy import scope_problem

    why = scope_problem(scope)
    if why:
        raise UsageError(why.replace("key_scope", "scope"))
    return scope

JsonOpt = Annotated[bool, typer.Option("--json", help="Print them as one JSON array on stdout.")]



def _read_key(from_stdin: bool, scope: str) -> str:
    if from_stdin:
        value = sys.stdin.readline()
    elif sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"vendor API key for {scope} (hidden): ")
    else:
        raise UsageError("no terminal to ask for the key", "pipe it in with --stdin")
    return vendor_keys.check_key(value)


@keys_app.command("set")
def keys_set(scope: str, stdin: Annotated[bool, typer.Option("--stdin", help="Read the key from stdin.")] = False,
             data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Store (or replace) the vendor key of SCOPE, encrypted; the value is never printed."""
    scope = _scope(scope)
    key = _read_key(stdin, scope)
    settings, engine = open_engine(data_dir, db)
    kek = vendor_keys.load_kek(settings.data_dir, create=True)
    replaced = write_now(engine, vendor_keys.set_key_job(scope, key, kek, cli_actor()))
    typer.echo(f"{'replaced' if replaced else 'stored'} the vendor key for {scope} ({vendor_keys.masked(key)}); "
               "gateways use it within seconds")


@keys_app.command("list")
def keys_list(data_dir: DataDirOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The scopes with a vendor key, masked (last 4 characters), and when each was set."""
    settings, engine = open_engine(data_dir, db)
    kek = vendor_keys.load_kek(settings.data_dir) if vendor_keys.kek_path(settings.data_dir).exists() else None
    with engine.connect() as conn:
        rows = vendor_keys.list_keys(conn, kek)
    _print(rows, "no vendor keys; store one with `aigate-server keys set SCOPE`",
           lambda row: f"{row['scope']}\t{row['key']}\tset {rfc3339(row['updated_at'])}", as_json)


def _print(rows: list[dict[str, Any]], empty: str, line: Callable[[dict[str, Any]], str], as_json: bool) -> None:
    """One tab-separated line per row on stdout, or ``empty`` (what to do) on stderr; with ``as_json``,
    the rows as one JSON array (``[]`` for none)."""
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        say(empty)
    for row in rows:
        typer.echo(line(row))


@keys_app.command("delete")
def keys_delete(scope: str, data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Delete the vendor key of SCOPE: its gateway routes refuse every call within seconds."""
    _, engine = open_engine(data_dir, db)
    try:
        write_now(engine, vendor_keys.delete_key_job(_scope(scope), cli_actor()))
    except LookupError:
        raise AigateError(f"no vendor key for {scope}", "list them with `aigate-server keys list`") from None
    typer.echo(f"deleted the vendor key for {scope}")


@gateway_app.command("add")
def gateway_add(name: str, data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Register a gateway; its credential is the last line (shown once: keep it in a 0600 file)."""
    _, engine = open_engine(data_dir, db)
    try:
        gateway_id, credential = write_now(engine, gateways.add_job(gateways.check_name(name), cli_actor()))
    except ValueError:
        raise AigateError(f"a gateway named {name} exists already",
                          f"remove it first (`aigate-server gateway remove {name}`) or choose another name") from None
    typer.echo(f"gateway {name} ({gateway_id})")
    typer.echo("credential (shown once; put it in a file only root reads, for `gateway nginx-config "
               "--credential-file`):")
    typer.echo(credential)


@gateway_app.command("list")
def gateway_list(data_dir: DataDirOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The registered gateways: name, id, when added."""
    _, engine = open_engine(data_dir, db)
    with engine.connect() as conn:
        rows = gateways.list_gateways(conn)
    _print(rows, "no gateways; register one with `aigate-server gateway add NAME`",
           lambda row: f"{row['name']}\t{row['id']}\tadded {rfc3339(row['created_at'])}", as_json)


@gateway_app.command("remove")
def gateway_remove(name: str, data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Remove a gateway: its credential stops working within seconds."""
    _, engine = open_engine(data_dir, db)
    try:
        write_now(engine, gateways.remove_job(name, cli_actor()))
    except LookupError:
        raise AigateError(f"no gateway {name}", "list them with `aigate-server gateway list`") from None
    typer.echo(f"removed gateway {name}")


@gateway_app.command("nginx-config")
def gateway_nginx_config(
    listen: Annotated[str, typer.Option(help="HOST:PORT the gateway listens on.")],
    route: Annotated[list[str], typer.Option(help="SCOPE=UPSTREAM: /SCOPE/... goes to UPSTREAM/... (repeat).")],
    credential_file: Annotated[Path, typer.Option(help="File holding the credential `gateway add` printed.")],
    server_url: Annotated[str | None, typer.Option(help="This server's URL as the gateway reaches it "
                                                   "(default: the public URL).")] = None,
    full: Annotated[bool, typer.Option("--full", help="A standalone nginx.conf (with --prefix).")] = False,
    prefix: Annotated[Path | None, typer.Option(help="With --full: the folder every path is under.")] = None,
    upstream_ca: Annotated[str, typer.Option(help="CA bundle that verifies the vendors' certificates.")]
        = nginx_config.SYSTEM_CA,
    server_ca: Annotated[str, typer.Option(help="CA bundle that verifies this server (https).")]
        = nginx_config.SYSTEM_CA,
    tls_cert: Annotated[str | None, typer.Option(help="The gateway's own TLS certificate (PEM).")] = None,
    tls_key: Annotated[str | None, typer.Option(help="The gateway's own TLS key (PEM).")] = None,
    policy: Annotated[Path | None, typer.Option(help="Policy file (default: policy.toml in the data dir).")] = None,
    data_dir: DataDirOpt = None, db: DbOpt = None,
) -> None:
    """Print the nginx configuration of a gateway (a server {} block, or with --full a whole nginx.conf)."""
    if full != (prefix is not None):
        raise UsageError("--full and --prefix DIR go together")
    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    listen = nginx_config.parse_listen(listen)
    settings = Settings.resolve(data_dir, db, policy)
    routes = _routes(route, settings)
    server = nginx_config.parse_url(server_url or settings.public_url, "--server-url")
    credential = _read_credential(credential_file)
    prefix = prefix.absolute() if prefix else None
    include = _write_include(credential, prefix / "gateway-credential.conf" if prefix
                             else Path(f"{credential_file.absolute()}.nginx"))
    for item in routes:
        if item.upstream.scheme != "https":
            say(f"warning: route {item.scope} goes to {item.upstream.scheme}://{item.upstream.server} without TLS: "
                "the vendor key crosses that network in clear text")
    if tls_cert is None and not nginx_config.is_loopback(listen):
        say(f"warning: the gateway listens on {listen} without TLS: approval tokens cross the network in clear "
            "text; use --tls-cert/--tls-key")
    typer.echo(nginx_config.render(routes, listen=listen, server=server, credential_include=str(include),
                                   upstream_ca=upstream_ca, server_ca=server_ca, tls_cert=tls_cert, tls_key=tls_key,
                                   prefix=prefix), nl=False)


def _routes(specs: list[str], settings: Settings) -> list[nginx_config.Route]:
    from aigate.constants import VENDOR_KEY_STYLE
    from aigate.server.services import read_policy

    used = read_policy(settings).gateway_scopes()
    routes, seen = [], set()
    for spec in specs:
        scope, sep, url = spec.partition("=")
        if not sep:
            raise UsageError(f"--route {spec!r} is not SCOPE=UPSTREAM", "e.g. --route anthropic=https://api.anthropic.com")
        scope = _scope(scope.strip())
        if scope in seen:
            raise UsageError(f"--route {scope} is given twice")
        seen.add(scope)
        tools = used.get(scope)
        if not tools:
            raise ConfigError(f"no tool with key_source = \"gateway\" uses the scope {scope!r} in "
                              f"{settings.policy_path}",
                              "set key_source and base_url for the tool in the policy first")
        headers = {VENDOR_KEY_STYLE.get(t, ("x-api-key", ""))[0] for t in tools}
        if len(headers) > 1:
            raise ConfigError(f"the scope {scope!r} is used by {', '.join(sorted(tools))}, whose vendors take the key "
                              "in different headers", "give each tool its own key scope in the policy")
        routes.append(nginx_config.Route(scope, nginx_config.parse_url(url, f"--route {scope}"), headers.pop()))
    return routes


def _read_credential(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the credential file {path}: {getattr(err, 'strerror', None) or err}") from None
    if len(lines) != 1 or gateways.gateway_id_of(lines[0]) is None:
        raise ConfigError(f"{path} does not hold a gateway credential",
                          "put the last line `aigate-server gateway add NAME` printed in it, alone")
    return lines[0]


def _write_include(credential: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(nginx_config.credential_directive(credential))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    say(f"wrote {path} (mode 0600): the gateway's credential as an nginx directive, included by this configuration")
    return path


def usage_command(
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (UTC).")] = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None, db: DbOpt = None,
) -> None:
    """Authorized model calls through gateways, per day, user, tool and scope."""
    if since is not None:
        try:
            since = date.fromisoformat(since).isoformat()
        except ValueError:
            raise UsageError(f"--since {since!r} is not a date", "write it as YYYY-MM-DD") from None
    _, engine = open_engine(data_dir, db)
    with engine.connect() as conn:
        rows = usage.report(conn, since)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['day']}\t{row['user']}\t{row['tool']}\t{row['scope']}\t"
                   f"{row['calls']}")
    if not rows:
        say("no authorized calls through a gateway" + (f" since {since}" if since else ""))
