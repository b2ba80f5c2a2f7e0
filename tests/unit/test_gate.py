"""The run flow with fakes: checks cheapest first, the child's argv and env, sessions spooled."""

import pytest

from aigate import config, enrollment, gate, keyserve, keystore, tokencache
from aigate.errors import ConfigError, NotApproved, ServerUnreachable, ToolNotExecutable, ToolNotFound, UsageError
from harness import device
from tests.unit.conftest import Clock, claims_for

SERVER = "https://aigate.test"
KEY = "sk-ant-unit-0123456789abcdef"


def cfg(server=SERVER):
    return config.Config(server=config.Setting(server, "test"), ca_bundle=config.Setting(None, "default"))


class Recorder:
    def __init__(self, status=0):
        self.calls, self.status = [], status

    def __call__(self, argv, env, on_started=None):
        self.calls.append((argv, env))
        if on_started:
            on_started(1234)
        return self.status


@pytest.fixture
def deps(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("claude", "codex"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    clock = Clock(1_800_000_000)
    d = gate.Deps(env={"PATH": str(bin_dir), "HOME": str(tmp_path), "ANTHROPIC_API_KEY": "sk-competing"},
                  clock=clock, load_config=lambda **kw: cfg(), detect_repository=lambda: "github.com/corp/app",
                  fetch=_refuse, open_store=lambda: keystore.MemoryKeyStore({keystore.key_entry("anthropic"): KEY}),
                  run_child=Recorder(), start_flusher=lambda spool: None, token_dir=tmp_path / "tokens",
                  spool_dir=tmp_path / "spool", key_index=tmp_path / "state" / "keys.json",
                  enrollments=tmp_path / "state" / "enrollment.json", own_entry=None, python="/py")
    enrollment.save(enrollment.EnrollmentRecord(SERVER, SERVER, "d1", "ann@corp.example"), d.enrollments)
    keystore.record_scope("anthropic", True, d.key_index)
    return d


def _refuse(*args):
    raise NotApproved("not approved: no grant", hint='aigate request claude --reason "..."')


def _down(*args):
    raise ServerUnreachable(f"cannot reach the aigate server {SERVER}")


def cache_offline(deps, tool="claude", **extra):
    """A valid cached token and a server that cannot be reached: the key callback falls back to the cache."""
    deps.fetch = _down
    return cache(deps, tool, **extra)


def cache(deps, tool="claude", **extra):
    token = device.sign(claims_for(tool, now=deps.clock(), **{"repository": "github.com/corp/app", **extra}))
    return device.cache(deps.token_dir, SERVER, tool, "github.com/corp/app", token)


def test_unknown_tool_is_refused_before_anything_else(deps):
    deps.load_config = lambda **kw: pytest.fail("config read before the registry check")
    with pytest.raises(UsageError):
        gate.run_tool("gemini", [], deps=deps)


def test_missing_binary_is_reported_before_a_broken_config(deps):
    def broken(**kw):
        raise ConfigError("unsafe enforced file")

    deps.load_config, deps.env["PATH"] = broken, "/nonexistent"
    with pytest.raises(ToolNotFound):
        gate.run_tool("claude", [], deps=deps)


def test_a_cached_token_is_used_without_asking_the_server(deps):
    cache(deps)
    assert gate.run_tool("claude", ["-p", "hi"], deps=deps) == 0
    argv, env = deps.run_child.calls[0]
    assert argv[-2:] == ["-p", "hi"] and "ANTHROPIC_API_KEY" not in env
    assert KEY not in repr(argv) + repr(env)


def test_an_expired_cached_token_is_fetched_again(deps):
    cache(deps)
    deps.clock.now += 600
    with pytest.raises(NotApproved):
        gate.run_tool("claude", [], deps=deps)
    assert deps.run_child.calls == []


def test_unreachable_server_without_a_cached_token_stops_the_launch(deps):
    def down(*args):
        raise ServerUnreachable(f"cannot reach the aigate server {SERVER}")

    deps.fetch = down
    with pytest.raises(ServerUnreachable):
        gate.run_tool("claude", [], deps=deps)
    assert deps.run_child.calls == []


def test_no_key_for_the_tokens_scope_is_78_naming_the_fix(deps):
    cache(deps, scope="anthropic-applied-ai")
    with pytest.raises(ConfigError) as caught:
        gate.run_tool("claude", [], deps=deps)
    assert caught.value.hint == "aigate keys set anthropic-applied-ai"


def test_policy_env_is_applied_but_never_a_competing_credential(deps):
    cache(deps, env={"DISABLE_TELEMETRY": "1", "OPENAI_API_KEY": "sneaky"})
    gate.run_tool("claude", [], deps=deps)
    _, env = deps.run_child.calls[0]
    assert env["DISABLE_TELEMETRY"] == "1" and "OPENAI_API_KEY" not in env


def test_the_tools_exit_status_is_returned_and_the_session_spooled(deps):
    cache(deps)
    deps.run_child = Recorder(status=3)
    assert gate.run_tool("claude", [], deps=deps) == 3
    names = sorted(p.name.rsplit("-", 1)[1] for p in deps.spool_dir.iterdir())
    assert names == ["end.json", "start.json"]


def test_dry_run_prints_names_and_starts_nothing(deps):
    cache(deps)
    printed = []
    deps.out = printed.append
    assert gate.run_tool("claude", [], dry_run=True, deps=deps) == 0
    assert deps.run_child.calls == [] and "ANTHROPIC_API_KEY" in printed[0] and "sk-competing" not in printed[0]


def test_key_helper_returns_the_key_for_the_tokens_scope(deps):
    cache_offline(deps)
    assert gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps) == KEY


def test_key_helper_refuses_once_the_approval_is_gone(deps):
    cache(deps)
    deps.clock.now += 600
    with pytest.raises(NotApproved):
        gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps)


