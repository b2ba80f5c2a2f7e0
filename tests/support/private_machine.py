"""A private copy of this machine for installing packages: a mount namespace of its own
(``unshare --mount``) in which /etc, /usr, /var and /opt are overlays whose writes land in a temp dir.
Processes enter it with ``nsenter``; nothing installed there is visible outside, and the namespace's
end throws the overlays away. Needs root (CI runs as root)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

OVERLAID = ("etc", "usr", "var", "opt")
_SETUP = ('set -e; for d in ' + " ".join(OVERLAID) + '; do mkdir -p "$BASE/$d-upper" "$BASE/$d-work"; '
          'mount -t overlay overlay -o "lowerdir=/$d,upperdir=$BASE/$d-upper,workdir=$BASE/$d-work" "/$d"; done; '
          'echo ready; exec sleep 86400')


class PrivateMachine:
    """This machine with /etc, /usr, /var and /opt overlaid in a mount namespace; ``run`` enters it."""

    def __init__(self, base: Path):
        base.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--fork", "bash", "-c", _SETUP],
            env={"BASE": str(base), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError("could not set up the private mount namespace (unshare, overlayfs; needs root)")

    def argv(self, argv: Sequence[str]) -> list[str]:
        return ["nsenter", f"--target={self.process.pid}", "--mount", "--", *argv]

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, input: str | None = None,
            cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(argv), env=dict(env) if env is not None else None, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def ok(self, argv: Sequence[str], **kw) -> subprocess.CompletedProcess[str]:
        result = self.run(argv, **kw)
        assert result.returncode == 0, (f"{shlex.join(argv)} exited {result.returncode}:\n"
                                        f"{result.stdout}\n{result.stderr}")
        return result

    def close(self) -> None:
        """End the namespace: its first process (``sleep``), then unshare, which waits for it; with the
        namespace's last process the overlays go."""
        if self.process.poll() is None:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            for pid in children.read_text().split() if children.exists() else []:
                os.kill(int(pid), signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} was not ready within {timeout} s")
