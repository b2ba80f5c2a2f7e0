from aigate import tokencache
from harness.device import unsigned_token
from tests.unit.conftest import claims_for

SERVER = "https://aigate.test"


def test_a_stored_token_is_reused_before_exp(tmp_path):
    token = unsigned_token(claims_for(now=1000))
    tokencache.store(tmp_path, SERVER, "claude", None, token)
    assert tokencache.read_valid(tmp_path, SERVER, "claude", None, now=1599).token == token


def test_a_cached_token_is_not_reused_at_exp_leeway_never_extends_it(tmp_path):
    tokencache.store(tmp_path, SERVER, "claude", None, unsigned_token(claims_for(now=1000)))
    assert tokencache.read_valid(tmp_path, SERVER, "claude", None, now=1600) is None


def test_a_token_for_one_repository_never_serves_another(tmp_path):
    tokencache.store(tmp_path, SERVER, "claude", "github.com/corp/a", unsigned_token(claims_for(now=1000)))
    assert tokencache.read_valid(tmp_path, SERVER, "claude", "github.com/corp/b", now=1001) is None
    assert tokencache.read_valid(tmp_path, SERVER, "claude", None, now=1001) is None


def test_a_token_for_one_server_never_serves_another(tmp_path):
    tokencache.store(tmp_path, SERVER, "claude", None, unsigned_token(claims_for(now=1000)))
    assert tokencache.read_valid(tmp_path, "https://other.test", "claude", None, now=1001) is None


def test_cache_file_is_private(tmp_path):
    tokencache.store(tmp_path, SERVER, "claude", None, unsigned_token(claims_for(now=1000)))
    (path,) = tmp_path.glob("*.json")
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_corrupt_cache_file_counts_as_no_token(tmp_path):
    tokencache.cache_file(tmp_path, SERVER, "claude", None).write_text("{not json")
    assert tokencache.read_valid(tmp_path, SERVER, "claude", None, now=1001) is None


def test_a_token_for_another_tool_is_not_used(tmp_path):
    tokencache.store(tmp_path, SERVER, "claude", None, unsigned_token(claims_for("codex", now=1000)))
    assert tokencache.read_valid(tmp_path, SERVER, "claude", None, now=1001) is None


def test_racing_writers_leave_one_whole_file(tmp_path):
    import threading

    tokens = [unsigned_token(claims_for(now=1000 + i)) for i in range(20)]
    threads = [threading.Thread(target=tokencache.store, args=(tmp_path, SERVER, "claude", None, t)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tokencache.read_valid(tmp_path, SERVER, "claude", None, now=1001).token in tokens
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_cache_file_others_can_read_is_not_trusted(tmp_path):
    import os

    tokencache.store(tmp_path, SERVER, "claude", None, unsigned_token(claims_for(now=1000)))
    os.chmod(tokencache.cache_file(tmp_path, SERVER, "claude", None), 0o644)
    assert tokencache.read_valid(tmp_path, SERVER, "claude", None, now=1001) is None


def test_a_cache_folder_others_can_write_is_not_trusted_and_is_made_private_again(tmp_path):
    import os

    folder = tmp_path / "tokens"
    tokencache.store(folder, SERVER, "claude", None, unsigned_token(claims_for(now=1000)))
    os.chmod(folder, 0o777)
    assert tokencache.read_valid(folder, SERVER, "claude", None, now=1001) is None
    tokencache.store(folder, SERVER, "claude", None, unsigned_token(claims_for(now=1000)))
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_cached_token_lives_by_the_servers_clock(tmp_path):
    """A laptop 2 minutes ahead (offset -120) keeps using a token until the server's exp (issue 7)."""
    folder = tmp_path
    tokencache.store(folder, SERVER, "claude", None, unsigned_token(claims_for(now=1000)), clock_offset=-120)
    assert tokencache.read_valid(folder, SERVER, "claude", None, now=1600 + 119).clock_offset == -120
    assert tokencache.read_valid(folder, SERVER, "claude", None, now=1600 + 120) is None


def test_a_cache_file_that_is_a_folder_is_no_token_and_storing_warns_instead_of_failing(tmp_path, capsys):
    claims = claims_for("claude", now=1_000)
    tokencache.cache_file(tmp_path, "s", "claude", None).mkdir(parents=True)
    assert tokencache.read_valid(tmp_path, "s", "claude", None, now=1_001) is None
    stored = tokencache.store(tmp_path, "s", "claude", None, unsigned_token(claims))
    assert stored.claims["tool"] == "claude" and "without caching it" in capsys.readouterr().err
    tokencache.drop(tmp_path, "s", "claude", None)
    tokencache.drop_all(tmp_path)


def test_a_tokens_folder_that_is_a_file_is_no_token_and_storing_warns_instead_of_failing(tmp_path, capsys):
    token_dir = tmp_path / "tokens"
    token_dir.write_text("not a folder")
    claims = claims_for("claude", now=1_000)
    assert tokencache.read_valid(token_dir, "s", "claude", None, now=1_001) is None
    stored = tokencache.store(token_dir, "s", "claude", None, unsigned_token(claims))
    assert stored.claims["tool"] == "claude" and "without caching it" in capsys.readouterr().err
    tokencache.drop(token_dir, "s", "claude", None)
    tokencache.drop_all(token_dir)