@pytest.mark.skipif(not keyserve.SUPPORTED, reason="Linux only")
def test_key_helper_takes_the_key_from_its_session_when_there_is_one(deps):
    cache_offline(deps)
    served = keystore.MemoryKeyStore({keystore.key_entry("anthropic"): "sk-from-the-session-0123"})
    server = keyserve.KeyServer("anthropic", lambda: served, keystore.key_entry("anthropic"))
    server.start()
    deps.env[keyserve.ENV_SOCKET] = server.address
    try:
        assert gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps) == "sk-from-the-session-0123"
    finally:
        server.close()


@pytest.mark.skipif(not keyserve.SUPPORTED, reason="Linux only")
def test_key_helper_fails_with_the_fix_when_its_session_has_no_key_for_the_scope(deps):
    cache_offline(deps)
    server = keyserve.KeyServer("anthropic", keystore.MemoryKeyStore, keystore.key_entry("anthropic"))
    server.start()
    deps.env[keyserve.ENV_SOCKET] = server.address
    try:
        with pytest.raises(ConfigError) as caught:
            gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps)
    finally:
        server.close()
    assert caught.value.hint == "aigate keys set anthropic"


@pytest.mark.skipif(not keyserve.SUPPORTED, reason="Linux only")
def test_key_helper_reads_the_keyring_when_its_session_serves_another_scope(deps):
    cache_offline(deps)
    other = keystore.MemoryKeyStore({keystore.key_entry("openai"): "sk-openai-0123456789"})
    server = keyserve.KeyServer("openai", lambda: other, keystore.key_entry("openai"))
    server.start()
    deps.env[keyserve.ENV_SOCKET] = server.address
    try:
        assert gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps) == KEY
    finally:
        server.close()


def test_key_helper_reads_the_keyring_when_its_session_is_gone(deps):
    cache_offline(deps)
    deps.env[keyserve.ENV_SOCKET] = "@aigate-no-such-session"
    assert gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps) == KEY


def test_the_child_is_told_where_its_key_server_is(deps):
    cache(deps)
    deps.serve_keys = keyserve.SUPPORTED
    gate.run_tool("claude", [], deps=deps)
    _, env = deps.run_child.calls[0]
    assert (keyserve.ENV_SOCKET in env) == keyserve.SUPPORTED


