"""The run's repository: git's origin remote, normalized by protocol's one rule."""

import json
import subprocess

from aigate import repository


def git_repo(path, remote=None):
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    if remote:
        subprocess.run(["git", "-C", str(path), "remote", "add", "origin", remote], check=True)
    return path


def test_origin_is_normalized(tmp_path):
    repo = git_repo(tmp_path / "r", "git@github.com:Corp/Llama-Weights.git")
    assert repository.detect_repository(repo, cache=tmp_path / "remotes.json") == "github.com/corp/llama-weights"


def test_no_origin_means_no_repository(tmp_path):
    assert repository.detect_repository(git_repo(tmp_path / "r"), cache=tmp_path / "remotes.json") is None


def test_outside_a_repository_means_no_repository(tmp_path):
    assert repository.detect_repository(tmp_path, cache=tmp_path / "remotes.json") is None


def test_a_subdirectory_belongs_to_its_repository(tmp_path):
    repo = git_repo(tmp_path / "r", "https://github.com/Corp/App")
    (repo / "src").mkdir()
    assert repository.detect_repository(repo / "src", cache=tmp_path / "remotes.json") == "github.com/corp/app"


def test_without_git_there_is_no_repository(tmp_path):
    assert repository.detect_repository(tmp_path, git="no-such-git", cache=tmp_path / "remotes.json") is None


def test_normalized_remotes_are_remembered(tmp_path):
    cache = tmp_path / "remotes.json"
    repository.detect_repository(git_repo(tmp_path / "r", "https://github.com/Corp/App.git"), cache=cache)
    assert json.loads(cache.read_text()) == {"https://github.com/Corp/App.git": "github.com/corp/app"}


SECRET_REMOTE = "https://x-access-token:ghp_SECRET@github.com/Corp/billing.git"


def test_a_credential_in_the_remote_url_never_reaches_the_remotes_cache(tmp_path):
    cache = tmp_path / "remotes.json"
    found = repository.detect_repository(git_repo(tmp_path / "r", SECRET_REMOTE), cache=cache)
    assert found == "github.com/corp/billing" and "ghp_SECRET" not in cache.read_text()
    assert "x-access-token" not in cache.read_text()


def test_a_remote_with_a_credential_cached_by_an_older_version_is_dropped_on_the_next_write(tmp_path):
    cache = tmp_path / "remotes.json"
    cache.write_text(json.dumps({SECRET_REMOTE: "github.com/corp/billing"}))
    repository.normalized("https://github.com/Corp/App.git", cache)
    assert "ghp_SECRET" not in cache.read_text()


def test_debug_output_of_a_run_never_shows_the_remote_credential(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(git_repo(tmp_path / "r", SECRET_REMOTE))
    monkeypatch.setenv("AIGATE_DEBUG", "1")
    repository.detect_repository(cache=tmp_path / "remotes.json")
    assert "ghp_SECRET" not in capsys.readouterr().err
