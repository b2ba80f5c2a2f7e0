"""Jinja2 pages of the console, with the headers every console answer carries.

Autoescaping is on for every template, so anything a user typed (a reason can hold ``<script>``,
quotes, bidi characters) is shown as text. The Content-Security-Policy allows the console's own
stylesheet and nothing else: no script at all, no inline style, no frames, forms only to this
server; ``Referrer-Policy: no-referrer`` keeps a sign-in link out of any Referer header.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from starlette.responses import HTMLResponse

from aigate.protocol import format_duration

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2

    folder = resources.files("aigate.server.console") / "templates"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = when
    env.filters["duration"] = lambda seconds: format_duration(int(seconds or 0))
    return env


def when(moment: datetime | int | None) -> str:
    """``2026-11-30 20:31 UTC``; an int is epoch seconds; None is an em dash."""
    if moment is None:
        return "\u2014"
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def page(template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """Render ``template`` with ``context`` into an HTML answer carrying :data:`SECURITY_HEADERS`."""
    context.setdefault("caller", None)
    context.setdefault("csrf", "")
    context.setdefault("notice", None)
    context.setdefault("error", None)
    context.setdefault("section", "")
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
