"""The access policy: a TOML file owned by IT (format: the README, "Configuration reference").

``load_policy(path)`` parses and checks it, raising :class:`PolicyError` with every mistake and its
line; ``Policy.resolve(tool, groups)`` gives the :class:`Verdict` of the first rule whose groups and
tools match (no rule: deny). Repository globs are fnmatch-style, case-insensitive, and ``*`` also
matches ``/`` (that is how :func:`fnmatch.fnmatchcase` treats it).
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigate.constants import (
    COMPETING_CREDENTIALS,
    DEFAULT_KEY_SCOPES,
    KEY_SOURCE_GATEWAY,
    KEY_SOURCE_LAPTOP,
    MAX_DURATION_SECONDS,
    ApprovalMode,
    format_duration,
    is_key_scope,
    normalize_repository,
    parse_duration,
)
from aigate.server.notify_policy import DEFAULT_EXPIRING_BEFORE, NotifyTarget, check_targets
from aigate.server.policy_lines import LineFinder
from aigate.server.roles import Roles, parse_roles

DEFAULT_TOKEN_TTL = 600
# token_ttl bounds how long a revoked grant or disabled user keeps working: refused above the first, warned
# above the second (README, "Policy")
MAX_TOKEN_TTL = 24 * 3600
TOKEN_TTL_WARN_ABOVE = 3600
DEFAULT_REVIEW_TTL = 7 * 86400
_TOP_KEYS = {"token_ttl", "review_ttl", "tools", "rules", "roles", "notify", "grant_expiring_before"}
_TOOL_KEYS = {"key_scope", "key_source", "base_url", "env"}
KEY_SOURCES = (KEY_SOURCE_LAPTOP, KEY_SOURCE_GATEWAY)
_RULE_KEYS = {"groups", "tools", "approval", "max_duration", "key_scope", "repos_denied"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_FORBIDDEN = {"PATH", "HOME", "SHELL", "USER", "LOGNAME", "PYTHONPATH", "PYTHONHOME", "NODE_OPTIONS",
                  "NODE_PATH", "BASH_ENV", "ENV", "IFS"}
_ENV_FORBIDDEN_PREFIXES = ("LD_", "DYLD_", "AIGATE_")
NO_RULES_WARNING = "no rules: every tool is denied"


def env_name_problem(name: str) -> str | None:
    """Why a policy's ``env`` may not set ``name``, or None."""
    if not _ENV_NAME.match(name):
        return f"{name!r} is not a valid environment variable name"
    upper = name.upper()
    if upper in COMPETING_CREDENTIALS:
        return f"{name} is a credential: the key comes from the key scope, never from the policy"
    if upper in _ENV_FORBIDDEN or upper.startswith(_ENV_FORBIDDEN_PREFIXES):
        return f"{name} changes how programs are found or loaded; a policy may not set it"
    return None


def scope_problem(scope: str) -> str | None:
    """Why ``scope`` is not a key scope name ``aigate keys set`` accepts, or None."""
    if not is_key_scope(scope):
        return (f"key_scope {scope!r} is not a key scope name: a letter or digit, then up to 63 letters, "
                "digits, '.', '_' or '-'")
    return None

DEFAULT_POLICY = """\
# aigate-server access policy (written by `aigate-server init`; see the README, "Configuration reference").
# The first rule whose groups and tools match decides; no matching rule means deny.
token_ttl = "10m"     # lifetime of one approval token
review_ttl = "7d"     # a pending access request expires unreviewed after this

[tools.claude]
key_scope = "anthropic"

[tools.codex]
key_scope = "openai"

[[rules]]
groups = ["*"]
tools = ["*"]
approval = "required"
max_duration = "8h"
"""


class PolicyError(Exception):
    """A policy file with mistakes; ``problems`` are ``"line N: what is wrong"`` strings."""

    def __init__(self, path: str, problems: list[str]):
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems


@dataclass(frozen=True)
class ToolPolicy:
    """A ``[tools.NAME]`` table: the tool's key scope, and the ``base_url`` and ``env`` the tool must run with."""
    name: str
    key_scope: str
    base_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    key_source: str = KEY_SOURCE_LAPTOP  # "gateway": enforced mode, the vendor key stays on the gateway


