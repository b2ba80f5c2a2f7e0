"""What ``aigate login`` shows during an SSO login: the URL and code, a browser, a live countdown.

The URL and the user code are printed on stderr whatever happens (people copy them to another
machine, and scripts read them); the browser opens only where there is a display and not with
``--no-browser``; the countdown is a live line on a terminal and nothing elsewhere.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.status import Status

from aigate import protocol_sso
from aigate.cli.output import safe


def has_display() -> bool:
    """A graphical session a browser can open in: macOS and Windows always; elsewhere X11 or Wayland."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class DevicePrompt:
    """``show`` and ``wait`` for :func:`aigate.device_login.device_login`."""

    def __init__(self, *, open_browser: bool):
        self.open_browser = open_browser and has_display()
        self.live = sys.stderr.isatty()
        self._status: Status | None = None

    def show(self, grant: protocol_sso.DeviceAuthorization) -> None:
        typer.echo(f"To sign in, open {safe(grant.verification_uri)} and enter the code {safe(grant.user_code)}",
                   err=True)
        typer.echo(f"  (or open {safe(grant.verification_uri_complete)})", err=True)
        if self.open_browser:
            import webbrowser

            try:
                opened = webbrowser.open(grant.verification_uri_complete)
            except Exception:  # noqa: BLE001 - no usable browser: the printed URL is the way
                opened = False
            if opened:
                typer.echo("A browser window was opened for you.", err=True)

    def wait(self, seconds: float, deadline: float) -> None:
        """Sleep ``seconds``, redrawing "waiting ... M:SS left" once a second on a terminal."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.live:
                self._draw(deadline - time.monotonic())
            time.sleep(min(1.0, left))

    def _draw(self, remaining: float) -> None:
        if self._status is None:
            from rich.console import Console

            self._status = Console(stderr=True).status("")
            self._status.start()
        minutes, seconds = divmod(max(0, int(remaining)), 60)
        self._status.update(f"Waiting for you to confirm in the browser... {minutes}:{seconds:02d} left "
                            "(Ctrl-C to cancel)")

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
