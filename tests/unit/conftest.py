"""Unit tests: fakes passed as arguments (MemoryKeyStore, httpx.MockTransport, a clock); isolated dirs."""

from __future__ import annotations

import time

import pytest

from tests.support.client_home import isolate_client_home


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    return isolate_client_home(tmp_path, monkeypatch)


class Clock:
    """A settable clock: epoch seconds."""

    def __init__(self, now: float | None = None):
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


def claims_for(tool: str = "claude", *, now: float, ttl: int = 600, scope: str = "anthropic", **extra) -> dict:
    return {"iss": "https://aigate.test", "aud": "aigate", "sub": "ann@corp.example", "iat": int(now),
            "nbf": int(now), "exp": int(now) + ttl, "jti": "j1", "tool": tool, "key_scope": scope,
            "access_request": "r1", "repository": None, "base_url": None, "env": {}, **extra}
