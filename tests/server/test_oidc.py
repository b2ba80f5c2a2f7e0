"""The OpenID client's checks on what a provider sends (discovery, token answer, ID token), with the
provider faked at the HTTP boundary (httpx.MockTransport) so forged and broken tokens can be made.
The real provider is exercised in test_sso_browser.py."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from aigate.server.oidc import OidcClient, OidcConfig, OidcError, pkce_pair, s256

ISSUER = "https://idp.corp.example"
NONCE = "nonce-123"
NONCE_HASH = hashlib.sha256(NONCE.encode()).hexdigest()
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key, kid: str) -> dict:
    data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "use": "sig", "alg": "RS256"}


class FakeProvider:
    def __init__(self):
        self.keys = [jwk(KEY, "k1")]
        self.issuer = ISSUER
        self.id_token = ""
        self.token_requests: list[httpx.Request] = []
        self.jwks_fetches = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={
                "issuer": self.issuer, "authorization_endpoint": f"{ISSUER}/auth", "token_endpoint": f"{ISSUER}/token",
                "jwks_uri": f"{ISSUER}/jwks", "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "groups"]})
        if request.url.path == "/jwks":
            self.jwks_fetches += 1
            return httpx.Response(200, json={"keys": self.keys})
        if request.url.path == "/token":
            self.token_requests.append(request)
            return httpx.Response(200, json={"id_token": self.id_token, "token_type": "Bearer"})
        return httpx.Response(404)


def claims(**override) -> dict:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": "aigate", "sub": "u1", "iat": now, "exp": now + 300, "nonce": NONCE,
            "email": "Ann@Corp.Example", "email_verified": True, "groups": ["dev", "eng-leads"]}
    return {k: v for k, v in {**base, **override}.items() if v is not None}


def sign(payload: dict, key=KEY, kid: str = "k1", alg: str = "RS256") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture
def provider():
    return FakeProvider()


@pytest.fixture
def client(provider):
    http = httpx.AsyncClient(transport=httpx.MockTransport(provider))
    return OidcClient(OidcConfig(ISSUER, "aigate", "secret"), "https://aigate.test/sso/callback", http)


def verify(client, token: str, nonce_hash: str = NONCE_HASH) -> dict:
    return asyncio.run(client.verify(token, nonce_hash))


def test_a_valid_id_token_gives_the_email_lower_cased_and_the_groups(client):
    identity = client.identity(verify(client, sign(claims())))
    assert (identity.email, identity.groups, identity.subject) == ("ann@corp.example", ["dev", "eng-leads"], "u1")


@pytest.mark.parametrize("forged", [
    pytest.param(lambda: sign(claims(), key=OTHER_KEY), id="signed-by-another-key"),
    pytest.param(lambda: sign(claims(aud="someone-else")), id="another-audience"),
    pytest.param(lambda: sign(claims(iss="https://evil.example")), id="another-issuer"),
    pytest.param(lambda: sign(claims(exp=int(time.time()) - 3600)), id="expired"),
    pytest.param(lambda: sign(claims(nonce="replayed")), id="another-nonce"),
    pytest.param(lambda: sign(claims(nonce=None)), id="no-nonce"),
    pytest.param(lambda: jwt.encode(claims(), key="", algorithm="none"), id="alg-none"),
    pytest.param(lambda: jwt.encode(claims(), "s" * 40, algorithm="HS256", headers={"kid": "k1"}), id="hs256"),
    pytest.param(lambda: sign(claims(aud=["aigate", "other"])), id="several-audiences-without-azp"),
    pytest.param(lambda: "not.a.token", id="garbage"),
])
def test_an_id_token_that_does_not_verify_is_refused(client, forged):
    with pytest.raises(OidcError):
        verify(client, forged())


def test_an_unverified_email_is_refused(client):
    with pytest.raises(OidcError, match="not verified"):
        client.identity(verify(client, sign(claims(email_verified=False))))


def test_entra_ids_preferred_username_serves_as_email_when_there_is_no_email(client):
    identity = client.identity(verify(client, sign(claims(email=None, preferred_username="bo@corp.example"))))
    assert identity.email == "bo@corp.example"


def test_a_groups_claim_that_is_not_a_list_of_names_is_refused_and_a_missing_one_is_none(client):
    with pytest.raises(OidcError, match="groups"):
        client.identity(verify(client, sign(claims(groups="dev"))))
    assert client.identity(verify(client, sign(claims(groups=None)))).groups is None


def test_a_rotated_signing_key_is_fetched_once_its_kid_appears(client, provider, monkeypatch):
    verify(client, sign(claims()))
    provider.keys.append(jwk(OTHER_KEY, "k2"))
    monkeypatch.setattr("aigate.server.oidc.JWKS_MIN_REFRESH_SECONDS", 0)
    assert verify(client, sign(claims(), key=OTHER_KEY, kid="k2"))["sub"] == "u1"
    assert provider.jwks_fetches == 2


def test_discovery_that_names_another_issuer_is_refused(client, provider):
    provider.issuer = "https://evil.example"
    with pytest.raises(OidcError, match="issuer"):
        asyncio.run(client.metadata())


def test_the_authorization_url_carries_state_nonce_and_an_s256_challenge(client):
    verifier, challenge = pkce_pair()
    url = httpx.URL(asyncio.run(client.authorization_url(state="st", nonce="no", code_challenge=challenge)))
    params = dict(url.params)
    assert params["code_challenge_method"] == "S256" and params["code_challenge"] == s256(verifier)
    assert (params["state"], params["nonce"], params["response_type"]) == ("st", "no", "code")
    assert params["scope"] == "openid email profile groups"
    assert params["redirect_uri"] == "https://aigate.test/sso/callback"


def test_the_code_exchange_sends_the_verifier_and_authenticates_the_client(client, provider):
    provider.id_token = "the-id-token"
    assert asyncio.run(client.exchange("the-code", "the-verifier")) == "the-id-token"
    sent = provider.token_requests[0]
    form = dict(httpx.QueryParams(sent.content.decode()))
    assert form == {"grant_type": "authorization_code", "code": "the-code",
                    "redirect_uri": "https://aigate.test/sso/callback", "code_verifier": "the-verifier"}
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(b"aigate:secret").decode()
