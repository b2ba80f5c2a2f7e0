"""Database faults the server answers 503 for, told apart by SQLSTATE class (PostgreSQL) or by SQLite's
extended result code, never by the Python exception class's name; and a log that says each once.

:func:`unavailable` gives a short *condition* ("disk full", "database shut down", ...) for an exception
(a SQLAlchemy wrapper or the driver's own, on the raw hot path) that means "the database cannot serve
now, retry later", else None (a bug or bad data: a 500, and the batched writer isolates the item).

PostgreSQL classes (Appendix A, "PostgreSQL Error Codes"): ``08`` connection exception, ``53``
insufficient resources (``53100`` disk full), ``57`` operator intervention (``57P01`` admin shutdown
on a restart, ``57P02`` crash shutdown, ``57P03`` cannot connect now, ``57014`` query canceled), ``58``
system error (I/O), ``40`` transaction rollback (serialization failure, deadlock), ``55P03`` lock not
available, ``25006`` read-only transaction (a standby after failover). A driver error without a SQLSTATE
(connection refused or lost) is "database unreachable". SQLite: ``SQLITE_FULL``, ``SQLITE_IOERR*``,
``SQLITE_BUSY*``, ``SQLITE_LOCKED*``, ``SQLITE_CANTOPEN*``, ``SQLITE_READONLY*``, ``SQLITE_NOMEM``,
``SQLITE_PROTOCOL``.

:class:`ConditionLog` logs one warning when a condition starts and one line when it clears (with how
many failures it covered), instead of a line (or a traceback) per failed request.
"""

from __future__ import annotations

import logging
import threading
import time

_PG_CLASSES = {"08": "database unreachable", "53": "database out of resources", "57": "database shut down",
               "58": "database I/O error", "40": "database busy"}
_PG_CODES = {"53100": "disk full", "55P03": "database busy", "25006": "database read-only"}
_SQLITE_PREFIXES = {"SQLITE_FULL": "disk full", "SQLITE_IOERR": "database I/O error",
                    "SQLITE_BUSY": "database busy", "SQLITE_LOCKED": "database busy",
                    "SQLITE_CANTOPEN": "database unreachable", "SQLITE_READONLY": "database read-only",
                    "SQLITE_NOMEM": "database out of resources", "SQLITE_PROTOCOL": "database busy"}
_SQLITE_MESSAGES = {"database or disk is full": "disk full", "disk i/o error": "database I/O error",
                    "database is locked": "database busy", "unable to open database": "database unreachable"}


def unavailable(exc: BaseException) -> str | None:
    """The condition (short text) when ``exc`` means the database cannot serve now, else None."""
    for err in _chain(exc):
        module = type(err).__module__.split(".")[0]
        if module == "psycopg":
            return _postgres(err)
        if module == "sqlite3":
            return _sqlite(err)
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

    if isinstance(exc, DisconnectionError) or (isinstance(exc, (OperationalError, InterfaceError))
                                               and getattr(exc, "orig", None) is None):
        return "database unreachable"
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, the DBAPI error SQLAlchemy wrapped (``.orig``), and their causes."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 8:
        err = todo.pop(0)
        if err is None or any(err is s for s in seen):
            continue
        seen.append(err)
        todo.extend([getattr(err, "orig", None), err.__cause__])
    return seen


def _postgres(err: BaseException) -> str | None:
    state = getattr(err, "sqlstate", None)
    if not state:  # no answer from the server at all: refused, reset, closed
        names = {cls.__name__ for cls in type(err).__mro__}
        return "database unreachable" if names & {"OperationalError", "InterfaceError"} else None
    return _PG_CODES.get(state) or _PG_CLASSES.get(state[:2])


def _sqlite(err: BaseException) -> str | None:
    name = getattr(err, "sqlite_errorname", None)
    if name:
        for prefix, condition in _SQLITE_PREFIXES.items():
            if name.startswith(prefix):
                return condition
        return None
    text = str(err).lower()
    return next((condition for message, condition in _SQLITE_MESSAGES.items() if message in text), None)


class ConditionLog:
    """One warning per condition: logged when it starts, counted while it lasts, reminded at most once
    per ``remind_seconds``, and summed up when the database works again (:meth:`clear`)."""

    def __init__(self, logger: logging.Logger, what: str, remind_seconds: float = 300.0):
        self.logger = logger
        self.what = what
        self.remind_seconds = remind_seconds
        self._lock = threading.Lock()
        self._open: dict[str, list[float]] = {}  # condition -> [failures, since, last said]

    @property
    def current(self) -> str | None:
        """The latest condition in force, or None."""
        return next(reversed(self._open), None) if self._open else None

    def failed(self, condition: str) -> None:
        now = time.monotonic()
        with self._lock:
            state = self._open.get(condition)
            if state is None:
                self._open[condition] = [1, now, now]
                self.logger.warning("%s failing: %s (further failures are counted, not logged)", self.what,
                                    condition)
                return
            state[0] += 1
            if now - state[2] >= self.remind_seconds:
                state[2] = now
                self.logger.warning("%s still failing: %s (%d failures in %.0f s)", self.what, condition,
                                    state[0], now - state[1])

    def clear(self) -> None:
        if not self._open:  # the common case, without the lock
            return
        with self._lock:
            for condition, (count, since, _) in self._open.items():
                self.logger.warning("%s recovered from %s after %d failures in %.0f s", self.what, condition,
                                    count, time.monotonic() - since)
            self._open.clear()


DATABASE = ConditionLog(logging.getLogger("aigate.server.db"), "database")
"""The process's one log of database conditions: requests and the writer report to it."""
