"""``aigate run`` as a real process: arguments, environment, exit status, the key callback."""

from __future__ import annotations

import json
import os
import signal

from tests.process.conftest import KEY, SERVER

WEIRD_ARGS = ["--help", "-cp", "a b", "", "ü’\t*", "$HOME", "--settings-like", "-p", "--", "last"]


def test_arguments_reach_the_tool_byte_for_byte_after_aigates_own(client):
    done = client.run("run", "codex", *WEIRD_ARGS)
    assert done.returncode == 0, done.stderr
    argv = client.recorded()["argv"]
    assert argv[-len(WEIRD_ARGS):] == WEIRD_ARGS
    assert argv[:4] == ["-c", argv[1], "-c", 'model_provider="aigate"']


def test_tool_help_goes_to_the_tool_not_to_aigate(client):
    done = client.run("run", "claude", "--help")
    assert done.returncode == 0, done.stderr
    assert client.recorded()["argv"][-1] == "--help"


def test_competing_credentials_are_removed_and_the_key_is_nowhere_in_env_or_argv(client):
    env = client.env(ANTHROPIC_API_KEY="sk-competing", OPENAI_API_KEY="sk-other", CLAUDE_CODE_OAUTH_TOKEN="x")
    done = client.run("run", "claude", "-p", "hi", env=env)
    assert done.returncode == 0, done.stderr
    seen = client.recorded()
    assert not {"ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"} & set(seen["env"])
    assert KEY not in repr(seen["env"]) and KEY not in repr(seen["argv"])
    assert seen["env"]["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"] == "600000"


def test_claude_key_helper_prints_only_the_key(client):
    done = client.run("run", "claude", "-p", "hi", env=client.env(FAKE_TOOL_MODE="helper"))
    assert done.returncode == 0, done.stderr
    helper = client.recorded()["helper"]
    assert helper == {"stdout": KEY + "\n", "stderr": helper["stderr"], "status": 0}


def test_codex_auth_command_prints_only_the_key(client):
    done = client.run("run", "codex", "exec", "hi", env=client.env(FAKE_TOOL_MODE="helper"))
    assert done.returncode == 0, done.stderr
    assert client.recorded()["helper"]["stdout"] == KEY + "\n"


def test_exit_status_is_the_tools(client):
    done = client.run("run", "claude", env=client.env(FAKE_TOOL_MODE="exit:3"))
    assert done.returncode == 3


def test_a_tool_killed_by_signal_n_gives_128_plus_n(client):
    done = client.run("run", "claude", env=client.env(FAKE_TOOL_MODE=f"kill:{int(signal.SIGKILL)}"))
    assert done.returncode == 128 + signal.SIGKILL


def test_unknown_tool_is_a_usage_error_listing_the_known_ones(client):
    done = client.run("run", "gemini")
    assert done.returncode == 2
    assert "claude, codex" in done.stderr and "Traceback" not in done.stderr


def test_missing_binary_is_127_before_any_login_check(client, tmp_path):
    (client.bin_dir / "claude").unlink()
    env = client.env(PATH=str(client.bin_dir), XDG_CONFIG_HOME=str(tmp_path / "nothing"))
    assert client.run("run", "claude", env=env).returncode == 127


def test_binary_that_is_not_executable_is_126(client):
    (client.bin_dir / "claude").chmod(0o644)
    done = client.run("run", "claude", env=client.env(PATH=str(client.bin_dir)))
    assert done.returncode == 126, done.stderr


def test_not_logged_in_is_78_with_the_login_fix(client, tmp_path):
    done = client.run("run", "claude", env=client.env(XDG_CONFIG_HOME=str(tmp_path / "empty")))
    assert done.returncode == 78
    assert "aigate login --server" in done.stderr


def test_no_cached_token_and_server_unreachable_is_69_naming_the_server(client, tmp_path):
    done = client.run("run", "claude", env=client.env(XDG_CACHE_HOME=str(tmp_path / "empty-cache")))
    assert done.returncode == 69, done.stderr
    assert SERVER in done.stderr and "Traceback" not in done.stderr


