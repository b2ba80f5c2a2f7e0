"""Rate bounds per client address on the paths anyone may call, and failed attempts on record.

Two token buckets per address (refilled continuously; state per worker process, bounded to
:data:`MAX_ADDRESSES` addresses, the longest idle dropped first):

- every request to an unauthenticated path (enrollment, health, JWKS, OpenAPI): a burst of
  :data:`REQUEST_BURST`, refilled at :data:`REQUEST_RATE` per second;
- failed enrollments (400 enrollment-code-invalid, 403 user-disabled): a burst of
  :data:`FAILURE_BURST`, refilled one per :data:`FAILURE_REFILL_SECONDS`. With it empty, enrollment
  from that address answers 429 before any database work, good code or not.

An empty bucket answers ``429`` problem details (code ``rate-limited``) with ``Retry-After`` in whole
seconds. Failed enrollments and unknown device credentials (401 anywhere) are counted per address and
kind; the sweeper writes them as one audit event per address and kind per sweep
(``enrollment.failed`` / ``authentication.failed``, subject the address, data ``failures``,
``refused`` (429s), ``first``/``last`` epoch seconds), so a flood of guesses is on record without
flooding the chain. Addresses are ``scope["client"]`` as uvicorn gives them (behind a proxy, run
uvicorn with the proxy's address trusted for ``X-Forwarded-For``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from aigate.constants import PROBLEM_CONTENT_TYPE, Paths, ProblemCode

REQUEST_BURST = 120
REQUEST_RATE = 20.0  # per second
FAILURE_BURST = 10
FAILURE_REFILL_SECONDS = 6.0
MAX_ADDRESSES = 10_000
UNAUTHENTICATED_PATHS = frozenset({Paths.ENROLLMENTS, Paths.LIVEZ, Paths.READYZ, Paths.JWKS, Paths.OPENAPI,
                                   "/docs", "/docs/oauth2-redirect", "/redoc"})
_FAILED_ENROLLMENT = {400, 403}
KINDS = {"enrollment": "enrollment.failed", "authentication": "authentication.failed"}


class _Bucket:
    __slots__ = ("at", "tokens")

    def __init__(self, tokens: float, at: float):
        self.tokens = tokens
        self.at = at

    def take(self, now: float, burst: float, rate: float) -> float:
        """Take one token: 0 when there was one, else the seconds until there is."""
        self.tokens = min(burst, self.tokens + (now - self.at) * rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate

    def wait(self, now: float, burst: float, rate: float) -> float:
        """Seconds until a token is there (0 when there is one), without taking it."""
        tokens = min(burst, self.tokens + (now - self.at) * rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / rate


class Limits:
    """The buckets and the failure counts of one worker process (module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._lock = threading.Lock()
        self._requests: OrderedDict[str, _Bucket] = OrderedDict()
        self._failures: OrderedDict[str, _Bucket] = OrderedDict()
        self._counts: dict[tuple[str, str], list[float]] = {}  # (kind, address) -> [failures, refused, first, last]

    def admit(self, address: str) -> float:
        """Count a request to an unauthenticated path: 0, or the seconds to wait (429)."""
        return self._take(self._requests, address, REQUEST_BURST, REQUEST_RATE)

    def enrollment_wait(self, address: str) -> float:
        """0 when ``address`` may try an enrollment code, else the seconds to wait (429)."""
        with self._lock:
            bucket = self._failures.get(address)
            return 0.0 if bucket is None else bucket.wait(self.clock(), FAILURE_BURST, 1 / FAILURE_REFILL_SECONDS)

    def failed(self, kind: str, address: str, *, refused: bool = False) -> None:
        """Count a failed attempt (``kind``: a key of :data:`KINDS`); an enrollment one also takes a token."""
        if kind == "enrollment" and not refused:
            self._take(self._failures, address, FAILURE_BURST, 1 / FAILURE_REFILL_SECONDS)
        now = self.clock()
        with self._lock:
            count = self._counts.get((kind, address))
            if count is None:
                if len(self._counts) >= MAX_ADDRESSES:
                    address = "*"  # too many addresses at once: the rest are counted together
                count = self._counts.setdefault((kind, address), [0, 0, now, now])
            count[1 if refused else 0] += 1
            count[3] = now

    def drain(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The counts since the last drain, as ``(action, address, data)``; they start again at zero."""
        with self._lock:
            counts, self._counts = self._counts, {}
        return [(KINDS[kind], address, {"failures": int(c[0]), "refused": int(c[1]), "first": int(c[2]),
                                        "last": int(c[3])}) for (kind, address), c in counts.items()]

    def _take(self, buckets: OrderedDict[str, _Bucket], address: str, burst: float, rate: float) -> float:
        now = self.clock()
        with self._lock:
            bucket = buckets.get(address)
            if bucket is None:
                if len(buckets) >= MAX_ADDRESSES:
                    buckets.popitem(last=False)
                bucket = buckets[address] = _Bucket(burst, now)
            else:
                buckets.move_to_end(address)
            return bucket.take(now, burst, rate)


def too_many(path: str, wait: float, what: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """The 429 answer: status, problem body, headers (Retry-After in whole seconds, at least 1)."""
    from aigate.server.problems import problem_body

    seconds = max(1, math.ceil(wait))
    body = problem_body(429, ProblemCode.RATE_LIMITED, f"too many {what} from this address; retry in {seconds} s",
                        path)
    return 429, body, [(b"content-type", PROBLEM_CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                       (b"retry-after", str(seconds).encode())]


class RateLimit:
    """Pure ASGI middleware applying :class:`Limits` (module docstring)."""

    def __init__(self, app: Any, limits: Limits):
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        address = (scope.get("client") or ("unknown", 0))[0]
        refusal = None
        if path in UNAUTHENTICATED_PATHS:
            wait = self.limits.admit(address)
            if wait:
                refusal = too_many(path, wait, "requests")
            elif path == Paths.ENROLLMENTS and scope["method"] == "POST":
                wait = self.limits.enrollment_wait(address)
                if wait:
                    self.limits.failed("enrollment", address, refused=True)
                    refusal = too_many(path, wait, "failed enrollments")
        if refusal is not None:
            status, body, headers = refusal
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 401:
                    self.limits.failed("authentication", address)
                elif status in _FAILED_ENROLLMENT and path == Paths.ENROLLMENTS:
                    self.limits.failed("enrollment", address)
            await send(message)

        await self.app(scope, receive, counted)
