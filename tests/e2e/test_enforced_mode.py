"""Enforced mode end to end: the vendor keys live on the server and reach the vendor only through a real
nginx gateway; the laptop holds no key, and the tools' only credential is the approval token.

One module-wide setup: a TLS vendor stand-in (its certificate from a test CA that nginx is told to trust,
so upstream SNI and verification are real), aigate-server with a gateway-mode policy and server-held
vendor keys, and nginx configured by ``aigate-server gateway nginx-config --full``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from deployment import VENV_BIN, Deployment, Person, new_person
from test_ca import make_certificates

from aigate.server.signing import KeyRing
from harness.gateway import NginxGateway, add_gateway, gateway_policy, set_vendor_key
from harness.postgres import free_port
from harness.server import init_server, run_server_cli
from harness.toolenv import CLAUDE_READY, CODEX_READY, CODEX_TURN_DONE
from harness.vendor_standin import REPLY_MARKER, VendorStandin, credentials_seen

pytestmark = pytest.mark.e2e

SERVER_ANTHROPIC_KEY = "sk-ant-server-held-9d41e7"
SERVER_OPENAI_KEY = "sk-openai-server-held-5c02ab"
SERVER_KEYS = (SERVER_ANTHROPIC_KEY, SERVER_OPENAI_KEY)


class Enforced:
    def __init__(self, base: Path):
        self.base = base
        self.port = free_port()
        certs = make_certificates(base / "certs")
        self.vendor = VendorStandin(base / "vendor.jsonl", tls=(certs.cert, certs.key)).start()
        data_dir = init_server(base / "server", policy=gateway_policy(f"http://127.0.0.1:{self.port}"))
        set_vendor_key(data_dir, "anthropic", SERVER_ANTHROPIC_KEY)
        set_vendor_key(data_dir, "openai", SERVER_OPENAI_KEY)
        self.deployment = Deployment(data_dir).start()
        credential = add_gateway(data_dir, "gw1", base)
        (base / "nginx").mkdir()
        self.gateway = NginxGateway(base / "nginx", self.port)
        self.config = self.gateway.configure(data_dir, credential,
                                             {"anthropic": self.vendor.url, "openai": self.vendor.url + "/v1"},
                                             server_url=self.deployment.url, upstream_ca=certs.ca)
        self.gateway.start()

    def stop(self) -> None:
        self.gateway.stop()
        self.deployment.stop()
        self.vendor.stop()


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Enforced]:
    setup = Enforced(tmp_path_factory.mktemp("enforced"))
    yield setup
    setup.stop()


@pytest.fixture
def vendor(enforced: Enforced) -> VendorStandin:
    enforced.vendor.clear()
    enforced.vendor.set_stream_delay(0)
    return enforced.vendor


@pytest.fixture(scope="module")
def boss(enforced: Enforced) -> Person:
    return new_person(enforced.base, enforced.deployment, "boss", enforced.base, None).login(role="approver")


def _approved(dev: Person, boss: Person) -> Person:
    for tool in ("claude", "codex"):
        boss.ok("admin", "approve", dev.request(tool))
    return dev


@pytest.fixture(scope="module")
def module_member(enforced: Enforced, boss: Person) -> Person:
    """A developer approved for claude and codex, with nothing in their keyring (never revoked)."""
    return _approved(new_person(enforced.base, enforced.deployment, "eve", enforced.base, None).login(), boss)


@pytest.fixture
def member(module_member: Person, people) -> Person:
    return people(module_member)


@pytest.fixture
def revocable(enforced: Enforced, boss: Person, people) -> Person:
    """A developer of this test alone, approved for claude and codex: their grants may be revoked."""
    return _approved(people(enforced.deployment, "rex").login(), boss)


def _no_server_key_in(texts: list[str]) -> None:
    for text in texts:
        for key in SERVER_KEYS:
            assert key not in text


def test_claude_print_mode_through_the_gateway_sends_only_the_server_held_key(member, vendor, enforced):
    result = member.aigate("run", "claude", "-p", "hello through the gateway")
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from anthropic: you said 'hello through the gateway'" in result.stdout
    assert vendor.model_calls()
    assert credentials_seen(vendor.records()) == {SERVER_ANTHROPIC_KEY}
    assert "localhost" in vendor.server_names()  # SNI, on a verified TLS connection
    assert "anthropic" not in member.ok("keys", "list").stdout  # nothing in the keyring
    for path in member.home.rglob("*"):  # no file of the laptop holds the vendor key
        if path.is_file() and not path.is_symlink():
            _no_server_key_in([path.read_bytes().decode("utf-8", "replace")])
    _no_server_key_in(member.printed)
    lines = [json.loads(line) for line in enforced.gateway.access_log().splitlines()]
    mine = [line for line in lines if line["user"] == member.email and line["status"] == 200]
    assert mine and {(line["tool"], line["scope"]) for line in mine} == {("claude", "anthropic")}
    _no_server_key_in([enforced.gateway.access_log()])


def test_codex_exec_through_the_gateway_sends_only_the_server_held_key(member, vendor):
    result = member.aigate("run", "codex", "exec", "hello through the gateway")
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from openai: you said 'hello through the gateway'" in result.stdout
    assert vendor.model_calls()
    assert credentials_seen(vendor.records()) == {SERVER_OPENAI_KEY}
    assert not (member.home / ".codex" / "auth.json").exists()
    _no_server_key_in(member.printed)


def test_dry_run_and_status_say_the_gateway_holds_the_key(member):
    dry = member.ok("run", "--dry-run", "claude", "-p", "x").stdout
    assert "held by the gateway" in dry
    assert "the gateway (enforced mode)" in member.ok("status").stdout


def _token(person: Person, tool: str) -> str:
    """The approval token the tool's key callback prints in enforced mode."""
    return person.ok("key-helper", tool, "--server", person.deployment.url).stdout.strip()


