"""Session events: spooled to disk first, sent later by a detached flusher (docs/architecture.md, "Client decisions").

Each event is one file in the state dir's ``spool/`` (``<session_id>-<kind>.json``, mode 0600, written
atomically) holding ``{"server": URL, "event": <SessionEvent on the wire>}``. Writing it is all a run
does before and after the tool; :func:`start_flusher` then starts ``aigate.spool`` (an isolated
interpreter, :mod:`aigate.selfcmd`) in its own
session with no terminal, which sends every spooled event and deletes each file once the server has
acknowledged it. Nothing waits on the network; an event that cannot be sent stays and the next
flusher (started by any later run) sends it. Two flushers racing may send one event twice: the server
is idempotent on ``(session_id, kind)``. Stdlib only, except inside the flusher process.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from aigate import log, paths, selfcmd

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MAX_FILES_PER_FLUSH = 500


def record(spool: Path, server: str, event: dict[str, Any]) -> Path | None:
    """Spool one event (``event``: a SessionEvent as wire JSON, see protocol.to_wire); its file, or None
    with a warning when the spool cannot be written (the tool runs on; the record is lost, said so)."""
    from aigate.errors import ConfigError

    path = spool / f"{event['session_id']}-{event['kind']}.json"
    try:
        paths.write_private(path, json.dumps({"server": server, "event": event}).encode())
    except ConfigError as err:
        log.warn(f"{err.message}: the session {event['kind']} is not recorded (remove or fix {spool})")
        return None
    return path


def pending(spool: Path) -> list[Path]:
    """Spooled event files, oldest first."""
    try:
        files = [p for p in spool.iterdir() if p.suffix == ".json" and not p.name.startswith(".")]
    except FileNotFoundError:
        return []
    except OSError as err:  # not a folder: record() said so when it could not spool
        log.debug(f"cannot list the spool {spool}: {err.strerror}")
        return []
    return sorted(files, key=lambda p: p.stat().st_mtime)[:MAX_FILES_PER_FLUSH]


def flush(spool: Path, send: Callable[[str, dict[str, Any]], None]) -> tuple[int, int]:
    """Send each spooled event with ``send(server, event)`` and delete it once sent.

    ``send`` raises to keep an event for later. Returns ``(sent, kept)``. A file that is not an event
    (corrupt) is moved aside to ``NAME.bad`` with a warning, never deleted: no record is lost silently.
    """
    sent = kept = 0
    for path in pending(spool):
        try:
            entry = json.loads(path.read_text("utf-8"))
            server, event = entry["server"], entry["event"]
        except FileNotFoundError:
            continue  # another flusher sent it
        except (OSError, ValueError, KeyError, TypeError) as err:
            _set_aside(path, err)
            continue
        try:
            send(server, event)
        except Exception as err:  # noqa: BLE001 - unreachable, logged out, ...: keep it for the next flusher
            log.debug(f"kept spooled event {path.name}: {type(err).__name__}")
            kept += 1
            continue
        path.unlink(missing_ok=True)
        sent += 1
    return sent, kept


def _set_aside(path: Path, err: Exception) -> None:
    bad = path.with_name(path.name + ".bad")
    try:
        os.replace(path, bad)
    except OSError:
        return
    log.warn(f"a spooled session record could not be read ({type(err).__name__}) and was set aside as {bad}; "
             "it was not sent")


def start_flusher(spool: Path) -> None:
    """Start ``python -m aigate.spool SPOOL`` detached (own session, no terminal); never waits."""
    if not pending(spool):
        return
    argv = [*selfcmd.module_argv("aigate.spool"), str(spool)]
    try:
        if hasattr(os, "posix_spawn"):  # cheaper than importing subprocess on the warm path
            stderr = (os.POSIX_SPAWN_DUP2, 2, 2) if log.debug_enabled() else (
                os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)
            actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                       (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0), stderr]
            os.posix_spawn(sys.executable, argv, os.environ, file_actions=actions, setsid=True, setsigmask=set())
        else:
            _start_detached_windows(argv)
    except OSError as err:
        log.debug(f"could not start the spool flusher: {err}")


def _start_detached_windows(argv: list[str]) -> None:
    import subprocess

    flags = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     close_fds=True, creationflags=flags)


def _send_with_keyring(spool: Path) -> tuple[int, int]:
    """The flusher's own work: real keyring, real HTTP client, one client per server."""
    from aigate import approval, config, keystore, protocol
    from aigate.errors import ServerUnreachable, UsageError

    store = keystore.open_keystore()
    ca_bundle = config.load_config().ca_bundle.value
    clients: dict[str, approval.ServerClient] = {}
    down: set[str] = set()  # one timeout per server and flush, not one per event

    def send(server: str, event: dict[str, Any]) -> None:
        if server in down:
            raise ConnectionError("server unreachable in this flush")
        if server not in clients:
            credential = store.get(keystore.device_entry(server))
            if not credential:
                raise RuntimeError("not logged in to that server")
            http = approval.make_http_client(server, ca_bundle=ca_bundle)
            clients[server] = approval.ServerClient(http, server, credential)
        try:
            clients[server].send_event(protocol.from_wire(protocol.SessionEvent, event))
        except ServerUnreachable:
            down.add(server)
            raise
        except (UsageError, ValueError) as err:  # the server will never take it: resending cannot help
            log.debug(f"dropping a session event the server refuses: {err}")

    sent = kept = 0
    while True:  # events spooled while this flusher ran are sent too
        more_sent, kept = flush(spool, send)
        sent += more_sent
        if not more_sent:
            return sent, kept


def _only_flusher(spool: Path) -> bool:
    """Take the spool's lock for the life of this process (POSIX); False when another flusher has it."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        spool.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(spool / ".lock", "a")  # noqa: SIM115 - kept open (and locked) until the process exits
    except OSError as err:  # the spool is not a folder: nothing to flush
        log.debug(f"cannot open the spool {spool}: {err.strerror}")
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    _LOCKS.append(handle)
    return True


_LOCKS: list[Any] = []  # the open lock files: closing one would release its lock


def main(argv: list[str] | None = None) -> int:
    """The detached flusher (``python -m aigate.spool [SPOOL_DIR]``): send every spooled event once, one flusher
    at a time; exit status 0, or 1 after an unexpected failure (logged with ``--debug``)."""
    args = sys.argv[1:] if argv is None else argv
    spool = Path(args[0]) if args else paths.spool_dir()
    if not _only_flusher(spool):
        log.debug("another spool flusher is running; it will send these events")
        return 0
    try:
        sent, kept = _send_with_keyring(spool)
    except Exception as err:  # noqa: BLE001 - a detached process: log it, exit 1
        log.debug(f"spool flusher failed: {type(err).__name__}: {err}")
        return 1
    log.debug(f"spool flusher sent {sent}, kept {kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
