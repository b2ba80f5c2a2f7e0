"""Checks ``aigate-server`` makes before a command touches anything: the data dir, the SQLite file, the
port to listen on. Each failure is an AigateError naming the fix (78 configuration, 69 port in use).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from sqlalchemy import Engine

from aigate.errors import AigateError, ConfigError
from aigate.server import db as dbmod
from aigate.server.settings import Settings, default_db_url


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


def open_engine(data_dir: Path | None, db: str | None) -> tuple[Settings, Engine]:
    """The settings and a writer engine on a database whose migrations are current."""
    settings = Settings.resolve(data_dir, db)
    check_paths(settings)
    engine = dbmod.make_engine(settings.db_url, writer=True, pool_size=1)
    dbmod.check_current(engine)
    return settings, engine


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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_url(url: str) -> str:
    """The database URL with any password masked."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - any unparsable URL is shown masked
        return "<unparsable URL>"


