"""``[[notify]]`` tables of the policy: where notifications go (format: the README, "Notifications").

    [[notify]]
    name = "eng-leads-slack"            # optional: how logs and `notify status` name it
    url = "https://hooks.slack.com/services/..."
    format = "slack"                    # Slack incoming-webhook JSON, or "json" (signed, needs secret)
    secret = "..."                      # json: the HMAC-SHA256 key of X-Aigate-Signature
    events = ["request.created"]        # default: all of protocol.NotifyEvent

    grant_expiring_before = "30m"       # top level: when grant.expiring goes out (default 30 minutes)

A receiver's URL and secret are secrets (a Slack webhook URL is its own credential): nothing here
puts them in a message; receivers are named by ``name``, else ``notify[N]`` (1-based).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from aigate.constants import NotifyEvent

DEFAULT_EXPIRING_BEFORE = 30 * 60
FORMATS = ("slack", "json")
_KEYS = {"name", "url", "format", "secret", "events"}


@dataclass(frozen=True)
class NotifyTarget:
    name: str
    url: str
    format: str  # one of FORMATS
    events: tuple[NotifyEvent, ...]
    secret: str | None = None

    def __repr__(self) -> str:  # the default repr would print the URL and the secret
        return f"NotifyTarget({self.name!r}, format={self.format!r})"

    @property
    def receiver(self) -> str:
        """A stable id of the URL (the outbox stores this, never the URL): SHA-256, 32 hex digits."""
        return receiver_id(self.url)


def receiver_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def check_targets(checker: Any, tables: Any) -> tuple[NotifyTarget, ...]:
    """The ``[[notify]]`` tables as targets; mistakes go to ``checker.report(line, text)``
    (``checker`` is the policy's ``_Checker``; ``checker.lines`` finds the lines)."""
    if not isinstance(tables, list):
        checker.report(checker.lines.top("notify"), "notify must be an array of tables: write [[notify]]")
        return ()
    found = [_target(checker, i, spec) for i, spec in enumerate(tables)]
    return tuple(t for t in found if t is not None)


def _target(checker: Any, index: int, spec: Any) -> NotifyTarget | None:
    header = checker.lines.array_table("notify", index)
    if not isinstance(spec, dict):
        checker.report(header, "each [[notify]] must be a table")
        return None

    def at(key: str) -> int:
        line: int = checker.lines.key_in_array_table("notify", index, key)
        return line

    problems = len(checker.problems)
    for key in spec.keys() - _KEYS:
        checker.report(at(key), f"unknown setting {key!r} in [[notify]] (known: {', '.join(sorted(_KEYS))})")
    url = spec.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        checker.report(at("url") if "url" in spec else header, '[[notify]] needs url = "https://..."')
    fmt = spec.get("format", "slack")
    if fmt not in FORMATS:
        checker.report(at("format"), f"[[notify]] format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    secret = spec.get("secret")
    if fmt == "json" and (not isinstance(secret, str) or len(secret) < 16):
        checker.report(at("secret") if "secret" in spec else header,
                       '[[notify]] format = "json" needs secret = "..." (16 characters or more): receivers check '
                       "the X-Aigate-Signature with it")
    events = _events(checker, spec.get("events"), at("events"))
    name = spec.get("name", f"notify[{index + 1}]")
    if not isinstance(name, str) or not name.strip():
        checker.report(at("name"), "[[notify]] name must be a non-empty string")
    if len(checker.problems) > problems:
        return None
    return NotifyTarget(str(name), str(url), str(fmt), events, secret if isinstance(secret, str) else None)


def _events(checker: Any, value: Any, line: int) -> tuple[NotifyEvent, ...]:
    if value is None:
        return tuple(NotifyEvent)
    known = {e.value: e for e in NotifyEvent}
    if not isinstance(value, list) or not value or not all(v in known for v in value):
        checker.report(line, f"[[notify]] events must be a list of: {', '.join(known)}")
        return ()
    return tuple(known[v] for v in value)
