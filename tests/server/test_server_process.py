"""The real ``aigate-server`` process (tests/support/server.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import re

import httpx
import jwt
import pytest

from aigate.protocol import TOKEN_AUDIENCE, Paths
from tests.support.server import add_user, init_server, run_server_cli, start_server


@pytest.fixture
def empty_db_url(request, tmp_path, db_url):
    """``db_url``'s backend, but a database not yet migrated (``init`` migrates it)."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    from tests.support.postgres import create_database

    return create_database(db_url, f"fresh_{abs(hash(request.node.nodeid)) % 10**8}")


@pytest.fixture
def running(tmp_path, empty_db_url):
    data_dir = init_server(tmp_path / "srv", db_url=empty_db_url)
    codes = {email: add_user(data_dir, email, role=role, db_url=empty_db_url)
             for email, role in [("ann@corp.example", "user"), ("boss@corp.example", "approver"),
                                 ("chief@corp.example", "admin")]}
    with start_server(data_dir, db_url=empty_db_url, workers=2) as server:
        yield server, codes


def enroll(url: str, code: str) -> dict[str, str]:
    answer = httpx.post(url + Paths.ENROLLMENTS, json={"code": code})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['device_credential']}"}


def test_request_approve_and_a_token_that_verifies_against_the_served_jwks(running):
    server, codes = running
    ann, boss = enroll(server.url, codes["ann@corp.example"]), enroll(server.url, codes["boss@corp.example"])
    request_id = httpx.post(server.url + Paths.ACCESS_REQUESTS, json={"tool": "claude", "reason": "bug 1"},
                            headers=ann).json()["id"]
    httpx.post(server.url + Paths.APPROVE.format(id=request_id), headers=boss).raise_for_status()
    token = httpx.post(server.url + Paths.APPROVAL_TOKENS, json={"tool": "claude"}, headers=ann).json()["token"]
    key = jwt.PyJWKClient(server.url + Paths.JWKS).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience=TOKEN_AUDIENCE, issuer=server.url)
    assert claims["access_request"] == request_id


def test_two_approvers_in_two_worker_processes_one_wins(running):
    server, codes = running
    ann = enroll(server.url, codes["ann@corp.example"])
    reviewers = [enroll(server.url, codes["boss@corp.example"]), enroll(server.url, codes["chief@corp.example"])]
    request_id = httpx.post(server.url + Paths.ACCESS_REQUESTS, json={"tool": "codex", "reason": "x"},
                            headers=ann).json()["id"]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        statuses = list(pool.map(lambda h: httpx.post(server.url + Paths.APPROVE.format(id=request_id),
                                                      headers=h).status_code, reviewers))
    assert sorted(statuses) == [200, 409]


def test_the_audit_chain_is_whole_after_concurrent_writes_from_two_workers(running, empty_db_url):
    server, codes = running
    ann = enroll(server.url, codes["ann@corp.example"])
    body = {"session_id": "", "kind": "start", "tool": "claude", "at": "2026-11-29T10:00:00Z"}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: httpx.post(server.url + Paths.SESSION_EVENTS, json={**body, "session_id": f"s{n}"},
                                           headers=ann).raise_for_status(), range(40)))
    done = run_server_cli("audit", "verify", data_dir=server.data_dir, db_url=empty_db_url)
    assert re.search(r"whole: \d+ event", done.stdout)


def test_serve_warns_when_binding_a_non_loopback_address_without_tls(tmp_path):
    data_dir = init_server(tmp_path / "srv")
    with start_server(data_dir, extra_args=["--host", "0.0.0.0"]) as server:
        log = server.log()
    assert "without TLS" in log and "device credentials" in log


def test_serve_exits_78_on_a_database_whose_migrations_are_behind(tmp_path):
    data_dir = init_server(tmp_path / "srv")
    done = run_server_cli("serve", data_dir=data_dir, db_url=f"sqlite:///{tmp_path / 'other.db'}", check=False)
    assert done.returncode == 78 and "aigate-server init" in done.stderr and "Traceback" not in done.stderr
