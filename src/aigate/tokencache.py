"""The approval-token cache, read on every warm ``aigate run`` and key callback: stdlib only, plus
``cryptography``'s Ed25519 public key to check a signature (:mod:`aigate.jws`).

One file per (server, tool, repository) in the user cache dir (docs/architecture.md, "Decisions both
sides rely on"): a token issued for one repository never serves another. Files are JSON ``{"server",
"tool", "repository", "token", "clock_offset"}``, mode 0600, written atomically
(:func:`aigate.paths.write_private`), so two runs racing leave one whole file; the server's JWKS is
cached beside them (:data:`JWKS_FILE`). The cache is user-writable input, so a token read back is
trusted only once it checks out again: signature (with the cached JWKS), header, issuer, audience,
``sub`` (the enrolled user), tool, repository and key scope, and strictly before ``exp`` (leeway never
extends a cached token). Anything else is no token: the caller fetches a fresh one, so an edited
token after a revocation gives 77, not a run.
``exp`` is the server's time: this computer's clock is read plus ``clock_offset`` (seconds the
server's clock was ahead of this one when the token was fetched, from its ``Date`` header; see
:mod:`aigate.tokens`), so a laptop a few minutes off still uses its tokens for their whole lifetime.
The stored offset is user-writable too: one beyond :data:`MAX_CLOCK_OFFSET_SECONDS` means no token.
Known limit: a clock set right while a token is cached shifts that token's end by the old offset.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

from aigate import jws, log, paths
from aigate.errors import ConfigError

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    from typing import Any

JWKS_FILE = "jwks.json"
MAX_CLOCK_OFFSET_SECONDS = 300  # tokens.MAX_CLOCK_SKEW_SECONDS: larger offsets are refused at fetch


class CachedToken:
    """A cached token: ``token`` (compact JWS) and ``claims`` (its payload, verified when fetched)."""

    __slots__ = ("claims", "clock_offset", "token")

    def __init__(self, token: str, claims: dict[str, Any], clock_offset: float = 0.0):
        self.token = token
        self.claims = claims
        self.clock_offset = clock_offset  # seconds the server's clock is ahead of this computer's

    @property
    def expires_at(self) -> int:
        return int(self.claims["exp"])

    @property
    def lifetime_seconds(self) -> int:
        """``exp - iat``: how long tokens of this server last (at most its token_ttl)."""
        return max(1, int(self.claims["exp"]) - int(self.claims.get("iat", self.claims["exp"] - 600)))


def cache_file(token_dir: Path, server: str, tool: str, repository: str | None) -> Path:
    """The cache file for this key. Two CRC checksums (hashlib costs ~10 ms to import on the warm path);
    a collision only costs a refetch, since :func:`read_valid` checks the key stored inside."""
    data = json.dumps([server, tool, repository]).encode()
    return token_dir / f"{tool}-{zlib.crc32(data):08x}{zlib.adler32(data):08x}.json"


def read_valid(token_dir: Path, server: str, tool: str, repository: str | None, *, now: float, issuer: str,
               sub: str) -> CachedToken | None:
    """The cached token for this key if it checks out at ``now`` (epoch seconds), else None.

    Anything unreadable, for another key, or failing a check of the module docstring counts as no
    token (it is refetched); so does a file, or a cache folder, that is not the user's own or that
    group or others may read or write (the next fetch re-creates it with mode 0600).
    """
    try:
        path = cache_file(token_dir, server, tool, repository)
        if not _private(path) or not _private(token_dir):
            return None
        entry = json.loads(path.read_text("utf-8"))
        if [entry["server"], entry["tool"], entry["repository"]] != [server, tool, repository]:
            return None
        offset = float(entry.get("clock_offset") or 0.0)
        if not abs(offset) <= MAX_CLOCK_OFFSET_SECONDS:  # an edited offset would stretch the token's life
            return None
        jwks = read_jwks(token_dir)
        if jwks is None:
            return None
        _, claims = jws.verify(entry["token"], jwks)
        from aigate.constants import normalize_repository

        if jws.claims_problem(claims, issuer=issuer, tool=tool, now=now + offset, exp_leeway=0, sub=sub,
                              repository=normalize_repository(repository or "")):
            return None
        return CachedToken(entry["token"], claims, offset)
    except (OSError, ValueError, KeyError, TypeError):  # jws.JwsError is a ValueError
        return None


def read_jwks(token_dir: Path) -> dict[str, Any] | None:
    """The cached JWKS, if it is a private file of this user holding a JSON object, else None."""
    path = token_dir / JWKS_FILE
    try:
        if not _private(path):
            return None
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def store_jwks(token_dir: Path, jwks: dict[str, Any]) -> None:
    """Cache the server's JWKS (mode 0600, atomic; the folder made 0700)."""
    _private_dir(token_dir)
    paths.write_private(token_dir / JWKS_FILE, json.dumps(jwks).encode())


def _private(path: Path) -> bool:
    if not hasattr(os, "getuid"):
        return True  # Windows: ACLs of the user's profile
    st = path.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o077


def store(token_dir: Path, server: str, tool: str, repository: str | None, token: str,
          clock_offset: float = 0.0) -> CachedToken:
    """Cache a token :mod:`aigate.tokens` verified (mode 0600, atomic; the folder made 0700) and return
    it; ``clock_offset``: seconds the server's clock was ahead of this computer's when it was fetched."""
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
    return CachedToken(token, jws.unverified(token)[1], clock_offset)


def _private_dir(token_dir: Path) -> None:
    token_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if hasattr(os, "getuid"):
        os.chmod(token_dir, 0o700)


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
