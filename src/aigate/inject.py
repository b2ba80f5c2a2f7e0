"""How each tool is handed its key, as observed (docs/tools.md); pure functions, stdlib only.

Both tools call aigate back for the key, so the key never goes into argv, the environment or a file:

- Claude Code: ``--settings '{"apiKeyHelper": "<command>", "env": {...}}'``. Claude runs that string
  through a shell, so the command is shell-quoted. Setting ``ANTHROPIC_API_KEY`` instead would stop
  every interactive session at the "use this API key?" dialog. ``CLAUDE_CODE_API_KEY_HELPER_TTL_MS``
  makes it call back at least once per token lifetime. The ``env`` there outranks Claude's own
  settings files (see :func:`for_claude`). A user's own ``--settings`` (JSON or a file, once or more)
  are merged into aigate's; one that sets ``apiKeyHelper`` or a credential is refused (2).
- Codex: a provider defined with ``-c model_providers.aigate={..., auth={command=..., args=[...]}}``
  and ``-c model_provider="aigate"``; Codex ignores ``OPENAI_API_KEY`` with its built-in provider and
  honours ``CODEX_API_KEY`` only in ``exec``. ``refresh_interval_ms`` in the auth table makes it call
  back. A user's own ``-c model_provider=`` / ``model_providers.*`` is refused (2): Codex takes one
  provider. The provider's base URL is the token's ``base_url`` (the policy), else the user's ``-c
  openai_base_url=``, else ``OPENAI_BASE_URL`` in the environment, else ``openai_base_url`` in
  ``$CODEX_HOME/config.toml``, else OpenAI's: the settings Codex's own OpenAI provider honours, which
  the provider aigate defines would otherwise hide.
"""

from __future__ import annotations

import json
import os
import sys
from collections import namedtuple
from pathlib import Path

from aigate import selfcmd
from aigate.errors import ConfigError, UsageError

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    from typing import Any

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
ENV_OPENAI_BASE_URL = "OPENAI_BASE_URL"  # honoured by Codex's built-in OpenAI provider
HELPER_TIMEOUT_MS = 30_000  # a callback that must fetch a fresh token may take a few seconds


# argv_tail: what follows the binary (aigate's own arguments, then the user's); set_env: variables to set.
Injection = namedtuple("Injection", "argv_tail set_env")


def helper_command(tool: str, server: str, repository: str | None, python: str | None = None) -> list[str]:
    """The key-helper command line the tool runs: this aigate in an isolated interpreter (:mod:`aigate.selfcmd`;
    nothing is imported from the tool's working directory), ``key-helper TOOL ...``."""
    command = [*selfcmd.module_argv("aigate", python), "key-helper", tool, "--server", server]
    return command + (["--repository", repository] if repository else [])


def shell_command(argv: list[str]) -> str:
    """``argv`` as one string for a shell (Claude runs apiKeyHelper through one)."""
    if sys.platform == "win32":
        import subprocess

        return subprocess.list2cmdline(argv)
    return " ".join(_sh_quote(a) for a in argv)


