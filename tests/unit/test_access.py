"""The client's side of access requests: the asked-for duration, and waiting for a decision."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aigate import access, protocol
from aigate.errors import UsageError


def request(state: str) -> protocol.AccessRequest:
    return protocol.AccessRequest(
        id="r1", tool="claude", requester="ann@corp.example", reason="tests", state=protocol.RequestState(state),
        key_scope="anthropic", requested_seconds=3600, duration_capped=False, max_duration_seconds=28800,
        automatic=False, created_at=datetime(2026, 11, 30, tzinfo=UTC))


class Server:
    """Answers get_request with the next of ``states``."""

    def __init__(self, *states: str):
        self.states = list(states)

    def get_request(self, request_id: str) -> protocol.AccessRequest:
        return request(self.states.pop(0))


def test_waiting_polls_until_the_request_is_decided_sleeping_between_polls():
    slept: list[float] = []
    done = access.wait_for_decision(Server("pending", "approved"), request("pending"), poll_seconds=2.0,
                                    sleep=slept.append)
    assert done.state == protocol.RequestState.APPROVED and slept == [2.0, 2.0]


def test_a_request_already_decided_is_not_polled():
    slept: list[float] = []
    done = access.wait_for_decision(Server(), request("denied"), poll_seconds=2.0, sleep=slept.append)
    assert done.state == protocol.RequestState.DENIED and slept == []


def test_a_duration_is_read_in_seconds():
    assert access.requested_seconds("1h30m") == 5400 and access.requested_seconds(None) is None


@pytest.mark.parametrize("text", ["0s", "8 hours", "367d"])
def test_a_malformed_zero_or_too_long_duration_is_a_usage_error(text):
    with pytest.raises(UsageError):
        access.requested_seconds(text)
