"""The tool registry: which tools aigate gates, their binaries, default key scopes, and the one list of
competing credentials removed from every child's environment; stdlib only.

How each tool is handed its key is in :mod:`aigate.inject` (FIELD_NOTES.md: Claude Code takes an
``apiKeyHelper`` through ``--settings``; Codex a provider whose ``auth`` command prints the key).
"""

from __future__ import annotations

from collections import namedtuple

from aigate.errors import UsageError

# name: what users type (`aigate run claude`); binary: looked up on PATH (PATHEXT on Windows);
# default_scope: DESIGN.md, claude -> anthropic, codex -> openai; vendor: for messages.
# (namedtuple, not a dataclass: the warm path avoids importing dataclasses and inspect.)
ToolSpec = namedtuple("ToolSpec", "name binary default_scope vendor")


TOOLS: dict[str, ToolSpec] = {
    "claude": ToolSpec("claude", "claude", "anthropic", "Anthropic Claude Code"),
    "codex": ToolSpec("codex", "codex", "openai", "OpenAI Codex"),
}

# Every credential (or credential switch) of every provider a coding tool may pick up on its own.
# The child must receive exactly one credential: the one aigate hands it (FIELD_NOTES.md).
# General cloud credentials (AWS_ACCESS_KEY_ID, GOOGLE_APPLICATION_CREDENTIALS) stay: the tools reach
# Bedrock or Vertex with them only behind the CLAUDE_CODE_USE_* switches, which are removed, and a
# developer's own shell commands inside the tool may need them.
SCRUBBED_VARIABLES: tuple[str, ...] = (
    # Anthropic / Claude Code
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
    "ANTHROPIC_FOUNDRY_API_KEY",
    "CLAUDE_CODE_API_KEY_HELPER_TTL_MS",
    # OpenAI / Codex
    "OPENAI_API_KEY",
    "CODEX_API_KEY",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "AZURE_API_KEY",
    # Cloud providers that can serve either model family
    "AWS_BEARER_TOKEN_BEDROCK",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "VERTEX_API_KEY",
    # Other model vendors a tool can be pointed at
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "OPENROUTER_API_KEY",
    "DEEPSEEK_API_KEY",
    "XAI_API_KEY",
    "TOGETHER_API_KEY",
    "FIREWORKS_API_KEY",
)


def get_tool(name: str, *, hint: str | None = "aigate run claude") -> ToolSpec:
    """The registry entry for ``name``; an unknown name is a usage error (2) listing the known tools
    (``hint``: the command to suggest, the calling command's own)."""
    try:
        return TOOLS[name]
    except KeyError:
        known = ", ".join(sorted(TOOLS))
        raise UsageError(f"unknown tool {name!r}: aigate knows {known}", hint=hint) from None
