"""The server as an OpenID Connect client (the only one: laptops need no IdP settings).

Authorization code flow with PKCE (RFC 7636, ``S256``), ``state`` and ``nonce`` (OpenID Connect Core
1.0, sections 3.1.2 and 15.5.2), endpoints from discovery (``{issuer}/.well-known/openid-configuration``,
OpenID Connect Discovery 1.0), the client authenticating with ``client_secret_basic``. ID tokens are
verified with PyJWT against the provider's JWKS (signature, an asymmetric algorithm the provider
publishes, ``iss``, ``aud``, ``exp``, ``iat``, ``azp`` when several audiences, then ``nonce``).

Settings: ``serve --oidc-issuer URL --oidc-client-id ID [--oidc-groups-claim groups]``, the secret in
``AIGATE_SERVER_OIDC_CLIENT_SECRET``; ``serve`` hands them to its workers through the environment.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

ENV_ISSUER = "AIGATE_SERVER_OIDC_ISSUER"
ENV_CLIENT_ID = "AIGATE_SERVER_OIDC_CLIENT_ID"
ENV_CLIENT_SECRET = "AIGATE_SERVER_OIDC_CLIENT_SECRET"
ENV_GROUPS_CLAIM = "AIGATE_SERVER_OIDC_GROUPS_CLAIM"
DEFAULT_GROUPS_CLAIM = "groups"
CALLBACK_PATH = "/sso/callback"
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_SECONDS = 60  # clock skew between the provider and this server
METADATA_TTL_SECONDS = 3600
JWKS_MIN_REFRESH_SECONDS = 30  # an unknown `kid` refetches the JWKS at most this often
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class OidcError(Exception):
    """A sign-in that cannot go on: the provider failed or answered something that does not verify.
    The message is safe to show to the person in the browser (no secret, no token)."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    groups_claim: str = DEFAULT_GROUPS_CLAIM

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> OidcConfig | None:
        """The settings ``serve`` exported, or None when SSO is not configured."""
        source: Mapping[str, str] = os.environ if env is None else env
        issuer, client_id = source.get(ENV_ISSUER, ""), source.get(ENV_CLIENT_ID, "")
        if not issuer or not client_id:
            return None
        return cls(issuer.rstrip("/"), client_id, source.get(ENV_CLIENT_SECRET, ""),
                   source.get(ENV_GROUPS_CLAIM) or DEFAULT_GROUPS_CLAIM)

    def export(self) -> dict[str, str]:
        """Environment for the worker processes (the secret is already in it, never in argv)."""
        return {ENV_ISSUER: self.issuer, ENV_CLIENT_ID: self.client_id, ENV_GROUPS_CLAIM: self.groups_claim}


def sso_environment(issuer: str | None, client_id: str | None, groups_claim: str) -> dict[str, str]:
    """What ``serve``'s options put in the environment for its workers; AigateError (2) when only
    one of issuer and client id is given, ConfigError (78) for an issuer that is not a URL."""
    from aigate.errors import AigateError, ConfigError

    if not issuer and not client_id:
        return {}
    if not issuer or not client_id:
        raise AigateError("--oidc-issuer and --oidc-client-id go together", exit_code=2)
    if not issuer.startswith(("https://", "http://")):
        raise ConfigError(f"--oidc-issuer must be the provider's https:// URL, not {issuer!r}")
    return OidcConfig(issuer.rstrip("/"), client_id, "", groups_claim or DEFAULT_GROUPS_CLAIM).export()


@dataclass(frozen=True)
class Identity:
    """Who signed in, from a verified ID token. ``groups`` is None when the token has no groups claim."""

    subject: str
    email: str
    groups: list[str] | None