def test_a_short_session_starts_one_flusher_for_start_and_end(deps):
    cache(deps)
    started = []
    deps.start_flusher = started.append
    gate.run_tool("claude", [], deps=deps)
    assert started == [deps.spool_dir]


def test_a_tool_wrapper_that_runs_aigate_again_is_refused_not_looped(deps):
    cache(deps)
    deps.env[gate.ENV_RUNNING] = "claude"
    with pytest.raises(ToolNotExecutable):
        gate.run_tool("claude", [], deps=deps)


def test_an_it_set_tool_path_that_does_not_exist_says_so_naming_the_file(deps, tmp_path):
    from pathlib import Path

    enforced = config.Config(server=config.Setting(SERVER, "test"), ca_bundle=config.Setting(None, "default"),
                             tool_paths={"claude": "/nonexistent/claude"},
                             enforced_file=Path("/etc/aigate/aigate.toml"))
    deps.load_config = lambda **kw: enforced
    with pytest.raises(ToolNotFound) as caught:
        gate.run_tool("claude", [], deps=deps)
    assert "does not exist" in caught.value.message and "/etc/aigate/aigate.toml" in caught.value.message
    assert "PATH" not in caught.value.message


def test_a_tampered_cached_token_after_revocation_is_refetched_and_refused_77(deps):
    """The attack run's case: the grant was revoked, the user pushed the cached token's expiry 10 years
    ahead (signature left as it was). The edited token is not used; the server is asked, and refuses."""
    token = cache(deps)
    device.cache(deps.token_dir, SERVER, "claude", "github.com/corp/app",
                 device.tampered(token, exp=int(deps.clock()) + 10 * 365 * 86400))
    deps.clock.now += 700
    with pytest.raises(NotApproved) as caught:
        gate.run_tool("claude", [], deps=deps)
    assert caught.value.exit_code == 77 and deps.run_child.calls == []


def test_a_cached_token_with_an_edited_key_scope_makes_the_key_helper_ask_the_server(deps):
    token = cache(deps)
    device.cache(deps.token_dir, SERVER, "claude", "github.com/corp/app", device.tampered(token, key_scope="openai"))
    deps.open_store = lambda: keystore.MemoryKeyStore({keystore.key_entry("openai"): "sk-other-scope"})
    with pytest.raises(NotApproved):
        gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps)


def test_a_run_against_another_server_than_the_enrolled_one_says_so_and_which_setting_chose_it(deps):
    other = config.Config(server=config.Setting("https://other.test", "AIGATE_SERVER"),
                          ca_bundle=config.Setting(None, "default"))
    deps.load_config = lambda **kw: other

    with pytest.raises(ConfigError) as caught:
        gate.run_tool("claude", [], deps=deps)

    assert caught.value.message == (f"this device is enrolled with {SERVER}, not with the server in use, "
                                    "https://other.test (chosen by AIGATE_SERVER)")
    assert caught.value.hint.splitlines() == [f"unset AIGATE_SERVER to use {SERVER}",
                                              "or enroll with https://other.test: aigate login --server https://other.test"]


# --- the key callback checks with the server live ------------------------------------------------


def test_key_helper_asks_the_server_even_with_a_valid_cached_token_and_drops_it_when_refused(deps):
    cache(deps)  # valid for 600 s more; the server (deps.fetch) now refuses: revoked
    with pytest.raises(NotApproved):
        gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps)
    assert tokencache.read_valid(deps.token_dir, SERVER, "claude", "github.com/corp/app", now=deps.clock(),
                                 issuer=SERVER, sub="ann@corp.example") is None


def test_key_helper_uses_a_fresh_token_from_the_server(deps):
    fresh = tokencache.CachedToken(device.sign(claims_for("claude", now=deps.clock())),
                                   claims_for("claude", now=deps.clock()))
    asked = []
    deps.fetch = lambda *a: asked.append(a) or fresh
    assert gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps) == KEY
    assert [a[:3] for a in asked] == [(SERVER, "claude", "github.com/corp/app")]


def test_key_helper_falls_back_to_the_cached_token_only_while_the_server_is_unreachable(deps):
    cache_offline(deps)
    assert gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps) == KEY
    deps.clock.now += 600  # the cached token has expired: nothing left to trust
    with pytest.raises(ServerUnreachable):
        gate.key_helper("claude", SERVER, "github.com/corp/app", deps=deps)


