"""What this device knows about its enrollments, by server URL; stdlib only, no secret.

``enrollment.json`` in the state dir maps a server URL to ``{"issuer", "device_id", "email"}``. The
``issuer`` is what the server reported at enrollment (protocol.Enrollment.issuer): every approval
token from it must carry exactly that ``iss``. The device credential itself is in the keyring.
"""

from __future__ import annotations

import json
from collections import namedtuple
from pathlib import Path

from aigate import paths
from aigate.errors import ConfigError
from aigate.locking import FileLock

TYPE_CHECKING = False  # typing is not imported on the warm path (it costs ~10 ms)
if TYPE_CHECKING:
    from typing import Any

EnrollmentRecord = namedtuple("EnrollmentRecord", "server issuer device_id email")


def _read_all(path: Path, *, strict: bool = True) -> dict[str, Any]:
    """The file's records; a missing file is none. A corrupt one is ConfigError (78) naming it and the
    fix, never "not logged in" (``strict=False``: none, for login and logout, which rewrite it)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        if not strict:
            return {}
        raise _corrupt(path, err.strerror or type(err).__name__) from err
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not (isinstance(data, dict) and all(isinstance(v, dict) for v in data.values())):
        if not strict:
            return {}
        raise _corrupt(path, "not valid JSON" if data is None else "not an object of enrollments")
    return data


def _corrupt(path: Path, why: str) -> ConfigError:
    return ConfigError(f"cannot read {path} ({why})",
                       hint="run `aigate login --server URL` again (with a new enrollment code), or delete the file")


def load(server: str, path: Path | None = None) -> EnrollmentRecord | None:
    """The enrollment record for ``server`` in ``path`` (default: the state dir's ``enrollment.json``), or None
    when this device never logged in there. ConfigError (78) for a corrupt file."""
    path = path or paths.enrollment_file()
    entry = _read_all(path).get(server)
    if entry is None:
        return None
    try:
        return EnrollmentRecord(server=server, **{k: str(entry[k]) for k in ("issuer", "device_id", "email")})
    except KeyError as err:
        raise _corrupt(path, f"the entry for {server} has no {err.args[0]!r}") from None


def require(server: str, path: Path | None = None, *, source: str | None = None) -> EnrollmentRecord:
    """The record for ``server`` or :func:`not_enrolled`'s ConfigError (78). ``source``: the setting
    that chose ``server`` (config.Setting.source), named when the device is enrolled elsewhere."""
    record = load(server, path)
    if record is None:
        raise not_enrolled(server, source, path)
    return record


def not_enrolled(server: str, source: str | None, path: Path | None = None) -> ConfigError:
    """"Not logged in to ``server``", or, when this device is enrolled with other servers, that it is
    enrolled with those and which setting (``source``) chose ``server`` instead, with both fixes."""
    others = sorted(set(_read_all(path or paths.enrollment_file(), strict=False)) - {server})
    if not others:
        return ConfigError(f"this device is not logged in to {server}", hint=f"aigate login --server {server}")
    chosen = f" (chosen by {source})" if source else ""
    undo = {"AIGATE_SERVER": "unset AIGATE_SERVER", "--server": "drop --server"}.get(source or "")
    if source and source.startswith("enforced"):
        fixes = [f"aigate login --server {server}  (IT chose this server: ask IT for an enrollment code)"]
    else:
        fixes = [f"{undo} to use {others[0]}" if undo else f"use {others[0]}: aigate --server {others[0]} COMMAND",
                 f"or enroll with {server}: aigate login --server {server}"]
    return ConfigError(f"this device is enrolled with {', '.join(others)}, not with the server in use, "
                       f"{server}{chosen}", hint="\n".join(fixes))


def save(record: EnrollmentRecord, path: Path | None = None) -> None:
    """Add or replace ``record`` in ``path`` (mode 0600, written atomically); a corrupt file is replaced, since
    logging in again is its fix."""
    path = path or paths.enrollment_file()
    with FileLock(path):  # two logins at once both stay
        data = _read_all(path, strict=False)  # a corrupt file is replaced: logging in again is its fix
        entry = record._asdict()
        del entry["server"]
        data[record.server] = entry
        paths.write_private(path, json.dumps(data, indent=1).encode())


def forget(server: str, path: Path | None = None) -> bool:
    """Remove the record for ``server``; whether there was one."""
    path = path or paths.enrollment_file()
    with FileLock(path):
        data = _read_all(path, strict=False)
        if data.pop(server, None) is None:
            return False
        paths.write_private(path, json.dumps(data, indent=1).encode())
    return True
