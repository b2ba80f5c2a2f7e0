"""How the tools are told to call back for the key (docs/tools.md); user options merged or refused."""

import json
import shlex
import tomllib

import pytest

from aigate import inject
from aigate.constants import COMPETING_CREDENTIALS
from aigate.errors import UsageError

HELPER = ["/opt/py thon/bin/python", "-m", "aigate", "key-helper", "claude", "--server", "https://s.test"]


def settings_of(argv):
    return json.loads(argv[argv.index("--settings") + 1])


def test_claude_gets_a_shell_quoted_api_key_helper_in_front_of_the_users_args():
    got = inject.for_claude(["-p", "hi"], helper=HELPER, ttl_seconds=600, base_url=None)
    assert got.argv_tail[2:] == ["-p", "hi"]
    assert shlex.split(settings_of(got.argv_tail)["apiKeyHelper"]) == HELPER


def test_claude_is_told_to_call_back_once_per_token_lifetime():
    got = inject.for_claude([], helper=HELPER, ttl_seconds=300, base_url=None)
    assert got.set_env == {"CLAUDE_CODE_API_KEY_HELPER_TTL_MS": "300000"}


def test_policy_base_url_goes_to_anthropic_base_url():
    got = inject.for_claude([], helper=HELPER, ttl_seconds=60, base_url="https://gw.corp/anthropic")
    assert got.set_env["ANTHROPIC_BASE_URL"] == "https://gw.corp/anthropic"


def test_users_json_settings_are_merged_in_place():
    got = inject.for_claude(["-p", "x", "--settings", '{"model": "opus"}', "y"], helper=HELPER, ttl_seconds=60,
                            base_url=None)
    assert got.argv_tail[:2] == ["-p", "x"] and got.argv_tail[4:] == ["y"]
    assert settings_of(got.argv_tail)["model"] == "opus" and "apiKeyHelper" in settings_of(got.argv_tail)
    assert got.argv_tail.count("--settings") == 1


def test_users_settings_file_is_merged(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"env": {"A": "1"}}')
    got = inject.for_claude([f"--settings={path}"], helper=HELPER, ttl_seconds=60, base_url=None)
    assert settings_of(got.argv_tail)["env"]["A"] == "1"


def test_users_own_api_key_helper_is_refused():
    with pytest.raises(UsageError):
        inject.for_claude(["--settings", '{"apiKeyHelper": "echo k"}'], helper=HELPER, ttl_seconds=60, base_url=None)


def test_repeated_settings_become_one_that_keeps_the_helper():
    """Claude keeps the last --settings: aigate passes one, the user's merged in order (issue 7)."""
    args = ["--settings", "{}", "--settings", '{"cleanupPeriodDays": 30, "env": {"A": "2"}}', "-p", "hi"]
    got = inject.for_claude(args, helper=HELPER, ttl_seconds=60, base_url=None)
    assert got.argv_tail.count("--settings") == 1 and got.argv_tail[2:] == ["-p", "hi"]
    merged = settings_of(got.argv_tail)
    assert merged["cleanupPeriodDays"] == 30 and merged["env"]["A"] == "2" and "apiKeyHelper" in merged


def test_a_later_settings_with_its_own_api_key_helper_is_refused():
    args = ["--settings", "{}", "--settings", '{"apiKeyHelper": "echo mine"}']
    with pytest.raises(UsageError):
        inject.for_claude(args, helper=HELPER, ttl_seconds=60, base_url=None)


def test_aigates_settings_env_outranks_claudes_own_settings_files():
    """Credentials blanked, the headers variable blanked, the policy's endpoint and env set."""
    got = inject.for_claude([], helper=HELPER, ttl_seconds=60, base_url="https://gw.corp/anthropic",
                            env={"DISABLE_TELEMETRY": "1"}, blank=COMPETING_CREDENTIALS)
    env = settings_of(got.argv_tail)["env"]
    assert env["ANTHROPIC_API_KEY"] == env["ANTHROPIC_AUTH_TOKEN"] == env["ANTHROPIC_CUSTOM_HEADERS"] == ""
    assert env["ANTHROPIC_BASE_URL"] == "https://gw.corp/anthropic" and env["DISABLE_TELEMETRY"] == "1"
    assert env["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"] == "60000"


@pytest.mark.parametrize("theirs", [{"ANTHROPIC_API_KEY": "sk-mine"}, {"ANTHROPIC_CUSTOM_HEADERS": "x-api-key: k"},
                                    {"ANTHROPIC_BASE_URL": "https://elsewhere"}])
def test_users_settings_env_that_would_replace_the_key_or_fixed_endpoint_is_refused(theirs):
    args = ["--settings", json.dumps({"env": theirs})]
    with pytest.raises(UsageError):
        inject.for_claude(args, helper=HELPER, ttl_seconds=60, base_url="https://gw.corp",
                          blank=COMPETING_CREDENTIALS)


def provider(argv):
    value = argv[argv.index("-c") + 1]
    assert value.startswith("model_providers.aigate=")
    return tomllib.loads("p = " + value.split("=", 1)[1])["p"]


def codex(args, base_url=None, env=None):
    return inject.for_codex(args, helper=HELPER, ttl_seconds=600, base_url=base_url,
                            env=env or {"HOME": "/nonexistent"})


def test_codex_gets_a_provider_whose_auth_command_is_the_helper():
    got = codex(["exec", "hi"])
    p = provider(got.argv_tail)
    assert [p["auth"]["command"], *p["auth"]["args"]] == HELPER
    assert p["auth"]["refresh_interval_ms"] == 600000
    assert got.argv_tail[2:] == ["-c", 'model_provider="aigate"', "exec", "hi"]


def test_codex_base_url_prefers_the_token_then_argv_then_env_then_config_then_openai(tmp_path):
    (tmp_path / "config.toml").write_text('openai_base_url = "https://from-config.test/v1"\n')
    env = {"CODEX_HOME": str(tmp_path), "OPENAI_BASE_URL": "https://from-env.test/v1"}
    user = ["-c", 'openai_base_url="https://from-argv.test/v1"']
    assert provider(codex(user, "https://policy.test", env).argv_tail)["base_url"] == "https://policy.test"
    assert provider(codex(user, None, env).argv_tail)["base_url"] == "https://from-argv.test/v1"
    assert provider(codex([], None, env).argv_tail)["base_url"] == "https://from-env.test/v1"
    assert provider(codex([], None, {"CODEX_HOME": str(tmp_path)}).argv_tail)["base_url"] == "https://from-config.test/v1"
    assert provider(codex([]).argv_tail)["base_url"] == inject.OPENAI_DEFAULT_BASE_URL


def test_openai_base_url_from_the_environment_is_honoured_for_codex_when_the_policy_sets_none():
    got = codex(["exec", "hi"], None, {"HOME": "/nonexistent", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})

    assert provider(got.argv_tail)["base_url"] == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize("args", [["-c", 'model_provider="openai"'], ["--config=model_providers.x={}"],
                                  ["-cmodel_provider=x"]])
def test_users_own_provider_is_refused_as_a_usage_error(args):
    with pytest.raises(UsageError) as caught:
        codex(args)
    assert caught.value.exit_code == 2