# --- order of checks, and what --dry-run names ----------------------------------------------------


@pytest.mark.parametrize("args", [["-c", 'model_provider="openai"', "exec", "x"],
                                  ["--config=model_providers.mine={}", "exec", "x"]])
def test_codexs_own_provider_is_refused_before_the_approval_check(deps, args):
    with pytest.raises(UsageError):  # no token cached: the approval check would say 77
        gate.run_tool("codex", args, deps=deps)


def test_a_claude_settings_credential_is_refused_before_the_approval_check(deps):
    settings = '{"env":{"ANTHROPIC_API_KEY":"sk-other-secret-0123"}}'
    with pytest.raises(UsageError) as caught:
        gate.run_tool("claude", ["--settings", settings], dry_run=True, deps=deps)
    assert "ANTHROPIC_API_KEY" in caught.value.message and "sk-other-secret-0123" not in repr(caught.value.__dict__)


def test_dry_run_names_the_key_socket_a_real_run_sets(deps):
    cache(deps)
    printed = []
    deps.out, deps.serve_keys = printed.append, True
    gate.run_tool("claude", [], dry_run=True, deps=deps)
    would_set = next(line for line in printed[0].splitlines() if line.startswith("would set:"))
    assert keyserve.ENV_SOCKET in would_set


# --- every directory the tool is told to work in is checked against the policy ----------------------


DENIED = "github.com/corp/denied"


@pytest.fixture
def folders(deps, tmp_path):
    """Two folders, one in an allowed repository and one in a denied one; the server refuses the denied one."""
    allowed, denied = tmp_path / "allowed", tmp_path / "denied"
    allowed.mkdir()
    denied.mkdir()
    where = {str(allowed): "github.com/corp/app", str(denied): DENIED}
    deps.detect_repository = lambda folder=None: where.get(str(folder)) if folder else None
    approved = {}

    def fetch(server, tool, repository, issuer, ca_bundle):
        if repository == DENIED:
            raise NotApproved("refused by policy: repository denied")
        approved[repository] = tokencache.CachedToken(device.sign(claims_for(tool, now=deps.clock())),
                                                      claims_for(tool, now=deps.clock()))
        return approved[repository]

    deps.fetch = fetch
    return allowed, denied


@pytest.mark.parametrize("tool,args", [
    ("codex", ["-C", "{denied}", "exec", "x"]),
    ("codex", ["--cd={denied}", "exec", "x"]),
    ("codex", ["-C{denied}", "exec", "x"]),
    ("codex", ["exec", "--cd", "{denied}", "x"]),
    ("codex", ["--add-dir", "{denied}", "exec", "x"]),
    ("codex", ["-C", "{denied}", "-C", "{allowed}", "exec", "x"]),
    ("claude", ["--add-dir", "{denied}", "-p", "x"]),
    ("claude", ["--add-dir", "{allowed}", "{denied}", "-p", "x"]),
    ("claude", ["--add-dir={denied}", "-p", "x"]),
    ("claude", ["--settings", '{{"permissions": {{"additionalDirectories": ["{denied}"]}}}}', "-p", "x"]),
])
def test_a_denied_repository_named_by_the_tools_own_options_is_77_and_nothing_starts(deps, folders, tool, args):
    allowed, denied = folders
    keystore.record_scope("openai", True, deps.key_index)
    args = [a.format(allowed=allowed, denied=denied) for a in args]
    with pytest.raises(NotApproved):
        gate.run_tool(tool, args, deps=deps)
    assert deps.run_child.calls == []


def test_the_tools_working_directory_option_chooses_the_repository_the_token_is_for(deps, folders):
    allowed, _ = folders
    keystore.record_scope("openai", True, deps.key_index)
    assert gate.run_tool("codex", ["-C", str(allowed), "exec", "x"], deps=deps) == 0
    argv, _ = deps.run_child.calls[0]
    assert "github.com/corp/app" in " ".join(argv)  # the key callback re-checks that repository
