"""Group-commit writer: every state change and its audit events, many requests per transaction.

The hash chain makes writes serial: each audit event needs the hash of the one before. Committing
once per request would cap throughput at one fsync (SQLite) or one round trip under a row lock
(PostgreSQL) per request. Instead one writer thread per process takes whatever jobs are queued,
runs them in one transaction (each job inside a SAVEPOINT, so a failing job leaves no partial
write), chains their audit events, moves the chain head once, and commits; each request then gets
its own result. When the transaction itself fails and the database is not unavailable (see
:mod:`aigate.server.dbfaults`), some item carried a value the database refuses: the items are then
committed one by one, so that item fails alone and no other request of the batch is affected.
Across processes the chain head lock (``audit.lock_head``) keeps batches in order.

A job is ``fn(conn, now) -> (result, [AuditEvent, ...])``; ``now`` is epoch seconds (float).
A read job (:meth:`Writer.compute`, the token issuance path) is the same but gets a
:class:`~aigate.server.db.RawReader` and runs before the write transaction opens, so the write lock
is held only to append audit events: reads, signing and hashing happen outside it, and a request
costs one thread hand-off instead of two.

Across processes on SQLite, writers take an exclusive ``flock`` on ``<database>.writelock`` before
``BEGIN IMMEDIATE``: a blocked ``flock`` wakes the moment the lock is free, where SQLite's busy
handler sleeps in steps of up to 100 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine

from aigate.server import dbfaults
from aigate.server.audit import AuditEvent, ChainAppender
from aigate.server.db import RawReader
from aigate.server.problems import ApiProblem

T = TypeVar("T")
# A job: ``job(conn, now)`` -> ``(result, audit events)``; ``conn`` a Connection in the batch's
# transaction (writes) or a RawReader (read jobs, Writer.compute); ``now`` in epoch seconds.
Job = Callable[[Any, float], tuple[T, list[AuditEvent]]]
# In the batch's transaction, after its jobs: sees their audit events and may write more (the
# notification outbox), so what it writes commits exactly when the change it describes does.
Hook = Callable[[Connection, list[AuditEvent], float], None]
MAX_BATCH = 256
log = logging.getLogger("aigate.server.writer")


@dataclass(eq=False)
class _Item:
    job: Job[Any] | None
    events: list[AuditEvent]
    future: asyncio.Future[Any] | None  # None for write_now
    read: bool = False  # a read job: ran before the transaction, its events are in ``events``
    value: Any = None


def run_batch(conn: Connection, items: list[_Item], now: float, hooks: list[Hook] | tuple[Hook, ...] = ()
              ) -> list[tuple[bool, Any]]:
    """Run ``items`` in the open transaction ``conn``; ``(ok, result-or-exception)`` per item.
    Then each of ``hooks`` (in a savepoint: a failing hook is logged and undone, never the batch).
    ``conn.info["appended"]`` is then the number of audit events appended."""
    chain = ChainAppender(conn, int(now * 1000))
    outcomes: list[tuple[bool, Any]] = []
    for item in items:
        ok, value, events = _run_item(conn, item, now)
        outcomes.append((ok, value))
        for event in events:
            chain.add(event)
    conn.info["appended"] = len(chain.rows)
    for hook in hooks:
        _run_hook(conn, hook, [e for item in items for e in item.events], now)
    chain.flush()
    return outcomes


def _run_hook(conn: Connection, hook: Hook, events: list[AuditEvent], now: float) -> None:
    savepoint = conn.begin_nested()
    try:
        hook(conn, events, now)
    except Exception as err:  # noqa: BLE001 - a hook (notifications) must not undo the decisions themselves
        savepoint.rollback()
        log.error("writer hook %s failed: %s", getattr(hook, "__name__", "hook"), type(err).__name__)
        return
    savepoint.commit()


def _run_item(conn: Connection, item: _Item, now: float) -> tuple[bool, Any, list[AuditEvent]]:
    if item.job is None:
        return True, item.value, item.events
    savepoint = conn.begin_nested()
    try:
        result, events = item.job(conn, now)
    except Exception as err:  # noqa: BLE001 - the job's own failure: undo its writes, report it to its caller
        savepoint.rollback()
        return False, err, []
    savepoint.commit()
    item.events = events
    return True, result, events


def write_now(engine: Engine, job: Job[T], clock: Callable[[], float] = time.time) -> T:
    """Run one job in its own transaction, synchronously (the CLI's way to write)."""
    item = _Item(job, [], None)
    with _file_lock(sqlite_lock_path(engine)), engine.begin() as conn:
        ((ok, value),) = run_batch(conn, [item], clock())
    if not ok:
        raise value
    return cast(T, value)


class Writer:
    """The per-process writer thread. ``await writer.submit(job)`` / ``await writer.record(events)``."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time):
        self.engine = engine
        self.clock = clock
        self._reader: RawReader | None = None
        self._lock_path = sqlite_lock_path(engine)
        self.failing: str | None = None  # why writes fail (dbfaults), until a batch with audit events commits
        self.hooks: list[Hook] = []  # see Hook
        self.listeners: list[Callable[[list[AuditEvent]], None]] = []  # after each commit, on this thread
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="aigate-db-writer", daemon=True)
        self._thread.start()

    async def submit(self, job: Job[T]) -> T:
        """Run ``job`` in the next batch; its result, or its exception re-raised here."""
        return cast(T, await self._enqueue(job, []))

    async def record(self, events: list[AuditEvent]) -> None:
        """Append audit events in the next batch; returns once they are committed."""
        await self._enqueue(None, events)

    async def compute(self, read_job: Job[T]) -> T:
        """Run ``read_job(reader, now)`` on the writer thread, append its audit events in that
        batch, and return its result once they are committed (or its exception, with nothing written)."""
        return cast(T, await self._enqueue(read_job, [], read=True))

    async def _enqueue(self, job: Job[Any] | None, events: list[AuditEvent], read: bool = False) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put(_Item(job, events, future, read))
        return await future

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
            try:
                self._commit(batch)
            except Exception:
                log.exception("writer: a batch of %d could not be settled", len(batch))

    def _commit(self, batch: list[_Item]) -> None:
        now = self.clock()
        settled: list[tuple[_Item, bool, Any]] = []
        self._prefetch([item.job for item in batch if item.read and hasattr(item.job, "prefetch")], now)
        writes = [item for item in batch if not item.read or self._prepare(item, now, settled)]
        if writes:
            settled.extend((item, ok, value) for item, (ok, value) in zip(writes, self._write(writes, now),
                                                                          strict=True))
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Item, bool, Any]]] = {}
        for entry in settled:
            if entry[0].future is not None:
                by_loop.setdefault(entry[0].future.get_loop(), []).append(entry)
        for loop, entries in by_loop.items():  # one wake-up of each event loop per batch, not per request
            try:
                loop.call_soon_threadsafe(_settle_all, entries)
            except RuntimeError:  # that loop is closed: its requests are gone, the writes stand
                pass

    def _write(self, items: list[_Item], now: float) -> list[tuple[bool, Any]]:
        """Commit ``items`` in one transaction; when that fails for a reason other than the database
        being unavailable (a value it refuses, say), commit each alone, so only the bad one fails."""
        try:
            with _file_lock(self._lock_path), self.engine.begin() as conn:
                outcomes = run_batch(conn, items, now, self.hooks)
                appended = conn.info.pop("appended", 0)
        except Exception as err:
            condition = dbfaults.unavailable(err)
            if condition is not None:
                self.failing = condition
                dbfaults.DATABASE.failed(condition)
                return [(False, err)] * len(items)
            if len(items) == 1:
                log.error("write failed: %s", type(err).__name__, exc_info=err)
                return [(False, err)]
            log.warning("write batch of %d failed (%s): committing its items one by one", len(items),
                        type(err).__name__)
            return [self._write([item], now)[0] for item in items]
        if appended:  # data reached the disk (an empty transaction, as most sweeps are, proves nothing)
            self.failing = None
            dbfaults.DATABASE.clear()
        self._tell_listeners([e for item, (ok, _) in zip(items, outcomes, strict=True) if ok for e in item.events])
        return outcomes

    def _tell_listeners(self, events: list[AuditEvent]) -> None:
        for listener in self.listeners if events else ():
            try:
                listener(events)
            except Exception as err:  # noqa: BLE001 - a wake-up that failed only delays a waiter
                log.warning("writer listener failed: %s", type(err).__name__)

    def _prefetch(self, jobs: list[Any], now: float) -> None:
        """Let read jobs of one kind load what they need together (``type(job).prefetch``)."""
        if not jobs:
            return
        try:
            if self._reader is None:
                self._reader = RawReader(self.engine)
            type(jobs[0]).prefetch(self._reader, jobs, now)
        except Exception as err:  # noqa: BLE001 - each job then reads for itself, and reports any error itself
            self._drop_reader()
            if dbfaults.unavailable(err) is None:  # else the request that meets it reports the condition
                log.warning("prefetch failed: %s", type(err).__name__)

    def _prepare(self, item: _Item, now: float, settled: list[tuple[_Item, bool, Any]]) -> bool:
        """Run a read job; on success it becomes a plain append of its events."""
        try:
            if self._reader is None:
                self._reader = RawReader(self.engine)
            if item.job is None:  # already ran: nothing left but its events
                return True
            item.value, item.events = item.job(self._reader, now)
        except Exception as err:  # noqa: BLE001 - reported to the caller
            if not isinstance(err, ApiProblem):
                self._drop_reader()  # perhaps a broken connection: reconnect next time
            settled.append((item, False, err))
            return False
        item.job = None
        return True

    def _drop_reader(self) -> None:
        if self._reader is not None:
            self._reader.discard()
            self._reader = None

    def close(self) -> None:
        """Stop the writer thread after the batches already queued (waits up to 10 s)."""
        self._queue.put(None)
        self._thread.join(timeout=10)


def sqlite_lock_path(engine: Engine) -> str | None:
    """``<database file>.writelock`` for a SQLite file database, else None."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    return f"{engine.url.database}.writelock"


@contextlib.contextmanager
def _file_lock(path: str | None) -> Iterator[None]:
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _settle_all(settled: list[tuple[_Item, bool, Any]]) -> None:
    for item, ok, value in settled:
        future = item.future
        if future is None or future.done():  # the request was cancelled (client left); the write stands
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
