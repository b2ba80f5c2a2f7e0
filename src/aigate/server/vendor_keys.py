"""Vendor API keys held by the server for enforced mode, encrypted at rest.

Each key is sealed with AES-256-GCM (``cryptography``'s AEAD) under a key-encryption key (KEK) that
lives in its own file, ``<data dir>/vendor-keys.kek`` (32 random bytes, mode 0600, made by the first
``keys set``), never in the database: a database dump alone reveals no key. The scope name is the
AEAD's associated data, so a sealed value copied to another scope's row does not open. Setting,
replacing and deleting a key are audit events that carry the scope, never the value.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from aigate.errors import ConfigError, UsageError
from aigate.server.audit import AuditEvent
from aigate.server.models import vendor_keys
from aigate.server.writer import Job

KEK_FILE = "vendor-keys.kek"
KEK_BYTES = 32
NONCE_BYTES = 12
MAX_KEY_LENGTH = 4096
CACHE_SECONDS = 2.0  # a replaced or deleted key reaches the gateway within this long (and the 5 s promise)


def kek_path(data_dir: Path) -> Path:
    return data_dir / KEK_FILE


def load_kek(data_dir: Path, *, create: bool = False) -> bytes:
    """The KEK from the data dir (made, mode 0600, when ``create`` and missing).

    ConfigError (78) when it is missing, not 32 bytes, or readable or writable by group or others.
    """
    path = kek_path(data_dir)
    if create and not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # made meanwhile by another command: read that one
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(KEK_BYTES))
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no vendor key-encryption key at {path}",
                          "store a vendor key first: `aigate-server keys set SCOPE`") from None
    if stat.S_IMODE(mode) & 0o077:
        raise ConfigError(f"{path} may be read or written by others (mode {stat.S_IMODE(mode):o})",
                          f"chmod 600 {path}")
    if len(data) != KEK_BYTES:
        raise ConfigError(f"{path} is not a vendor key-encryption key ({len(data)} bytes, not {KEK_BYTES})",
                          "restore it from the backup of the data dir")
    return data


def check_key(value: str) -> str:
    """A vendor key as it may go into an HTTP header: printable ASCII, no spaces; UsageError otherwise."""
    key = value.strip()
    if not key:
        raise UsageError("the vendor key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise UsageError(f"the vendor key is longer than {MAX_KEY_LENGTH} characters")
    if not all("!" <= c <= "~" for c in key):
        raise UsageError("a vendor key is printable ASCII without spaces (it goes into an HTTP header)")
    return key


def seal(kek: bytes, scope: str, key: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = nonce + AESGCM(kek).encrypt(nonce, key.encode(), scope.encode())
    return base64.urlsafe_b64encode(sealed).decode("ascii")


def unseal(kek: bytes, scope: str, sealed: str) -> str:
    """The key; ConfigError when it does not open (another KEK, another scope's row, tampering)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        return AESGCM(kek).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], scope.encode()).decode()
    except (InvalidTag, ValueError) as err:
        raise ConfigError(f"the vendor key of scope {scope!r} does not decrypt with this data dir's "
                          f"{KEK_FILE}", f"set it again: `aigate-server keys set {scope}`") from err


def masked(key: str) -> str:
    return f"…{key[-4:]}" if len(key) > 8 else "…"


def set_key_job(scope: str, key: str, kek: bytes, actor: str) -> Job[bool]:
    """Job (see writer): store or replace the key of ``scope``. Result: True when it replaced one."""

    def job(conn: Connection, now: float) -> tuple[bool, list[AuditEvent]]:
        sealed = seal(kek, scope, key)
        found = conn.execute(select(vendor_keys.c.scope).where(vendor_keys.c.scope == scope)).first()
        if found:
            conn.execute(update(vendor_keys).where(vendor_keys.c.scope == scope)
                         .values(sealed=sealed, updated_at=int(now)))
        else:
            conn.execute(insert(vendor_keys).values(scope=scope, sealed=sealed, created_at=int(now),
                                                    updated_at=int(now)))
        action = "vendor_key.replaced" if found else "vendor_key.set"
        return bool(found), [AuditEvent(actor, action, scope)]

    return job


def delete_key_job(scope: str, actor: str) -> Job[None]:
    """Job: delete the key of ``scope``. LookupError when there is none."""

    def job(conn: Connection, now: float) -> tuple[None, list[AuditEvent]]:
        if conn.execute(delete(vendor_keys).where(vendor_keys.c.scope == scope)).rowcount == 0:
            raise LookupError(scope)
        return None, [AuditEvent(actor, "vendor_key.deleted", scope)]

    return job


def list_keys(conn: Connection, kek: bytes | None) -> list[dict[str, Any]]:
    """``[{"scope", "key" (masked tail, or "?" without the KEK), "updated_at"}]`` by scope."""
    rows = conn.execute(select(vendor_keys).order_by(vendor_keys.c.scope)).mappings().all()
    out = []
    for row in rows:
        try:
            shown = masked(unseal(kek, row["scope"], row["sealed"])) if kek else "?"
        except ConfigError:
            shown = "(does not decrypt)"
        out.append({"scope": row["scope"], "key": shown, "updated_at": row["updated_at"]})
    return out


def read_sealed(conn: Any, scope: str) -> str | None:
    """The sealed key of ``scope`` (a SQLAlchemy Connection), or None."""
    found = conn.execute(select(vendor_keys.c.sealed).where(vendor_keys.c.scope == scope)).scalar()
    return None if found is None else str(found)


class VendorKeyCache:
    """The server's view of the vendor keys: ``get(conn_factory, scope)`` decrypts once and keeps the
    plain key in memory for CACHE_SECONDS (so a replaced or deleted key takes effect within that).
    The KEK is read at the first use; a missing KEK means no key for any scope."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.monotonic):
        self.data_dir = data_dir
        self.clock = clock
        self._kek: bytes | None = None
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, str | None]] = {}

    def __repr__(self) -> str:
        return f"VendorKeyCache(scopes={sorted(self._cache)})"  # never the keys

    def cached(self, scope: str) -> tuple[bool, str | None]:
        """``(fresh, key)``: whether the cache answers for ``scope`` now, and its key (None: no key)."""
        entry = self._cache.get(scope)
        if entry is None or self.clock() - entry[0] > CACHE_SECONDS:
            return False, None
        return True, entry[1]

    def load(self, conn: Connection, scope: str) -> str | None:
        """Read and decrypt the key of ``scope`` (on a read thread), remember it, and return it."""
        sealed = read_sealed(conn, scope)
        key = None
        if sealed is not None:
            with self._lock:
                if self._kek is None:
                    self._kek = load_kek(self.data_dir)
            key = unseal(self._kek, scope, sealed)
        self._cache[scope] = (self.clock(), key)
        return key
