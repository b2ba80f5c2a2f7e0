"""The access policy: matching, caps, scopes, repository globs, and mistakes with their lines."""

from __future__ import annotations

import pytest

from aigate.protocol import ApprovalMode
from aigate.server.policy import DEFAULT_POLICY, PolicyError, parse_policy


def policy(rules: str, head: str = "") -> object:
    return parse_policy(head + rules)


RULES = """
[[rules]]
groups = ["applied-ai"]
tools = ["claude"]
approval = "auto"
max_duration = "2h"
key_scope = "anthropic-applied-ai"
repos_denied = ["*/llama-*", "GitHub.com/Corp/Secret"]

[[rules]]
groups = ["*"]
tools = ["*"]
approval = "required"
max_duration = "8h"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    return caught.value.problems


def test_the_default_policy_requires_approval_for_every_tool_for_8_hours():
    verdict = parse_policy(DEFAULT_POLICY).resolve("codex", ["anyone"])
    assert (verdict.approval, verdict.max_duration) == (ApprovalMode.REQUIRED, 8 * 3600)


def test_the_first_matching_rule_decides():
    assert policy(RULES).resolve("claude", ["applied-ai"]).approval == ApprovalMode.AUTO


def test_a_rule_for_other_groups_is_skipped():
    assert policy(RULES).resolve("claude", ["web"]).approval == ApprovalMode.REQUIRED


def test_a_rule_for_other_tools_is_skipped():
    assert policy(RULES).resolve("codex", ["applied-ai"]).approval == ApprovalMode.REQUIRED


def test_no_matching_rule_means_deny():
    only = '[[rules]]\ngroups = ["a"]\ntools = ["claude"]\napproval = "auto"\n'
    assert policy(only).resolve("claude", ["b"]).approval == ApprovalMode.DENY


def test_an_unknown_tool_has_no_verdict():
    assert policy(RULES).resolve("gemini", ["applied-ai"]) is None


def test_default_key_scopes_are_anthropic_and_openai():
    p = policy(RULES)
    assert (p.resolve("claude", ["x"]).key_scope, p.resolve("codex", ["x"]).key_scope) == ("anthropic", "openai")


def test_a_rule_may_override_the_key_scope():
    assert policy(RULES).resolve("claude", ["applied-ai"]).key_scope == "anthropic-applied-ai"


def test_token_ttl_defaults_to_10_minutes():
    assert policy(RULES).token_ttl == 600


def test_a_tool_table_sets_base_url_and_env():
    head = '[tools.claude]\nkey_scope = "a"\nbase_url = "https://gw/a"\nenv = { X = "1" }\n'
    verdict = policy(RULES, head).resolve("claude", ["x"])
    assert (verdict.base_url, verdict.env) == ("https://gw/a", {"X": "1"})


@pytest.mark.parametrize("remote", [
    "git@github.com:Corp/llama-weights.git",
    "https://github.com/Corp/llama-weights",
    "ssh://git@github.com:22/corp/llama-weights.git",
    "github.com/corp/llama-weights",
])
def test_repos_denied_matches_every_form_of_one_repository(remote):
    assert policy(RULES).resolve("claude", ["applied-ai"]).repository_denied(remote)


def test_repos_denied_star_matches_slashes():
    assert policy(RULES).resolve("claude", ["applied-ai"]).repository_denied("gitlab.corp/a/b/llama-x")


def test_repos_denied_patterns_are_case_insensitive():
    assert policy(RULES).resolve("claude", ["applied-ai"]).repository_denied("github.com/corp/secret")


def test_an_other_repository_is_not_denied():
    assert not policy(RULES).resolve("claude", ["applied-ai"]).repository_denied("github.com/corp/web")


def test_no_repository_is_never_denied():
    assert not policy(RULES).resolve("claude", ["applied-ai"]).repository_denied(None)


def test_a_toml_syntax_error_names_its_line():
    assert problems('token_ttl = "10m"\n[[rules]\n')[0].startswith("line 2:")


def test_a_bad_duration_names_its_line():
    assert problems('\n\ntoken_ttl = "10 minutes"\n') == [
        "line 3: token_ttl: invalid duration '10 minutes': write it like 30s, 10m, 8h, 7d or 1h30m"]


def test_a_bad_approval_names_the_rules_line():
    text = '[[rules]]\ngroups = ["*"]\ntools = ["*"]\napproval = "maybe"\n'
    assert problems(text) == ["line 4: approval must be one of auto, required, deny (got 'maybe')"]


def test_an_unknown_setting_is_a_mistake():
    assert "unknown setting 'tokn_ttl'" in problems('tokn_ttl = "1m"\n')[0]


def test_an_undeclared_tool_in_a_rule_is_a_mistake():
    text = '[[rules]]\ngroups = ["*"]\ntools = ["gemini"]\napproval = "auto"\n'
    assert problems(text) == ["line 3: unknown tool 'gemini' (declare it with [tools.gemini])"]


def test_every_mistake_is_reported_not_just_the_first():
    text = 'token_ttl = "x"\n[[rules]]\ngroups = "all"\ntools = ["*"]\napproval = "nope"\n'
    assert len(problems(text)) == 3


def test_a_rule_without_groups_is_a_mistake():
    assert "needs groups" in problems('[[rules]]\ntools = ["*"]\napproval = "auto"\n')[0]


RULE = '[[rules]]\ngroups = ["*"]\ntools = ["*"]\napproval = "required"\n'


def test_a_tool_key_scope_with_a_space_is_a_mistake_on_its_line():
    found = problems('[tools.claude]\nkey_scope = "bad scope"\n' + RULE)
    assert found[0].startswith("line 2: [tools.claude] key_scope")


def test_a_rule_key_scope_with_a_space_is_a_mistake_on_its_line():
    assert problems(RULE + 'key_scope = "bad scope"\n')[0].startswith("line 5: key_scope 'bad scope'")


@pytest.mark.parametrize("scope", ["anthropic", "anthropic-applied-ai", "Team.1_x", "a" * 64])
def test_a_key_scope_that_aigate_keys_set_accepts_is_fine(scope):
    assert parse_policy(f'[tools.claude]\nkey_scope = "{scope}"\n' + RULE).tools["claude"].key_scope == scope


@pytest.mark.parametrize("scope", ["-lead", ".x", "a/b", "a" * 65, "ünï"])
def test_a_key_scope_that_aigate_keys_set_refuses_is_a_mistake(scope):
    assert "key_scope" in problems(f'[tools.claude]\nkey_scope = "{scope}"\n' + RULE)[0]


@pytest.mark.parametrize("name", ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CODEX_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                                  "anthropic_api_key"])
def test_an_env_setting_a_credential_is_a_mistake_on_its_line(name):
    (problem,) = problems(f'[tools.claude]\nenv = {{ {name} = "x" }}\n' + RULE)
    assert problem.startswith("line 2:") and "credential" in problem


@pytest.mark.parametrize("name", ["PATH", "HOME", "LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES"])
def test_an_env_setting_path_home_or_loader_variables_is_a_mistake(name):
    (problem,) = problems(f'[tools.claude]\nenv = {{ {name} = "x" }}\n' + RULE)
    assert problem.startswith("line 2:") and name in problem


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A B", "A=B", ""])
def test_an_env_name_that_is_not_a_variable_name_is_a_mistake(name):
    (problem,) = problems(f'[tools.claude]\nenv = {{ "{name}" = "x" }}\n' + RULE)
    assert "not a valid environment variable name" in problem


def test_an_env_mistake_in_an_env_table_names_the_variables_own_line():
    text = '[tools.claude]\nkey_scope = "anthropic"\n[tools.claude.env]\nOK = "1"\nPATH = "/tmp"\n' + RULE
    assert problems(text)[0].startswith("line 5:")


def test_a_plain_env_variable_is_fine():
    assert parse_policy('[tools.claude]\nenv = { DISABLE_TELEMETRY = "1" }\n' + RULE).tools["claude"].env == {
        "DISABLE_TELEMETRY": "1"}


def test_policy_check_of_a_policy_without_rules_warns_that_every_tool_is_denied(tmp_path, cli):
    empty = tmp_path / "policy.toml"
    empty.write_text('token_ttl = "10m"\n')
    code, _, err = cli("policy", "check", str(empty))
    assert code == 0 and "no rules: every tool is denied" in err


def test_policy_check_of_a_policy_with_rules_does_not_warn(tmp_path, cli):
    good = tmp_path / "policy.toml"
    good.write_text(RULE)
    assert "no rules" not in cli("policy", "check", str(good))[2]


def test_the_default_policy_points_to_the_readme_not_design_notes():
    assert "DESIGN.md" not in DEFAULT_POLICY and "README" in DEFAULT_POLICY
