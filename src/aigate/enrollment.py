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

EnrollmentRecord = namedtuple("EnrollmentRecord", "server issuer device_id email")


def _read_all(path: Path) -> dict:
    try:
        data = json.loads(path.read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def load(server: str, path: Path | None = None) -> EnrollmentRecord | None:
    entry = _read_all(path or paths.enrollment_file()).get(server)
    if not isinstance(entry, dict):
        return None
    try:
        return EnrollmentRecord(server=server, **{k: str(entry[k]) for k in ("issuer", "device_id", "email")})
    except KeyError:
        return None


def require(server: str, path: Path | None = None) -> EnrollmentRecord:
    """The record for ``server`` or ConfigError (78) with the login command as the fix."""
    record = load(server, path)
    if record is None:
        raise ConfigError(
            f"this device is not logged in to {server}",
            hint=f"aigate login --server {server}",
        )
    return record


def save(record: EnrollmentRecord, path: Path | None = None) -> None:
    path = path or paths.enrollment_file()
    data = _read_all(path)
    entry = record._asdict()
    del entry["server"]
    data[record.server] = entry
    paths.write_private(path, json.dumps(data, indent=1).encode())


def forget(server: str, path: Path | None = None) -> bool:
    path = path or paths.enrollment_file()
    data = _read_all(path)
    if data.pop(server, None) is None:
        return False
    paths.write_private(path, json.dumps(data, indent=1).encode())
    return True
