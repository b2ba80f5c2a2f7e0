"""How server answers become aigate errors and exit codes (approval.py)."""

import httpx
import pytest

from aigate.approval import ServerClient
from aigate.errors import ExitCode

SERVER = "https://aigate.test"


def client_answering(status: int, body: dict | None = None, *, raise_error: Exception | None = None) -> ServerClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if raise_error:
            raise raise_error
        return httpx.Response(status, json=body or {})

    return ServerClient(httpx.Client(base_url=SERVER, transport=httpx.MockTransport(handler)), SERVER, "cred")


def problem(status: int, code: str) -> dict:
    return {"type": "about:blank", "title": "t", "status": status, "code": code, "detail": f"{code} detail"}


def error_of(client: ServerClient):
    with pytest.raises(Exception) as caught:
        client.issue_token("claude", None)
    return caught.value


def test_unreachable_server_is_69_and_names_the_server():
    err = error_of(client_answering(0, raise_error=httpx.ConnectError("connection refused")))
    assert err.exit_code == ExitCode.UNAVAILABLE and SERVER in err.message


def test_not_approved_is_77_with_the_request_command_as_fix():
    err = error_of(client_answering(403, problem(403, "not-approved")))
    assert err.exit_code == ExitCode.NOPERM
    assert err.hint == 'aigate request claude --reason "..." --wait'


@pytest.mark.parametrize("code", ["denied-by-policy", "repository-denied", "user-disabled"])
def test_policy_refusals_are_77(code):
    assert error_of(client_answering(403, problem(403, code))).exit_code == ExitCode.NOPERM


def test_an_unknown_device_credential_is_78_with_login_as_fix():
    err = error_of(client_answering(401, problem(401, "unauthenticated")))
    assert err.exit_code == ExitCode.CONFIG and err.hint == f"aigate login --server {SERVER}"


def test_a_server_failure_is_69():
    assert error_of(client_answering(500, problem(500, "internal"))).exit_code == ExitCode.UNAVAILABLE


def test_a_conflict_is_1():
    assert error_of(client_answering(409, problem(409, "conflict"))).exit_code == ExitCode.FAILED


def test_limits_are_checked_before_sending():
    sent = []
    http = httpx.Client(base_url=SERVER, transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(201)))
    with pytest.raises(Exception) as caught:
        ServerClient(http, SERVER, "cred").create_request("claude", "x" * 5000, None)
    assert caught.value.exit_code == ExitCode.USAGE and sent == []


def client_sending(response: httpx.Response) -> ServerClient:
    return ServerClient(httpx.Client(base_url=SERVER, transport=httpx.MockTransport(lambda r: response)), SERVER)


def login_error(response: httpx.Response):
    with pytest.raises(Exception) as caught:
        client_sending(response).enroll("7KQ2-MX4P-9TRD")
    return caught.value


def test_an_html_page_is_not_an_aigate_server_69():
    err = login_error(httpx.Response(200, html="<html>welcome</html>"))
    assert err.exit_code == ExitCode.UNAVAILABLE and f"{SERVER} does not look like an aigate server" in err.message


def test_json_of_the_wrong_shape_is_not_an_aigate_server_69():
    err = login_error(httpx.Response(200, json={"hello": "world"}))
    assert err.exit_code == ExitCode.UNAVAILABLE and "does not look like an aigate server" in err.message


def test_a_404_without_a_problem_body_is_not_an_aigate_server_69():
    err = login_error(httpx.Response(404, html="Not Found"))
    assert err.exit_code == ExitCode.UNAVAILABLE and "does not look like an aigate server" in err.message


def test_a_json_404_without_a_problem_code_is_not_an_aigate_server_69():
    err = login_error(httpx.Response(404, json={"error": "nope"}))
    assert err.exit_code == ExitCode.UNAVAILABLE and "does not look like an aigate server" in err.message