def _call(enforced: Enforced, scope: str, headers: dict[str, str]) -> httpx.Response:
    path = "/v1/messages" if scope == "anthropic" else "/responses"
    answer = httpx.post(f"{enforced.gateway.url}/{scope}{path}", headers=headers, timeout=30,
                        json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
    _no_server_key_in([answer.text, json.dumps(dict(answer.headers))])
    return answer


def _until(predicate, seconds: float) -> float:
    """Poll ``predicate`` until it is true; the seconds it took (fails after ``seconds``)."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < seconds, f"not within {seconds} s"
        time.sleep(0.2)
    return time.monotonic() - start


def test_every_refusal_is_refused_with_no_vendor_key_in_any_answer(member, vendor, enforced):
    token = _token(member, "claude")
    assert _call(enforced, "anthropic", {"x-api-key": token}).status_code == 200
    assert _call(enforced, "anthropic", {}).status_code == 401  # no credential
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "boss@corp.example"}).encode()).decode().rstrip("=")
    assert _call(enforced, "anthropic", {"x-api-key": f"{header}.{forged}.{signature}"}).status_code == 401
    expired_claims = {**claims, "iat": claims["iat"] - 3600, "nbf": claims["nbf"] - 3600, "exp": int(time.time()) - 1}
    _, expired = KeyRing(enforced.deployment.data_dir, 600).sign(expired_claims)  # the server's own key
    assert _call(enforced, "anthropic", {"Authorization": f"Bearer {expired}"}).status_code == 401
    codex_token = _token(member, "codex")
    assert _call(enforced, "anthropic", {"x-api-key": codex_token}).status_code == 403  # another scope's token
    assert _call(enforced, "openai", {"Authorization": f"Bearer {codex_token}"}).status_code == 200
    laptop = httpx.get(f"{enforced.deployment.url}/v1/gateway/authorize/anthropic", headers={"x-api-key": token})
    assert laptop.status_code == 403  # not a gateway: gets nothing
    _no_server_key_in([laptop.text, json.dumps(dict(laptop.headers))])
    messages = [r for r in vendor.model_calls() if r["path"].endswith("/messages")]
    responses = [r for r in vendor.model_calls() if r["path"].endswith("/responses")]
    assert {(r["x-api-key"], r["authorization"]) for r in messages} == {(SERVER_ANTHROPIC_KEY, None)}
    assert {(r["x-api-key"], r["authorization"]) for r in responses} == {(None, f"Bearer {SERVER_OPENAI_KEY}")}


def test_a_disabled_user_is_refused_within_5_seconds(enforced, boss, people):
    dev = people(enforced.deployment, "dora").login()
    boss.ok("admin", "approve", dev.request("claude"))
    token = _token(dev, "claude")
    assert _call(enforced, "anthropic", {"x-api-key": token}).status_code == 200
    run_server_cli("users", "disable", dev.email, data_dir=enforced.deployment.data_dir)
    _until(lambda: _call(enforced, "anthropic", {"x-api-key": token}).status_code == 403, 5)


def test_a_revocation_stops_the_next_call_within_5_seconds(revocable, boss, enforced, vendor):
    member = revocable
    request_id = next(r["id"] for r in json.loads(member.ok("requests", "--json").stdout)
                      if r["tool"] == "claude" and r["state"] == "approved")
    token = _token(member, "claude")
    assert _call(enforced, "anthropic", {"x-api-key": token}).status_code == 200
    boss.ok("admin", "revoke", request_id, "--reason", "project ended")
    took = _until(lambda: _call(enforced, "anthropic", {"x-api-key": token}).status_code == 403, 5)
    assert took < 5
    vendor.clear()
    again = member.aigate("run", "claude", "-p", "still there?")  # its cached token is still unexpired
    assert again.returncode != 0 and "not-approved" in again.stdout
    assert not vendor.model_calls()


def test_a_streamed_reply_arrives_in_pieces(member, vendor, enforced):
    vendor.set_stream_delay(0.25)
    token = _token(member, "claude")
    body = {"model": "m", "max_tokens": 5, "stream": True,
            "messages": [{"role": "user", "content": "one two three four five"}]}
    arrivals = []
    start = time.monotonic()
    headers = {"x-api-key": token, "anthropic-version": "2023-06-01",
               "anthropic-beta": "fine-grained-tool-streaming-2025-05-14"}
    with httpx.stream("POST", f"{enforced.gateway.url}/anthropic/v1/messages", json=body, timeout=30,
                      headers=headers) as answer:
        assert answer.status_code == 200
        for chunk in answer.iter_raw():
            if chunk:
                arrivals.append(time.monotonic() - start)
    assert len(arrivals) > 3
    assert arrivals[-1] - arrivals[0] > 1.0  # the first pieces came long before the end
    (call,) = vendor.model_calls()
    assert call["anthropic-version"] == headers["anthropic-version"]  # passed unchanged
    assert call["anthropic-beta"] == headers["anthropic-beta"]


def test_a_large_request_body_passes(member, vendor, enforced):
    token = _token(member, "claude")
    big = "x" * (8 * 1024 * 1024)  # 8 MiB: above nginx's default limit (1 MiB) and buffers
    answer = httpx.post(f"{enforced.gateway.url}/anthropic/v1/messages/count_tokens", timeout=60,
                        headers={"x-api-key": token},
                        json={"model": "m", "messages": [{"role": "user", "content": big}]})
    assert answer.status_code == 200, answer.text
    (call,) = [r for r in vendor.records() if r["path"].endswith("/count_tokens")]
    assert call["body_bytes"] > 8 * 1024 * 1024


def test_unknown_paths_and_the_access_log_hold_no_credential(member, enforced):
    token = _token(member, "claude")
    assert httpx.get(f"{enforced.gateway.url}/elsewhere/v1/messages").status_code == 404
    log = enforced.gateway.access_log()
    assert token not in log and token.split(".")[2] not in log
    _no_server_key_in([log])


def test_interactive_claude_session_through_the_gateway_stops_within_5_seconds_of_a_revocation(
        revocable, boss, enforced, vendor, terminal):
    member = revocable
    terminal.start([str(VENV_BIN / "aigate"), "run", "claude"], member.env())
    screen = terminal.wait_for(CLAUDE_READY)
    assert "Detected a custom API key" not in screen
    terminal.type("hello from the enforced terminal")
    terminal.wait_for(f"{REPLY_MARKER} from anthropic: you said 'hello from the enforced terminal'")
    assert credentials_seen(vendor.records()) == {SERVER_ANTHROPIC_KEY}
    request_id = next(r["id"] for r in json.loads(member.ok("requests", "--json").stdout)
                      if r["tool"] == "claude" and r["state"] == "approved")
    boss.ok("admin", "revoke", request_id, "--reason", "project ended")
    time.sleep(5)  # the gateway's promise: the next call after 5 s is refused
    vendor.clear()
    terminal.type("are you still there")
    terminal.wait_for("not-approved", timeout=60)
    assert not vendor.model_calls()
    _no_server_key_in([terminal.screen()])


def test_interactive_codex_session_through_the_gateway(member, vendor, terminal):
    terminal.start([str(VENV_BIN / "aigate"), "run", "codex"], member.env())
    screen = terminal.wait_for(CODEX_READY)
    assert "Sign in" not in screen
    terminal.type("hello codex through the gateway")
    terminal.wait_for(f"{REPLY_MARKER} from openai: you said 'hello codex through the gateway'")
    terminal.wait_for(CODEX_TURN_DONE)
    assert credentials_seen(vendor.records()) == {SERVER_OPENAI_KEY}
    terminal.keys("C-c")
    assert terminal.wait_exit() == 0
    _no_server_key_in([terminal.screen()])