def pkce_pair() -> tuple[str, str]:
    """``(code_verifier, code_challenge)`` for PKCE ``S256`` (RFC 7636 section 4): 43 characters of
    URL-safe randomness, and the base64url SHA-256 of it without padding."""
    verifier = secrets.token_urlsafe(32)
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class OidcClient:
    """One OpenID provider. Discovery and JWKS are fetched lazily and cached (async, httpx)."""

    def __init__(self, config: OidcConfig, redirect_uri: str, http: httpx.AsyncClient | None = None):
        self.config = config
        self.redirect_uri = redirect_uri
        self._http = http
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: Any = None
        self._jwks_at = 0.0
        self._lock = asyncio.Lock()

    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, trust_env=True, follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document; OidcError when it cannot be had or names another issuer."""
        if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL_SECONDS:
            return self._metadata
        url = f"{self.config.issuer}/.well-known/openid-configuration"
        data = await self._get_json(url, "discovery document")
        if data.get("issuer", "").rstrip("/") != self.config.issuer:
            raise OidcError(f"the provider's discovery document names issuer {data.get('issuer')!r}, "
                            f"not {self.config.issuer!r} (--oidc-issuer)")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(data.get(key), str):
                raise OidcError(f"the provider's discovery document has no {key}")
        self._metadata, self._metadata_at = data, time.monotonic()
        return data

    async def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        """Where to send the browser (OpenID Connect Core 3.1.2.1)."""
        meta = await self.metadata()
        scopes = ["openid", "email", "profile"]
        if self.config.groups_claim in meta.get("scopes_supported", []):
            scopes.append(self.config.groups_claim)  # Okta and this test provider release groups by scope
        query = {"response_type": "code", "client_id": self.config.client_id, "redirect_uri": self.redirect_uri,
                 "scope": " ".join(scopes), "state": state, "nonce": nonce,
                 "code_challenge": code_challenge, "code_challenge_method": "S256"}
        endpoint = meta["authorization_endpoint"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def exchange(self, code: str, code_verifier: str) -> str:
        """The ID token for an authorization ``code`` (token endpoint, ``client_secret_basic``)."""
        meta = await self.metadata()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": code_verifier}
        try:
            answer = await self.http().post(meta["token_endpoint"], data=form,
                                            auth=(self.config.client_id, self.config.client_secret),
                                            headers={"Accept": "application/json"})
        except httpx.HTTPError as err:
            raise OidcError(f"cannot reach the provider's token endpoint ({type(err).__name__})") from None
        body = _json_or_none(answer)
        if answer.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise OidcError(f"the provider refused the sign-in code ({answer.status_code}"
                            f"{', ' + str(error)[:80] if error else ''})")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the provider's token answer has no id_token")
        return id_token

    async def verify(self, id_token: str, nonce_hash: str) -> dict[str, Any]:
        """The claims of a verified ID token (module docstring) whose ``nonce`` has the SHA-256 hex
        digest ``nonce_hash`` (the server keeps only that); OidcError otherwise."""
        import jwt

        meta = await self.metadata()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise OidcError("the ID token is not a JWS") from None
        algorithms = [a for a in meta.get("id_token_signing_alg_values_supported", ["RS256"])
                      if a in ALLOWED_ALGORITHMS]
        if header.get("alg") not in algorithms:
            raise OidcError(f"the ID token's algorithm {header.get('alg')!r} is not allowed")
        key = await self._signing_key(header.get("kid"), header["alg"])
        try:
            claims = jwt.decode(id_token, key, algorithms=algorithms, audience=self.config.client_id,
                                issuer=self.config.issuer, leeway=LEEWAY_SECONDS,
                                options={"require": ["iss", "aud", "exp", "iat", "sub"]})
        except jwt.PyJWTError as err:
            raise OidcError(f"the ID token does not verify: {err}") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise OidcError("the ID token names several audiences and another authorized party")
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(hashlib.sha256(nonce.encode()).hexdigest(),
                                                                 nonce_hash):
            raise OidcError("the ID token's nonce does not match this sign-in")
        return claims

    def identity(self, claims: dict[str, Any]) -> Identity:
        """Email and groups from verified claims. The email is ``email`` (refused when the provider says
        it is not verified), else a ``preferred_username`` that is an address (Entra ID); groups come
        from the configured claim, a list of strings (None when the token has no such claim)."""
        email = claims.get("email")
        if claims.get("email_verified") is False:
            raise OidcError("the provider says this account's email address is not verified")
        if not isinstance(email, str) or "@" not in email:
            email = claims.get("preferred_username")
        if not isinstance(email, str) or "@" not in email or len(email) > 254:
            raise OidcError("the ID token has no email address (ask IT to release the email claim)")
        raw = claims.get(self.config.groups_claim)
        if raw is None:
            groups = None
        elif isinstance(raw, list) and all(isinstance(g, str) for g in raw):
            groups = sorted({g for g in raw if g})[:200]
        else:
            raise OidcError(f"the ID token's {self.config.groups_claim!r} claim is not a list of names")
        return Identity(str(claims["sub"]), email.strip().lower(), groups)

    async def _signing_key(self, kid: str | None, alg: str) -> Any:
        """The provider's public key ``kid``; an unknown ``kid`` refetches the JWKS (key rotation), at
        most once per JWKS_MIN_REFRESH_SECONDS."""
        async with self._lock:
            if self._jwks is None:
                await self._load_jwks()
            key = self._find_key(kid)
            if key is None and time.monotonic() - self._jwks_at > JWKS_MIN_REFRESH_SECONDS:
                await self._load_jwks()
                key = self._find_key(kid)
        if key is None:
            raise OidcError(f"no key {kid!r} for {alg} in the provider's JWKS")
        return key

    async def _load_jwks(self) -> None:
        import jwt

        data = await self._get_json((await self.metadata())["jwks_uri"], "JWKS")
        try:
            self._jwks = jwt.PyJWKSet.from_dict(data)
        except jwt.PyJWTError:
            raise OidcError("the provider's JWKS has no usable key") from None
        self._jwks_at = time.monotonic()

    def _find_key(self, kid: str | None) -> Any:
        for key in self._jwks.keys:
            if (kid is None or key.key_id == kid) and key.public_key_use in (None, "sig"):
                return key.key
        return None

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            answer = await self.http().get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as err:
            raise OidcError(f"cannot fetch the provider's {what} ({type(err).__name__})") from None
        body = _json_or_none(answer)
        if answer.status_code != 200 or not isinstance(body, dict):
            raise OidcError(f"the provider's {what} answered {answer.status_code} without a JSON object")
        return body


def _json_or_none(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None
