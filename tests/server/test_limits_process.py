"""Bounds that only the real server process has: the request head (431), on a real socket."""

from __future__ import annotations

import json
import socket
import time

import pytest

from aigate.protocol import Paths
from aigate.server.httplimits import MAX_HEAD_BYTES
from harness.server import init_server, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with start_server(init_server(tmp_path_factory.mktemp("limits") / "srv")) as running:
        yield running


def exchange(server, head: bytes, *, then: bytes = b"", timeout: float = 10.0) -> tuple[bytes, float]:
    """Send ``head`` (and ``then``, unless the server already answered); the answer and its delay."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            sock.sendall(then)
        except OSError:  # the server answered and closed the connection first
            pass
        answer = read_answer(sock)
    return answer, time.monotonic() - started


def read_answer(sock: socket.socket) -> bytes:
    """One HTTP answer (head and Content-Length body) from ``sock``."""
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
        if b"\r\n\r\n" in answer and b"content-length" in answer.lower():
            length = int(answer.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            if len(answer.split(b"\r\n\r\n", 1)[1]) >= length:
                break
    return answer


def test_a_head_just_past_the_bound_is_a_431_problem(server):
    head = (f"GET {Paths.LIVEZ} HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * MAX_HEAD_BYTES}\r\n\r\n").encode()
    answer, _ = exchange(server, head)
    status, body = answer.split(b"\r\n", 1)[0], answer.split(b"\r\n\r\n", 1)[1]
    assert b" 431 " in status and json.loads(body)["status"] == 431
    assert b"application/problem+json" in answer


def test_a_huge_header_is_refused_at_once_without_waiting_for_its_end(server):
    start = f"GET {Paths.LIVEZ} HTTP/1.1\r\nHost: x\r\nX-Big: ".encode()
    answer, seconds = exchange(server, start + b"a" * 65536, then=b"a" * (4 << 20))
    assert b" 431 " in answer.split(b"\r\n", 1)[0] and seconds < 5


def test_several_headers_within_the_bound_are_served(server):
    extra = "".join(f"X-H{i}: {'v' * 90}\r\n" for i in range(40))  # about 4 KiB
    answer, _ = exchange(server, f"GET {Paths.LIVEZ} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n".encode())
    assert b" 200 " in answer.split(b"\r\n", 1)[0]


def test_keep_alive_requests_after_one_another_are_all_served(server):
    one = f"GET {Paths.LIVEZ} HTTP/1.1\r\nHost: x\r\nX-Pad: {'p' * 4000}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for _ in range(8):  # 8 x 4 KiB heads: the bound is per request, not per connection
            sock.sendall(one)
            answer = read_answer(sock)
            assert b" 200 " in answer.split(b"\r\n", 1)[0]
