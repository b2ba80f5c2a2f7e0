"""``aigate-server``: the server's command line and its one error boundary.

``aigate-server COMMAND [--data-dir DIR] [--db URL]`` (options after the command; also
``AIGATE_SERVER_DATA_DIR`` and ``AIGATE_SERVER_DB``). Expected failures are :class:`AigateError`:
:func:`main` prints the message and its hint to stderr and exits with its code (1 failed, 2 usage,
69 unavailable: ``serve`` on a port already in use, 78 configuration, also any file or folder the
command cannot use); click's usage errors exit 2. No traceback reaches the user.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import click
import typer

try:  # typer >= 0.2x carries its own copy of click, with its own exception classes
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions
_EXIT = (click.exceptions.Exit, typer.Exit)
_USAGE = (click.ClickException, _typer_click.ClickException)
_ABORT = (click.exceptions.Abort, typer.Abort)

from aigate.errors import AigateError, ConfigError
from aigate.server import db as dbmod
from aigate.server.policy import DEFAULT_POLICY
from aigate.server.settings import DEFAULT_HOST, DEFAULT_PORT, ENV_DATA_DIR, ENV_DB, Settings, default_db_url

app = typer.Typer(help="The aigate approval server.", no_args_is_help=True, add_completion=True,
                  pretty_exceptions_enable=False)

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", envvar=ENV_DATA_DIR, show_envvar=True,
                                                    help="Where the database, signing keys and policy live.")]
DbOpt = Annotated[str | None, typer.Option("--db", envvar=ENV_DB, show_envvar=True,
                                              help="Database URL (default: SQLite in the data dir).")]


def say(text: str) -> None:
    typer.echo(text, err=True)


@app.command()
def init(data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Create or upgrade the schema, the signing key and policy.toml (idempotent)."""
    from aigate.server.signing import create_key, read_manifest

    settings = Settings.resolve(data_dir, db)
    make_data_dir(settings.data_dir)
    check_sqlite_path(settings.db_url, must_exist=False)
    engine = dbmod.make_engine(settings.db_url, writer=True, pool_size=1)
    try:
        dbmod.upgrade(engine)
    except AigateError:
        raise
    except Exception as err:
        raise ConfigError(f"cannot migrate the database: {dbmod._one_line(err)}",
                          "check --db / AIGATE_SERVER_DB") from err
    finally:
        engine.dispose()
    say(f"database at migration {dbmod.head_revision()}: {_safe_url(settings.db_url)}")
    if read_manifest(settings.data_dir).get("current") is None:
        kid = create_key(settings.data_dir, int(time.time()))
        say(f"created signing key {kid}")
    if not settings.policy_path.exists():
        settings.policy_path.write_text(DEFAULT_POLICY, encoding="utf-8")
        say(f"wrote the default policy to {settings.policy_path} (every tool needs an approver, 8h at most)")
    say(f"ready: aigate-server serve --data-dir {settings.data_dir}")


def _safe_url(url: str) -> str:
    """The database URL with any password masked."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - any unparsable URL is shown masked
        return "<unparsable URL>"


@app.command()
def serve(
    data_dir: DataDirOpt = None, db: DbOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to bind.")] = DEFAULT_PORT,
    policy: Annotated[Path | None, typer.Option(help="Policy file (default: policy.toml in the data dir).")] = None,
    public_url: Annotated[str | None, typer.Option(help="The URL clients use; the tokens' `iss`.")] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="TLS certificate (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (refuses a bad policy or a database whose migrations are behind)."""
    import uvicorn

    from aigate.server.services import open_services

    if (tls_cert is None) != (tls_key is None):
        raise AigateError("--tls-cert and --tls-key go together", exit_code=2)
    scheme = "https" if tls_cert else "http"
    shown = f"[{host}]" if ":" in host else host
    settings = Settings.resolve(data_dir, db, policy, public_url or f"{scheme}://{shown}:{port}")
    check_paths(settings)
    services = open_services(settings)  # every check now, with a clean message, before binding
    rules = services.policy.rules
    services.close()
    if not rules:
        from aigate.server.policy import NO_RULES_WARNING

        say(f"warning: {settings.policy_path}: {NO_RULES_WARNING}")
    if tls_cert is None and not _loopback(host):
        say(f"warning: serving on {host} without TLS: enrollment codes, device credentials and approval "
            "tokens cross the network in clear text; use --tls-cert/--tls-key or a TLS proxy")
    check_port_free(host, port)
    os.environ.update(settings.export())
    say(f"aigate-server {settings.public_url} (data dir {settings.data_dir}, policy {settings.policy_path})")
    uvicorn.run("aigate.server.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                loop="uvloop", http="httptools", access_log=False, log_level="warning",
                ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None)


