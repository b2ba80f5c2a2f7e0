"""A logged-in device without a server: what ``aigate login``, an approval and ``aigate keys set`` leave
behind in an (isolated) HOME. The cached token's signature is a placeholder: the client trusts its
cache until ``exp`` (it verified the token when it fetched it), so nothing checks it on this path.
Used by the process tests and ``benchmarks/run_overhead.py``.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

KEY = "sk-ant-process-test-0123456789abcdef"  # the API key stored for every scope


def _part(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_token(claims: dict[str, Any], *, kid: str | None = None) -> str:
    """A compact JWS of ``claims`` with a placeholder signature (``c2ln``)."""
    header = {"alg": "EdDSA", "typ": "aigate-approval+jwt", **({"kid": kid} if kid else {})}
    return f"{_part(header)}.{_part(claims)}.c2ln"


def fake_token(tool: str, scope: str, *, server: str, ttl: int = 600, repository: str | None = None,
               **extra: Any) -> str:
    """An approval token for ``tool`` and key ``scope`` issued by ``server``, valid ``ttl`` seconds from now."""
    now = int(time.time())
    claims = {"iss": server, "aud": "aigate", "sub": "ann@corp.example", "iat": now, "nbf": now,
              "exp": now + ttl, "jti": "jti-1", "tool": tool, "key_scope": scope,
              "access_request": "r1", "repository": repository, "base_url": None, "env": {}, **extra}
    return unsigned_token(claims, kid="k1")


def login_state(*, server: str, tools: dict[str, str] | None = None, token_ttl: int = 600) -> None:
    """Write the settings, enrollment, device credential, cached tokens and keys (:data:`KEY`) of a
    device logged in to ``server``, for the HOME of this process (``tools``: tool -> key scope)."""
    from aigate import enrollment, keystore, paths, tokencache

    tools = {"claude": "anthropic", "codex": "openai"} if tools is None else tools
    paths.user_config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.user_config_file().write_text(f'server = "{server}"\n')
    enrollment.save(enrollment.EnrollmentRecord(server, server, "dev1", "ann@corp.example"))
    store = keystore.open_keystore()
    store.set(keystore.device_entry(server), "device-credential-secret")
    for tool, scope in tools.items():
        tokencache.store(paths.token_dir(), server, tool, None, fake_token(tool, scope, server=server, ttl=token_ttl))
        store.set(keystore.key_entry(scope), KEY)
        keystore.record_scope(scope, True)
