"""A bound on the request head, before any route or authentication: 431 past a few KiB.

uvicorn's httptools protocol keeps reading a request head for as long as it grows (a 64 MiB header
was accepted; four such connections grew a worker by 250 MB). :class:`BoundedHttpToolsProtocol`
counts the head: the request target plus every header (name, value and 4 bytes of separators) above
:data:`MAX_HEAD_BYTES` is answered ``431 Request Header Fields Too Large`` (RFC 6585) as problem
details, and the connection closed; raw bytes of a head still incomplete past twice that are
answered the same at once, without waiting for its end. ``serve`` passes the class to uvicorn.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from aigate.constants import PROBLEM_CONTENT_TYPE, ProblemCode
from aigate.server.problems import problem_body

MAX_HEAD_BYTES = 8 * 1024


def _refusal() -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = problem_body(431, ProblemCode.INVALID_REQUEST,
                        f"request headers are limited to {MAX_HEAD_BYTES} bytes in all", None)
    return body, [(b"content-type", PROBLEM_CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                  (b"connection", b"close")]


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    body, headers = _refusal()
    await send({"type": "http.response.start", "status": 431, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded request head (module docstring)."""

    _head = 0  # bytes of the current head, as parsed
    _raw = 0  # raw bytes received while the head is incomplete
    _in_head = True

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head, self._in_head = 0, True

    def on_url(self, url: bytes) -> None:
        self._head += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head += len(name) + len(value) + 4
        if self._head <= MAX_HEAD_BYTES:  # past the bound, the request is refused: keep no more of it
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head, self._raw = False, 0
        if self._head <= MAX_HEAD_BYTES:
            return super().on_headers_complete()
        app, self.app = self.app, _refuse
        try:
            super().on_headers_complete()
        finally:
            self.app = app
        return None

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._raw, self._completed = True, 0, True

    _completed = False  # a message completed in the chunk being parsed

    def data_received(self, data: bytes) -> None:
        self._completed = False
        super().data_received(data)
        if self._completed or not self._in_head or self.transport is None or self.transport.is_closing():
            return
        self._raw += len(data)
        if self._raw > 2 * MAX_HEAD_BYTES:
            body, headers = _refusal()
            head = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
            self.transport.write(head + b"\r\n" + body)
            self.transport.close()
