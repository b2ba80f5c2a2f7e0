"""Why a user has no grant for a tool: the latest access request's fate, said to the user.

``aigate run`` refused with "no active grant" tells nobody anything; the user's most recent access
request for the tool does: revoked (when, by whom, why), denied (likewise), still pending, expired
unreviewed, cancelled, or a grant that ran out. :func:`latest_request` finds it (one indexed query,
a :class:`Prepared` statement, so it also runs on the token issuance path's raw reader);
:func:`not_approved_detail` says it in the words of a problem detail. :func:`other_reviewers` counts
who could approve a new request (approvers never review their own), so a sole approver is told.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from aigate import protocol as p
from aigate.server.access import to_wire
from aigate.server.db import Prepared
from aigate.server.models import access_requests, users
from aigate.server.roles import Roles

_COLUMNS = [c.name for c in access_requests.columns] + ["email"]
_LATEST = Prepared(
    select(access_requests, users.c.email).join(users, users.c.id == access_requests.c.user_id)
    .where(access_requests.c.user_id == bindparam("user_id"), access_requests.c.tool == bindparam("tool"))
    .order_by(access_requests.c.created_at.desc(), access_requests.c.id).limit(1)
)


def latest_request(conn: Any, user_id: int, tool: str, now: float) -> p.AccessRequest | None:
    """The user's most recent access request for ``tool`` (any state), or None."""
    row = _LATEST.first(conn, {"user_id": user_id, "tool": tool})
    return None if row is None else to_wire(dict(zip(_COLUMNS, row, strict=True)), now)


def other_reviewers(conn: Any, user_id: int, roles: Roles) -> int:
    """How many enabled users other than ``user_id`` could review a request: approvers and admins by
    the role stored for them or, through the policy's ``[roles]``, by their groups."""
    rows = conn.execute(select(users.c.role, users.c.groups).where(
        users.c.disabled.is_(False), users.c.id != user_id)).all()
    reviewing = (p.Role.APPROVER, p.Role.ADMIN)
    return sum(1 for role, groups in rows if roles.role_for(json.loads(groups or "[]"), p.Role(role)) in reviewing)


def not_approved_detail(item: p.AccessRequest | None, tool: str) -> str:
    """A problem detail for "no active grant for ``tool``" that says why, from ``item``."""
    if item is None:
        return f"no active grant for {tool}: you have not asked for one"
    state, when, who = item.state, _at(item.decided_at), item.decided_by
    why = f": {item.decision_reason}" if item.decision_reason else ""
    if state == p.RequestState.REVOKED:
        return f"the grant for {tool} (request {item.id}) was revoked{when} by {who}{why}"
    if state == p.RequestState.DENIED:
        return f"request {item.id} for {tool} was denied{when} by {who}{why}"
    if state == p.RequestState.PENDING:
        return f"request {item.id} for {tool} is pending: no approver has decided yet"
    if state == p.RequestState.EXPIRED:
        return f"request {item.id} for {tool} expired{_at(item.review_expires_at)} before an approver decided"
    if state == p.RequestState.CANCELLED:
        return f"request {item.id} for {tool} was cancelled{when}"
    if state == p.RequestState.ENDED:
        return f"the grant for {tool} (request {item.id}) ended{_at(item.expires_at)}"
    return f"no active grant for {tool}"


def _at(moment: datetime | None) -> str:
    return f" at {p.format_timestamp(moment)}" if moment else ""
