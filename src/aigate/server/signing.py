"""Ed25519 signing keys in the data dir, compact JWS approval tokens and the JWKS.

Layout: ``<data dir>/signing-keys/<kid>.pem`` (PKCS#8, mode 0600) and ``keys.json`` (which key is
current, when each was retired). The ``kid`` is the key's RFC 7638 JWK thumbprint. After
``signing-key rotate`` the new key signs; a retired key stays in the JWKS until every token it
signed has expired: ``retired_at + token_ttl`` plus the time a running server takes to notice the
rotation (:data:`RELOAD_SECONDS`) and a margin. Private keys never leave the data dir and are
never logged (``KeyRing.__repr__`` shows kids only).

Tokens follow RFC 7515 (compact JWS), RFC 8037 (EdDSA/Ed25519 JOSE) and RFC 8725 (explicit ``typ``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aigate.errors import ConfigError
from aigate.protocol import TOKEN_ALGORITHM, TOKEN_TYPE

RELOAD_SECONDS = 5.0
PUBLISH_MARGIN_SECONDS = 60
MANIFEST = "keys.json"


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515), as JWS and JWK use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    """The RFC 8037 JWK (``kty`` OKP, ``crv`` Ed25519, ``x``) of an Ed25519 public key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order."""
    required = {k: jwk[k] for k in ("crv", "kty", "x")}
    return b64url(hashlib.sha256(json.dumps(required, separators=(",", ":"), sort_keys=True).encode()).digest())


@dataclass
class SigningKey:
    """One Ed25519 signing key of the data dir; ``created_at`` and ``retired_at`` in epoch seconds. Its repr
    never shows the private key."""
    kid: str
    private: Ed25519PrivateKey
    created_at: int
    retired_at: int | None
    header_b64: str  # the encoded JWS header, the same for every token of this key

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, retired_at={self.retired_at})"

    def jwk(self) -> dict[str, str]:
        """The public JWK of this key with its ``kid``, ``alg`` EdDSA and ``use`` sig."""
        return {**public_jwk(self.private.public_key()), "kid": self.kid, "alg": TOKEN_ALGORITHM, "use": "sig"}


def key_dir(data_dir: Path) -> Path:
    """Where the signing keys (PEM, mode 0600) and their manifest live: ``DATA_DIR/signing-keys``."""
    return data_dir / "signing-keys"


def create_key(data_dir: Path, now: int) -> str:
    """Make a new Ed25519 key, make it current, retire the previous one; returns the new kid."""
    folder = key_dir(data_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    kid = thumbprint(public_jwk(private.public_key()))
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(folder / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    manifest = read_manifest(data_dir)
    for entry in manifest["keys"]:
        if entry["kid"] == manifest.get("current"):
            entry["retired_at"] = now
    manifest["keys"].append({"kid": kid, "created_at": now, "retired_at": None})
    manifest["current"] = kid
    _write_manifest(data_dir, manifest)
    return kid


def read_manifest(data_dir: Path) -> dict[str, Any]:
    """The key manifest (``{"current": kid or None, "keys": [{"kid", "created_at", "retired_at"}]}``); an empty
    one when there is no file yet."""
    path = key_dir(data_dir) / MANIFEST
    if not path.exists():
        return {"current": None, "keys": []}
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def _write_manifest(data_dir: Path, manifest: dict[str, Any]) -> None:
    path = key_dir(data_dir) / MANIFEST
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, path)


def load_keys(data_dir: Path) -> list[SigningKey]:
    """All keys of the manifest, current last. ConfigError when there is none or a file is missing."""
    manifest = read_manifest(data_dir)
    if not manifest.get("current"):
        raise ConfigError(f"no signing key in {key_dir(data_dir)}", "run `aigate-server init`")
    keys = []
    for entry in manifest["keys"]:
        path = key_dir(data_dir) / f"{entry['kid']}.pem"
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot read signing key {path.name}: {type(err).__name__}",
                              "restore the data dir, or run `aigate-server signing-key rotate`") from err
        if not isinstance(private, Ed25519PrivateKey):
            raise ConfigError(f"signing key {path.name} is not an Ed25519 key",
                              "restore the data dir, or run `aigate-server signing-key rotate`")
        header = {"alg": TOKEN_ALGORITHM, "kid": entry["kid"], "typ": TOKEN_TYPE}
        keys.append(SigningKey(entry["kid"], private, entry["created_at"], entry.get("retired_at"),
                               b64url(json.dumps(header, separators=(",", ":")).encode())))
    keys.sort(key=lambda k: k.kid == manifest["current"])
    return keys


class KeyRing:
    """The keys a server signs with and publishes; picks up a rotation within RELOAD_SECONDS."""

    def __init__(self, data_dir: Path, token_ttl: int):
        self.data_dir = data_dir
        self.token_ttl = token_ttl
        self._lock = threading.Lock()
        self._keys = load_keys(data_dir)
        self._checked = time.monotonic()
        self._mtime = self._manifest_mtime()

    def __repr__(self) -> str:
        return f"KeyRing(kids={[k.kid for k in self._keys]})"

    def _manifest_mtime(self) -> float:
        return (key_dir(self.data_dir) / MANIFEST).stat().st_mtime

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < RELOAD_SECONDS:
            return
        with self._lock:
            self._checked = now
            mtime = self._manifest_mtime()
            if mtime != self._mtime:
                self._keys, self._mtime = load_keys(self.data_dir), mtime

    @property
    def current(self) -> SigningKey:
        """The key new tokens are signed with (the manifest is re-read at most every RELOAD_SECONDS, so a
        rotation by the CLI reaches running workers)."""
        self._refresh()
        return self._keys[-1]

    def sign(self, claims: dict[str, Any]) -> tuple[str, str]:
        """``(kid, compact JWS of claims)``, signed with the current key."""
        key = self.current
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{key.header_b64}.{payload}".encode("ascii")
        return key.kid, f"{key.header_b64}.{payload}.{b64url(key.private.sign(signing_input))}"

    def public_key(self, kid: Any, now: float) -> Ed25519PublicKey | None:
        """The public key of ``kid`` when the JWKS publishes it at ``now`` (else None): what a token
        the server checks itself (enforced mode) must be signed with."""
        self._refresh()
        grace = self.token_ttl + RELOAD_SECONDS + PUBLISH_MARGIN_SECONDS
        for key in self._keys:
            if key.kid == kid and (key.retired_at is None or now < key.retired_at + grace):
                return key.public
        return None

    def jwks(self, now: float) -> dict[str, Any]:
        """RFC 7517 JWK Set: the current key and retired keys whose tokens may still be valid."""
        self._refresh()
        grace = self.token_ttl + RELOAD_SECONDS + PUBLISH_MARGIN_SECONDS
        live = [k for k in self._keys if k.retired_at is None or now < k.retired_at + grace]
        return {"keys": [k.jwk() for k in reversed(live)]}
