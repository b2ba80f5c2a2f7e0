"""A webhook receiver for tests: a real HTTP server on loopback that records what it is sent.

    with WebhookReceiver(secret="s" * 16) as hook:        # checks X-Aigate-Signature when given a secret
        ...                                                # point a [[notify]] url at hook.url
        (delivery,) = hook.wait_for(1)
        assert delivery.signature_ok and delivery.json["event"] == "request.created"

``delay`` makes it slow (it sleeps before answering); ``status`` is the code it answers. A receiver
that is down is one not started yet: ``WebhookReceiver(port=p)`` keeps the port, ``start()`` later.
The signature is checked the way a real receiver should: HMAC-SHA256 of ``"<t>.<body>"`` compared in
constant time, and ``t`` within ``MAX_SKEW`` seconds of now.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.postgres import free_port

MAX_SKEW = 300


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    signature_ok: bool | None  # None: the receiver has no secret

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def check_signature(secret: str, header: str | None, body: bytes, now: float | None = None) -> bool:
    """True when ``header`` (``t=..,v1=..``) signs ``body`` with ``secret`` and ``t`` is fresh."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs((now or time.time()) - stamp) <= MAX_SKEW
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class WebhookReceiver:
    secret: str | None = None
    delay: float = 0.0
    status: int = 200
    port: int = field(default_factory=free_port)
    path: str = "/hooks/T0SECRETPATH/B0SECRETPATH/xoxSECRETTOKEN"  # shaped like a Slack webhook
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.delay:
                    time.sleep(receiver.delay)
                ok = None if receiver.secret is None else check_signature(
                    receiver.secret, self.headers.get("X-Aigate-Signature"), body)
                receiver._record(Delivery(self.path, dict(self.headers), body, time.time(), ok))
                self.send_response(receiver.status if ok is not False else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def _record(self, delivery: Delivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
            self._lock.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Delivery]:
        """The first ``count`` deliveries, waiting up to ``timeout`` seconds; AssertionError if fewer."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.deliveries)} of {count} deliveries after {timeout}s"
                self._lock.wait(left)
            return list(self.deliveries[:count])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
