"""Notifications from a real ``aigate-server`` process (two workers) to real HTTP receivers on
loopback; and the long-poll that ``aigate request --wait`` rests on."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from aigate.protocol import Paths, Role
from aigate.server.db import make_engine
from aigate.server.identity import add_user_job
from aigate.server.writer import write_now
from harness.server import init_server, run_server_cli, start_server
from tests.support.receiver import WebhookReceiver

SECRET = "whsec-0123456789abcdef"
RULES = """
[[rules]]
groups = ["*"]
tools = ["claude", "codex"]
approval = "required"
max_duration = "8h"
"""


def notify_table(url: str, fmt: str, events: list[str] | None = None, name: str | None = None) -> str:
    lines = ["[[notify]]", f'url = "{url}"', f'format = "{fmt}"']
    lines += [f'secret = "{SECRET}"'] if fmt == "json" else []
    lines += [f"events = {json.dumps(events)}"] if events else []
    lines += [f'name = "{name}"'] if name else []
    return "\n".join(lines) + "\n"


def enroll(url: str, code: str) -> dict[str, str]:
    answer = httpx.post(url + Paths.ENROLLMENTS, json={"code": code})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['device_credential']}"}


def make_server(base, policy: str, users: list[tuple[str, Role]]) -> tuple:
    data_dir = init_server(base / "srv", policy=policy)
    engine = make_engine(f"sqlite:///{data_dir / 'aigate.db'}", writer=True, pool_size=1)
    codes = {email: write_now(engine, add_user_job(email, None, role, "test"))[1] for email, role in users}
    engine.dispose()
    return data_dir, codes


@pytest.fixture(scope="module")
def hooks(tmp_path_factory):
    """A server with two worker processes and three receivers: signed JSON, Slack, and a slow one."""
    signed, slack, slow = WebhookReceiver(secret=SECRET), WebhookReceiver(), WebhookReceiver(secret=SECRET, delay=4)
    policy = ('grant_expiring_before = "8h"\n' + RULES + notify_table(signed.url, "json", name="signed")
              + notify_table(slack.url, "slack", ["request.created", "request.denied"], name="team-slack")
              + notify_table(slow.url, "json", ["request.approved"], name="slow"))
    users = [("ann@corp.example", Role.USER), ("boss@corp.example", Role.APPROVER)]
    for extra in range(4):
        users.append((f"dev{extra}@corp.example", Role.USER))
    data_dir, codes = make_server(tmp_path_factory.mktemp("notify"), policy, users)
    with signed, slack, slow, start_server(data_dir, workers=2) as server:
        heads = {email: enroll(server.url, code) for email, code in codes.items()}
        yield server, heads, signed, slack, slow


def events_of(receiver: WebhookReceiver, event: str, subject: str) -> list:
    return [d for d in receiver.deliveries if d.headers.get("X-Aigate-Event") == event
            and subject in d.body.decode()]


def wait_event(receiver: WebhookReceiver, event: str, subject: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = events_of(receiver, event, subject)
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {event} for {subject} after {timeout}s: {[d.headers for d in receiver.deliveries]}")


def test_a_new_request_reaches_the_signed_json_receiver_with_its_console_link(hooks):
    server, heads, signed, _, _ = hooks
    created = httpx.post(server.url + Paths.ACCESS_REQUESTS, headers=heads["ann@corp.example"],
                         json={"tool": "claude", "reason": "billing refactor"}).json()
    (delivery,) = wait_event(signed, "request.created", created["id"])
    assert delivery.signature_ok is True
    body = delivery.json
    assert body["event"] == "request.created" and body["actor"] == "ann@corp.example"
    assert body["console_url"] == f"{server.url}/console/requests/{created['id']}"
    assert body["request"]["reason"] == "billing refactor" and body["id"] == delivery.headers["X-Aigate-Delivery"]


def test_the_slack_message_escapes_what_the_requester_typed(hooks):
    server, heads, _, slack, _ = hooks
    created = httpx.post(server.url + Paths.ACCESS_REQUESTS, headers=heads["dev0@corp.example"],
                         json={"tool": "codex", "reason": "<!channel> & <https://evil.example|click>"}).json()
    (delivery,) = wait_event(slack, "request.created", created["id"])
    text = delivery.json["text"]
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in text
    assert f"<{server.url}/console/requests/{created['id']}|request {created['id']}>" in text


def test_a_slow_receiver_does_not_delay_the_approval_answer(hooks):
    server, heads, _, _, slow = hooks
    created = httpx.post(server.url + Paths.ACCESS_REQUESTS, headers=heads["dev1@corp.example"],
                         json={"tool": "claude", "reason": "slow receiver"}).json()
    started = time.monotonic()
    httpx.post(server.url + Paths.APPROVE.format(id=created["id"]), headers=heads["boss@corp.example"]
               ).raise_for_status()
    assert time.monotonic() - started < 2.0  # the receiver takes 4 s to answer
    (delivery,) = wait_event(slow, "request.approved", created["id"])
    assert delivery.signature_ok and delivery.json["actor"] == "boss@corp.example"


def test_a_grant_ending_within_the_notice_gets_one_grant_expiring(hooks):
    server, heads, signed, _, _ = hooks
    created = httpx.post(server.url + Paths.ACCESS_REQUESTS, headers=heads["dev2@corp.example"],
                         json={"tool": "claude", "reason": "short grant"}).json()
    httpx.post(server.url + Paths.APPROVE.format(id=created["id"]), headers=heads["boss@corp.example"]
               ).raise_for_status()
    wait_event(signed, "grant.expiring", created["id"])
    time.sleep(3)  # both workers scan again after later commits; still one per grant and receiver
    httpx.post(server.url + Paths.ACCESS_REQUESTS, headers=heads["dev3@corp.example"],
               json={"tool": "claude", "reason": "a later commit"}).raise_for_status()
    time.sleep(2)
    assert len(events_of(signed, "grant.expiring", created["id"])) == 1


def test_two_workers_send_each_notification_once(hooks):
    server, heads, signed, _, _ = hooks
    ids = []
    for email in ("dev0@corp.example", "dev1@corp.example", "dev2@corp.example", "dev3@corp.example"):
        answer = httpx.post(server.url + Paths.ACCESS_REQUESTS, headers=heads[email],
                            json={"tool": "codex" if email != "dev0@corp.example" else "claude",
                                  "reason": "burst"})
        ids.append(answer.json()["id"])
    for request_id in ids:
        wait_event(signed, "request.created", request_id)
    time.sleep(2)
    for request_id in ids:
        assert len(events_of(signed, "request.created", request_id)) == 1


def test_a_receiver_down_over_a_server_restart_still_gets_it_and_no_log_shows_its_url(tmp_path):
    down = WebhookReceiver(secret=SECRET)  # not started: connection refused
    data_dir, codes = make_server(tmp_path, RULES + notify_table(down.url, "json", name="ops"),
                                  [("ann@corp.example", Role.USER)])
    with start_server(data_dir) as server:
        ann = enroll(server.url, codes["ann@corp.example"])
        created = httpx.post(server.url + Paths.ACCESS_REQUESTS, headers=ann,
                             json={"tool": "claude", "reason": "while down"}).json()
        time.sleep(3.5)  # the first attempts fail
        first_log = server.log()
    status = run_server_cli("notify", "status", data_dir=data_dir)
    assert "ops\tjson\tpending\t1" in status.stdout and "last error: ConnectError" in status.stdout
    with down, start_server(data_dir) as server:
        (delivery,) = wait_event(down, "request.created", created["id"], timeout=60)
        assert delivery.signature_ok
        time.sleep(0.5)
        second_log = server.log()
    status = run_server_cli("notify", "status", data_dir=data_dir)
    assert "ops\tjson\tdelivered\t1" in status.stdout, status.stdout
    logs = first_log + second_log + status.stdout + status.stderr
    assert "notification" in first_log and "ConnectError" in first_log  # it did log the failures...
    assert "SECRETPATH" not in logs and str(down.port) not in logs and SECRET not in logs  # ...never where to


def test_a_long_poll_returns_within_a_second_or_so_of_the_decision_in_either_worker(hooks):
    server, heads, _, _, _ = hooks
    for _ in range(2):  # with two workers, the approval lands in the poll's process or in the other
        created = httpx.post(server.url + Paths.ACCESS_REQUESTS, headers=heads["ann@corp.example"],
                             json={"tool": "codex", "reason": "long-poll"}).json()
        answer: dict = {}

        def poll(request_id: str = created["id"], answer: dict = answer) -> None:
            got = httpx.get(server.url + Paths.ACCESS_REQUEST.format(id=request_id), params={"wait": 20},
                            headers=heads["ann@corp.example"], timeout=30)
            answer.update(got.json(), returned=time.monotonic())

        waiter = threading.Thread(target=poll)
        waiter.start()
        time.sleep(1.0)
        assert not answer  # held while pending
        approved = time.monotonic()
        httpx.post(server.url + Paths.APPROVE.format(id=created["id"]), headers=heads["boss@corp.example"]
                   ).raise_for_status()
        waiter.join(30)
        assert answer["state"] == "approved" and answer["returned"] - approved < 2.5