@dataclass(frozen=True)
class Rule:
    """One ``[[rules]]`` entry; ``max_duration`` in seconds, ``line`` where it starts in the file (for messages)."""
    groups: tuple[str, ...]
    tools: tuple[str, ...]
    approval: ApprovalMode
    max_duration: int  # seconds
    key_scope: str | None = None
    repos_denied: tuple[str, ...] = ()
    line: int = 0

    def matches(self, tool: str, groups: list[str]) -> bool:
        """Whether the rule covers ``tool`` for a user in ``groups`` (``*`` matches any)."""
        tool_ok = "*" in self.tools or tool in self.tools
        group_ok = "*" in self.groups or any(g in self.groups for g in groups)
        return tool_ok and group_ok


@dataclass(frozen=True)
class Verdict:
    """What the policy says about one tool for one user."""

    tool: str
    approval: ApprovalMode
    key_scope: str
    max_duration: int  # seconds; 0 when denied
    base_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    repos_denied: tuple[str, ...] = ()
    key_source: str = KEY_SOURCE_LAPTOP

    def repository_denied(self, repository: str | None) -> bool:
        """True when the normalized ``repository`` matches one of the rule's ``repos_denied``."""
        normalized = normalize_repository(repository or "")
        if normalized is None:
            return False
        return any(fnmatch.fnmatchcase(normalized, glob.lower()) for glob in self.repos_denied)


@dataclass(frozen=True)
class Policy:
    """A checked policy file: ``token_ttl`` and ``review_ttl`` in seconds, the tools, and the rules in order (the
    first match decides)."""
    token_ttl: int
    review_ttl: int
    tools: dict[str, ToolPolicy]
    rules: tuple[Rule, ...]
    roles: Roles = field(default_factory=Roles)
    notify: tuple[NotifyTarget, ...] = ()  # [[notify]] receivers
    grant_expiring_before: int = DEFAULT_EXPIRING_BEFORE  # seconds before a grant ends: grant.expiring
    warnings: tuple[str, ...] = ()  # "line N: ..." for what is allowed but unwise (``policy check`` says them)

    def resolve(self, tool: str, groups: list[str]) -> Verdict | None:
        """The verdict for ``tool``, or None when the policy does not know the tool."""
        spec = self.tools.get(tool)
        if spec is None:
            return None
        for rule in self.rules:
            if rule.matches(tool, groups):
                return Verdict(tool, rule.approval, rule.key_scope or spec.key_scope,
                               rule.max_duration if rule.approval != ApprovalMode.DENY else 0,
                               spec.base_url, dict(spec.env), rule.repos_denied, spec.key_source)
        return Verdict(tool, ApprovalMode.DENY, spec.key_scope, 0, spec.base_url, dict(spec.env),
                       key_source=spec.key_source)

    def gateway_scopes(self) -> dict[str, set[str]]:
        """``{key scope: {tool, ...}}`` for the tools whose ``key_source`` is ``"gateway"``: each
        tool's own scope and every scope a rule gives it (a route of the gateway serves one scope)."""
        scopes: dict[str, set[str]] = {}
        for tool in self.tools.values():
            if tool.key_source != KEY_SOURCE_GATEWAY:
                continue
            scopes.setdefault(tool.key_scope, set()).add(tool.name)
            for rule in self.rules:
                if rule.key_scope and ("*" in rule.tools or tool.name in rule.tools):
                    scopes.setdefault(rule.key_scope, set()).add(tool.name)
        return scopes


