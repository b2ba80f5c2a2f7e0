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
