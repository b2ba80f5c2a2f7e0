"""aigate: a gate between developers and AI coding agents (Claude Code, Codex)."""

__version__ = "0.1.0"
