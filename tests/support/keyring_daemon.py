"""A real OS keyring for tests: a private D-Bus session bus with an unlocked gnome-keyring Secret Service.

As observed on Debian (docs/tools.md): ``gnome-keyring-daemon --unlock --components=secrets`` reads the
login keyring's password on stdin and serves ``org.freedesktop.secrets`` on the session bus; the
``keyring`` library's ``SecretService`` backend (through ``secretstorage``) then stores and reads there.
Both daemons run in the foreground as our children, so stopping them is exact.

    with SecretServiceSession(tmp_path) as session:
        env = {**os.environ, **session.env, "PYTHON_KEYRING_BACKEND": SECRET_SERVICE_BACKEND}
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Self

SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
_PASSWORD = b"aigate-test-login-keyring\n"


class SecretServiceUnavailable(RuntimeError):
    pass


class SecretServiceSession:
    def __init__(self, base: Path) -> None:
        self.home = base / "keyring-home"
        self.runtime_dir = base / "keyring-run"
        self._bus: subprocess.Popen[bytes] | None = None
        self._keyring: subprocess.Popen[bytes] | None = None
        self.address = ""

    @property
    def env(self) -> dict[str, str]:
        """What a client process needs to find this keyring: the session bus address."""
        return {"DBUS_SESSION_BUS_ADDRESS": self.address}

    def start(self) -> SecretServiceSession:
        for tool in ("dbus-daemon", "gnome-keyring-daemon", "dbus-send"):
            if shutil.which(tool) is None:
                raise SecretServiceUnavailable(
                    f"{tool} is not installed (apt-get install dbus gnome-keyring); `make test` installs it")
        self.home.mkdir(parents=True, exist_ok=True)
        self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        daemon_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
        }
        self._bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=daemon_env)
        assert self._bus.stdout is not None
        self.address = self._bus.stdout.readline().decode().strip()
        if not self.address:
            self.stop()
            raise SecretServiceUnavailable("dbus-daemon printed no bus address")
        self._keyring = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**daemon_env, **self.env})
        assert self._keyring.stdin is not None
        self._keyring.stdin.write(_PASSWORD)
        self._keyring.stdin.close()
        self._wait_for_secrets_service()
        return self

    def _wait_for_secrets_service(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = subprocess.run(
                ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/",
                 "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"],
                capture_output=True, text=True, env={**os.environ, **self.env}, timeout=10, check=False)
            if "boolean true" in reply.stdout:
                return
            if self._keyring is not None and self._keyring.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise SecretServiceUnavailable("gnome-keyring-daemon did not take org.freedesktop.secrets")

    def stop(self) -> None:
        for proc in (self._keyring, self._bus):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._bus is not None and self._bus.stdout is not None:
            self._bus.stdout.close()
        self._keyring = self._bus = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
