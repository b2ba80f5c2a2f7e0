"""What a notification says: the Slack incoming-webhook body, aigate's signed JSON, the signature.

Slack (api.slack.com, "Sending messages using incoming webhooks"; "Formatting text": ``&``, ``<``
and ``>`` must be escaped as ``&amp;``, ``&lt;``, ``&gt;``) gets ``{"text": ...}`` with a
``<url|label>`` link to the request's console page. The escaping matters: a reason is typed by the
requester and could otherwise hold ``<!channel>`` or a link of its own. The JSON format is
:class:`Notification`, signed as ``t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` (the scheme Stripe and Slack use for their own webhooks: a receiver recomputes it and
refuses a stale ``t`` to stop replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from aigate.constants import NotifyEvent, format_duration
from aigate.protocol import AccessRequest, to_wire


@dataclass
class Notification:
    """The body of a ``format = "json"`` notification (the README, "IT: notifications"), signed with
    the receiver's ``secret`` (``X-Aigate-Signature``). ``console_url`` is the request's page in the
    console; ``actor`` is who caused the event (the requester, the approver, or ``system``)."""

    id: str
    event: NotifyEvent
    at: datetime
    actor: str
    console_url: str
    request: AccessRequest


def console_url(public_url: str, request_id: str) -> str:
    return f"{public_url}/console/requests/{request_id}"


def json_body(delivery_id: str, event: NotifyEvent, actor: str, request: AccessRequest, public_url: str,
              now: float) -> str:
    note = Notification(delivery_id, event, datetime.fromtimestamp(now, UTC), actor,
                        console_url(public_url, request.id), request)
    return json.dumps(to_wire(note), separators=(",", ":"), sort_keys=True)


def slack_body(event: NotifyEvent, actor: str, request: AccessRequest, public_url: str) -> str:
    link = f"<{console_url(public_url, request.id)}|request {request.id}>"
    who, tool = _esc(request.requester), _esc(request.tool)
    if event == NotifyEvent.REQUEST_CREATED:
        text = (f"{who} asks for *{tool}* for {format_duration(request.requested_seconds)}: "
                f"\u201c{_esc(request.reason)}\u201d. Review {link}")
    elif event == NotifyEvent.REQUEST_APPROVED:
        text = f"{_esc(actor)} approved {who}'s {tool} {link} for {format_duration(request.granted_seconds or 0)}"
    elif event == NotifyEvent.REQUEST_DENIED:
        text = f"{_esc(actor)} denied {who}'s {tool} {link}: \u201c{_esc(request.decision_reason or '')}\u201d"
    elif event == NotifyEvent.GRANT_REVOKED:
        text = f"{_esc(actor)} revoked {who}'s {tool} grant {link}: \u201c{_esc(request.decision_reason or '')}\u201d"
    else:
        ends = request.expires_at.strftime("%H:%M UTC") if request.expires_at else "soon"
        text = f"{who}'s {tool} grant {link} ends at {ends}"
    return json.dumps({"text": text}, separators=(",", ":"))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Aigate-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
