"""The run's repository: git's origin remote, normalized by the one rule both sides share (constants)."""

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
    assert repository.detect_repository(repo) == "github.com/corp/llama-weights"


def test_no_origin_means_no_repository(tmp_path):
    assert repository.detect_repository(git_repo(tmp_path / "r")) is None


def test_outside_a_repository_means_no_repository(tmp_path):
    assert repository.detect_repository(tmp_path) is None


def test_a_subdirectory_belongs_to_its_repository(tmp_path):
    repo = git_repo(tmp_path / "r", "https://github.com/Corp/App")
    (repo / "src").mkdir()
    assert repository.detect_repository(repo / "src") == "github.com/corp/app"


def test_without_git_there_is_no_repository(tmp_path):
    assert repository.detect_repository(tmp_path, git="no-such-git") is None


SECRET_REMOTE = "https://x-access-token:ghp_SECRET@github.com/Corp/billing.git"


def test_a_credential_in_the_remote_url_is_not_part_of_the_repository(tmp_path):
    assert repository.detect_repository(git_repo(tmp_path / "r", SECRET_REMOTE)) == "github.com/corp/billing"


def test_debug_output_of_a_run_never_shows_the_remote_credential(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(git_repo(tmp_path / "r", SECRET_REMOTE))
    monkeypatch.setenv("AIGATE_DEBUG", "1")
    repository.detect_repository()
    assert "ghp_SECRET" not in capsys.readouterr().err
