"""CLI tests: the typer app under aigate's own boundary, a fake server on httpx.MockTransport,
an in-memory key store, isolated HOME/XDG dirs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from aigate import keystore, protocol
from aigate.cli.app import run_app
from aigate.cli.entry import boundary
from aigate.cli.state import CliState
from tests.support.client_home import isolate_client_home

SERVER = "https://aigate.test"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    return isolate_client_home(tmp_path, monkeypatch)


class FakeServer:
    """Just enough of the aigate API: enrollment, me, access requests. Records what it was sent."""

    def __init__(self):
        self.requests: dict[str, dict] = {}
        self.seen: list[tuple[str, str, dict | None]] = []
        self.codes = {"7KQ2-MX4P-9TRD": "ann@corp.example"}
        self.devices = {"cred-1": "d1"}  # credential -> device id, once enrolled; logout removes it
        self.enrolled = 0
        self.decide_on_poll: str | None = None  # a reviewer's decision, seen by the next GET of a request
        self.device_polls: list[str] | None = None  # SSO: the answers to the next polls ("ok" enrolls); None: no SSO
        self.me_tools: list[dict] = []  # the ToolAccess items /v1/me answers
        self.other_reviewers = 1  # approvers and admins besides the requester, told on a new request
        self.one_pending = False  # refuse a second pending request for a tool (409), as the real server does
        self.lose_create_answer = False  # file the request, then time out instead of answering

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.method, request.url.path, body))
        path, method = request.url.path, request.method
        if path == protocol.Paths.ENROLLMENTS:
            return self.enroll(body)
        if path in (protocol.Paths.DEVICE_AUTHORIZATIONS, protocol.Paths.DEVICE_TOKEN):
            return self.device_flow(path)
        credential = request.headers.get("authorization", "").removeprefix("Bearer ")
        if credential not in self.devices:
            return problem(401, "unauthenticated")
        if path == protocol.Paths.CURRENT_DEVICE and method == "DELETE":
            del self.devices[credential]
            return httpx.Response(204)
        if path == protocol.Paths.ME:
            return httpx.Response(200, json={"user": user(), "device_id": "d1", "issuer": SERVER,
                                             "token_ttl_seconds": 600, "tools": self.me_tools})
        if path == protocol.Paths.ACCESS_REQUESTS:
            return self.create(body) if method == "POST" else self.list(request)
        parts = path.split("/")  # /v1/access-requests/{id}[/action]
        item = self.requests.get(parts[3])
        if item is None:
            return problem(404, "not-found")
        action = parts[4] if len(parts) > 4 else None
        states = {"cancel": "cancelled", "approve": "approved", "deny": "denied", "revoke": "revoked"}
        if not action and self.decide_on_poll:
            item["state"] = self.decide_on_poll
        if action:
            item["state"] = states[action]
            item["decision_reason"] = (body or {}).get("reason")
            if action != "cancel":
                item.update(decided_by="boss@corp.example", decided_at="2026-11-30T20:00:00Z")
        return httpx.Response(200, json=item)

    def enroll(self, body):
        if self.codes.pop(body["code"], None) is None:
            return problem(400, "enrollment-code-invalid")
        self.enrolled += 1
        device, credential = f"d{self.enrolled}", f"cred-{self.enrolled}"
        self.devices[credential] = device
        return httpx.Response(201, json={"device_id": device, "device_credential": credential, "user": user(),
                                         "issuer": SERVER})

    def device_flow(self, path):
        if self.device_polls is None:
            return problem(404, "sso-not-configured")
        if path == protocol.Paths.DEVICE_AUTHORIZATIONS:
            page = f"{SERVER}/sso/device"
            return httpx.Response(201, json={"device_code": "dc-1", "user_code": "BCDF-GHJK", "verification_uri": page,
                                             "verification_uri_complete": f"{page}?user_code=BCDF-GHJK",
                                             "expires_in": 600, "interval": 1})
        answer = self.device_polls.pop(0)
        if answer != "ok":
            return problem(400, answer)
        return httpx.Response(201, json={"device_id": "d1", "device_credential": "cred-1", "user": user(),
                                         "issuer": SERVER})

    def create(self, body):
        if self.one_pending and any(r["state"] == "pending" and r["tool"] == body["tool"]
                                    for r in self.requests.values()):
            return problem(409, "conflict", "you already have a pending request r1 for claude")
        rid = f"r{len(self.requests) + 1}"
        asked = body.get("duration_seconds") or 28800
        self.requests[rid] = {
            "id": rid, "tool": body["tool"], "requester": "ann@corp.example", "reason": body["reason"],
            "state": "pending", "key_scope": "anthropic", "requested_seconds": min(asked, 28800),
            "duration_capped": asked > 28800, "max_duration_seconds": 28800, "automatic": False,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if self.lose_create_answer:
            raise httpx.ReadTimeout("timed out")
        return httpx.Response(201, json={**self.requests[rid], "other_reviewers": self.other_reviewers})

    def list(self, request):
        state = request.url.params.get("state")
        items = [r for r in self.requests.values() if not state or r["state"] == state]
        return httpx.Response(200, json={"items": items})


def user():
    return {"email": "ann@corp.example", "groups": ["dev"], "role": "user", "disabled": False}


def problem(status, code, detail=None):
    return httpx.Response(status, json={"type": "about:blank", "title": code, "status": status, "code": code,
                                        "detail": detail or f"{code} (fake)"})


@pytest.fixture
def server():
    return FakeServer()


@pytest.fixture
def store():
    return keystore.MemoryKeyStore()


@pytest.fixture
def cli(server, store, capsys):
    """``cli("status", "--json") -> (exit code, stdout, stderr)`` through the real boundary."""

    def invoke(*args: str):
        state = CliState(http=lambda url, ca: httpx.Client(base_url=url, transport=httpx.MockTransport(server)),
                         open_store=lambda: store, poll_seconds=0.0)
        code = boundary(lambda: run_app(list(args), obj=state))
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


@pytest.fixture
def logged_in(cli):
    code, _, err = cli("login", "--server", SERVER, "--code", "7KQ2-MX4P-9TRD")
    assert code == 0, err
