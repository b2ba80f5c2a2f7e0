"""The tool registry: which tools aigate gates, their binaries and default key scopes; stdlib only.

How each tool is handed its key is in :mod:`aigate.inject` (docs/tools.md: Claude Code takes an
``apiKeyHelper`` through ``--settings``; Codex a provider whose ``auth`` command prints the key). The
credentials removed from every child's environment are :data:`aigate.constants.COMPETING_CREDENTIALS`.
"""

from __future__ import annotations

from collections import namedtuple

from aigate.constants import DEFAULT_KEY_SCOPES
from aigate.errors import UsageError

# name: what users type (`aigate run claude`); binary: looked up on PATH (PATHEXT on Windows);
# default_scope: the key scope when the policy names none (constants.DEFAULT_KEY_SCOPES).
# (namedtuple, not a dataclass: the warm path avoids importing dataclasses and inspect.)
ToolSpec = namedtuple("ToolSpec", "name binary default_scope")


TOOLS: dict[str, ToolSpec] = {name: ToolSpec(name, name, scope) for name, scope in DEFAULT_KEY_SCOPES.items()}

def complete_name(incomplete: str) -> list[str]:
    """The tool names that start with ``incomplete``: what ``aigate run <TAB>`` offers."""
    return [name for name in sorted(TOOLS) if name.startswith(incomplete)]


def get_tool(name: str, *, hint: str | None = "aigate run claude") -> ToolSpec:
    """The registry entry for ``name``; an unknown name is a usage error (2) listing the known tools
    (``hint``: the command to suggest, the calling command's own)."""
    try:
        return TOOLS[name]
    except KeyError:
        known = ", ".join(sorted(TOOLS))
        raise UsageError(f"unknown tool {name!r}: aigate knows {known}", hint=hint) from None