def _sh_quote(arg: str) -> str:
    """POSIX shell single-quoting (shlex.quote's rule; shlex itself costs an import on the warm path)."""
    if arg and all(c.isalnum() or c in "@%+=:,./-_" for c in arg) and arg.isascii():
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def for_claude(user_args: list[str], *, helper: list[str], ttl_seconds: int, base_url: str | None,
               env: dict[str, str] | None = None, blank: tuple[str, ...] = ()) -> Injection:
    """Claude's argv tail and variables: one ``--settings`` carrying aigate's ``apiKeyHelper`` and ``env``.

    Which layer wins (docs/tools.md, observed with the pinned release): Claude applies ``env`` from the
    user's ``~/.claude/settings.json``, the repository's ``.claude/settings.json`` and
    ``settings.local.json`` (no trust prompt in ``-p`` mode) over its process environment, and the
    ``env`` and ``apiKeyHelper`` of a ``--settings`` flag over all of those; only IT's managed settings
    outrank the flag. So the process environment alone is not enough: aigate's ``--settings`` also
    carries, in ``env``, every name of ``blank`` (the competing credentials, ``ANTHROPIC_CUSTOM_HEADERS``
    among them) set to "" (Claude takes an empty value as unset), the helper's TTL, the policy's ``base_url`` and the
    policy's ``env`` (``env``). Claude keeps only the *last* ``--settings``: the user's, however many,
    are merged in order into the one aigate passes, aigate's values on top. A user's ``--settings``
    that sets ``apiKeyHelper``, one of those credentials, or the endpoint the policy fixes is refused (2).
    """
    ours_env = {name: "" for name in blank}
    ours_env.update(env or {})
    ours_env["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"] = str(ttl_seconds * 1000)
    if base_url:
        ours_env["ANTHROPIC_BASE_URL"] = base_url
    process_env = {k: ours_env[k] for k in ("CLAUDE_CODE_API_KEY_HELPER_TTL_MS", "ANTHROPIC_BASE_URL") if k in ours_env}
    found = _find_options(user_args, "--settings")
    theirs: dict[str, Any] = {}
    for _start, _end, value in found:
        layer = _load_claude_settings(value)
        _check_claude_settings(layer, ours_env, fixed={"ANTHROPIC_BASE_URL"} if base_url else set())
        theirs = {**theirs, **layer, "env": {**theirs.get("env", {}), **(layer.get("env") or {})}}
    merged = {**theirs, "apiKeyHelper": shell_command(helper), "env": {**theirs.get("env", {}), **ours_env}}
    ours = ["--settings", json.dumps(merged)]
    if not found:
        return Injection(ours + list(user_args), process_env)
    first = found[0][0]
    dropped = {i for start, end, _ in found for i in range(start, end)}
    rest = [arg for i, arg in enumerate(user_args) if i not in dropped and i >= first]
    return Injection(list(user_args[:first]) + ours + rest, process_env)


def _check_claude_settings(layer: dict[str, Any], ours_env: dict[str, str], fixed: set[str]) -> None:
    """Refuse (2) a user's ``--settings`` that would replace the key or the endpoint aigate sets."""
    if "apiKeyHelper" in layer:
        raise UsageError(
            "your --settings sets apiKeyHelper, which aigate sets to hand Claude Code the approved key",
            hint="remove apiKeyHelper from those settings; aigate merges the rest",
        )
    env = layer.get("env") or {}
    if not isinstance(env, dict):
        raise UsageError("the env of your --settings must be a JSON object")
    clashing = sorted(n for n in env if (n in ours_env and ours_env[n] == "") or n in fixed)
    if clashing:
        raise UsageError(
            f"your --settings sets {', '.join(clashing)} in env, which would replace the approved key or the "
            "endpoint the policy sets",
            hint="remove those variables from your --settings; aigate hands Claude Code its key itself",
        )


def _find_options(args: list[str], name: str) -> list[tuple[int, int, str]]:
    """``(start, end, value)`` of every ``name VALUE`` or ``name=VALUE`` in ``args`` (before any ``--``)."""
    found, i = [], 0
    while i < len(args) and args[i] != "--":
        arg = args[i]
        if arg == name and i + 1 < len(args):
            found.append((i, i + 2, args[i + 1]))
            i += 1
        elif arg.startswith(name + "="):
            found.append((i, i + 1, arg[len(name) + 1:]))
        i += 1
    return found


