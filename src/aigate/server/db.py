"""Engines, schema migrations and the thread that keeps database work off the event loop.

SQLite (the embedded default) runs in WAL mode with a busy timeout and foreign keys on; every write
transaction starts with ``BEGIN IMMEDIATE``, so two writers never interleave and then fail at
commit. PostgreSQL is used through psycopg 3 (``postgresql+psycopg://...``). Reads run on a small
thread pool (:meth:`Database.read`); writes go through :mod:`aigate.server.writer`.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from aigate.errors import ConfigError

T = TypeVar("T")
READ_THREADS = 4


def make_engine(url: str, *, writer: bool = False, pool_size: int = READ_THREADS) -> Engine:
    """An engine for ``url``; ``writer`` engines on SQLite begin with ``BEGIN IMMEDIATE``.

    Raises ConfigError for a URL SQLAlchemy cannot use (unknown dialect, missing driver).
    """
    try:
        if url.startswith("sqlite"):
            engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=pool_size, max_overflow=4,
            )
            _configure_sqlite(engine, "BEGIN IMMEDIATE" if writer else "BEGIN")
            return engine
        # The writer keeps its connection busy; a ping before each batch would be one more round trip.
        return create_engine(url, pool_size=pool_size, max_overflow=4, pool_pre_ping=not writer)
    except Exception as err:  # sqlalchemy.exc.ArgumentError, NoSuchModuleError, ImportError
        raise ConfigError(f"cannot use database URL: {err}", "check --db / AIGATE_SERVER_DB") from err


def _configure_sqlite(engine: Engine, begin: str) -> None:
    """WAL, busy timeout, foreign keys; explicit BEGIN (the sqlite3 module's own is unreliable).

    Recipe from SQLAlchemy's SQLite dialect docs, "Serializable isolation / Savepoints".
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("aigate.server") / "migrations"))
    return config


@functools.lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest migration this code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from alembic import command

    config = _alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


# SQLite's words for a damaged file (SQLITE_NOTADB, SQLITE_CORRUPT): a backup is the fix, not init
CORRUPT = ("file is not a database", "database disk image is malformed")


def check_current(engine: Engine) -> None:
    """Raise ConfigError naming the fix when the database's migrations are behind this code."""
    try:
        current = current_revision(engine)
    except Exception as err:
        if any(text in str(err) for text in CORRUPT):
            raise ConfigError(f"the database {engine.url.render_as_string(hide_password=True)} is corrupt: "
                              f"{_one_line(err)}", "restore it from your backup (`aigate-server init` does not "
                              "repair a damaged database); keep the damaged file for a post-mortem") from err
        raise ConfigError(f"cannot open the database: {_one_line(err)}",
                          "check --db / AIGATE_SERVER_DB, or run `aigate-server init`") from err
    if current != head_revision():
        where = "empty" if current is None else f"at migration {current}"
        raise ConfigError(
            f"the database is {where}, this server needs migration {head_revision()}",
            "run `aigate-server init` (with the same --data-dir/--db) to migrate it",
        )


def _one_line(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


class Prepared:
    """A Core statement compiled once per dialect and run on the DBAPI connection itself.

    SQLAlchemy's per-execution bookkeeping costs about 80 us, several times the query; the few
    statements on the token issuance path (benchmarks/server_tokens.py) skip it. ``conn`` is a SQLAlchemy
    Connection (the statement joins its transaction) or a :class:`RawReader`.
    """

    def __init__(self, statement: Any):
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def first(self, conn: Any, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of the statement with ``params`` (a DBAPI tuple, in the select's column
        order), or None. ``conn``: a SQLAlchemy Connection or a :class:`RawReader`."""
        dbapi: Any = conn.connection.dbapi_connection if isinstance(conn, Connection) else conn.dbapi
        dialect = conn.dialect
        sql, order, defaults = self._compiled.get(dialect.name) or self._compile(dialect)
        values = {**defaults, **params}
        cursor = dbapi.cursor()
        try:
            cursor.execute(sql, tuple(values[k] for k in order) if order is not None else values)
            row: tuple[Any, ...] | None = cursor.fetchone()
            return row
        finally:
            cursor.close()

    def _compile(self, dialect: Any) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        compiled = self.statement.compile(dialect=dialect)
        order = tuple(compiled.positiontup) if compiled.positional else None
        entry = (str(compiled), order, dict(compiled.params))
        self._compiled[dialect.name] = entry
        return entry


class RawReader:
    """A pooled DBAPI connection in autocommit mode, kept by one read thread for its lifetime."""

    def __init__(self, engine: Engine):
        self._pooled = engine.raw_connection()
        dbapi: Any = self._pooled.dbapi_connection
        if engine.dialect.name == "postgresql":
            dbapi.autocommit = True
        self.dbapi = dbapi
        self.dialect = engine.dialect

    def discard(self) -> None:
        """Drop the connection as broken (the pool would otherwise try to reset it, and log a
        traceback when that fails on a dead connection)."""
        try:
            self._pooled.invalidate()
        except Exception:  # noqa: BLE001 - it is broken already; nothing more to do
            pass


class Database:
    """A read engine with its own thread pool, so ``await db.read(fn, ...)`` never blocks the loop.

    ``read``: ``fn(conn, *args)`` runs in a transaction (rolled back) on a pool thread.
    ``read_fast``: ``fn(reader, *args)`` gets the thread's :class:`RawReader`, for :class:`Prepared`
    statements only; each statement sees its own snapshot.
    """

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._pool = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="aigate-db-read")
        self._local = threading.local()

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on a pool thread in a transaction that is rolled back; its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run_read, fn, args)

    async def read_fast(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(reader, *args)`` on a pool thread with that thread's :class:`RawReader` (Prepared statements
        only); a broken connection raises OperationalError and is replaced next time."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run_fast, fn, args)

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.engine.connect() as conn:
            result = fn(conn, *args)
            conn.rollback()
            return result

    def _run_fast(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = RawReader(self.engine)
        try:
            return fn(reader, *args)
        except self._dbapi_errors() as err:  # a broken connection: drop it, the next call reconnects
            self._local.reader = None
            reader.discard()
            raise OperationalError("read", {}, err) from err

    def _dbapi_errors(self) -> tuple[type[BaseException], ...]:
        module: Any = self.engine.dialect.dbapi
        return (module.OperationalError, module.InterfaceError)

    def ping(self) -> bool:
        """True when the database answers and its schema is current."""
        try:
            check_current(self.engine)
            return True
        except ConfigError:
            return False

    def close(self) -> None:
        """Stop the read threads and dispose of the engine."""
        self._pool.shutdown(wait=False)
        self.engine.dispose()


def ensure_data_dir(path: Path) -> Path:
    """Create the data dir (mode 0700) if missing."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
