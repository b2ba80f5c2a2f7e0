"""aigate's own diagnostics on stderr; stdlib only.

``--debug`` (or ``AIGATE_DEBUG=1``) turns on :func:`debug` lines. Callers pass names, never values of
secrets: a debug line may say ``set ANTHROPIC_BASE_URL`` but never what a key or credential is.
"""

from __future__ import annotations

import os
import sys

ENV_DEBUG = "AIGATE_DEBUG"


def enable_debug() -> None:
    """Turn debug lines on for this process and for the aigate processes it starts (key helper, flusher)."""
    os.environ[ENV_DEBUG] = "1"


def debug_enabled() -> bool:
    return os.environ.get(ENV_DEBUG) == "1"


def debug(message: str) -> None:
    if debug_enabled():
        print(f"aigate: debug: {message}", file=sys.stderr, flush=True)


_warned: set[str] = set()


def forget_warnings() -> None:
    """Let every warning be printed again (tests run many aigate calls in one process)."""
    _warned.clear()


def warn(message: str) -> None:
    """A warning on stderr, once per process (a background thread repeating it would scribble over
    the tool's screen)."""
    if message in _warned:
        return
    _warned.add(message)
    print(f"aigate: warning: {message}", file=sys.stderr, flush=True)
