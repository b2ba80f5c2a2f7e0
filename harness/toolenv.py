"""The real tools' environment for end-to-end tests and scripts: where they are, a seeded HOME, a clean env.

Every process gets an environment built from nothing (``tool_env``), its own HOME, and the pinned tools
from ``tools/node_modules/.bin`` (or ``AIGATE_E2E_TOOLS_BIN``, which ``scripts/check_latest_tools.sh``
points at the newest releases). Nothing may reach the internet: the tools' auto-updaters, telemetry
and non-essential traffic are switched off, and their APIs are the stand-in on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS_BIN = Path(os.environ.get("AIGATE_E2E_TOOLS_BIN") or REPO / "tools" / "node_modules" / ".bin")
PINNED = json.loads((REPO / "tools" / "package.json").read_text())["dependencies"]
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Variables that keep both tools off the network and quiet, whatever else a test sets.
QUIET = {
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
}

#: On screen once an interactive session waits for input: Claude's prompt line (its footer text
#: changes between releases), Codex's composer placeholder.
CLAUDE_READY = re.compile(r"^❯", re.MULTILINE)
CODEX_READY = "Ask Codex to do anything"
#: Codex prints this once a turn is over; before it, Ctrl-C interrupts the turn instead of quitting.
CODEX_TURN_DONE = "Worked for"


class ToolMissing(Exception):
    pass


def tool_path(name: str) -> Path:
    path = TOOLS_BIN / name
    if not path.exists():
        raise ToolMissing(f"{path} is missing: install the pinned tools with `npm ci --prefix tools` "
                          "(`make test` does it)")
    return path


def seed_home(home: Path, workdir: Path) -> Path:
    """A HOME in which both tools start straight into a session in ``workdir`` (see ``trust``)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".codex").mkdir(exist_ok=True)
    trust(home, workdir)
    return home


def trust(home: Path, workdir: Path) -> None:
    """Let both tools open ``workdir`` without a dialog, as a user who said yes once would.

    Claude: onboarding done and the folder trusted (``~/.claude.json``), else it shows dialogs and probes
    api.anthropic.com. Codex: the folder trusted and no update check (``$CODEX_HOME/config.toml``).
    """
    claude_json = home / ".claude.json"
    state = json.loads(claude_json.read_text()) if claude_json.exists() else {}
    state["hasCompletedOnboarding"] = True
    state.setdefault("projects", {}).setdefault(str(workdir), {})["hasTrustDialogAccepted"] = True
    claude_json.write_text(json.dumps(state))
    codex_config = home / ".codex" / "config.toml"
    text = codex_config.read_text() if codex_config.exists() else "check_for_update_on_startup = false\n"
    table = f"[projects.{json.dumps(str(workdir))}]"
    if table not in text:
        text += f"{table}\ntrust_level = \"trusted\"\n"
    codex_config.write_text(text)


def tool_env(
    home: Path,
    extra: Mapping[str, str] | None = None,
    *,
    proxy: str | None = None,
    path_first: Path | None = None,
) -> dict[str, str]:
    """An environment built from nothing: PATH with the pinned tools, HOME, XDG dirs, quiet switches.

    ``proxy`` (the stand-in's URL) catches whatever still reaches for a real host (Codex calls
    github.com and chatgpt.com even with its own provider): it is recorded and refused, never sent.
    Loopback stays direct (``NO_PROXY``).
    """
    path = f"{TOOLS_BIN}:{SYSTEM_PATH}"
    if path_first is not None:
        path = f"{path_first}:{path}"
    env = {
        "PATH": path,
        "HOME": str(home),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "CODEX_HOME": str(home / ".codex"),
        "NO_PROXY": "127.0.0.1,localhost",
        **QUIET,
    }
    if proxy:
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
            env[name] = proxy
        env["no_proxy"] = env["NO_PROXY"]
    env.update(extra or {})
    return env


def write_helper(path: Path, key: str, log: Path, fail_first: int = 0) -> Path:
    """A key helper script: appends one line per call to ``log`` and prints ``key``.

    With ``fail_first`` N, the first N calls fail (exit 77, a message on stderr) before it succeeds.
    """
    path.write_text(
        "#!/bin/sh\n"
        f"echo \"called $*\" >> '{log}'\n"
        f"n=$(wc -l < '{log}')\n"
        f"if [ \"$n\" -le {fail_first} ]; then echo 'helper refused: no approval' >&2; exit 77; fi\n"
        f"printf '%s\\n' '{key}'\n"
    )
    path.chmod(0o755)
    return path


def helper_calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0
