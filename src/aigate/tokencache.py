"""The approval-token cache; stdlib only, because the warm ``aigate run`` reads it on every launch.

One file per (server, tool, repository) in the user cache dir (docs/architecture.md, "Decisions both
sides rely on"): a token issued for one repository never serves another. Files are JSON ``{"server",
"tool", "repository", "token", "clock_offset"}``, mode 0600, written atomically (:func:`aigate.paths.write_private`), so
two runs racing leave one whole file. A token is written here only after :mod:`aigate.tokens` verified
its signature, issuer, audience and times against the server's JWKS; reading it back therefore only
decodes the payload by hand (no JWT library) and reuses it strictly before ``exp``: leeway never extends
a cached token.
``exp`` is the server's time: this computer's clock is read plus ``clock_offset`` (seconds the
server's clock was ahead of this one when the token was fetched, from its ``Date`` header; see
:mod:`aigate.tokens`), so a laptop a few minutes off still uses its tokens for their whole lifetime.
Known limit: a clock set right while a token is cached shifts that token's end by the old offset
(at most ``tokens.MAX_CLOCK_SKEW_SECONDS``).
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from pathlib import Path

from aigate import log, paths
from aigate.errors import ConfigError

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    from typing import Any


class CachedToken:
    """A cached token: ``token`` (compact JWS) and ``claims`` (its payload, verified when fetched)."""

    __slots__ = ("claims", "clock_offset", "token")

    def __init__(self, token: str, claims: dict[str, Any], clock_offset: float = 0.0):
        self.token = token
        self.claims = claims
        self.clock_offset = clock_offset  # seconds the server's clock is ahead of this computer's

    @property
    def expires_at(self) -> int:
        """The token's ``exp``: epoch seconds (UTC). The cache serves it strictly before this."""
        return int(self.claims["exp"])

    @property
    def lifetime_seconds(self) -> int:
        """``exp - iat`` in seconds (at least 1): how long this server's tokens last, at most its
        ``token_ttl``; the tools are told to call back for their key this often."""
        return max(1, int(self.claims["exp"]) - int(self.claims.get("iat", self.claims["exp"] - 600)))


def cache_file(token_dir: Path, server: str, tool: str, repository: str | None) -> Path:
    """The cache file for this key. Two CRC checksums (hashlib costs ~10 ms to import on the warm path);
    a collision only costs a refetch, since :func:`read_valid` checks the key stored inside."""
    data = json.dumps([server, tool, repository]).encode()
    return token_dir / f"{tool}-{zlib.crc32(data):08x}{zlib.adler32(data):08x}.json"


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, base64url-decoded by hand. ValueError when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    body = parts[1] + "=" * (-len(parts[1]) % 4)
    claims = json.loads(base64.urlsafe_b64decode(body))
    if not isinstance(claims, dict):
        raise ValueError("JWS payload is not an object")
    return claims


def read_valid(
    token_dir: Path, server: str, tool: str, repository: str | None, *, now: float
) -> CachedToken | None:
    """The cached token for this key if it is still valid at ``now`` (epoch seconds), else None.

    Anything unreadable, for another key, or at/after ``exp`` counts as no token (it is refetched);
    so does a file, or a cache folder, that is not the user's own or that group or others may read or
    write (it is not trusted: the next fetch re-creates it with mode 0600).
    """
    try:
        path = cache_file(token_dir, server, tool, repository)
        if not _private(path) or not _private(token_dir):
            return None
        entry = json.loads(path.read_text("utf-8"))
        if [entry["server"], entry["tool"], entry["repository"]] != [server, tool, repository]:
            return None
        claims = unverified_claims(entry["token"])
        offset = float(entry.get("clock_offset") or 0.0)
        if claims.get("tool") != tool or now + offset >= float(claims["exp"]):
            return None
        return CachedToken(entry["token"], claims, offset)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _private(path: Path) -> bool:
    if not hasattr(os, "getuid"):
        return True  # Windows: ACLs of the user's profile
    st = path.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o077


def store(token_dir: Path, server: str, tool: str, repository: str | None, token: str,
          clock_offset: float = 0.0) -> CachedToken:
    """Cache a verified token (mode 0600, atomic; the folder made 0700) and return it; ``clock_offset``:
    seconds the server's clock was ahead of this computer's when it was fetched."""
    entry = {"server": server, "tool": tool, "repository": repository, "token": token,
             "clock_offset": clock_offset}
    path = cache_file(token_dir, server, tool, repository)
    try:
        token_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if hasattr(os, "getuid"):
            os.chmod(token_dir, 0o700)
        paths.write_private(path, json.dumps(entry).encode())
    except (OSError, ConfigError) as err:  # a folder where the file belongs, a file where the folder does
        why = err.message if isinstance(err, ConfigError) else f"cannot write {path}: {err.strerror}"
        log.warn(f"{why}; the approval token is used without caching it (remove {token_dir} to fix)")
    return CachedToken(token, unverified_claims(token), clock_offset)


def drop(token_dir: Path, server: str, tool: str, repository: str | None) -> None:
    """Forget the cached token for this key (after the server refused it, or at logout)."""
    try:
        cache_file(token_dir, server, tool, repository).unlink()
    except FileNotFoundError:
        pass
    except OSError as err:  # not a file (a folder in its place): read_valid never trusts it either
        log.debug(f"cannot remove the cached token: {err.strerror}")


def drop_all(token_dir: Path) -> None:
    """Delete every cached token and JWKS under ``token_dir`` (login and logout: tokens of another identity must
    not serve)."""
    try:
        items = list(token_dir.glob("*.json"))
    except OSError:
        return
    for item in items:
        try:
            item.unlink(missing_ok=True)
        except OSError as err:  # a folder named like a cache file: never read as one
            log.warn(f"cannot remove {item}: {err.strerror}")
