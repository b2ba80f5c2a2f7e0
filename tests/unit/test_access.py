"""The client's side of access requests: the asked-for duration, and waiting for a decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from aigate import access, protocol
from aigate.errors import ServerUnreachable, UsageError


def request(state: str) -> protocol.AccessRequest:
    return protocol.AccessRequest(
        id="r1", tool="claude", requester="ann@corp.example", reason="tests", state=protocol.RequestState(state),
        key_scope="anthropic", requested_seconds=3600, duration_capped=False, max_duration_seconds=28800,
        automatic=False, created_at=datetime(2026, 11, 30, tzinfo=UTC))


def test_a_request_already_decided_is_not_polled():
    slept: list[float] = []
    done = access.wait_for_decision(None, request("denied"), poll_seconds=2.0, sleep=slept.append)
    assert done.state == protocol.RequestState.DENIED and slept == []


def test_a_duration_is_read_in_seconds():
    assert access.requested_seconds("1h30m") == 5400 and access.requested_seconds(None) is None


@pytest.mark.parametrize("text", ["0s", "8 hours", "367d"])
def test_a_malformed_zero_or_too_long_duration_is_a_usage_error(text):
    with pytest.raises(UsageError):
        access.requested_seconds(text)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Client:
    """Answers from a script: (seconds the server held the call, state or an exception)."""

    def __init__(self, clock: Clock, script: list) -> None:
        self.clock, self.script, self.calls = clock, list(script), []

    def wait_request(self, request_id: str, seconds: int) -> protocol.AccessRequest:
        self.calls.append(seconds)
        held, answer = self.script.pop(0)
        self.clock.now += held
        if isinstance(answer, Exception):
            raise answer
        return replace(request("pending"), state=answer)


def test_a_held_answer_is_asked_again_at_once_and_the_decision_ends_the_wait():
    clock = Clock()
    client = Client(clock, [(25, protocol.RequestState.PENDING), (3, protocol.RequestState.APPROVED)])
    seen = []
    item = access.wait_for_decision(client, request("pending"), poll_seconds=2, clock=clock, sleep=clock.sleep,
                                    on_answer=seen.append)
    assert item.state == protocol.RequestState.APPROVED and clock.slept == []
    assert client.calls == [access.LONG_POLL_SECONDS, access.LONG_POLL_SECONDS] and len(seen) == 2


def test_a_server_that_does_not_hold_the_answer_is_not_asked_in_a_tight_loop():
    clock = Clock()
    client = Client(clock, [(0, protocol.RequestState.PENDING)] * 3 + [(0, protocol.RequestState.DENIED)])
    item = access.wait_for_decision(client, request("pending"), poll_seconds=2, clock=clock, sleep=clock.sleep)
    assert item.state == protocol.RequestState.DENIED
    assert clock.slept == [2, 2, 2]


def test_an_unreachable_server_is_tried_again_then_the_error_stands():
    clock = Clock()
    down = ServerUnreachable("cannot reach")
    client = Client(clock, [(0, down), (0, protocol.RequestState.APPROVED)])
    item = access.wait_for_decision(client, request("pending"), poll_seconds=2, clock=clock, sleep=clock.sleep)
    assert item.state == protocol.RequestState.APPROVED
    client = Client(clock, [(0, down)] * access.MAX_UNREACHABLE)
    with pytest.raises(ServerUnreachable):
        access.wait_for_decision(client, request("pending"), poll_seconds=2, clock=clock, sleep=clock.sleep)
