"""Signing keys: file mode, compact JWS form, rotation and how long a retired key stays published."""

from __future__ import annotations

import base64
import hashlib
import stat
import time

import jwt

from aigate.protocol import TOKEN_TYPE
from aigate.server.signing import RELOAD_SECONDS, KeyRing, create_key, key_dir, load_keys


def test_a_new_signing_key_file_is_mode_0600(tmp_path):
    kid = create_key(tmp_path, 0)
    assert stat.S_IMODE((key_dir(tmp_path) / f"{kid}.pem").stat().st_mode) == 0o600


def test_a_token_has_alg_eddsa_kid_and_explicit_typ(tmp_path):
    kid = create_key(tmp_path, 0)
    _, token = KeyRing(tmp_path, 600).sign({"sub": "a"})
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": kid, "typ": TOKEN_TYPE}


def test_the_kid_is_the_rfc7638_thumbprint_of_the_public_key(tmp_path):
    kid = create_key(tmp_path, 0)
    jwk = KeyRing(tmp_path, 600).jwks(0)["keys"][0]
    members = f'{{"crv":"Ed25519","kty":"OKP","x":"{jwk["x"]}"}}'.encode()
    expected = base64.urlsafe_b64encode(hashlib.sha256(members).digest()).rstrip(b"=").decode()
    assert kid == expected


def test_after_rotation_the_new_key_signs(tmp_path):
    create_key(tmp_path, 0)
    new = create_key(tmp_path, 100)
    assert KeyRing(tmp_path, 600).sign({"sub": "a"})[0] == new


def test_a_retired_key_stays_published_while_its_tokens_may_be_valid(tmp_path):
    old = create_key(tmp_path, 0)
    now = time.time()
    create_key(tmp_path, int(now))
    kids = [k["kid"] for k in KeyRing(tmp_path, 600).jwks(now + 600)["keys"]]
    assert old in kids


def test_a_retired_key_leaves_the_jwks_once_its_last_token_expired(tmp_path):
    old = create_key(tmp_path, 0)
    now = time.time()
    create_key(tmp_path, int(now))
    kids = [k["kid"] for k in KeyRing(tmp_path, 600).jwks(now + 600 + RELOAD_SECONDS + 61)["keys"]]
    assert old not in kids


def test_a_running_keyring_picks_up_a_rotation(tmp_path, monkeypatch):
    create_key(tmp_path, 0)
    ring = KeyRing(tmp_path, 600)
    new = create_key(tmp_path, 1)
    ring._checked -= RELOAD_SECONDS + 1
    assert ring.current.kid == new


def test_the_keyring_repr_shows_no_key_material(tmp_path):
    create_key(tmp_path, 0)
    assert "PRIVATE" not in repr(load_keys(tmp_path)) and "PRIVATE" not in repr(KeyRing(tmp_path, 600))
