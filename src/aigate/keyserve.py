"""A running ``aigate run`` hands the scoped key to its own tool's key callbacks (Linux).

Why: loading the keyring costs 100-200 ms per process (docs/tools.md), and Claude Code runs its
``apiKeyHelper`` at start and again every token lifetime. So ``aigate run`` reads the key once, in a
background thread while the tool starts, and serves it on a private socket; ``aigate key-helper``
still re-checks the approval itself (cached token, else the server) and only then asks the socket.

The socket is in Linux's abstract namespace (no file, nothing to clean up) under an unguessable
name passed to the child as ``AIGATE_KEY_SOCKET``, and it answers only peers with aigate's own uid
(``SO_PEERCRED``): the same user who can read the keyring anyway (README, "What it protects against").
Protocol, one line each way: ``KEY <scope>\\n`` -> ``<code> <text>\\n``, the code one of :data:`OK`
(text: the key), :data:`NO_KEY`, :data:`REFUSED` (another uid or scope) or :data:`FAILED` (the
keyring failed or was too slow), the text a message for the last three. Elsewhere (macOS, Windows)
there is no server and the helper reads the keyring itself.
"""

from __future__ import annotations

import os
import sys
from collections import namedtuple

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from aigate.keystore import KeyStore

ENV_SOCKET = "AIGATE_KEY_SOCKET"
SUPPORTED = sys.platform.startswith("linux")
TIMEOUT_SECONDS = 20.0
PREFETCH_DELAY_SECONDS = 0.3  # the key is read this long after the tool started, or at its first call

OK = "OK"  # the text is the key
NO_KEY = "NO_KEY"  # no key is stored for the scope: the helper fails with `aigate keys set SCOPE`
REFUSED = "REFUSED"  # not this session's uid or scope: the helper reads the keyring itself
FAILED = "FAILED"  # the keyring failed or did not answer in time: likewise
CODES = (OK, NO_KEY, REFUSED, FAILED)

Reply = namedtuple("Reply", "code text")
"""A key server's answer: ``code`` (one of :data:`CODES`) and ``text`` (the key, or a message)."""


class KeyServer:
    """Serves the key of one ``scope`` read through ``open_store()`` (a KeyStore factory)."""

    def __init__(self, scope: str, open_store: Callable[[], KeyStore], entry: str):
        import socket
        import threading

        self.scope, self._open_store, self._entry = scope, open_store, entry
        self.address = f"@aigate-{os.urandom(16).hex()}"
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind("\0" + self.address[1:])
        self._sock.listen(16)
        self._answer: str | None = None
        self._ready, self._wanted = threading.Event(), threading.Event()

    def start(self) -> None:
        """Read the key in the background and start answering (call after the tool started)."""
        import threading

        threading.Thread(target=self._load, name="aigate-key-load", daemon=True).start()
        threading.Thread(target=self._serve, name="aigate-key-serve", daemon=True).start()

    def close(self) -> None:
        """Stop answering. shutdown() first: on Linux it wakes the thread blocked in accept(), which
        close() alone would leave listening."""
        import socket

        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass

    def _load(self) -> None:
        # Not at once: a tool that is gone within PREFETCH_DELAY (``claude --version``) never needs
        # the key, and the keyring import would only compete with aigate's own exit for the CPU.
        self._wanted.wait(PREFETCH_DELAY_SECONDS)
        try:
            key = self._open_store().get(self._entry)
            self._answer = f"{OK} {key}" if key else f"{NO_KEY} no API key is stored for the scope {self.scope!r}"
        except Exception as err:  # noqa: BLE001 - AigateError from the keyring, or a backend's own
            self._answer = f"{FAILED} {getattr(err, 'message', type(err).__name__)}"
        finally:
            self._ready.set()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed: the session ended
            try:
                self._answer_one(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def _answer_one(self, conn: socket.socket) -> None:
        import socket
        import struct

        conn.settimeout(TIMEOUT_SECONDS)
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        request = conn.recv(512).decode("utf-8", "replace").strip()
        if uid != os.getuid():
            reply = f"{REFUSED} not yours"
        elif request != f"KEY {self.scope}":
            reply = f"{REFUSED} this session serves the scope {self.scope!r} only"
        else:
            self._wanted.set()
            self._ready.wait(TIMEOUT_SECONDS)
            reply = self._answer or f"{FAILED} the keyring did not answer in time"
        conn.sendall((reply + "\n").encode())


def ask(address: str, scope: str) -> Reply:
    """The session key server's :class:`Reply` for ``scope``. OSError when there is no server at
    ``address``, it does not answer within TIMEOUT_SECONDS + 5 s, or its answer has no known code."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT_SECONDS + 5)
        sock.connect("\0" + address[1:] if address.startswith("@") else address)
        sock.sendall(f"KEY {scope}\n".encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    code, _, text = data.decode("utf-8", "replace").strip().partition(" ")
    if code not in CODES:
        raise OSError("the key server gave no answer")
    return Reply(code, text)
