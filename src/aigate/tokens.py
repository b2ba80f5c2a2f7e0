"""Fetching and verifying approval tokens (cold path: PyJWT, httpx through ServerClient).

Checks follow RFC 8725 (docs/architecture.md, "Decisions both sides rely on"): algorithm allow-list (EdDSA only), header
``typ`` ``aigate-approval+jwt``, a ``kid`` found in the server's JWKS, audience ``aigate``, issuer
equal to the one the server reported at enrollment, ``nbf``/``exp`` against the server's time with
``TOKEN_LEEWAY_SECONDS`` of leeway, and the ``tool`` claim equal to the tool asked for.

Clocks: the server's time is this computer's clock plus the offset its ``Date`` header showed
(RFC 9110 section 6.6.1) on the token's answer, and the offset is kept with the cached token. So a
laptop a few minutes behind or ahead works as if it were right; an offset beyond
``MAX_CLOCK_SKEW_SECONDS`` is a ConfigError (78) naming the clock and how far off it is. The JWKS is
cached beside the tokens and refetched once when a token names an unknown ``kid`` (key rotation).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt

from aigate import log, paths, protocol, tokencache
from aigate.approval import ServerClient
from aigate.errors import AigateError, ConfigError, ServerUnreachable

MAX_CLOCK_SKEW_SECONDS = 300  # documented in the README; Kerberos' customary bound

REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", protocol.CLAIM_TOOL, protocol.CLAIM_KEY_SCOPE]


class TokenRejected(AigateError):
    """A token from the server failed verification: treated like an unusable server (69)."""

    exit_code = ServerUnreachable.exit_code


class UnknownKey(Exception):
    """The token's ``kid`` is not in the JWKS at hand: fetch the JWKS again (a key was rotated) before refusing."""
    pass


def verify_token(token: str, *, jwks: dict[str, Any], issuer: str, tool: str, now: float) -> dict[str, Any]:
    """The verified claims of ``token``. Raises UnknownKey (kid not in ``jwks``) or TokenRejected."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as err:
        raise TokenRejected(f"the server sent a malformed approval token: {err}") from err
    if header.get("typ") != protocol.TOKEN_TYPE or header.get("alg") != protocol.TOKEN_ALGORITHM:
        raise TokenRejected(f"approval token has typ={header.get('typ')!r} alg={header.get('alg')!r}")
    key = _key_for(jwks, header.get("kid"))
    try:
        claims = jwt.decode(
            token, key=key, algorithms=[protocol.TOKEN_ALGORITHM], audience=protocol.TOKEN_AUDIENCE,
            issuer=issuer, options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_nbf": False,
                                    "verify_iat": False},
        )
    except jwt.PyJWTError as err:
        raise TokenRejected(f"approval token failed verification: {err}") from err
    _check_times(claims, now)
    if claims[protocol.CLAIM_TOOL] != tool:
        raise TokenRejected(f"approval token is for {claims[protocol.CLAIM_TOOL]!r}, not {tool!r}")
    return claims


def _key_for(jwks: dict[str, Any], kid: str | None) -> Any:
    try:
        keyset = jwt.PyJWKSet.from_dict(jwks)
    except jwt.PyJWTError as err:
        raise TokenRejected(f"the server's JWKS is unusable: {err}") from err
    for key in keyset.keys:
        if key.key_id == kid:
            return key
    raise UnknownKey(kid)


def _check_times(claims: dict[str, Any], now: float) -> None:
    leeway = protocol.TOKEN_LEEWAY_SECONDS
    if now >= float(claims["exp"]) + leeway:
        raise TokenRejected("approval token from the server is already expired: check this computer's clock")
    if now + leeway < float(claims["nbf"]):
        raise TokenRejected("approval token from the server is not valid yet: check this computer's clock")


def fetch_token(
    client: ServerClient,
    *,
    tool: str,
    repository: str | None,
    issuer: str,
    now: float,
    token_dir: Path | None = None,
) -> tokencache.CachedToken:
    """Ask the server for a token, verify it, cache it. Raises AigateError kinds (69/77/78)."""
    token_dir = token_dir or paths.token_dir()
    issued = client.issue_token(tool, repository)
    offset = checked_clock_offset(client.clock_offset, client.server)
    now += offset  # the server's time from here on
    jwks_file = token_dir / "jwks.json"
    jwks = _cached_jwks(jwks_file)
    try:
        if jwks is None:
            raise UnknownKey(None)
        verify_token(issued.token, jwks=jwks, issuer=issuer, tool=tool, now=now)
    except UnknownKey:
        jwks = client.jwks()
        try:
            paths.write_private(jwks_file, json.dumps(jwks).encode())
        except ConfigError as err:  # only a cache: fetched again next time
            log.warn(f"{err.message}; the server's key set is used without caching it")
        try:
            verify_token(issued.token, jwks=jwks, issuer=issuer, tool=tool, now=now)
        except UnknownKey:
            raise TokenRejected("approval token is signed with a key the server does not publish") from None
    return tokencache.store(token_dir, client.server, tool, repository, issued.token, clock_offset=offset)


def checked_clock_offset(offset: float | None, server: str) -> float:
    """``offset`` (seconds the server's clock is ahead of this computer's; None: unknown, taken as 0)
    when it is within ``MAX_CLOCK_SKEW_SECONDS``, else ConfigError (78) saying how far off the clock is."""
    if offset is None:
        return 0.0
    if abs(offset) > MAX_CLOCK_SKEW_SECONDS:
        way = "behind" if offset > 0 else "ahead of"
        raise ConfigError(
            f"this computer's clock is {_span(abs(offset))} {way} the aigate server's ({server}, by its Date "
            f"header); aigate accepts at most {_span(MAX_CLOCK_SKEW_SECONDS)}",
            hint="set this computer's clock right (turn on network time: `timedatectl set-ntp true` on Linux, "
                 "Settings > Date & Time elsewhere)",
        )
    return offset


def _span(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return " ".join(f"{n} {unit}" for n, unit in ((hours, "h"), (minutes, "min"), (secs, "s")) if n) or "0 s"


def _cached_jwks(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None