def check_port_free(host: str, port: int) -> None:
    """Bind ``host:port`` once (as uvicorn will, with SO_REUSEADDR) before the banner is printed:
    AigateError 69 (unavailable) when the port is in use, 78 when the address cannot be bound."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise ConfigError(f"cannot resolve --host {host}: {err.strerror or err}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise AigateError(f"port {port} on {host} is in use",
                                  "stop what listens there, or choose another --port", exit_code=69) from None
            raise ConfigError(f"cannot listen on {host} port {port}: {err.strerror or err}",
                              "check --host and --port") from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _data_dir_error(folder: Path, what: str) -> ConfigError:
    return ConfigError(f"data dir {folder} {what}",
                       "name a directory with --data-dir (or AIGATE_SERVER_DATA_DIR); "
                       "`aigate-server init --data-dir DIR` creates one")


def make_data_dir(folder: Path) -> None:
    """Create the data dir (``init``), or ConfigError (78) saying why it cannot be."""
    if folder.exists() and not folder.is_dir():
        raise _data_dir_error(folder, "is a file, not a directory")
    try:
        dbmod.ensure_data_dir(folder)
    except OSError as err:
        raise _data_dir_error(folder, f"cannot be created: {err.strerror or err}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _data_dir_error(folder, "is not writable")


def check_paths(settings: Settings) -> None:
    """Before a command other than ``init``: the data dir is a directory and a SQLite database file
    exists (so no command but ``init`` creates an empty one); else ConfigError (78)."""
    folder = settings.data_dir
    if folder.exists() and not folder.is_dir():
        raise _data_dir_error(folder, "is a file, not a directory")
    if not folder.exists() and settings.db_url == default_db_url(folder):
        raise _data_dir_error(folder, "does not exist")
    check_sqlite_path(settings.db_url, must_exist=True)


def check_sqlite_path(url: str, *, must_exist: bool) -> None:
    """A SQLite URL's file: not a directory, in an existing directory, and (``must_exist``) present."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - an unparsable URL is reported when the engine is made
        return
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    hint = "run `aigate-server init` with the same --data-dir/--db, or name another with --db"
    if path.is_dir():
        raise ConfigError(f"the SQLite database {path} is a directory", hint)
    if not path.parent.is_dir():
        raise ConfigError(f"the folder of the SQLite database {path} does not exist or is not a directory", hint)
    if must_exist and not path.exists():
        raise ConfigError(f"there is no database at {path}", hint)


def open_engine(data_dir: Path | None, db: str | None):
    """The settings and a writer engine on a database whose migrations are current."""
    settings = Settings.resolve(data_dir, db)
    check_paths(settings)
    engine = dbmod.make_engine(settings.db_url, writer=True, pool_size=1)
    dbmod.check_current(engine)
    return settings, engine


def cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container): still an actor
        return "cli"


def _register_subcommands() -> None:
    from aigate.server import cli_admin

    app.add_typer(cli_admin.users_app, name="users")
    app.add_typer(cli_admin.policy_app, name="policy")
    app.add_typer(cli_admin.key_app, name="signing-key")
    app.add_typer(cli_admin.audit_app, name="audit")


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``aigate-server``: run the command, map failures to a message and exit code."""
    _register_subcommands()
    try:
        result = app(args=argv, prog_name="aigate-server", standalone_mode=False)
    except _EXIT as done:
        sys.exit(done.exit_code)
    except _USAGE as err:
        err.show()
        sys.exit(err.exit_code)
    except _ABORT:
        say("aborted")
        sys.exit(1)
    except AigateError as err:
        say(f"error: {err.message}")
        if err.hint:
            say(f"hint: {err.hint}")
        sys.exit(err.exit_code)
    except OSError as err:  # a file or folder the command needed: a configuration problem, never a traceback
        where = f": {err.filename}" if err.filename else ""
        say(f"error: {err.strerror or err}{where}")
        say("hint: check --data-dir / --db and that this account may write there")
        sys.exit(78)
    sys.exit(result if isinstance(result, int) else 0)