def test_no_key_for_the_scope_is_78_with_keys_set_as_the_fix(client):
    from aigate import keystore

    keystore.record_scope("anthropic", False)
    done = client.run("run", "claude")
    assert done.returncode == 78
    assert "aigate keys set anthropic" in done.stderr


def test_insecure_keyring_is_refused_without_the_explicit_opt_in(client):
    env = client.env()
    del env["AIGATE_ALLOW_INSECURE_KEYRING"]
    done = client.run("run", "claude", env=env)
    assert done.returncode == 78 and "AIGATE_ALLOW_INSECURE_KEYRING=1" in done.stderr


def test_dry_run_names_variables_but_shows_no_values(client):
    env = client.env(ANTHROPIC_API_KEY="sk-competing-value")
    done = client.run("run", "--dry-run", "claude", "-p", "hi", env=env)
    assert done.returncode == 0, done.stderr
    assert "ANTHROPIC_API_KEY" in done.stdout and "sk-competing-value" not in done.stdout + done.stderr
    assert KEY not in done.stdout + done.stderr
    assert not os.path.exists(client.record)


# docs/architecture.md, "Warm-path budget": what `aigate run` with a cached token may not load.
WARM_PATH_FORBIDDEN = {
    # third party: tens of ms each
    "typer", "click", "rich", "httpx", "jwt", "keyring",
    # the standard library's costly modules the warm path does without
    "dataclasses", "inspect", "typing", "tomllib", "tempfile", "uuid", "hashlib", "subprocess", "ssl",
    "asyncio", "datetime", "email", "http", "logging", "contextlib", "shutil", "argparse", "platform",
    "random", "importlib",
}


WARM_PATH_CRYPTOGRAPHY = {"cryptography", "cryptography.__about__", "cryptography.hazmat",
                          "cryptography.hazmat.bindings", "cryptography.hazmat.bindings._rust"}
# What the launch may load, snapshot as the tool is spawned. While the tool runs, the session's key
# server reads the keyring in a background thread (docs/architecture.md, "Client decisions"), so the
# keyring may appear after that; the CLI framework, HTTP and JWT libraries never do.
WARM_PATH_NEVER = {"typer", "click", "rich", "httpx", "jwt"}
WARM_PATH_PROBE = """
import json, sys
import aigate.launch as launch

real = launch.run_child

def spy(argv, env, on_started=None):
    open(sys.argv[1] + "/at-spawn.json", "w").write(json.dumps(sorted(sys.modules)))
    return real(argv, env, on_started)

launch.run_child = spy
from aigate.cli.entry import main
code = main(["run", "claude"])
open(sys.argv[1] + "/at-exit.json", "w").write(json.dumps(sorted(sys.modules)))
sys.exit(code)
"""


def test_the_warm_path_imports_only_what_it_needs(client):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", WARM_PATH_PROBE, str(client.tmp)], env=client.env(),
                          cwd=client.tmp, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    at_spawn = json.loads((client.tmp / "at-spawn.json").read_text())
    at_exit = json.loads((client.tmp / "at-exit.json").read_text())
    assert sorted({m.split(".")[0] for m in at_spawn} & WARM_PATH_FORBIDDEN) == []
    assert "aigate.protocol" not in at_spawn and "aigate.cli.app" not in at_spawn
    assert sorted({m.split(".")[0] for m in at_exit} & WARM_PATH_NEVER) == []
    # The cached token's signature is checked (the cache is user-writable): cryptography's compiled
    # Ed25519, without the Python layers around it.
    assert {m for m in at_spawn if m.startswith("cryptography")} <= WARM_PATH_CRYPTOGRAPHY


def test_run_help_before_the_tool_is_aigates_own(client):
    done = client.run("run", "--help")
    assert done.returncode == 0 and "--dry-run" in done.stdout and not client.record.exists()


def test_key_helper_with_an_unknown_option_is_a_usage_error(client):
    assert client.run("key-helper", "claude", "--server", SERVER, "--bogus", "x").returncode == 2


