"""Fetching and verifying approval tokens (cold path: httpx through ServerClient).

Checks follow RFC 8725 (docs/architecture.md, "Decisions both sides rely on"; :mod:`aigate.jws`, the
same checks the cache makes on the warm path): algorithm allow-list (``EdDSA``, or ``Ed25519`` as RFC
9864 names it), header ``typ`` ``aigate-approval+jwt``, a ``kid`` found in the server's JWKS,
audience ``aigate``, issuer equal to the one the server reported at enrollment, ``nbf``/``exp`` against
the server's time with ``TOKEN_LEEWAY_SECONDS`` of leeway, the ``tool`` claim equal to the tool asked
for and, when given, ``sub`` and ``repository``.

Clocks: the server's time is this computer's clock plus the offset its ``Date`` header showed
(RFC 9110 section 6.6.1) on the token's answer, and the offset is kept with the cached token. So a
laptop a few minutes behind or ahead works as if it were right; an offset beyond
``MAX_CLOCK_SKEW_SECONDS`` is a ConfigError (78) naming the clock and how far off it is. The JWKS is
cached beside the tokens and refetched once when a token names an unknown ``kid`` (key rotation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aigate import jws, log, paths, protocol, tokencache
from aigate.approval import ServerClient
from aigate.errors import AigateError, ConfigError, ServerUnreachable

MAX_CLOCK_SKEW_SECONDS = 300  # documented in the README; Kerberos' customary bound

UnknownKey = jws.UnknownKey


class TokenRejected(AigateError):
    """A token from the server failed verification: treated like an unusable server (69)."""

    exit_code = ServerUnreachable.exit_code


def verify_token(token: str, *, jwks: dict[str, Any], issuer: str, tool: str, now: float, sub: object = jws.ANY,
                 repository: object = jws.ANY) -> dict[str, Any]:
    """The verified claims of ``token``. Raises UnknownKey (kid not in ``jwks``) or TokenRejected."""
    try:
        _, claims = jws.verify(token, jwks)
    except UnknownKey:
        raise
    except jws.JwsError as err:
        raise TokenRejected(f"approval token failed verification: {err}") from err
    why = jws.claims_problem(claims, issuer=issuer, tool=tool, now=now, exp_leeway=protocol.TOKEN_LEEWAY_SECONDS,
                             sub=sub, repository=repository)
    if why is None:
        return claims
    if why in ("it has expired", "it is not valid yet"):
        raise TokenRejected(f"approval token from the server: {why}: check this computer's clock")
    raise TokenRejected(f"approval token failed verification: {why}")


def fetch_token(
    client: ServerClient,
    *,
    tool: str,
    repository: str | None,
    issuer: str,
    now: float,
    token_dir: Path | None = None,
    sub: str | None = None,
) -> tokencache.CachedToken:
    """Ask the server for a token, verify it (``sub``: the enrolled user's email, when known), cache
    it. Raises AigateError kinds (69/77/78)."""
    token_dir = token_dir or paths.token_dir()
    issued = client.issue_token(tool, repository)
    offset = checked_clock_offset(client.clock_offset, client.server)
    now += offset  # the server's time from here on
    expected_sub = jws.ANY if sub is None else sub
    normalized = protocol.normalize_repository(repository or "")
    jwks = tokencache.read_jwks(token_dir)
    try:
        if jwks is None:
            raise UnknownKey(None)
        verify_token(issued.token, jwks=jwks, issuer=issuer, tool=tool, now=now, sub=expected_sub,
                     repository=normalized)
    except UnknownKey:
        jwks = client.jwks()
        try:
            tokencache.store_jwks(token_dir, jwks)
        except (OSError, ConfigError) as err:  # only a cache: fetched again next time
            log.warn(f"{getattr(err, 'message', err)}; the server's key set is used without caching it")
        try:
            verify_token(issued.token, jwks=jwks, issuer=issuer, tool=tool, now=now, sub=expected_sub,
                         repository=normalized)
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

