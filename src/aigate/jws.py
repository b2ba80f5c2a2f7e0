"""Compact JWS (RFC 7515) approval tokens checked against a JWK Set (RFC 7517), Ed25519 only.

One verification for both paths of the client: a token fresh from the server (:mod:`aigate.tokens`)
and a token read back from the user-writable cache (:mod:`aigate.tokencache`, on the warm path). So
this module imports only the stdlib, and ``cryptography``'s Ed25519 (:func:`ed25519_verifies`) when a
signature is checked (no JOSE library: parsing a compact JWS is three base64url parts).

Accepted: header ``typ`` :data:`~aigate.protocol.TOKEN_TYPE`; ``alg`` ``EdDSA`` (RFC 8037) or its
fully specified name ``Ed25519`` (RFC 9864); a ``kid`` naming an ``OKP``/``Ed25519`` key of the set
(a key that states an ``alg`` must state one of the two). Anything else raises :class:`JwsError`.
"""

from __future__ import annotations

import base64
import binascii
import json

from aigate.constants import (
    CLAIM_KEY_SCOPE,
    CLAIM_REPOSITORY,
    CLAIM_TOOL,
    TOKEN_ALGORITHMS,
    TOKEN_AUDIENCE,
    TOKEN_LEEWAY_SECONDS,
    TOKEN_TYPE,
    is_key_scope,
)

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    from typing import Any

ALGORITHMS = TOKEN_ALGORITHMS
"""``alg`` values accepted: ``EdDSA`` (RFC 8037) and ``Ed25519`` (RFC 9864, fully specified)."""


class JwsError(ValueError):
    """The token is not a well-formed aigate JWS, or its signature does not verify."""


class UnknownKey(JwsError):
    """The header's ``kid`` is not in the JWK Set (the server may have rotated its key)."""

    def __init__(self, kid: object):
        super().__init__(f"no key {kid!r} in the server's key set")
        self.kid = kid


def b64url_decode(text: str) -> bytes:
    """base64url without padding (RFC 7515 section 2); JwsError when it is not."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as err:
        raise JwsError("not base64url") from err


def _json_object(part: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(part))
    except (ValueError, UnicodeDecodeError) as err:
        raise JwsError(f"the {what} is not JSON") from err
    if not isinstance(value, dict):
        raise JwsError(f"the {what} is not a JSON object")
    return value


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(header, claims)`` of a compact JWS, decoded but NOT verified."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise JwsError("not a compact JWS")
    return _json_object(parts[0], "header"), _json_object(parts[1], "payload")


def verify(token: str, jwks: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(header, claims)`` once the header is acceptable and the signature verifies with the
    ``kid``'s key of ``jwks``. Raises UnknownKey, or JwsError saying what is wrong."""
    header, claims = unverified(token)
    if header.get("typ") != TOKEN_TYPE or header.get("alg") not in ALGORITHMS:
        raise JwsError(f"typ={header.get('typ')!r} alg={header.get('alg')!r} is not an aigate approval token")
    key = _public_key(jwks, header.get("kid"))
    head, payload, signature = token.split(".")
    if not ed25519_verifies(key, b64url_decode(signature), f"{head}.{payload}".encode("ascii")):
        raise JwsError("the signature does not verify")
    return header, claims


def ed25519_verifies(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is ``public_key``'s Ed25519 signature of ``data`` (RFC 8032), by cryptography.

    Loads the compiled binding that ``cryptography.hazmat.primitives.asymmetric.ed25519`` is a thin
    wrapper of: the wrapper's own imports (typing, dataclasses, inspect, datetime...) would cost the
    warm path more than the check itself. Falls back to the public module should the binding move.
    """
    try:
        from cryptography.hazmat.bindings._rust import openssl as binding

        load = binding.ed25519.from_public_bytes
    except (ImportError, AttributeError):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        load = Ed25519PublicKey.from_public_bytes
    try:
        load(public_key).verify(signature, data)
    except Exception:  # noqa: BLE001 - InvalidSignature, a malformed key or signature: not verified
        return False
    return True


def _public_key(jwks: dict[str, Any], kid: object) -> bytes:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        raise JwsError("the server's key set (JWKS) has no key list")
    for jwk in keys:
        if isinstance(jwk, dict) and jwk.get("kid") == kid and kid is not None:
            stated = jwk.get("alg", ALGORITHMS[0])
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or stated not in ALGORITHMS:
                raise JwsError(f"key {kid!r} is not an Ed25519 key")
            raw = b64url_decode(str(jwk.get("x", "")))
            if len(raw) != 32:
                raise JwsError(f"key {kid!r} is not an Ed25519 public key")
            return raw
    raise UnknownKey(kid)


REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "nbf", "exp", "jti", CLAIM_TOOL, CLAIM_KEY_SCOPE)
ANY = object()  # claims_problem(): this claim is not checked


def claims_problem(claims: dict[str, Any], *, issuer: str, tool: str, now: float, exp_leeway: float,
                   sub: object = ANY, repository: object = ANY) -> str | None:
    """Why verified ``claims`` do not allow running ``tool`` now, or None (DESIGN.md "Approval token").

    Checks: every claim of :data:`REQUIRED_CLAIMS`; ``iss`` == ``issuer`` (what the server reported at
    enrollment); ``aud`` names aigate; ``now`` (epoch seconds) before ``exp`` + ``exp_leeway`` (a cached
    token is reused with 0) and not before ``nbf`` - TOKEN_LEEWAY_SECONDS; the ``tool`` claim; ``key_scope``
    a scope name; and, when given, ``sub`` (the enrolled user's email) and ``repository`` (the
    normalized repository, None outside one).
    """
    missing = [name for name in REQUIRED_CLAIMS if name not in claims]
    if missing:
        return f"it lacks the claims {', '.join(missing)}"
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    checks = [
        (claims["iss"] == issuer, f"it was issued by {claims['iss']!r}, not {issuer!r}"),
        (TOKEN_AUDIENCE in audience, "it is not meant for aigate (aud)"),
        (_number(claims["exp"]) and now < claims["exp"] + exp_leeway, "it has expired"),
        (_number(claims["nbf"]) and now + TOKEN_LEEWAY_SECONDS >= claims["nbf"], "it is not valid yet"),
        (claims[CLAIM_TOOL] == tool, f"it is for {claims[CLAIM_TOOL]!r}, not {tool!r}"),
        (isinstance(claims[CLAIM_KEY_SCOPE], str) and is_key_scope(claims[CLAIM_KEY_SCOPE]),
         "its key scope is not a scope name"),
        (sub is ANY or claims["sub"] == sub, f"it is for the user {claims['sub']!r}, not {sub!r}"),
        (repository is ANY or claims.get(CLAIM_REPOSITORY) == repository,
         f"it is for the repository {claims.get(CLAIM_REPOSITORY)!r}, not {repository!r}"),
    ]
    return next((why for ok, why in checks if not ok), None)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