def _load_claude_settings(value: str) -> dict[str, Any]:
    """Claude's --settings value: a JSON object, or the path of a JSON file. UsageError if neither."""
    try:
        text = value if value.lstrip().startswith("{") else Path(value).read_text("utf-8")
        data = json.loads(text)
    except OSError as err:
        raise UsageError(f"cannot read your --settings file {value}: {err.strerror}") from err
    except ValueError as err:
        raise UsageError(f"your --settings is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise UsageError("your --settings must be a JSON object")
    return data


def for_codex(
    user_args: list[str],
    *,
    helper: list[str],
    ttl_seconds: int,
    base_url: str | None,
    env: dict[str, str],
) -> Injection:
    """Codex's :class:`Injection`: ``-c model_providers.aigate={...}`` whose ``auth`` runs ``helper``
    every ``ttl_seconds`` (``refresh_interval_ms``), and ``-c model_provider="aigate"``, before the
    user's ``user_args``. Base URL: the policy's ``base_url``, else the user's ``-c
    openai_base_url=``, else ``openai_base_url`` in ``$CODEX_HOME/config.toml`` (``env``: the
    environment the tool will get), else OpenAI's. UsageError (2) when the user sets a provider.

    Which layer wins (observed with the pinned release, docs/tools.md): ``-c`` options beat a
    ``--profile`` (``$CODEX_HOME/NAME.config.toml``) and ``config.toml``, so aigate's provider choice
    holds; but Codex *merges* a ``-c`` table into a table of the same name in those files, so a user's
    own ``[model_providers.aigate]`` (``http_headers``, ``env_http_headers``, a bearer token) would
    join aigate's provider and send a second credential: such a file is refused (78). Codex ignores
    ``OPENAI_API_KEY`` with a custom provider, and a project's ``.codex/config.toml`` cannot change
    providers."""
    _check_codex_files(env)
    user_base_url = _check_codex_overrides(user_args)
    url = (base_url or user_base_url or (env.get(ENV_OPENAI_BASE_URL) or "").strip() or _codex_config_base_url(env)
           or OPENAI_DEFAULT_BASE_URL)
    auth = (f"{{command={_toml(helper[0])}, args=[{', '.join(_toml(a) for a in helper[1:])}], "
            f"refresh_interval_ms={ttl_seconds * 1000}, timeout_ms={HELPER_TIMEOUT_MS}}}")
    provider = f'{{name="aigate", base_url={_toml(url)}, wire_api="responses", auth={auth}}}'
    front = ["-c", f"model_providers.aigate={provider}", "-c", 'model_provider="aigate"']
    return Injection(front + list(user_args), {})


def _toml(text: str) -> str:
    """A TOML basic string. JSON's string escapes are a subset of TOML's."""
    return json.dumps(text)


def _codex_config_values(args: list[str]) -> list[str]:
    """The values of Codex's ``-c``/``--config`` options in ``args`` (before any ``--``)."""
    values, i = [], 0
    while i < len(args) and args[i] != "--":
        arg = args[i]
        if arg in ("-c", "--config") and i + 1 < len(args):
            values.append(args[i + 1])
            i += 1
        elif arg.startswith("--config="):
            values.append(arg[len("--config="):])
        elif arg.startswith("-c") and len(arg) > 2 and not arg.startswith("--"):
            values.append(arg[2:])
        i += 1
    return values


def _check_codex_overrides(args: list[str]) -> str | None:
    """Refuse the user's own provider choice; return their ``openai_base_url`` if they set one."""
    base_url = None
    for value in _codex_config_values(args):
        key, _, raw = value.partition("=")
        key = key.strip()
        if key == "model_provider" or key.startswith("model_providers"):
            raise UsageError(
                f"your `-c {key}=...` would replace the provider aigate defines to hand Codex the approved key",
                hint="drop that -c option; to change the endpoint use -c openai_base_url=... "
                "(or ask for a policy base_url)",
            )
        if key == "openai_base_url":
            base_url = _toml_value(raw.strip())
    return base_url


def _toml_value(raw: str) -> str:
    """Codex parses a -c value as TOML and falls back to the literal string."""
    import tomllib

    try:
        return str(tomllib.loads(f"v = {raw}")["v"])
    except tomllib.TOMLDecodeError:
        return raw


def _codex_home(env: dict[str, str]) -> Path:
    return Path(env.get("CODEX_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".codex"))


def _check_codex_files(env: dict[str, str]) -> None:
    """ConfigError (78) when ``config.toml`` or a profile file in ``$CODEX_HOME`` defines a provider
    named ``aigate`` (Codex would merge it into aigate's; see :func:`for_codex`)."""
    home = _codex_home(env)
    try:
        files = [home / "config.toml", *sorted(home.glob("*.config.toml"))]
    except OSError:
        return
    for path in files:
        try:
            text = path.read_text("utf-8")
        except OSError:
            continue
        if "aigate" not in text:  # cheap: most configs never name it
            continue
        import tomllib

        try:
            providers = tomllib.loads(text).get("model_providers")
        except ValueError:
            continue  # Codex reports its own syntax errors
        if isinstance(providers, dict) and "aigate" in providers:
            raise ConfigError(
                f"{path} defines [model_providers.aigate]; Codex would merge it into the provider aigate "
                "defines, and its headers or token would reach the vendor beside the approved key",
                hint=f"rename that provider in {path} (aigate's own is named aigate)",
            )


def _codex_config_base_url(env: dict[str, str]) -> str | None:
    path = _codex_home(env) / "config.toml"
    if not path.is_file():
        return None
    import tomllib

    try:
        value = tomllib.loads(path.read_text("utf-8")).get("openai_base_url")
    except (OSError, ValueError):
        return None
    return str(value) if isinstance(value, str) and value else None


def check_user_args(tool: str, user_args: list[str]) -> None:
    """Refuse (2) the user's options that would replace what aigate sets, before any approval is asked
    for: Codex's own provider (``-c model_provider=`` / ``model_providers.*``); Claude's ``--settings``
    with ``apiKeyHelper`` or a competing credential in ``env`` (:func:`for_claude` checks the endpoint
    the policy fixes once the approval token is known)."""
    from aigate.constants import COMPETING_CREDENTIALS

    if tool == "codex":
        _check_codex_overrides(user_args)
        return
    blank = {name: "" for name in COMPETING_CREDENTIALS}
    for _start, _end, value in _find_options(user_args, "--settings"):
        _check_claude_settings(_load_claude_settings(value), blank, fixed=set())


# The tool's options naming the folder it works in, and other folders it may read and write (observed:
# Codex ``-C/--cd DIR`` and ``--add-dir DIR``, Claude Code ``--add-dir DIR...``, which takes several).
_WORKDIR_OPTIONS = {"codex": ("-C", "--cd")}
_ADD_DIR = "--add-dir"


def work_directories(tool: str, user_args: list[str]) -> tuple[str | None, list[str]]:
    """``(work, extra)`` from the user's ``user_args`` (before any ``--``): the folder the tool is told to
    work in (the last ``-C``/``--cd`` for Codex; None: the current directory) and every other folder it
    is told to work in (earlier ``-C``, every ``--add-dir`` value; Claude's takes the following
    arguments up to the next option; ``permissions.additionalDirectories`` of Claude's ``--settings``).
    The repository check covers them all."""
    names = _WORKDIR_OPTIONS.get(tool, ())
    workdirs: list[str] = []
    extra: list[str] = []
    i = 0
    while i < len(user_args) and user_args[i] != "--":
        arg = user_args[i]
        long_value = next((arg[len(n) + 1:] for n in (*names, _ADD_DIR) if arg.startswith(n + "=")), None)
        if arg in ("-c", "--config"):
            i += 2  # a Codex config value is not a folder option
            continue
        if arg in names and i + 1 < len(user_args):
            workdirs.append(user_args[i + 1])
            i += 2
            continue
        if long_value is not None:
            (extra if arg.startswith(_ADD_DIR + "=") else workdirs).append(long_value)
        elif "-C" in names and arg.startswith("-C") and len(arg) > 2 and not arg.startswith("--"):
            workdirs.append(arg[2:])  # clap: -CDIR
        elif arg == _ADD_DIR:
            i += 1
            while i < len(user_args) and not user_args[i].startswith("-"):
                extra.append(user_args[i])
                i += 1
                if tool != "claude":  # Codex's --add-dir takes one folder
                    break
            continue
        i += 1
    if tool == "claude":  # a --settings of the user's can name folders too (permissions.additionalDirectories)
        for _start, _end, value in _find_options(user_args, "--settings"):
            named = (_load_claude_settings(value).get("permissions") or {})
            folders = named.get("additionalDirectories") if isinstance(named, dict) else None
            extra.extend(str(f) for f in folders or () if isinstance(f, str))
    work = workdirs[-1] if workdirs else None
    return work, [*workdirs[:-1], *extra]
