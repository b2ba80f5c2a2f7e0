"""Verification of fetched approval tokens (RFC 8725 checks) and the fetch-verify-cache flow."""

import json

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aigate import protocol, tokencache, tokens
from aigate.approval import ServerClient
from harness import device as signed_tokens
from tests.unit.conftest import claims_for

ISSUER = "https://aigate.test"
NOW = 1_800_000_000


@pytest.fixture(scope="module")
def signing_key():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def jwks(signing_key):
    return signed_tokens.jwks(signing_key, "k1", alg="EdDSA")


def sign(key, claims, *, kid="k1", typ=protocol.TOKEN_TYPE, alg="EdDSA"):
    return signed_tokens.sign(claims, key, kid=kid, typ=typ, alg=alg)


def claims(**extra):
    return {**claims_for(now=NOW, repository="github.com/corp/app"), "iss": ISSUER, **extra}


def verify(token, jwks, **kw):
    return tokens.verify_token(token, jwks=jwks, issuer=kw.pop("issuer", ISSUER), tool=kw.pop("tool", "claude"),
                               now=kw.pop("now", NOW + 1), **kw)


def test_a_good_token_verifies(signing_key, jwks):
    assert verify(sign(signing_key, claims()), jwks)["key_scope"] == "anthropic"


@pytest.mark.parametrize("change", [{"aud": "other"}, {"iss": "https://evil.test"}, {"tool": "codex"}])
def test_wrong_audience_issuer_or_tool_is_rejected(signing_key, jwks, change):
    with pytest.raises(tokens.TokenRejected):
        verify(sign(signing_key, claims(**change)), jwks)


def test_the_rfc_9864_algorithm_name_ed25519_is_accepted_beside_eddsa(signing_key, jwks):
    assert verify(sign(signing_key, claims(), alg="Ed25519"), jwks)["tool"] == "claude"


@pytest.mark.parametrize("alg", ["none", "HS256", "ES256", "Ed448", "eddsa"])
def test_other_algorithm_names_are_rejected(signing_key, jwks, alg):
    with pytest.raises(tokens.TokenRejected):
        verify(sign(signing_key, claims(), alg=alg), jwks)


@pytest.mark.parametrize(("check", "value"), [("sub", "bob@corp.example"), ("repository", "github.com/corp/other")])
def test_a_token_for_another_user_or_repository_is_rejected(signing_key, jwks, check, value):
    with pytest.raises(tokens.TokenRejected):
        verify(sign(signing_key, claims()), jwks, **{check: value})


def test_wrong_typ_is_rejected(signing_key, jwks):
    with pytest.raises(tokens.TokenRejected):
        verify(sign(signing_key, claims(), typ="JWT"), jwks)


def test_hmac_with_the_public_key_is_rejected(jwks):
    forged = jwt.encode(claims(), "s" * 40, algorithm="HS256", headers={"kid": "k1", "typ": protocol.TOKEN_TYPE})
    with pytest.raises(tokens.TokenRejected):
        verify(forged, jwks)


def test_expiry_allows_the_leeway_for_clock_skew_but_no_more(signing_key, jwks):
    token = sign(signing_key, claims())
    verify(token, jwks, now=NOW + 600 + protocol.TOKEN_LEEWAY_SECONDS - 1)
    with pytest.raises(tokens.TokenRejected):
        verify(token, jwks, now=NOW + 600 + protocol.TOKEN_LEEWAY_SECONDS)


def test_not_yet_valid_beyond_leeway_is_rejected(signing_key, jwks):
    with pytest.raises(tokens.TokenRejected):
        verify(sign(signing_key, claims()), jwks, now=NOW - protocol.TOKEN_LEEWAY_SECONDS - 1)


def test_a_missing_required_claim_is_rejected(signing_key, jwks):
    incomplete = claims()
    del incomplete["jti"]
    with pytest.raises(tokens.TokenRejected):
        verify(sign(signing_key, incomplete), jwks)


def test_an_unknown_kid_asks_for_the_jwks_again(signing_key, jwks):
    with pytest.raises(tokens.UnknownKey):
        verify(sign(signing_key, claims(), kid="rotated"), jwks)


def test_fetch_verifies_and_caches_the_token(signing_key, jwks, tmp_path):
    token = sign(signing_key, claims())
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.headers.get("authorization")))
        if request.url.path == protocol.Paths.JWKS:
            return httpx.Response(200, json=jwks)
        body = json.loads(request.content)
        assert body == {"tool": "claude", "repository": "github.com/corp/app"}
        return httpx.Response(201, json={"token": token, "expires_at": "2027-01-15T08:10:00Z", "tool": "claude",
                                         "key_scope": "anthropic"})

    http = httpx.Client(base_url=ISSUER, transport=httpx.MockTransport(handler))
    client = ServerClient(http, ISSUER, "cred")
    got = tokens.fetch_token(client, tool="claude", repository="github.com/corp/app", issuer=ISSUER, now=NOW + 1,
                             token_dir=tmp_path, sub="ann@corp.example")
    assert got.token == token
    assert tokencache.read_valid(tmp_path, ISSUER, "claude", "github.com/corp/app", now=NOW + 1, issuer=ISSUER,
                                 sub="ann@corp.example").token == token
    assert seen[0] == ("POST", protocol.Paths.APPROVAL_TOKENS, "Bearer cred")
