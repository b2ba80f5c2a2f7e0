"""The gateway authorization endpoint on both databases: only a registered gateway gets a vendor key,
and only for a valid, live approval token of the route's scope (docs/enforced-mode.md)."""

from __future__ import annotations

import json

import pytest

from aigate.protocol import Paths, Role
from aigate.server import gateways, usage, vendor_keys
from aigate.server.gateway_authz import GatewayState, flush_usage
from aigate.server.writer import write_now

GATEWAY_POLICY = """\
token_ttl = "10m"

[tools.claude]
key_scope = "anthropic"
key_source = "gateway"
base_url = "https://aigw.corp.example/anthropic"

[tools.codex]
key_scope = "openai"

[[rules]]
groups = ["*"]
tools = ["claude", "codex"]
approval = "required"
max_duration = "8h"
"""
VENDOR_KEY = "sk-ant-server-held-0042"
AUTHORIZE = "/v1/gateway/authorize/anthropic"


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def data_dir(data_dir):
    (data_dir / "policy.toml").write_text(GATEWAY_POLICY)
    return data_dir


@pytest.fixture
def tick(api, data_dir) -> Monotonic:
    """The caches' clock, moved by hand (``tick.now += 3`` outlives every cache)."""
    clock = Monotonic()
    api.client.app.state.services.gateway = GatewayState(data_dir, clock)
    return clock


@pytest.fixture
def gateway(api, data_dir, tick) -> dict[str, str]:
    """A registered gateway's headers, and the scope's vendor key stored."""
    kek = vendor_keys.load_kek(data_dir, create=True)
    write_now(api.engine, vendor_keys.set_key_job("anthropic", VENDOR_KEY, kek, "test"))
    _, credential = write_now(api.engine, gateways.add_job("gw1", "test"))
    return {"X-Aigate-Gateway-Credential": credential}


def _token(api, tool: str = "claude", email: str = "ann@corp.example") -> tuple[str, str]:
    headers = api.enroll(email, ["dev"])
    boss = api.devices.get("boss@corp.example") or api.enroll("boss@corp.example", role=Role.APPROVER)
    created = api.request(headers, tool)
    assert api.approve(created["id"], boss).status_code == 200
    answer = api.token(headers, tool)
    assert answer.status_code == 201, answer.text
    return answer.json()["token"], created["id"]


def _no_key(answer) -> None:
    assert VENDOR_KEY not in answer.text and VENDOR_KEY not in json.dumps(dict(answer.headers))


def test_a_registered_gateway_gets_the_vendor_key_for_a_live_token(api, gateway):
    token, _ = _token(api)
    answer = api.client.get(AUTHORIZE, headers={**gateway, "x-api-key": token})
    assert answer.status_code == 200
    assert answer.headers["X-Aigate-Vendor-Key"] == VENDOR_KEY
    assert answer.headers["x-api-key"] == VENDOR_KEY  # ready-made for Envoy's allowed_upstream_headers
    assert answer.headers["X-Aigate-User"] == "ann@corp.example"
    assert (answer.headers["X-Aigate-Tool"], answer.headers["X-Aigate-Scope"]) == ("claude", "anthropic")
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["POST", "GET", "HEAD"])
def test_any_method_and_an_appended_path_are_one_endpoint(api, gateway, method):
    token, _ = _token(api)
    answer = api.client.request(method, AUTHORIZE + "/v1/messages", headers={**gateway,
                                                                           "Authorization": f"Bearer {token}"})
    assert answer.status_code == 200


def test_a_laptop_with_its_own_token_gets_nothing(api, gateway):
    token, _ = _token(api)
    for headers in ({"x-api-key": token}, {"x-api-key": token, "X-Aigate-Gateway-Credential": "agw_00_x"}):
        answer = api.client.get(AUTHORIZE, headers=headers)
        assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
        _no_key(answer)


def test_no_token_is_401_with_www_authenticate(api, gateway):
    answer = api.client.get(AUTHORIZE, headers=gateway)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.headers["X-Aigate-Reason"] == "unauthenticated"
    _no_key(answer)


def test_a_tampered_or_foreign_token_is_401(api, gateway):
    token, _ = _token(api)
    header, payload, signature = token.split(".")
    for bad in (f"{header}.{payload}x.{signature}", f"{header}.{payload}.{signature[:-4]}AAAA", "a.b.c", "garbage"):
        answer = api.client.get(AUTHORIZE, headers={**gateway, "x-api-key": bad})
        assert answer.status_code == 401, bad
        _no_key(answer)


def test_two_different_credentials_are_refused(api, gateway):
    token, _ = _token(api)
    answer = api.client.get(AUTHORIZE, headers={**gateway, "x-api-key": token, "Authorization": "Bearer other"})
    assert answer.status_code == 401


def test_an_expired_token_is_401(api, gateway):
    token, _ = _token(api)
    api.clock.advance(601)
    assert api.client.get(AUTHORIZE, headers={**gateway, "x-api-key": token}).status_code == 401


def test_a_token_of_another_scope_is_403(api, gateway):
    token, _ = _token(api)
    answer = api.client.get("/v1/gateway/authorize/openai", headers={**gateway, "x-api-key": token})
    assert answer.status_code == 403
    _no_key(answer)


