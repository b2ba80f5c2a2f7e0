"""The laptop in enforced mode (``key_source = "gateway"``): no key needed, the token is the credential."""
# ruff: noqa: F811 - `deps` is the gate tests' fixture, imported from them

import json

from aigate import gate, jws, keystore
from aigate.tokencache import CachedToken
from harness.device import sign
from tests.unit.conftest import claims_for
from tests.unit.test_gate import SERVER, cfg, deps  # noqa: F401 - the gate's fixture
from tests.unit.test_gate import cache as cache_laptop

GATEWAY = "https://aigw.corp.example/anthropic"


def cache(deps, ttl=600, tool="claude"):
    return cache_laptop(deps, tool, key_source="gateway", base_url=GATEWAY, ttl=ttl)


def test_run_needs_no_key_in_the_keyring(deps):
    deps.key_index.unlink()  # no scope stored at all
    deps.open_store = lambda: keystore.MemoryKeyStore({})
    cache(deps)
    assert gate.run_tool("claude", ["-p", "hi"], deps=deps) == 0
    ((argv, env),) = deps.run_child.calls
    assert env["ANTHROPIC_BASE_URL"] == GATEWAY
    settings = json.loads(argv[argv.index("--settings") + 1])
    assert settings["env"]["ANTHROPIC_BASE_URL"] == GATEWAY  # beats the repository's settings files
    assert "AIGATE_KEY_SOCKET" not in env  # no key to serve
    assert "ANTHROPIC_API_KEY" not in env


def test_the_tool_calls_back_every_half_token_lifetime(deps):
    cache(deps, ttl=600)
    gate.run_tool("claude", [], deps=deps)
    ((_, env),) = deps.run_child.calls
    assert env["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"] == "300000"


def test_codex_gets_the_gateway_as_its_provider(deps):
    cache(deps, tool="codex")
    gate.run_tool("codex", ["exec", "x"], deps=deps)
    ((argv, _),) = deps.run_child.calls
    assert f'base_url="{GATEWAY}"' in argv[2] and "refresh_interval_ms=300000" in argv[2]


def test_key_helper_prints_the_approval_token(deps):
    token = cache(deps)  # deps.fetch refuses: the gateway, not the callback, checks the grant live
    assert gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps) == token


def test_key_helper_renews_a_token_that_would_expire_before_the_next_call(deps):
    cache(deps)
    deps.clock.now += 301  # 299 s left of 600: less than the 300 s until the tool calls back
    fresh = sign(claims_for("claude", now=deps.clock(), key_source="gateway", base_url=GATEWAY))
    deps.fetch = lambda *args: CachedToken(fresh, jws.unverified(fresh)[1])
    assert gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps) == fresh


def test_dry_run_says_the_gateway_holds_the_key(deps):
    out = []
    deps.out = out.append
    cache(deps)
    gate.run_tool("claude", [], dry_run=True, deps=deps)
    assert "held by the gateway at " + GATEWAY in out[0]


def test_users_own_settings_env_is_kept_beside_the_gateway_url(deps):
    cache(deps)
    gate.run_tool("claude", ["--settings", '{"env": {"FOO": "1"}, "model": "m"}'], deps=deps)
    ((argv, _),) = deps.run_child.calls
    settings = json.loads(argv[argv.index("--settings") + 1])
    assert settings["env"]["FOO"] == "1" and settings["env"]["ANTHROPIC_BASE_URL"] == GATEWAY
    assert settings["model"] == "m"
