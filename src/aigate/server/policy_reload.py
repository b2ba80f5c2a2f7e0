"""A running server picks up changes to ``policy.toml``: on SIGHUP and when the file changes.

Each worker process watches the policy file (its size, mtime and inode, every
:data:`WATCH_SECONDS`) and reloads when it changed or when the process gets SIGHUP (with
``--workers N``, uvicorn's supervisor answers SIGHUP by replacing its workers, which load the file
afresh). A change is read once the file has stopped changing (an editor that truncates, then
writes, is never read half-written), and an empty file is refused. A policy that does not parse or
check is refused: the server keeps serving the policy it had,
and logs why. Either way an audit event records it, once per policy content across all workers
(``policy.loaded`` or ``policy.refused``, with the file's SHA-256 and, when refused, its problems).

The last policy that loaded is kept beside the database as :data:`LAST_GOOD` so that a worker
started after a bad edit (a crashed worker replaced, a SIGHUP restart) serves that one rather than
failing to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, desc, select

from aigate.server.audit import AuditEvent
from aigate.server.models import audit_events
from aigate.server.policy import Policy, PolicyError, parse_policy
from aigate.server.services import LAST_GOOD, Services

if TYPE_CHECKING:
    from aigate.server.writer import Job

WATCH_SECONDS = 1.0
SETTLE_SECONDS = 0.3
LOADED, REFUSED = "policy.loaded", "policy.refused"
log = logging.getLogger("aigate.server.policy")


def file_state(path: Path) -> tuple[int, int, int] | None:
    """``(inode, size, mtime_ns)`` of ``path``, or None when it cannot be read: what "changed" means."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def read_checked(path: Path) -> tuple[str, Policy | None, list[str]]:
    """``(sha256 of the file, the policy or None, its problems)``; never raises for a bad file."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        return "", None, [f"cannot read: {err.strerror or err}"]
    digest = hashlib.sha256(raw).hexdigest()
    if not raw.strip():
        return digest, None, ["the file is empty"]
    try:
        return digest, parse_policy(raw.decode("utf-8"), str(path)), []
    except UnicodeDecodeError:
        return digest, None, ["not UTF-8 text"]
    except PolicyError as err:
        return digest, None, err.problems


def keep_last_good(data_dir: Path, policy_path: Path) -> None:
    """Copy the policy that just loaded to ``data_dir/LAST_GOOD`` (atomically; best effort)."""
    try:
        text = policy_path.read_bytes()
        temp = data_dir / f".{LAST_GOOD}.{os.getpid()}"
        temp.write_bytes(text)
        os.replace(temp, data_dir / LAST_GOOD)
    except OSError as err:
        log.warning("cannot keep a copy of the policy in %s: %s", data_dir, err.strerror or err)


def audit_job(action: str, path: Path, digest: str, problems: list[str], rules: int | None) -> Job[bool]:
    """A writer job recording ``action`` for this policy content, unless the last policy event
    already records the same action for the same content (another worker, or an unchanged restart)."""
    data: dict[str, Any] = {"path": str(path), "sha256": digest}
    data.update({"problems": problems} if problems else {"rules": rules})

    def job(conn: Connection, now: float) -> tuple[bool, list[AuditEvent]]:
        last = conn.execute(select(audit_events.c.action, audit_events.c.data)
                            .where(audit_events.c.action.in_((LOADED, REFUSED)))
                            .order_by(desc(audit_events.c.seq)).limit(1)).first()
        if last is not None and last.action == action and f'"sha256":"{digest}"' in last.data:
            return False, []
        return True, [AuditEvent(actor="system", action=action, subject=str(path), data=data)]

    return job


class PolicyWatcher:
    """Reloads ``services.policy`` from ``services.settings.policy_path`` when asked or changed."""

    def __init__(self, services: Services, every: float = WATCH_SECONDS):
        self.services = services
        self.every = every
        self.path = services.settings.policy_path
        self.seen = file_state(self.path)
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Record the policy in use, then watch for changes and SIGHUP until cancelled."""
        await self._record_current()
        with self._on_sighup():
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.every)
                forced = self.wake.is_set()
                self.wake.clear()
                state = file_state(self.path)
                if forced or state != self.seen:
                    self.seen = await self._settled(state)
                    await self.reload()

    async def _settled(self, state: tuple[int, int, int] | None) -> tuple[int, int, int] | None:
        """The file's state once it stopped changing for SETTLE_SECONDS: an editor or a copy that
        truncates, then writes, is not read half-written (an empty policy would deny every tool)."""
        while True:
            await asyncio.sleep(SETTLE_SECONDS)
            now = file_state(self.path)
            if now == state:
                return now
            state = now

    async def reload(self) -> bool:
        """Load the file now; True when the new policy is in use, False when it was refused."""
        digest, policy, problems = read_checked(self.path)
        if policy is None:
            log.warning("refusing the changed policy %s, keeping the one in use: %s", self.path, "; ".join(problems))
            await self._audit(REFUSED, digest, problems, None)
            return False
        self.services.policy = policy
        self.services.keys.token_ttl = policy.token_ttl
        keep_last_good(self.services.settings.data_dir, self.path)
        log.warning("loaded the policy %s (%d rules)", self.path, len(policy.rules))
        await self._audit(LOADED, digest, [], len(policy.rules))
        return True

    async def _record_current(self) -> None:
        digest, policy, problems = read_checked(self.path)
        if policy is not None and policy == self.services.policy:
            keep_last_good(self.services.settings.data_dir, self.path)
            await self._audit(LOADED, digest, [], len(policy.rules))
        elif policy is None:  # started on the last good copy: the file itself is refused
            await self._audit(REFUSED, digest, problems, None)

    async def _audit(self, action: str, digest: str, problems: list[str], rules: int | None) -> None:
        try:
            await self.services.writer.submit(audit_job(action, self.path, digest, problems, rules))
        except Exception as err:  # noqa: BLE001 - the policy in use does not depend on the record
            log.warning("cannot record %s in the audit log: %s", action, type(err).__name__)

    @contextlib.contextmanager
    def _on_sighup(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self.wake.set)
        except (RuntimeError, ValueError, NotImplementedError, AttributeError):
            yield  # not the main thread (in-process tests), or no SIGHUP (Windows): the file watch only
            return
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
