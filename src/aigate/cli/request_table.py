"""Access requests for people: one row each when the terminal is wide enough, else a block each.

Every value is shown whole (ids, emails and timestamps are copied into commands; a reason or a
decision cut mid-word misleads): when the one-row table would not fit the terminal's width, each
request becomes a block instead, as ``gh pr list`` does on a narrow terminal:

    7a1e8c448e34121f  claude  alice@corp.example  revoked  asked 8h
        refactor the billing module
        revoked 2026-11-30T20:00:00Z by bob@corp.example: project ended

The width is the terminal's (``COLUMNS`` when set, else 80 when not a terminal).
"""

from __future__ import annotations

import shutil
import textwrap

from aigate import protocol
from aigate.log import printable as safe

P = protocol.RequestState
HEADER = ("id", "tool", "requester", "state", "asked", "until", "reason", "decision")
INDENT = "    "


def render(items: list[protocol.AccessRequest], width: int | None = None) -> str:
    """The requests as text lines for a terminal ``width`` columns wide (default: this terminal's)."""
    width = width or shutil.get_terminal_size((80, 24)).columns
    rows = [row(item) for item in items]
    table = _table([HEADER, *rows])
    if max(len(line) for line in table) <= width:
        return "\n".join(table)
    return "\n".join(line for item in items for line in block(item, width))


def row(item: protocol.AccessRequest) -> tuple[str, ...]:
    until = protocol.format_timestamp(item.expires_at) if item.expires_at and item.state == P.APPROVED else "-"
    return (safe(item.id), safe(item.tool), safe(item.requester), item.state.value,
            protocol.format_duration(item.requested_seconds), until, safe(item.reason), decision(item) or "-")


def decision(item: protocol.AccessRequest) -> str:
    """Who decided, when and why: ``revoked 2026-11-30T20:00:00Z by bob@corp.example: project ended``;
    an approval says until when; "" for a request nobody decided."""
    if item.state == P.PENDING:
        return ""
    if item.state == P.EXPIRED:
        return "expired before an approver decided"
    if item.automatic:
        return "granted automatically by the policy"
    text = item.state.value if item.state != P.ENDED else "approved"
    if item.decided_at:
        text += f" {protocol.format_timestamp(item.decided_at)}"
    if item.decided_by:
        text += f" by {item.decided_by}"
    if item.state in (P.APPROVED, P.ENDED) and item.expires_at:
        text += f", {'until' if item.state == P.APPROVED else 'ended'} {protocol.format_timestamp(item.expires_at)}"
    if item.decision_reason:
        text += f": {item.decision_reason}"
    return safe(text)


def block(item: protocol.AccessRequest, width: int) -> list[str]:
    """One request as a head line (id, tool, requester, state, asked) and the reason and decision
    below it, each wrapped at word boundaries, never cut."""
    head = "  ".join((safe(item.id), safe(item.tool), safe(item.requester), item.state.value,
                      f"asked {protocol.format_duration(item.requested_seconds)}"))
    lines = [head]
    for text in (safe(item.reason), decision(item)):
        if text:
            lines += textwrap.wrap(text, max(width - len(INDENT), 20), initial_indent=INDENT,
                                   subsequent_indent=INDENT, break_long_words=False, break_on_hyphens=False)
    return lines


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
