"""Notification delivery: each worker process of ``serve`` runs :func:`deliver_forever`.

It takes due outbox rows (:func:`aigate.server.outbox.claim_job`), POSTs each to its receiver with
a timeout, and records the outcome; no API request ever waits on a receiver. A receiver is looked up
in the current policy by the id the row carries, so its URL and secret live only in the policy:
logs and ``last_error`` name the receiver (``name`` or ``notify[N]``) and say ``HTTP 503`` or the
exception's class, never the URL (a Slack webhook URL is itself a credential) or the secret.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aigate
from aigate.constants import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, NotifyEvent
from aigate.server import outbox
from aigate.server.notify_messages import signature
from aigate.server.notify_policy import NotifyTarget

POLL_SECONDS = 2.0  # also woken at once when a change is committed in this process
EXPIRING_SCAN_SECONDS = 30.0
SEND_TIMEOUT = 10.0  # seconds, per attempt (connect + answer)
BATCH = 20
log = logging.getLogger("aigate.server.notify")
logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the URL


def headers_for(target: NotifyTarget, row: dict[str, Any], body: bytes, now: int) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": f"aigate-server/{aigate.__version__}",
               EVENT_HEADER: row["event"], DELIVERY_HEADER: row["id"]}
    if target.format == "json" and target.secret:
        headers[SIGNATURE_HEADER] = signature(target.secret, now, body)
    return headers


async def send(http: Any, target: NotifyTarget | None, row: dict[str, Any]) -> str | None:
    """One attempt; None when the receiver answered 2xx, else why not (safe to log and store)."""
    if target is None:
        return "the receiver is no longer in the policy"
    body = row["body"].encode()
    try:
        answer = await http.post(target.url, content=body, headers=headers_for(target, row, body, int(time.time())))
    except Exception as err:  # noqa: BLE001 - any transport failure is a failed attempt; str(err) may hold the URL
        return type(err).__name__
    if 200 <= answer.status_code < 300:
        return None
    return f"HTTP {answer.status_code}"


async def deliver_forever(services: Any, wake: asyncio.Event) -> None:
    """Claim, send, settle; then sleep until woken or POLL_SECONDS passed. Never raises."""
    import httpx

    public_url = services.settings.public_url
    last_scan, woken = 0.0, True
    sending: set[asyncio.Task[None]] = set()  # a slow receiver holds up only its own rows
    async with httpx.AsyncClient(timeout=SEND_TIMEOUT, follow_redirects=False) as http:
        while True:
            claimed: list[dict[str, Any]] = []
            try:
                due = woken or time.monotonic() - last_scan >= EXPIRING_SCAN_SECONDS
                if due and _wants_expiring(services.policy):
                    last_scan = time.monotonic()
                    await services.writer.submit(outbox.expiring_job(lambda: services.policy, public_url))
                if await services.db.read(outbox.has_due, services.clock()):
                    claimed = await services.writer.submit(outbox.claim_job(BATCH))
                    for row in claimed:
                        task = asyncio.create_task(_attempt(http, services, row))
                        sending.add(task)
                        task.add_done_callback(sending.discard)
            except Exception as err:  # noqa: BLE001 - the database may be away; keep trying
                log.warning("notification delivery pass failed: %s", type(err).__name__)
            woken = len(claimed) >= BATCH or await _sleep(wake)


async def _sleep(wake: asyncio.Event) -> bool:
    """Wait for a wake-up (True) or POLL_SECONDS (False)."""
    try:
        await asyncio.wait_for(wake.wait(), POLL_SECONDS)
    except TimeoutError:
        return False
    finally:
        wake.clear()
    return True


def _wants_expiring(policy: Any) -> bool:
    return any(NotifyEvent.GRANT_EXPIRING in t.events for t in policy.notify)


async def _attempt(http: Any, services: Any, row: dict[str, Any]) -> None:
    target = next((t for t in services.policy.notify if t.receiver == row["receiver"]), None)
    error = await send(http, target, row)
    try:
        state = await services.writer.submit(outbox.settle_job(row["id"], row["attempts"], error))
    except Exception as err:  # noqa: BLE001 - unrecorded: the lease ends and the row is sent again
        log.warning("notification %s: recording the attempt failed: %s", row["id"], type(err).__name__)
        return
    if error is not None:
        name = target.name if target else row["receiver"][:8]
        log.warning("notification %s (%s) to %s: %s; attempt %d, now %s", row["id"], row["event"], name, error,
                    row["attempts"], state)
