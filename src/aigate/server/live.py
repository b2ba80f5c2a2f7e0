"""What runs beside the API in each worker process: notification delivery and long-poll wake-ups.

:func:`start` wires two writer callbacks: the outbox hook (notifications commit with their change)
and a listener that, after each commit, wakes the delivery loop and the long-polls waiting on the
requests that changed (``GET /v1/access-requests/{id}?wait=N``). A change committed by another
worker process wakes nobody here: :class:`Waiters` callers re-read the database every
``CROSS_PROCESS_SECONDS`` as well.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from aigate.server import notify, outbox
from aigate.server.audit import AuditEvent

CROSS_PROCESS_SECONDS = 1.0


class Waiters:
    """Request id -> the events of the long-polls waiting on it; used on the event loop only."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = defaultdict(set)

    async def wait(self, request_id: str, seconds: float) -> None:
        """Return when ``request_id`` changes in this process, or after ``seconds``."""
        event = asyncio.Event()
        self._waiting[request_id].add(event)
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self._waiting[request_id].discard(event)
            if not self._waiting[request_id]:
                del self._waiting[request_id]

    def wake(self, request_ids: list[str]) -> None:
        for request_id in request_ids:
            for event in self._waiting.get(request_id, ()):
                event.set()


def start(services: Any, app_state: Any) -> list[asyncio.Task[None]]:
    """Register the writer callbacks and start delivery; returns the tasks to cancel at shutdown."""
    loop = asyncio.get_running_loop()
    waiters = app_state.waiters = Waiters()
    wake_delivery = asyncio.Event()
    services.writer.hooks.append(outbox.enqueue_hook(lambda: services.policy, services.settings.public_url))

    def after_commit(events: list[AuditEvent]) -> None:  # on the writer thread
        changed = [e.subject for e in events if e.action.startswith("access_request.")]
        if changed:
            loop.call_soon_threadsafe(waiters.wake, changed)
            loop.call_soon_threadsafe(wake_delivery.set)

    services.writer.listeners.append(after_commit)
    return [asyncio.create_task(notify.deliver_forever(services, wake_delivery))]


async def read_until_decided(services: Any, waiters: Waiters, caller: Any, request_id: str, seconds: float) -> Any:
    """The request (``access.get_request``), re-read when it changes in this process (and every
    CROSS_PROCESS_SECONDS), until it is no longer pending or ``seconds`` have passed."""
    from aigate.protocol import RequestState
    from aigate.server import access

    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    item = await services.db.read(access.get_request, caller, request_id, services.clock())
    while item.state == RequestState.PENDING and (left := deadline - loop.time()) > 0:
        await waiters.wait(request_id, min(left, CROSS_PROCESS_SECONDS))
        item = await services.db.read(access.get_request, caller, request_id, services.clock())
    return item
