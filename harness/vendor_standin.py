"""A stand-in for the vendors' APIs on 127.0.0.1, for the end-to-end tests and the demo.

The machine has no internet, so the real ``claude`` and ``codex`` talk to this instead:

- Anthropic Messages: ``POST /v1/messages`` (streaming server-sent events when the body says
  ``"stream": true``, plain JSON otherwise) and ``POST /v1/messages/count_tokens``.
- OpenAI Responses: ``POST /v1/responses`` answered as server-sent events, ``GET /v1/models``.
  Codex first tries a WebSocket on ``/v1/responses``; the upgrade is refused with a plain 404 so it
  falls back to HTTP (docs/tools.md).
- Anything else (start-up probes, telemetry, ``HEAD /``): a harmless empty JSON answer.

Every request is recorded, with the credential headers it carried (``x-api-key``, ``Authorization``),
as one JSON line in a log file: that log is how the tests prove which key reached the vendor.

Use it as a library (``with VendorStandin(log_path) as standin: ...``) or as a script::

    python harness/vendor_standin.py --log /tmp/vendor.jsonl [--port 0] [--port-file F]

Stdlib only, so the demo can start it before anything else is installed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

#: Every reply starts with this, so tests can tell the stand-in's answer from anything else on screen.
REPLY_MARKER = "stand-in reply"

_CREDENTIAL_HEADERS = ("x-api-key", "authorization")
_counter = itertools.count(1)


def reply_text(api: str, prompt: str) -> str:
    """The deterministic answer for a prompt: the marker, the API's name and the prompt's first words."""
    words = " ".join(prompt.split()[:8])
    return f"{REPLY_MARKER} from {api}: you said '{words}'"


def last_user_text(body: dict[str, Any]) -> str:
    """The last thing the user said, from an Anthropic ``messages`` or an OpenAI ``input`` list."""
    items = body.get("messages") or body.get("input") or []
    if isinstance(items, str):
        return items
    for item in reversed(items):
        if not isinstance(item, dict) or item.get("role") != "user":
            continue
        content = item.get("content")
        if isinstance(content, str):
            return content
        texts = [part.get("text", "") for part in content or [] if isinstance(part, dict)]
        # Claude and Codex prepend context blocks (<system-reminder>, environment); the prompt is last.
        texts = [t for t in texts if t and not t.lstrip().startswith("<")]
        if texts:
            return texts[-1]
    return ""


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def anthropic_message(model: str, text: str) -> dict[str, Any]:
    return {
        "id": f"msg_standin_{next(_counter)}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 10},
    }


def anthropic_stream(model: str, text: str) -> Iterator[bytes]:
    """The event sequence of a streamed Messages answer (Anthropic's streaming documentation)."""
    message = anthropic_message(model, "")
    message.update(content=[], stop_reason=None)
    yield _sse("message_start", {"type": "message_start", "message": message})
    yield _sse("content_block_start",
               {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    yield _sse("ping", {"type": "ping"})
    for piece in _pieces(text):
        yield _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "text_delta", "text": piece}})
    yield _sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    yield _sse("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                 "usage": {"output_tokens": 10}})
    yield _sse("message_stop", {"type": "message_stop"})


def openai_stream(model: str, text: str) -> Iterator[bytes]:
    """The event sequence of a streamed Responses answer (OpenAI's Responses streaming events)."""
    n = next(_counter)
    resp_id, item_id = f"resp_standin_{n}", f"msg_standin_{n}"
    seq = itertools.count()
    base = {"id": resp_id, "object": "response", "created_at": int(time.time()), "model": model}
    part = {"type": "output_text", "text": "", "annotations": []}
    item = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    yield _sse("response.created", {"type": "response.created", "sequence_number": next(seq),
                                    "response": {**base, "status": "in_progress", "output": []}})
    yield _sse("response.output_item.added", {"type": "response.output_item.added",
                                              "sequence_number": next(seq), "output_index": 0, "item": item})
    yield _sse("response.content_part.added", {"type": "response.content_part.added",
                                               "sequence_number": next(seq), "item_id": item_id,
                                               "output_index": 0, "content_index": 0, "part": part})
    for piece in _pieces(text):
        yield _sse("response.output_text.delta", {"type": "response.output_text.delta",
                                                  "sequence_number": next(seq), "item_id": item_id,
                                                  "output_index": 0, "content_index": 0, "delta": piece})
    done_part = {**part, "text": text}
    yield _sse("response.output_text.done", {"type": "response.output_text.done",
                                             "sequence_number": next(seq), "item_id": item_id,
                                             "output_index": 0, "content_index": 0, "text": text})
    yield _sse("response.content_part.done", {"type": "response.content_part.done",
                                              "sequence_number": next(seq), "item_id": item_id,
                                              "output_index": 0, "content_index": 0, "part": done_part})
    done_item = {**item, "status": "completed", "content": [done_part]}
    yield _sse("response.output_item.done", {"type": "response.output_item.done",
                                             "sequence_number": next(seq), "output_index": 0,
                                             "item": done_item})
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 10,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 20}
    yield _sse("response.completed", {"type": "response.completed", "sequence_number": next(seq),
                                      "response": {**base, "status": "completed", "output": [done_item],
                                                   "usage": usage}})


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm each keep-alive answer waits
    # ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the JSON-lines log is the record; keep stderr quiet for the tools' terminals

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self, body: bytes) -> dict[str, Any]:
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = {
            "time": time.time(),
            "method": self.command,
            "path": self.path,
            "websocket": headers.get("upgrade", "").lower() == "websocket",
            "x-api-key": headers.get("x-api-key"),
            "authorization": headers.get("authorization"),
            "user-agent": headers.get("user-agent"),
            "anthropic-version": headers.get("anthropic-version"),
            "anthropic-beta": headers.get("anthropic-beta"),
            "body_bytes": len(body),
        }
        self.server.record(entry)
        return entry

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_stream(self, events: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")  # the body ends when the connection does
        self.end_headers()
        self.close_connection = True
        for chunk in events:
            self.wfile.write(chunk)
            self.wfile.flush()
            time.sleep(self.server.stream_delay)

    def do_CONNECT(self) -> None:
        # Tests also name the stand-in as HTTPS_PROXY: a tool that reaches for a real host is recorded
        # here (path = "host:443") and refused, and nothing leaves the machine.
        self._record(b"")
        self.close_connection = True
        self._send_json(403, {"error": "the stand-in does not reach the internet"})

    def _refuse_proxied(self) -> bool:
        if self.path.startswith(("http://", "https://")):
            self.close_connection = True
            self._send_json(403, {"error": "the stand-in does not reach the internet"})
            return True
        return False

    def do_HEAD(self) -> None:
        self._record(b"")
        if not self._refuse_proxied():
            self._send_json(200, {})

    def do_GET(self) -> None:
        entry = self._record(b"")
        path = self.path.split("?", 1)[0]
        if self._refuse_proxied():
            pass
        elif entry["websocket"]:
            # Codex tries a WebSocket first; a plain refusal makes it fall back to HTTP + SSE.
            self.close_connection = True
            self._send_json(426, {"error": {"type": "upgrade_required", "message": "no websocket here"}})
        elif path.rstrip("/").endswith("/models"):
            # Codex asks for its own catalogue shape ({"models": [...]}); an empty one keeps its defaults.
            self._send_json(200, {"object": "list", "data": [], "models": []})
        else:
            self._send_json(200, {})

    def do_POST(self) -> None:
        raw = self._read_body()
        entry = self._record(raw)
        if self._refuse_proxied():
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                             "message": "body is not JSON"}})
            return
        path = self.path.split("?", 1)[0].rstrip("/")
        model = str(body.get("model") or "stand-in")
        if path.endswith(("/messages", "/responses", "/count_tokens")) and not credentials_seen([entry]):
            # As the real APIs do: no credential, no answer (a tool whose key helper failed sends none).
            self._send_json(401, {"type": "error", "error": {"type": "authentication_error",
                                                             "message": "missing API key"}})
        elif path.endswith("/messages/count_tokens"):
            self._send_json(200, {"input_tokens": 10})
        elif path.endswith("/messages"):
            text = reply_text("anthropic", last_user_text(body))
            if body.get("stream"):
                self._send_stream(anthropic_stream(model, text))
            else:
                self._send_json(200, anthropic_message(model, text))
        elif path.endswith("/responses"):
            self._send_stream(openai_stream(model, reply_text("openai", last_user_text(body))))
        else:
            self._send_json(200, {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, log_path: Path | None, tls: tuple[Path, Path] | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.log_path = log_path
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.tls_context = None
        if tls is not None:  # HTTPS with the given certificate and key (PEM files)
            import ssl

            self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls_context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.tls_context.sni_callback = self._note_server_name
        self.server_names: list[str | None] = []  # the SNI each TLS client sent
        self.stream_delay = 0.0  # seconds between the events of a streamed answer (tests of streaming)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (wrk at its end, a tool killed mid-answer) is not an error of the stand-in."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def _note_server_name(self, _sock: Any, name: str | None, _ctx: Any) -> None:
        with self._lock:
            self.server_names.append(name)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls_context is not None:  # the handshake runs in the connection's own thread
            import ssl

            try:
                request = self.tls_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.entries.append(entry)
            if self.log_path is not None:
                with self.log_path.open("a", encoding="utf-8") as log:
                    log.write(json.dumps(entry) + "\n")


class VendorStandin:
    """The stand-in on a free loopback port, served from a background thread.

    ``url`` is the Anthropic base URL (``ANTHROPIC_BASE_URL``); ``openai_url`` the OpenAI one (``/v1``).
    """

    def __init__(self, log_path: Path | str | None = None, port: int = 0,
                 tls: tuple[Path, Path] | None = None) -> None:
        self._server = _Server(port, Path(log_path) if log_path else None, tls)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        if self._server.tls_context is not None:
            return f"https://localhost:{self.port}"  # the name its test certificate is for
        return f"http://127.0.0.1:{self.port}"

    def set_stream_delay(self, seconds: float) -> None:
        """Pause this long between the events of every streamed answer (0: none)."""
        self._server.stream_delay = seconds

    def server_names(self) -> list[str | None]:
        """The SNI names TLS clients sent (HTTPS only)."""
        with self._server._lock:
            return list(self._server.server_names)

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> VendorStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def records(self) -> list[dict[str, Any]]:
        with self._server._lock:
            return list(self._server.entries)

    def clear(self) -> None:
        with self._server._lock:
            self._server.entries.clear()

    def outside_calls(self) -> list[dict[str, Any]]:
        """Requests that came through the stand-in as a proxy: attempts to reach a real host."""
        return [r for r in self.records() if r["method"] == "CONNECT" or r["path"].startswith("http")]

    def model_calls(self) -> list[dict[str, Any]]:
        """The requests that asked a model for an answer (Messages or Responses, WebSocket tries included)."""
        return [r for r in self.records()
                if r["path"].split("?")[0].rstrip("/").endswith(("/v1/messages", "/v1/responses"))]


def credentials_seen(records: list[dict[str, Any]]) -> set[str]:
    """Every distinct credential value in these records: ``x-api-key`` and the token of ``Authorization``."""
    seen: set[str] = set()
    for record in records:
        if record.get("x-api-key"):
            seen.add(record["x-api-key"])
        auth = (record.get("authorization") or "").strip()
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer":
            if token.strip():
                seen.add(token.strip())
        elif auth:
            seen.add(auth)
    return seen


def read_log(path: Path | str) -> list[dict[str, Any]]:
    """The records of a JSON-lines log written by the stand-in (for a stand-in in another process)."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stand-in Anthropic and OpenAI APIs on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--log", type=Path, help="JSON-lines file that records each request's credentials")
    parser.add_argument("--port-file", type=Path, help="write the chosen port here once listening")
    args = parser.parse_args(argv)
    standin = VendorStandin(args.log, args.port)
    if args.port_file:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(standin.port))
        tmp.replace(args.port_file)
    print(f"vendor stand-in listening on {standin.url}", flush=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        standin._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin._server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
