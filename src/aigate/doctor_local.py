"""The checks of ``aigate doctor`` that need nothing but this laptop: the tools' real binaries, PATH
and the shims, credentials that bypass the gate, proxy variables and the spool. See :mod:`aigate.doctor`.

"Ungated" (issue 11): a ``claude``/``codex`` on PATH ahead of the shims, a vendor key in the shell's
environment (any of :data:`aigate.constants.COMPETING_CREDENTIALS`: ``aigate run`` removes them, a bare tool
would use them), ``$CODEX_HOME/auth.json``, or a Claude login (``$CLAUDE_CONFIG_DIR/.credentials.json``
or a ``primaryApiKey`` in ``~/.claude.json``). They are named, never read out.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from aigate import constants, gate, locate, paths, shims, tools
from aigate.diagnosis import Check, Probe
from aigate.errors import AigateError

SPOOL_STALE_SECONDS = 3600  # session events older than this are not being sent
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


def check_tools(probe: Probe) -> list[Check]:
    """One line per tool: its real binary (enforced path, else the first non-shim on PATH) and version."""
    deps = gate.Deps(env=probe.env)
    out = []
    for name, spec in tools.TOOLS.items():
        try:
            argv = gate.resolve_binary(spec, probe.cfg, deps)
        except AigateError as err:
            out.append(Check(name, False, err.message, err.hint))
            continue
        out.append(Check(name, True, f"{' '.join(argv)}: {_version(probe, argv)}"))
    return out


def _version(probe: Probe, argv: list[str]) -> str:
    run = probe.run or (lambda command, seconds: subprocess.run(
        command, capture_output=True, text=True, timeout=seconds, stdin=subprocess.DEVNULL, check=False,
        env={k: v for k, v in probe.env.items() if k not in constants.COMPETING_CREDENTIALS}))
    try:
        result = run([*argv, "--version"], 20)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"version unknown ({type(err).__name__})"
    lines = (result.stdout or result.stderr or "").strip().splitlines()
    return lines[0][:120] if lines else f"version unknown (exit {result.returncode})"


def _hits(probe: Probe) -> dict[str, list[Path]]:
    return {spec.binary: shims.first_on_path(spec.binary, probe.env.get("PATH")) for spec in tools.TOOLS.values()}


def check_path(probe: Probe) -> Check:
    """Fails when a real ``claude``/``codex`` comes before the shim on PATH (typing it skips the gate);
    a tool on PATH with no shim at all is said as such (the ``shims`` check fails for it)."""
    ahead, unshimmed = [], []
    for binary, found in _hits(probe).items():
        shim_at = next((i for i, path in enumerate(found) if locate.is_shim(path)), None)
        if shim_at:
            ahead.append((binary, found[0], found[shim_at]))
        elif shim_at is None and found:
            unshimmed.append(f"{binary} is {found[0]}, ungated: no shim on PATH (see shims)")
    if ahead:
        detail = "; ".join(f"{binary} on PATH is {first} (ungated), ahead of the shim {shim}"
                           for binary, first, shim in ahead)
        folders = sorted({str(shim.parent) for _, _, shim in ahead})
        return Check("path", False, detail, f"put {', '.join(folders)} first on PATH, or remove the ungated copies")
    if unshimmed:
        return Check("path", True, "nothing ahead of a shim; " + "; ".join(unshimmed))
    return Check("path", True, "no ungated claude or codex ahead of the shims")


def check_shims(probe: Probe) -> Check:
    found = {binary: next((p for p in hits if locate.is_shim(p)), None) for binary, hits in _hits(probe).items()}
    missing = [binary for binary, shim in found.items() if shim is None]
    if missing:
        return Check("shims", False, f"no aigate shim on PATH for {', '.join(missing)}: a bare command skips the gate",
                     f"aigate shims install (sudo for {shims.SYSTEM_DIR}), then put that folder first on PATH")
    return Check("shims", True, ", ".join(f"{binary} -> {shim}" for binary, shim in found.items()))


def check_environment(probe: Probe) -> Check:
    present = [name for name in constants.COMPETING_CREDENTIALS if probe.env.get(name)]
    if present:
        return Check("environment", False, f"vendor credentials in this shell's environment: {', '.join(present)} "
                     "(aigate run removes them; a bare tool would use them)",
                     f"remove {', '.join(present)} from your shell profile; aigate hands the tools their key")
    return Check("environment", True, "no vendor credentials in the environment")


def check_tool_logins(probe: Probe) -> Check:
    home = Path(probe.env.get("HOME") or os.path.expanduser("~"))
    codex = Path(probe.env.get("CODEX_HOME") or home / ".codex") / "auth.json"
    claude_dir = Path(probe.env.get("CLAUDE_CONFIG_DIR") or home / ".claude")
    found, fixes = [], []
    if codex.exists():
        found.append(str(codex))
        fixes.append(f"codex logout (or delete {codex})")
    if (claude_dir / ".credentials.json").exists():
        found.append(str(claude_dir / ".credentials.json"))
        fixes.append(f"claude /logout (or delete {claude_dir / '.credentials.json'})")
    if _claude_api_key(home / ".claude.json"):
        found.append(f"{home / '.claude.json'} (primaryApiKey)")
        fixes.append("claude /logout")
    if found:
        return Check("tool logins", False, f"the tools' own logins hold a credential: {'; '.join(found)}",
                     "; ".join(fixes))
    return Check("tool logins", True, "no claude or codex login of their own")


def _claude_api_key(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text("utf-8")).get("primaryApiKey"))
    except (OSError, ValueError, AttributeError):
        return False


def check_proxy(probe: Probe) -> Check:
    """The proxy variables aigate reads (user:password removed; :mod:`aigate.proxies` applies them as
    curl does, NO_PROXY CIDR ranges included); fails on a SOCKS proxy without httpx's socks support."""
    seen = {}
    for name in PROXY_VARIABLES:
        value = probe.env.get(name) or probe.env.get(name.lower())
        if value:
            seen[name] = _without_userinfo(value)
    if not seen:
        return Check("proxy", True, "no proxy variables")
    detail = ", ".join(f"{k}={v}" for k, v in seen.items())
    socks = any(v.lower().startswith("socks") for k, v in seen.items() if k != "NO_PROXY")
    if socks and not _has_module("socksio"):
        return Check("proxy", False, f"{detail}: a SOCKS proxy, and this aigate has no SOCKS support",
                     "ask IT for an HTTP proxy URL, or an aigate built with httpx[socks]")
    return Check("proxy", True, detail)


def _without_userinfo(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    host = rest.rpartition("@")[2] if "@" in rest.split("/", 1)[0] else rest
    return f"{scheme}{sep}{host}"


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def check_spool(probe: Probe) -> Check:
    folder = paths.spool_dir()
    try:
        events = [entry for entry in os.scandir(folder) if entry.name.endswith(".json")]
    except FileNotFoundError:
        return Check("spool", True, "no session events waiting")
    except OSError as err:
        return Check("spool", False, f"cannot read {folder}: {err.strerror}", f"check the permissions of {folder}")
    if not events:
        return Check("spool", True, "no session events waiting")
    age = time.time() - min(entry.stat().st_mtime for entry in events)
    detail = f"{len(events)} session event(s) waiting in {folder}, the oldest {age / 60:.0f} min old"
    if age > SPOOL_STALE_SECONDS:
        return Check("spool", False, detail + ": they are not reaching the server",
                     "fix the server check; the next aigate command sends them")
    return Check("spool", True, detail)