def load_policy(path: Path) -> Policy:
    """Read and check the policy at ``path``; PolicyError (with lines) for any mistake."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PolicyError(str(path), [f"cannot read: {err.strerror or err}"]) from err
    except UnicodeDecodeError as err:
        raise PolicyError(str(path), ["not UTF-8 text"]) from err
    return parse_policy(text, str(path))


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Parse policy TOML ``text``; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(source, [_toml_error(err)]) from err
    checker = _Checker(LineFinder(text))
    policy = checker.policy(data)
    if checker.problems:
        raise PolicyError(source, checker.problems)
    return policy


def _toml_error(err: tomllib.TOMLDecodeError) -> str:
    message = str(err)  # e.g. "Expected '=' after a key in a key/value pair (at line 3, column 5)"
    if "(at line " in message:
        base, _, where = message.rpartition(" (at line ")
        return f"line {where.split(',')[0].rstrip(')')}: {base}"
    return message


class _Checker:
    """Turns parsed TOML into a Policy, collecting ``line N: ...`` problems instead of stopping."""

    def __init__(self, lines: LineFinder):
        self.lines = lines
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def report(self, line: int, message: str) -> None:
        self.problems.append(f"line {line}: {message}")

    def policy(self, data: dict[str, Any]) -> Policy:
        for key in data.keys() - _TOP_KEYS:
            self.report(self.lines.top(key), f"unknown setting {key!r} (known: {', '.join(sorted(_TOP_KEYS))})")
        token_ttl = self.duration(data.get("token_ttl", "10m"), self.lines.top("token_ttl"), "token_ttl")
        self.token_ttl_bounds(token_ttl)
        review_ttl = self.duration(data.get("review_ttl", "7d"), self.lines.top("review_ttl"), "review_ttl")
        tools = self.tools(data.get("tools", {}))
        rules = data.get("rules", [])
        if not isinstance(rules, list):
            self.report(self.lines.top("rules"), "rules must be an array of tables: write [[rules]]")
            rules = []
        checked = tuple(self.rule(i, r, tools) for i, r in enumerate(rules))
        roles = parse_roles(data.get("roles"), lambda key, message: self.report(
            self.lines.key_in_table("roles", key) if key else self.lines.top("roles"), message))
        notify = check_targets(self, data.get("notify", []))
        expiring = self.duration(data.get("grant_expiring_before", "30m"), self.lines.top("grant_expiring_before"),
                                 "grant_expiring_before")
        return Policy(token_ttl or DEFAULT_TOKEN_TTL, review_ttl or DEFAULT_REVIEW_TTL, tools,
                      tuple(r for r in checked if r is not None), roles, notify, expiring or DEFAULT_EXPIRING_BEFORE,
                      tuple(self.warnings))

    def token_ttl_bounds(self, seconds: int) -> None:
        line = self.lines.top("token_ttl")
        why = "a revoked grant or disabled user keeps working until the approval tokens already issued expire"
        if seconds > MAX_TOKEN_TTL:
            self.report(line, f"token_ttl {format_duration(seconds)} is too long: at most "
                              f"{format_duration(MAX_TOKEN_TTL)} ({why}); the default is 10m")
        elif seconds > TOKEN_TTL_WARN_ABOVE:
            self.warnings.append(f"line {line}: token_ttl {format_duration(seconds)} is above "
                                 f"{format_duration(TOKEN_TTL_WARN_ABOVE)}: {why}")

    def duration(self, value: Any, line: int, name: str) -> int:
        if not isinstance(value, str):
            self.report(line, f"{name} must be a duration string such as \"10m\"")
            return 0
        try:
            return parse_duration(value)
        except ValueError as err:
            self.report(line, f"{name}: {err}")
            return 0

    def tools(self, table: Any) -> dict[str, ToolPolicy]:
        tools = {name: ToolPolicy(name, scope) for name, scope in DEFAULT_KEY_SCOPES.items()}
        if not isinstance(table, dict):
            self.report(self.lines.top("tools"), "tools must be a table: write [tools.NAME]")
            return tools
        for name, spec in table.items():
            line = self.lines.table(f"tools.{name}")
            if not isinstance(spec, dict):
                self.report(line, f"tools.{name} must be a table")
                continue
            tools[name] = self.tool(name, spec, tools.get(name))
        return tools

    def tool(self, name: str, spec: dict[str, Any], default: ToolPolicy | None) -> ToolPolicy:
        def at(key: str) -> int:
            return self.lines.key_in_table(f"tools.{name}", key)

        for key in spec.keys() - _TOOL_KEYS:
            self.report(at(key), f"unknown setting {key!r} in [tools.{name}] (known: {', '.join(sorted(_TOOL_KEYS))})")
        scope = spec.get("key_scope", default.key_scope if default else None)
        if not isinstance(scope, str) or not scope:
            self.report(at("key_scope"), f"[tools.{name}] needs key_scope = \"...\" (a non-empty string)")
            scope = ""
        elif scope_problem(scope):
            self.report(at("key_scope"), f"[tools.{name}] {scope_problem(scope)}")
        base_url = spec.get("base_url")
        if base_url is not None and (not isinstance(base_url, str) or "://" not in base_url):
            self.report(at("base_url"), f"[tools.{name}] base_url must be a URL such as \"https://gateway/x\"")
            base_url = None
        key_source = spec.get("key_source", KEY_SOURCE_LAPTOP)
        if key_source not in KEY_SOURCES:
            self.report(at("key_source"), f"[tools.{name}] key_source must be \"laptop\" or \"gateway\" "
                        f"(got {key_source!r})")
            key_source = KEY_SOURCE_LAPTOP
        elif key_source == KEY_SOURCE_GATEWAY and base_url is None:
            self.report(at("key_source"), f"[tools.{name}] key_source = \"gateway\" needs base_url = \"...\": "
                        "the gateway's URL for this tool's key scope (e.g. \"https://aigw.corp.example/anthropic\")")
        env = spec.get("env", {})
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            self.report(at("env"), f"[tools.{name}] env must be a table of strings, e.g. {{ NAME = \"1\" }}")
            env = {}
        for var in env:
            why = env_name_problem(var)
            if why:
                self.report(self.lines.env_key(f"tools.{name}", var, at("env")), f"[tools.{name}] env: {why}")
        return ToolPolicy(name, scope, base_url, dict(env), key_source)

    def rule(self, index: int, spec: Any, tools: dict[str, ToolPolicy]) -> Rule | None:
        header = self.lines.array_table("rules", index)
        if not isinstance(spec, dict):
            self.report(header, "each rule must be a table")
            return None
        def at(key: str) -> int:
            return self.lines.key_in_array_table("rules", index, key)

        for key in spec.keys() - _RULE_KEYS:
            self.report(at(key), f"unknown setting {key!r} in a rule (known: {', '.join(sorted(_RULE_KEYS))})")
        groups = self.names(spec, "groups", at("groups"), required=True)
        rule_tools = self.names(spec, "tools", at("tools"), required=True)
        for tool in rule_tools:
            if tool != "*" and tool not in tools:
                self.report(at("tools"), f"unknown tool {tool!r} (declare it with [tools.{tool}])")
        approval = self.approval(spec.get("approval"), at("approval"), header)
        max_duration = self.duration(spec.get("max_duration", "8h"), at("max_duration"), "max_duration")
        if max_duration > MAX_DURATION_SECONDS:
            self.report(at("max_duration"), f"max_duration {format_duration(max_duration)} is too long: at most "
                                            f"{format_duration(MAX_DURATION_SECONDS)}, the longest grant aigate makes")
        scope = spec.get("key_scope")
        if scope is not None and (not isinstance(scope, str) or not scope):
            self.report(at("key_scope"), "key_scope must be a non-empty string")
            scope = None
        elif scope is not None and (problem := scope_problem(scope)):
            self.report(at("key_scope"), problem)
        denied = self.names(spec, "repos_denied", at("repos_denied"), required=False)
        return Rule(tuple(groups), tuple(rule_tools), approval, max_duration, scope, tuple(denied), header)

    def names(self, spec: dict[str, Any], key: str, line: int, *, required: bool) -> list[str]:
        value = spec.get(key)
        if value is None:
            if required:
                self.report(line, f"a rule needs {key} = [\"...\"] (\"*\" matches all)")
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.report(line, f"{key} must be a list of non-empty strings")
            return []
        if required and not value:
            self.report(line, f"{key} = [] matches nothing, so the rule never applies: name at least one "
                              "(\"*\" matches all), or delete the rule")
        return value

    def approval(self, value: Any, line: int, header: int) -> ApprovalMode:
        try:
            return ApprovalMode(value)
        except ValueError:
            where = line if value is not None else header
            self.report(where, f"approval must be one of auto, required, deny (got {value!r})")
            return ApprovalMode.DENY
