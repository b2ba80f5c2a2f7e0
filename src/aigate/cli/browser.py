"""Opening a URL in the user's browser, only where there is a graphical one."""

from __future__ import annotations

import os
import sys


def has_display(env: dict[str, str] | None = None) -> bool:
    """True on macOS and Windows, and on other systems with an X11 or Wayland display. Without one,
    Python's ``webbrowser`` would fall back to a text browser (lynx, w3m) that takes over the terminal."""
    env = dict(os.environ) if env is None else env
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def open_in_browser(url: str) -> bool:
    """Open ``url`` in a graphical browser when there is a display; True when one was started."""
    if not has_display():
        return False
    import webbrowser

    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error:
        return False
