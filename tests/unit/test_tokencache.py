from aigate import tokencache
from harness.device import cache, jwks, sign, tampered
from tests.unit.conftest import claims_for

SERVER = "https://aigate.test"
USER = "ann@corp.example"


def read(folder, server=SERVER, tool="claude", repository=None, *, now, issuer=SERVER, sub=USER):
    return tokencache.read_valid(folder, server, tool, repository, now=now, issuer=issuer, sub=sub)


def test_a_stored_token_is_reused_before_exp(tmp_path):
    token = sign(claims_for(now=1000))
    cache(tmp_path, SERVER, "claude", None, token)
    assert read(tmp_path, SERVER, "claude", None, now=1599).token == token


def test_a_cached_token_is_not_reused_at_exp_leeway_never_extends_it(tmp_path):
    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000)))
    assert read(tmp_path, SERVER, "claude", None, now=1600) is None


def test_a_token_for_one_repository_never_serves_another(tmp_path):
    cache(tmp_path, SERVER, "claude", "github.com/corp/a", sign(claims_for(now=1000)))
    assert read(tmp_path, SERVER, "claude", "github.com/corp/b", now=1001) is None
    assert read(tmp_path, SERVER, "claude", None, now=1001) is None


def test_a_token_for_one_server_never_serves_another(tmp_path):
    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000)))
    assert read(tmp_path, "https://other.test", "claude", None, now=1001) is None


def test_cache_file_is_private(tmp_path):
    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000)))
    for path in (tokencache.cache_file(tmp_path, SERVER, "claude", None), tmp_path / tokencache.JWKS_FILE):
        assert path.stat().st_mode & 0o777 == 0o600


def test_a_corrupt_cache_file_counts_as_no_token(tmp_path):
    tokencache.cache_file(tmp_path, SERVER, "claude", None).write_text("{not json")
    assert read(tmp_path, SERVER, "claude", None, now=1001) is None


def test_a_token_for_another_tool_is_not_used(tmp_path):
    cache(tmp_path, SERVER, "claude", None, sign(claims_for("codex", now=1000)))
    assert read(tmp_path, SERVER, "claude", None, now=1001) is None


def test_racing_writers_leave_one_whole_file(tmp_path):
    import threading

    tokens = [sign(claims_for(now=1000 + i)) for i in range(20)]
    tokencache.store_jwks(tmp_path, jwks())
    threads = [threading.Thread(target=tokencache.store, args=(tmp_path, SERVER, "claude", None, t)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert read(tmp_path, SERVER, "claude", None, now=1001).token in tokens
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_cache_file_others_can_read_is_not_trusted(tmp_path):
    import os

    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000)))
    os.chmod(tokencache.cache_file(tmp_path, SERVER, "claude", None), 0o644)
    assert read(tmp_path, SERVER, "claude", None, now=1001) is None


def test_a_cache_folder_others_can_write_is_not_trusted_and_is_made_private_again(tmp_path):
    import os

    folder = tmp_path / "tokens"
    cache(folder, SERVER, "claude", None, sign(claims_for(now=1000)))
    os.chmod(folder, 0o777)
    assert read(folder, SERVER, "claude", None, now=1001) is None
    cache(folder, SERVER, "claude", None, sign(claims_for(now=1000)))
    assert folder.stat().st_mode & 0o777 == 0o700


# --- the cache is user-writable: a token read back is verified again (issue 8, item 2) ----------------


def test_an_edited_payload_with_the_old_signature_is_not_used(tmp_path):
    token = sign(claims_for(now=1000))
    cache(tmp_path, SERVER, "claude", None, tampered(token, exp=1000 + 10 * 365 * 86400))
    assert read(tmp_path, now=1700) is None


def test_an_edited_key_scope_is_not_used(tmp_path):
    cache(tmp_path, SERVER, "claude", None, tampered(sign(claims_for(now=1000)), key_scope="openai"))
    assert read(tmp_path, now=1001) is None


