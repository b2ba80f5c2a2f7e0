"""A real terminal for interactive tests: one tmux server per test, driven as a person would type.

The program runs in a tmux pane with exactly the environment given (``env -i``), so nothing of the test
runner's environment leaks into it. Its exit status is written to a file when it ends, so a test can
tell how it ended (``exit_status()``). Text is typed with ``send-keys -l``, a pause, then ``Enter``:
Codex's TUI leaves text unsent when both arrive in one burst (docs/tools.md).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    def __init__(self, workdir: Path, scratch: Path, width: int = 120, height: int = 40) -> None:
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux is not installed (apt-get install tmux); `make test` installs it")
        self.workdir = workdir
        self.scratch = scratch
        self.socket = f"aigate-e2e-{uuid.uuid4().hex[:12]}"
        self.width, self.height = width, height
        self.status_file = scratch / f"{self.socket}.status"
        self._started = False

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=check, timeout=30)

    def start(self, argv: Sequence[str], env: Mapping[str, str]) -> Terminal:
        """Start ``argv`` in a fresh pane with exactly ``env`` and the work dir as its cwd."""
        script = self.scratch / f"{self.socket}.sh"
        assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
        script.write_text(
            "#!/bin/sh\n"
            f"env -i {assignments} {shlex.join(argv)}\n"
            f"echo $? > {shlex.quote(str(self.status_file))}\n"
            "sleep 600\n"  # keep the pane, so the screen stays readable after the program ended
        )
        script.chmod(0o700)
        self._tmux("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", str(self.width),
                   "-y", str(self.height), "-c", str(self.workdir), str(script))
        self._started = True
        return self

    def screen(self) -> str:
        """The visible screen as plain text."""
        out = self._tmux("capture-pane", "-p", "-t", "main", check=False).stdout
        return _ANSI.sub("", out)

    def wait_for(self, text: str | re.Pattern[str], timeout: float = 30.0) -> str:
        """Wait until ``text`` (a string or a pattern) is on screen; return the screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            found = text.search(screen) if isinstance(text, re.Pattern) else text in screen
            if found:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; the screen was:\n{screen}")

    def type(self, text: str, pause: float = 0.5) -> None:
        """Type ``text`` literally, pause, then press Enter (two separate key events)."""
        self._tmux("send-keys", "-t", "main", "-l", text)
        time.sleep(pause)
        self._tmux("send-keys", "-t", "main", "Enter")

    def type_and_enter_at_once(self, text: str) -> None:
        """Text and Enter in one send-keys call: a paste-like burst."""
        self._tmux("send-keys", "-t", "main", text, "Enter")

    def keys(self, *keys: str) -> None:
        """Send tmux key names, e.g. ``C-c``, ``Enter``, ``Escape``."""
        self._tmux("send-keys", "-t", "main", *keys)

    def exit_status(self) -> int | None:
        """The program's exit status once it ended, else None."""
        try:
            return int(self.status_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def wait_exit(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.exit_status()
            if status is not None:
                return status
            time.sleep(0.2)
        raise AssertionError(f"the program did not exit within {timeout}s; the screen was:\n{self.screen()}")

    def close(self) -> None:
        if self._started:
            self._tmux("kill-server", check=False)
            self._started = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
