"""The run's repository: git's origin remote, normalized by the one rule both sides share (constants)."""

import os
import re
import subprocess
import time

import pytest

from aigate import repository
from aigate.constants import normalize_repository
from aigate.errors import ConfigError


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


def test_without_git_outside_a_repository_there_is_no_repository(tmp_path):
    assert repository.detect_repository(tmp_path, git="no-such-git") is None


SECRET_REMOTE = "https://x-access-token:ghp_SECRET@github.com/Corp/billing.git"


def test_a_credential_in_the_remote_url_is_not_part_of_the_repository(tmp_path):
    assert repository.detect_repository(git_repo(tmp_path / "r", SECRET_REMOTE)) == "github.com/corp/billing"


def test_debug_output_of_a_run_never_shows_the_remote_credential(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(git_repo(tmp_path / "r", SECRET_REMOTE))
    monkeypatch.setenv("AIGATE_DEBUG", "1")
    repository.detect_repository()
    assert "ghp_SECRET" not in capsys.readouterr().err


# --- a repository that cannot be read never counts as "no repository" (issue 7, item 3) -------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a repository to another user needs root")


@needs_root
def test_another_users_repository_is_read_from_its_config_not_skipped(tmp_path):
    """git refuses it ("dubious ownership"); its origin is still read, without git opening it."""
    repo = git_repo(tmp_path / "r", "git@github.com:Corp/secret-weights.git")
    subprocess.run(["chown", "-R", "nobody", str(repo)], check=True)
    assert subprocess.run(["git", "-C", str(repo), "remote", "get-url", "origin"], capture_output=True,
                          check=False).returncode == 128
    assert repository.detect_repository(repo) == "github.com/corp/secret-weights"


@needs_root
def test_another_users_repository_gets_its_own_insteadof_rules(tmp_path):
    repo = git_repo(tmp_path / "r", "corp:secret-weights")
    subprocess.run(["git", "-C", str(repo), "config", "url.git@github.com:Corp/.insteadOf", "corp:"], check=True)
    subprocess.run(["chown", "-R", "nobody", str(repo)], check=True)
    assert repository.detect_repository(repo) == "github.com/corp/secret-weights"


@needs_root
def test_another_users_repository_without_origin_has_no_repository(tmp_path):
    repo = git_repo(tmp_path / "r")
    subprocess.run(["chown", "-R", "nobody", str(repo)], check=True)
    assert repository.detect_repository(repo) is None


def test_a_damaged_repository_is_78_naming_it(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    (work / ".git").write_text("gitdir: /nonexistent/worktree\n")
    with pytest.raises(ConfigError) as err:
        repository.detect_repository(work)
    assert str(work) in err.value.message and err.value.exit_code == 78


def test_git_missing_inside_a_repository_is_78(tmp_path):
    repo = git_repo(tmp_path / "r", "https://github.com/Corp/App")
    with pytest.raises(ConfigError) as err:
        repository.detect_repository(repo, git="no-such-git")
    assert "not installed" in err.value.message


def test_git_that_does_not_answer_is_78_within_the_bound(tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "r", "https://github.com/Corp/App")
    slow = tmp_path / "slow-git"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setattr(repository, "GIT_TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    with pytest.raises(ConfigError) as err:
        repository.detect_repository(repo, git=str(slow))
    assert "did not answer within" in err.value.message and time.monotonic() - started < 5


def test_a_git_in_the_working_directory_is_never_run(tmp_path, monkeypatch):
    repo = git_repo(tmp_path / "r", "https://github.com/Corp/secret-weights")
    planted = repo / "git"
    planted.write_text("#!/bin/sh\necho https://github.com/corp/harmless\n")
    planted.chmod(0o755)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("PATH", f".{os.pathsep}{os.environ['PATH']}")
    assert repository.detect_repository() == "github.com/corp/secret-weights"


# --- every remote form normalized the way git itself reads it ---------------------------------------

SSH_FORMS = [
    "git@github.com:Corp/App.git", "github.com:Corp/App", "ssh://git@github.com:2222/Corp/App.git",
    "ssh://git@[::1]:2222/Corp/App.git", "[git@github.com:2222]:Corp/App.git", "git@[::1]:Corp/App",
    "[::1]:Corp/App", "git+ssh://GitHub.COM/Corp/App", "ssh://git@github.com/Corp/App.git/",
    "github.com:/Corp/App", "ssh+git://git@github.com/Corp/Secret-X.git",
]


@pytest.mark.parametrize("remote", SSH_FORMS)
def test_ssh_forms_name_the_host_and_path_git_connects_to(remote, tmp_path):
    """git is asked to fetch with an ssh that records what it was told: host and repository path."""
    dump = tmp_path / "ssh-args"
    ssh = tmp_path / "ssh"
    ssh.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{dump}'\nexit 1\n")
    ssh.chmod(0o755)
    subprocess.run(["git", "ls-remote", remote], env={**os.environ, "GIT_SSH": str(ssh), "GIT_SSH_VARIANT": "ssh"},
                   capture_output=True, check=False, cwd=tmp_path)
    args = dump.read_text().splitlines()
    host = args[-2].rpartition("@")[2]
    path = re.fullmatch(r"git-upload-pack '(.*)'", args[-1]).group(1)
    assert normalize_repository(remote) == f"{host}/{path.strip('/').removesuffix('.git')}".lower()


@pytest.mark.parametrize("remote", [
    "http://GitHub.com:8080/Corp/App.git", "http://github.com./Corp//App", "http://github.com/Corp/secret%2Dx.git",
    "http://user:pw@github.com/Corp/App/",
])
def test_http_forms_name_the_host_and_path_git_requests(remote, tmp_path):
    """git is asked to fetch through a recording HTTP proxy: the absolute URL it requests tells."""
    import http.server
    import threading
    from urllib.parse import unquote, urlsplit

    seen = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    proxy = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        subprocess.run(["git", "-c", f"http.proxy=http://127.0.0.1:{proxy.server_port}", "ls-remote", remote],
                       capture_output=True, check=False, cwd=tmp_path, timeout=30,
                       env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    finally:
        proxy.shutdown()
    requested = urlsplit(seen[0])
    path = unquote(requested.path).removesuffix("/info/refs")
    expected = f"{requested.hostname.rstrip('.')}/{re.sub('/+', '/', path).strip('/').removesuffix('.git')}"
    assert normalize_repository(remote) == expected.lower()


@pytest.mark.parametrize("variables", [
    lambda other: {"GIT_DIR": str(other / ".git")},
    lambda other: {"GIT_DIR": str(other / ".git"), "GIT_WORK_TREE": str(other)},
    lambda other: {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "url.https://github.com/corp/harmless.insteadOf",
                   "GIT_CONFIG_VALUE_0": "https://github.com/corp/secret-weights"},
])
def test_gits_own_environment_never_redirects_the_repository_check(tmp_path, monkeypatch, variables):
    denied = git_repo(tmp_path / "denied", "https://github.com/corp/secret-weights")
    other = git_repo(tmp_path / "other", "https://github.com/corp/harmless")
    for name, value in variables(other).items():
        monkeypatch.setenv(name, value)
    assert repository.detect_repository(denied) == "github.com/corp/secret-weights"