def test_users_own_codex_provider_is_refused_with_exit_2_and_nothing_started(client):
    done = client.run("run", "codex", "-c", 'model_provider="openai"', "exec", "hi")
    assert done.returncode == 2 and "model_provider" in done.stderr and not client.record.exists()


def test_users_own_claude_settings_are_merged_and_reach_the_tool(client):
    done = client.run("run", "claude", "--settings", '{"model": "opus"}', "-p", "hi")
    assert done.returncode == 0, done.stderr
    argv = client.recorded()["argv"]
    merged = json.loads(argv[argv.index("--settings") + 1])
    assert merged["model"] == "opus" and "apiKeyHelper" in merged and argv[-2:] == ["-p", "hi"]


def test_warnings_are_said_once_per_run_and_never_by_the_key_helper(client):
    import os
    from pathlib import Path

    Path(os.environ["AIGATE_SYSTEM_CONFIG"]).write_text('colour = "red"\n')  # an unknown setting: warned about
    done = client.run("run", "claude", "-p", "hi", env=client.env(FAKE_TOOL_MODE="helper"))

    assert done.returncode == 0, done.stderr
    assert done.stderr.count("unknown setting") == 1
    assert "plain-file" not in done.stderr  # a plain-file keyring is said when a secret is stored there
    assert client.recorded()["helper"]["stderr"] == ""


def test_a_recorded_secret_service_without_a_session_bus_is_78_before_the_tool_starts(client):
    from aigate import paths

    paths.keyring_backend_file().write_text("keyring.backends.SecretService.Keyring")
    env = {k: v for k, v in client.env().items() if k not in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS")}
    for bus in (None, "unix:path=/nonexistent/aigate-test/bus"):  # none at all, or one from an ended session
        with_bus = env if bus is None else {**env, "DBUS_SESSION_BUS_ADDRESS": bus}
        done = client.run("run", "codex", "exec", "x", env=with_bus)
        assert done.returncode == 78, done.stderr
        assert "Secret Service" in done.stderr and "dbus-run-session" in done.stderr
        assert not os.path.exists(client.record)  # the tool never started


def test_an_odd_token_cache_layout_is_never_an_internal_error(client):
    import shutil

    from aigate import paths

    tokens = paths.token_dir()
    shutil.rmtree(tokens)
    tokens.write_text("a file where the token folder belongs")
    done = client.run("run", "claude")  # no usable cache, server unreachable: 69, not "internal error"
    assert done.returncode == 69 and "internal error" not in done.stderr, done.stderr
    tokens.unlink()
    tokens.mkdir()
    for name in ("jwks.json", "claude-0000000000000000.json"):
        (tokens / name).mkdir()
    done = client.run("run", "claude")
    assert done.returncode == 69 and "internal error" not in done.stderr, done.stderr


def test_a_spool_that_is_a_file_warns_and_the_tool_still_runs(client):
    from aigate import paths

    paths.spool_dir().parent.mkdir(parents=True, exist_ok=True)
    paths.spool_dir().write_text("not a folder")
    done = client.run("run", "claude", env=client.env(FAKE_TOOL_MODE="exit:3"))
    assert done.returncode == 3 and "not recorded" in done.stderr and "internal error" not in done.stderr


def test_gits_own_environment_does_not_move_the_repository_check(client, tmp_path):
    import subprocess

    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    subprocess.run(["git", "-C", str(client.tmp), "init", "-q"], check=True)
    subprocess.run(["git", "-C", str(client.tmp), "remote", "add", "origin", "https://github.com/corp/denied"],
                   check=True)
    # the token cached by the client fixture is for no repository: one for corp/denied must be asked for
    done = client.run("run", "--dry-run", "codex", "exec", "x", env=client.env(GIT_DIR=str(other / ".git")))
    assert done.returncode == 69 and SERVER in done.stderr, done.stderr


def test_dry_run_names_the_key_socket_a_real_run_sets(client):
    done = client.run("run", "--dry-run", "claude")
    would_set = next(line for line in done.stdout.splitlines() if line.startswith("would set:"))
    assert "AIGATE_KEY_SOCKET" in would_set
