"""Approval tokens over the HTTP API: when one is issued, what it says, how it is checked (RFC 8725).

Every test runs through both entry points of the one issuance function: the ASGI fast path and the
FastAPI route (``create_app(token_fast_path=False)``), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import jwt
import pytest

from aigate.protocol import TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_TYPE, Paths, Role
from tests.server.conftest import serve_api


@pytest.fixture(params=["fast-path", "route"])
def api(request, data_dir, db_url):
    with serve_api(data_dir, db_url, token_fast_path=request.param == "fast-path") as served:
        yield served


def approved(api, email="ann@corp.example", groups=None, **approval):
    headers = api.enroll(email, groups or ["dev"])
    boss = api.devices.get("boss@corp.example") or api.enroll("boss@corp.example", role=Role.APPROVER)
    created = api.request(headers)
    assert api.approve(created["id"], boss, **approval).status_code == 200
    return headers, created["id"]


def verify(api, token: str) -> dict:
    """Check a token as a client must (RFC 8725): the JWKS key by kid, EdDSA only, typ, aud, iss."""
    jwks = api.client.get(Paths.JWKS).json()
    header = jwt.get_unverified_header(token)
    assert header["typ"] == TOKEN_TYPE
    key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == header["kid"])
    return jwt.decode(token, key.key, algorithms=[TOKEN_ALGORITHM], audience=TOKEN_AUDIENCE,
                      issuer="https://aigate.test", options={"require": ["exp", "iat", "nbf", "jti", "sub"]})


def test_no_token_without_a_grant(api):
    answer = api.token(api.enroll("ann@corp.example"))
    assert answer.status_code == 403 and answer.json()["code"] == "not-approved"


def test_a_pending_request_gives_no_token(api):
    headers = api.enroll("ann@corp.example")
    api.request(headers)
    assert api.token(headers).json()["code"] == "not-approved"


def test_an_approved_grant_gives_a_token_that_verifies_against_the_jwks(api):
    headers, request_id = approved(api)
    claims = verify(api, api.token(headers).json()["token"])
    assert claims["sub"] == "ann@corp.example" and claims["access_request"] == request_id


def test_the_token_carries_tool_scope_base_url_and_env_from_the_policy(api):
    headers, _ = approved(api)
    claims = verify(api, api.token(headers).json()["token"])
    assert (claims["tool"], claims["key_scope"], claims["base_url"], claims["env"]) == (
        "claude", "anthropic", "https://llm-gateway.corp.example/anthropic", {"DISABLE_TELEMETRY": "1"})


def test_the_token_lives_token_ttl(api):
    headers, _ = approved(api)
    claims = verify(api, api.token(headers).json()["token"])
    assert claims["exp"] - claims["iat"] == 600


def test_the_token_never_outlives_the_grant(api):
    headers, _ = approved(api, duration_seconds=120)
    claims = verify(api, api.token(headers).json()["token"])
    assert claims["exp"] - claims["iat"] <= 120


def test_the_repository_claim_is_the_normalized_remote(api):
    headers, _ = approved(api)
    answer = api.token(headers, repository="git@github.com:Corp/App.git")
    assert verify(api, answer.json()["token"])["repository"] == "github.com/corp/app"


def test_a_denied_repository_gets_no_token_in_its_https_form(api):
    headers, _ = approved(api)
    answer = api.token(headers, repository="https://github.com/Corp/llama-weights")
    assert answer.status_code == 403 and answer.json()["code"] == "repository-denied"


def test_a_denied_repository_gets_no_token_in_its_ssh_form(api):
    headers, _ = approved(api)
    assert api.token(headers, repository="git@github.com:corp/LLAMA-weights.git").status_code == 403


def test_a_refused_repository_is_an_audit_event(api):
    headers, _ = approved(api)
    api.token(headers, repository="github.com/corp/llama-x")
    assert "approval_token.refused" in api.audit_actions()


def test_a_grant_serves_all_of_the_users_devices(api):
    approved(api)
    other_device = api.enroll("ann@corp.example", ["dev"])
    assert api.token(other_device).status_code == 201


def test_a_revoked_grant_gives_no_new_token(api):
    headers, request_id = approved(api)
    api.client.post(Paths.REVOKE.format(id=request_id), json={"reason": "x"}, headers=api.devices["boss@corp.example"])
    assert api.token(headers).json()["code"] == "not-approved"


def test_an_ended_grant_gives_no_token(api):
    headers, _ = approved(api, duration_seconds=60)
    api.clock.advance(61)
    assert api.token(headers).status_code == 403


def test_an_auto_rule_issues_a_token_without_a_prior_request(api):
    answer = api.token(api.enroll("ann@corp.example", ["auto-team"]))
    assert answer.status_code == 201 and answer.json()["access_request_id"]


def test_an_auto_rule_records_the_automatic_grant(api):
    headers = api.enroll("ann@corp.example", ["auto-team"])
    api.token(headers)
    items = api.client.get(Paths.ACCESS_REQUESTS, headers=headers).json()["items"]
    assert [(i["automatic"], i["state"]) for i in items] == [(True, "approved")]


def test_an_auto_rule_reuses_its_automatic_grant(api):
    headers = api.enroll("ann@corp.example", ["auto-team"])
    first, second = api.token(headers).json(), api.token(headers).json()
    assert first["access_request_id"] == second["access_request_id"]


def test_a_deny_rule_issues_no_token(api):
    assert api.token(api.enroll("ann@corp.example", ["banned"])).json()["code"] == "denied-by-policy"


def test_an_unknown_tool_gets_422(api):
    assert api.token(api.enroll("ann@corp.example"), tool="gemini").status_code == 422


def test_each_issuance_is_an_audit_event(api):
    headers, _ = approved(api)
    api.token(headers)
    api.token(headers)
    assert api.audit_actions().count("approval_token.issued") == 2


def test_a_token_signed_by_another_key_does_not_verify(api):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    headers, _ = approved(api)
    claims = verify(api, api.token(headers).json()["token"])
    kid = jwt.get_unverified_header(api.token(headers).json()["token"])["kid"]
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA",
                        headers={"kid": kid, "typ": TOKEN_TYPE})
    with pytest.raises(jwt.InvalidSignatureError):
        verify(api, forged)


def test_the_jwks_publishes_only_public_ed25519_keys(api):
    keys = api.client.get(Paths.JWKS).json()["keys"]
    assert [(k["kty"], k["crv"], k["alg"], "d" in k) for k in keys] == [("OKP", "Ed25519", "EdDSA", False)]


def test_an_unknown_credential_gets_401_with_a_bearer_challenge(api):
    answer = api.token({"Authorization": "Bearer agd_0123456789abcdef_nope"})
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"


def test_a_token_request_without_json_content_type_is_a_422_problem_from_the_route(api):
    headers, _ = approved(api)
    answer = api.client.post(Paths.APPROVAL_TOKENS, content=b'{"tool": "claude"}', headers=headers)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid-request"


def test_the_fast_path_and_the_route_answer_a_bad_field_alike(api):
    headers = api.enroll("ann@corp.example")
    answer = api.client.post(Paths.APPROVAL_TOKENS, json={"tool": ""}, headers=headers)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid-request"


def _comparable(answer) -> tuple:
    """Status, media type and body of an answer, without what differs on every issuance."""
    body = answer.json()
    if answer.status_code == 201:
        body = {k: v for k, v in body.items() if k not in ("token", "expires_at")}
    return answer.status_code, answer.headers["content-type"], answer.headers.get("www-authenticate"), body


def test_the_fast_path_and_the_route_give_the_same_answers(data_dir, db_url):
    with serve_api(data_dir, db_url) as fast, serve_api(data_dir, db_url, token_fast_path=False) as route:
        headers, _ = approved(fast)
        auto = fast.enroll("al@corp.example", ["auto-team"])
        cases = [
            (headers, {"tool": "claude"}),
            (headers, {"tool": "claude", "repository": "git@github.com:Corp/App.git"}),
            (headers, {"tool": "claude", "repository": "https://github.com/Corp/llama-weights"}),
            (headers, {"tool": "codex"}),
            (headers, {"tool": "gemini"}),
            (fast.enroll("bo@corp.example", ["banned"]), {"tool": "claude"}),
            (auto, {"tool": "claude"}),
            ({"Authorization": "Bearer agd_0123456789abcdef_nope"}, {"tool": "claude"}),
        ]
        for case_headers, body in cases:
            answers = [api.client.post(Paths.APPROVAL_TOKENS, json=body, headers=case_headers) for api in (fast, route)]
            assert _comparable(answers[0]) == _comparable(answers[1]), body
        assert route.audit_actions().count("approval_token.issued") == 6
