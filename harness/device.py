"""A logged-in device without a server: what ``aigate login``, an approval and ``aigate keys set`` leave
behind in an (isolated) HOME. The client verifies what it reads back from its cache, so the cached
tokens are signed as the server signs them (Ed25519 compact JWS), with a fixed test key whose JWKS
is cached beside them (:func:`sign`, :func:`jwks`, :func:`cache`; :func:`tampered` edits a payload as
a user could). Used by the client tests and ``benchmarks/run_overhead.py``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

KEY = "sk-ant-process-test-0123456789abcdef"  # the API key stored for every scope


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # a fixed test key, never a real one


KID = "test-key-1"


def jwks(key: Any = None, kid: str = KID, **extra: str) -> dict[str, Any]:
    """The JWK Set (RFC 7517) publishing ``key`` (default: the test key) as ``kid``."""
    raw = (key or _key()).public_key().public_bytes_raw()
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": kid, "use": "sig", **extra}]}


def sign(claims: dict[str, Any], key: Any = None, *, kid: str = KID, typ: str = "aigate-approval+jwt",
         alg: str = "EdDSA") -> str:
    """A compact JWS of ``claims`` signed with ``key`` (default: the test key), as the server signs."""
    header = b64url(json.dumps({"alg": alg, "typ": typ, "kid": kid}).encode())
    payload = b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{b64url((key or _key()).sign(f'{header}.{payload}'.encode()))}"


def cache(token_dir: Any, server: str, tool: str, repository: str | None, token: str) -> str:
    """Store ``token`` and the test JWKS in ``token_dir``, as a fetch leaves them; returns the token."""
    from aigate import tokencache

    tokencache.store_jwks(token_dir, jwks())
    tokencache.store(token_dir, server, tool, repository, token)
    return token


def tampered(token: str, **changes: Any) -> str:
    """``token`` with its payload edited and its signature left as it was, as a user could edit the cache."""
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{head}.{b64url(json.dumps({**claims, **changes}).encode())}.{signature}"


def fake_token(tool: str, scope: str, *, server: str, ttl: int = 600, repository: str | None = None,
               **extra: Any) -> str:
    """An approval token for ``tool`` and key ``scope`` issued by ``server``, valid ``ttl`` seconds from now."""
    now = int(time.time())
    claims = {"iss": server, "aud": "aigate", "sub": "ann@corp.example", "iat": now, "nbf": now,
              "exp": now + ttl, "jti": "jti-1", "tool": tool, "key_scope": scope,
              "access_request": "r1", "repository": repository, "base_url": None, "env": {}, **extra}
    return sign(claims)


def login_state(*, server: str, tools: dict[str, str] | None = None, token_ttl: int = 600) -> None:
    """Write the settings, enrollment, device credential, cached tokens and keys (:data:`KEY`) of a
    device logged in to ``server``, for the HOME of this process (``tools``: tool -> key scope)."""
    from aigate import enrollment, keystore, paths

    tools = {"claude": "anthropic", "codex": "openai"} if tools is None else tools
    paths.user_config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.user_config_file().write_text(f'server = "{server}"\n')
    enrollment.save(enrollment.EnrollmentRecord(server, server, "dev1", "ann@corp.example"))
    store = keystore.open_keystore()
    store.set(keystore.device_entry(server), "device-credential-secret")
    for tool, scope in tools.items():
        cache(paths.token_dir(), server, tool, None, fake_token(tool, scope, server=server, ttl=token_ttl))
        store.set(keystore.key_entry(scope), KEY)
        keystore.record_scope(scope, True)