def test_a_token_signed_by_another_key_is_not_used(tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000), Ed25519PrivateKey.generate()))
    assert read(tmp_path, now=1001) is None


def test_without_the_cached_jwks_no_token_is_used(tmp_path):
    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000)))
    (tmp_path / tokencache.JWKS_FILE).unlink()
    assert read(tmp_path, now=1001) is None


def test_a_token_for_another_user_is_not_used(tmp_path):
    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000, sub="bob@corp.example")))
    assert read(tmp_path, now=1001) is None


def test_a_token_for_another_repository_is_not_used_even_under_this_repositorys_key(tmp_path):
    token = sign(claims_for(now=1000, repository="github.com/corp/other"))
    cache(tmp_path, SERVER, "claude", "github.com/corp/app", token)
    assert read(tmp_path, repository="github.com/corp/app", now=1001) is None


def test_a_token_of_another_issuer_is_not_used(tmp_path):
    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000, iss="https://evil.test")))
    assert read(tmp_path, now=1001) is None


def test_a_key_scope_that_is_no_scope_name_is_not_used(tmp_path):
    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000, scope="../../etc")))
    assert read(tmp_path, now=1001) is None


def test_the_rfc_9864_algorithm_name_ed25519_is_accepted(tmp_path):
    token = sign(claims_for(now=1000), alg="Ed25519")
    cache(tmp_path, SERVER, "claude", None, token)
    assert read(tmp_path, now=1001).token == token


def test_a_cached_jwks_others_can_write_is_not_trusted(tmp_path):
    import os

    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000)))
    os.chmod(tmp_path / tokencache.JWKS_FILE, 0o666)
    assert read(tmp_path, now=1001) is None


def test_a_cached_token_lives_by_the_servers_clock(tmp_path):
    """A laptop 2 minutes ahead (offset -120) keeps using a token until the server's exp (issue 7)."""
    tokencache.store_jwks(tmp_path, jwks())
    tokencache.store(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000)), clock_offset=-120)
    assert read(tmp_path, now=1600 + 119).clock_offset == -120
    assert read(tmp_path, now=1600 + 120) is None


def test_an_edited_clock_offset_beyond_the_bound_is_not_used(tmp_path):
    """The offset is stored beside the token in a user-writable file: a huge one would stretch the token."""
    import json

    cache(tmp_path, SERVER, "claude", None, sign(claims_for(now=1000)))
    path = tokencache.cache_file(tmp_path, SERVER, "claude", None)
    path.write_text(json.dumps({**json.loads(path.read_text()), "clock_offset": -10 * 365 * 86400}))
    assert read(tmp_path, now=1700) is None



def test_a_cache_file_that_is_a_folder_is_no_token_and_storing_warns_instead_of_failing(tmp_path, capsys):
    claims = claims_for("claude", now=1_000)
    tokencache.cache_file(tmp_path, "s", "claude", None).mkdir(parents=True)
    assert read(tmp_path, "s", now=1_001) is None
    stored = tokencache.store(tmp_path, "s", "claude", None, sign(claims))
    assert stored.claims["tool"] == "claude" and "without caching it" in capsys.readouterr().err
    tokencache.drop(tmp_path, "s", "claude", None)
    tokencache.drop_all(tmp_path)


def test_a_tokens_folder_that_is_a_file_is_no_token_and_storing_warns_instead_of_failing(tmp_path, capsys):
    token_dir = tmp_path / "tokens"
    token_dir.write_text("not a folder")
    claims = claims_for("claude", now=1_000)
    assert read(token_dir, "s", now=1_001) is None
    stored = tokencache.store(token_dir, "s", "claude", None, sign(claims))
    assert stored.claims["tool"] == "claude" and "without caching it" in capsys.readouterr().err
    tokencache.drop(token_dir, "s", "claude", None)
    tokencache.drop_all(token_dir)
