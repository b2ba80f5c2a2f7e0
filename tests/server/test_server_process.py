"""The real ``aigate-server`` process (harness/server.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import re

import httpx
import jwt
import pytest

from aigate.protocol import TOKEN_AUDIENCE, Paths, Role
from aigate.server.db import make_engine
from aigate.server.identity import add_user_job
from aigate.server.writer import write_now
from harness.server import add_user, init_server, run_server_cli, start_server


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def running(request, tmp_path_factory):
    """One real server (two workers) per backend for this module, initialized through the CLI,
    with enrollment codes for ann (3 devices), boss (2) and chief (1); yields (server, codes, db_url)."""
    base = tmp_path_factory.mktemp(f"proc-{request.param}")
    if request.param == "sqlite":
        db_url = f"sqlite:///{base / 'aigate.db'}"
    else:
        from harness.postgres import create_database

        db_url = create_database(request.getfixturevalue("postgres_url"), "process_tests")
    data_dir = init_server(base / "srv", db_url=db_url)
    codes = {"ann@corp.example": [add_user(data_dir, "ann@corp.example", db_url=db_url)]}  # the helper
    engine = make_engine(db_url, writer=True, pool_size=1)  # the rest in-process: a CLI run costs seconds
    for email, role, count in [("ann@corp.example", Role.USER, 2), ("boss@corp.example", Role.APPROVER, 2),
                               ("chief@corp.example", Role.ADMIN, 1)]:
        for _ in range(count):
            codes.setdefault(email, []).append(write_now(engine, add_user_job(email, None, role, "test"))[1])
    engine.dispose()
    with start_server(data_dir, db_url=db_url, workers=2) as server:
        yield server, codes, db_url


def enroll(url: str, code: str) -> dict[str, str]:
    answer = httpx.post(url + Paths.ENROLLMENTS, json={"code": code})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['device_credential']}"}


def test_request_approve_and_a_token_that_verifies_against_the_served_jwks(running):
    server, codes, _ = running
    ann = enroll(server.url, codes["ann@corp.example"].pop())
    boss = enroll(server.url, codes["boss@corp.example"].pop())
    request_id = httpx.post(server.url + Paths.ACCESS_REQUESTS, json={"tool": "claude", "reason": "bug 1"},
                            headers=ann).json()["id"]
    httpx.post(server.url + Paths.APPROVE.format(id=request_id), headers=boss).raise_for_status()
    token = httpx.post(server.url + Paths.APPROVAL_TOKENS, json={"tool": "claude"}, headers=ann).json()["token"]
    key = jwt.PyJWKClient(server.url + Paths.JWKS).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience=TOKEN_AUDIENCE, issuer=server.url)
    assert claims["access_request"] == request_id


def test_two_approvers_in_two_worker_processes_one_wins(running):
    server, codes, _ = running
    ann = enroll(server.url, codes["ann@corp.example"].pop())
    reviewers = [enroll(server.url, codes[email].pop()) for email in ("boss@corp.example", "chief@corp.example")]
    request_id = httpx.post(server.url + Paths.ACCESS_REQUESTS, json={"tool": "codex", "reason": "x"},
                            headers=ann).json()["id"]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        statuses = list(pool.map(lambda h: httpx.post(server.url + Paths.APPROVE.format(id=request_id),
                                                      headers=h).status_code, reviewers))
    assert sorted(statuses) == [200, 409]


def test_the_audit_chain_is_whole_after_concurrent_writes_from_two_workers(running):
    server, codes, db_url = running
    ann = enroll(server.url, codes["ann@corp.example"].pop())
    body = {"session_id": "", "kind": "start", "tool": "claude", "at": "2026-11-29T10:00:00Z"}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: httpx.post(server.url + Paths.SESSION_EVENTS, json={**body, "session_id": f"s{n}"},
                                           headers=ann).raise_for_status(), range(40)))
    done = run_server_cli("audit", "verify", data_dir=server.data_dir, db_url=db_url)
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
