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
    """Whether ``--debug`` (or ``AIGATE_DEBUG=1``) is on for this process."""
    return os.environ.get(ENV_DEBUG) == "1"


def debug(message: str) -> None:
    """One ``aigate: debug:`` line on stderr when debug is on, terminal escapes shown escaped; never pass a
    secret."""
    if debug_enabled():
        print(f"aigate: debug: {printable(message)}", file=sys.stderr, flush=True)


def printable(text: object) -> str:
    """``text`` with every character that could steer a terminal shown escaped: C0 and C1 controls
    (ESC, CR, newline...), bidi overrides and isolates (U+202E...) and other format characters become
    ``\\x1b`` / ``\\u202e``. Used for everything printed that a server or a file could have chosen
    (:func:`aigate.cli.output.safe` is this function); stdlib only, so the warm path's errors use it too."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
                   for c in text)


_warned: set[str] = set()
_hushed = [False]


def forget_warnings() -> None:
    """Let every warning be printed again (tests run many aigate calls in one process)."""
    _warned.clear()
    _hushed[0] = False


def hush_warnings() -> None:
    """No warnings from this process: the key helper's, whose ``aigate run`` has said them already
    (once per run, not again at every key callback and over the tool's screen)."""
    _hushed[0] = True


def warn(message: str) -> None:
    """A warning on stderr, once per process (a background thread repeating it would scribble over
    the tool's screen)."""
    if message in _warned or _hushed[0]:
        return
    _warned.add(message)
    print(f"aigate: warning: {printable(message)}", file=sys.stderr, flush=True)