def test_a_tool_the_policy_keeps_on_the_laptop_is_403(api, gateway):
    token, _ = _token(api, "codex")
    answer = api.client.get("/v1/gateway/authorize/openai", headers={**gateway, "Authorization": f"Bearer {token}"})
    assert answer.status_code == 403 and "through a gateway" in answer.json()["detail"]


def test_a_revocation_is_refused_once_the_cached_decision_is_older_than_its_limit(api, gateway, tick):
    token, request_id = _token(api)
    headers = {**gateway, "x-api-key": token}
    assert api.client.get(AUTHORIZE, headers=headers).status_code == 200
    revoked = api.client.post(Paths.REVOKE.format(id=request_id), json={"reason": "ended"},
                              headers=api.devices["boss@corp.example"])
    assert revoked.status_code == 200
    tick.now += 2.5  # past DECISION_CACHE_SECONDS (2 s): within the 5 s promise
    answer = api.client.get(AUTHORIZE, headers=headers)
    assert answer.status_code == 403 and answer.json()["code"] == "not-approved"
    _no_key(answer)


def test_a_disabled_user_and_a_logged_out_device_are_403(api, gateway, tick, cli, data_dir, db_url):
    token, _ = _token(api)
    assert cli("users", "disable", "ann@corp.example", "--data-dir", str(data_dir), "--db", db_url)[0] == 0
    answer = api.client.get(AUTHORIZE, headers={**gateway, "x-api-key": token})
    assert answer.status_code == 403 and answer.json()["code"] == "user-disabled"
    token, _ = _token(api, email="bob@corp.example")
    assert api.client.delete(Paths.CURRENT_DEVICE, headers=api.devices["bob@corp.example"]).status_code == 204
    assert api.client.get(AUTHORIZE, headers={**gateway, "x-api-key": token}).status_code == 403


def test_a_removed_gateway_is_refused(api, gateway, tick):
    token, _ = _token(api)
    assert api.client.get(AUTHORIZE, headers={**gateway, "x-api-key": token}).status_code == 200
    write_now(api.engine, gateways.remove_job("gw1", "test"))
    tick.now += 2.5
    assert api.client.get(AUTHORIZE, headers={**gateway, "x-api-key": token}).status_code == 403


def test_no_vendor_key_for_the_scope_is_503(api, gateway, tick):
    token, _ = _token(api)
    write_now(api.engine, vendor_keys.delete_key_job("anthropic", "test"))
    answer = api.client.get(AUTHORIZE, headers={**gateway, "x-api-key": token})
    assert answer.status_code == 503 and "keys set anthropic" in answer.json()["detail"]


def test_authorized_calls_are_counted_per_day_user_tool_and_scope(api, gateway):
    token, _ = _token(api)
    for _ in range(3):
        assert api.client.get(AUTHORIZE, headers={**gateway, "x-api-key": token}).status_code == 200
    assert api.client.get(AUTHORIZE, headers=gateway).status_code == 401  # refusals are not counted
    services = api.client.app.state.services
    flush_usage(services.gateway, api.engine)
    with api.engine.connect() as conn:
        (row,) = usage.report(conn, None)
    assert (row["user"], row["tool"], row["scope"], row["calls"]) == ("ann@corp.example", "claude", "anthropic", 3)


def test_setting_and_deleting_a_vendor_key_is_audited_without_its_value(api, gateway):
    write_now(api.engine, vendor_keys.delete_key_job("anthropic", "test"))
    assert {"vendor_key.set", "vendor_key.deleted", "gateway.added"} <= set(api.audit_actions())
    from sqlalchemy import text

    with api.engine.connect() as conn:
        dump = json.dumps([list(r) for r in conn.execute(text("SELECT * FROM audit_events"))])
    assert VENDOR_KEY not in dump


def test_the_openapi_documents_the_endpoint(api):
    spec = api.client.get(Paths.OPENAPI).json()
    assert set(spec["paths"]["/v1/gateway/authorize/{scope}"]) >= {"get", "post"}


def test_the_fastapi_route_answers_exactly_as_the_asgi_fast_path(api, gateway):
    from fastapi.testclient import TestClient

    from aigate.server.app import create_app

    route = TestClient(create_app(api.client.app.state.services, gateway_fast_path=False))  # no lifespan
    token, _ = _token(api)
    cases = [{**gateway, "x-api-key": token}, gateway, {"x-api-key": token}, {**gateway, "x-api-key": "a.b.c"}]
    for headers in cases:
        for method in ("GET", "POST"):
            fast, slow = (client.request(method, AUTHORIZE + "/v1/messages", headers=headers)
                          for client in (api.client, route))
            assert (fast.status_code, fast.content) == (slow.status_code, slow.content)
            for name in ("X-Aigate-Vendor-Key", "X-Aigate-Reason", "Content-Type", "WWW-Authenticate"):
                assert fast.headers.get(name) == slow.headers.get(name), name


def test_a_head_request_gets_the_headers_and_no_body(api, gateway):
    answer = api.client.head(AUTHORIZE, headers=gateway)
    assert answer.status_code == 401 and answer.content == b""
    assert answer.headers["X-Aigate-Reason"] == "unauthenticated"
