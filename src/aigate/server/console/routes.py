"""The approver console's pages under ``/console`` (server-rendered, plain HTML forms, no script).

Every decision goes through the same writer jobs as the API (:func:`aigate.server.access.review_job`):
the same rules (approvers and admins only, nobody decides their own request, the rule's maximum
duration), the same guarded UPDATE (of two approvers deciding at once, one wins; the other gets this
page again with a 409 and what happened), the same audit events and notifications. Forms are
checked for the session's CSRF token and refused when the browser says they come from another site
(``Sec-Fetch-Site: cross-site``); the session cookie is ``SameSite=Strict`` besides.
"""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from aigate.protocol import RequestState, parse_duration
from aigate.server import access, audit
from aigate.server.console import sessions
from aigate.server.console.render import SECURITY_HEADERS, page
from aigate.server.deps import with_policy_role
from aigate.server.identity import Caller
from aigate.server.problems import ApiProblem
from aigate.server.text import problem_in_text

router = APIRouter(prefix="/console", include_in_schema=False)
MAX_FORM_FIELDS = 10
AUDIT_ACTIONS = ("access_request.", "access_request.created", "access_request.approved", "access_request.denied",
                 "access_request.revoked", "approval_token.", "session.", "user.", "device.", "console.")
NOTICES = {"approved": "Approved.", "denied": "Denied.", "revoked": "Revoked: running sessions stop at their "
           "next key callback.", "capped": "Approved, for the rule's maximum: the duration asked was capped to it."}


def _services(request: Request) -> Any:
    return request.app.state.services


def _see_other(url: str, headers: dict[str, str] | None = None) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={**SECURITY_HEADERS, **(headers or {})})


async def _who(request: Request) -> tuple[Caller, str] | None:
    services = _services(request)
    found: tuple[Caller, str] | None = await services.db.read(
        sessions.session_caller, request.cookies.get(sessions.COOKIE), services.clock())
    if found is None:
        return None
    return with_policy_role(services, found[0]), found[1]  # [roles] in the policy, as for the API


def _message(status: int, heading: str, text: str, who: tuple[Caller, str] | None = None,
             back: str | None = None) -> Response:
    caller, csrf = who or (None, "")
    return page("message.html", status, heading=heading, text=text, back=back, caller=caller, csrf=csrf)


async def _form(request: Request, who: tuple[Caller, str] | None) -> dict[str, str] | Response:
    """The urlencoded form of a POST, or the answer refusing it (cross-site, bad CSRF token)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return _message(403, "Refused", "This form was sent from another site.")
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return _message(415, "Refused", "Send this form from the console page.")
    fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True,
                            max_num_fields=MAX_FORM_FIELDS))
    if who is not None and not sessions.csrf_ok(who[1], fields.get("csrf")):
        return _message(403, "Refused", "This form is out of date (its CSRF token does not match your session). "
                        "Reload the page and try again.", who)
    return fields


def _to_signin(request: Request) -> RedirectResponse:
    """To the sign-in page, which sends an SSO sign-in back to this page."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _see_other("/console/signin?" + urlencode({"next": sessions.safe_next(here)}))


@router.get("")
async def home(request: Request) -> Response:
    who = await _who(request)
    if who is None:
        return _to_signin(request)
    return _see_other("/console/requests" if who[0].reviewer else "/console/mine")


@router.get("/signin")
async def signin_page(request: Request, token: str = "", next: str = "") -> Response:
    token = token if 20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum() else ""
    back = sessions.safe_next(next)
    sso = "/console/sso?" + urlencode({"next": back}) if _services(request).oidc is not None else None
    return page("signin.html", token=token, sso=sso, link_minutes=sessions.LINK_SECONDS // 60)


@router.get("/sso")
async def sso_start(request: Request, next: str = "") -> Response:
    """Sign in with the company's OpenID provider (the SSO callback then calls :func:`signed_in_with_sso`)."""
    from aigate.server.routes.sso_pages import to_provider
    from aigate.server.sso_logins import PURPOSE_CONSOLE

    return await to_provider(_services(request), PURPOSE_CONSOLE, return_to=sessions.safe_next(next))


@router.post("/signin")
async def signin(request: Request) -> Response:
    fields = await _form(request, None)
    if isinstance(fields, Response):
        return fields
    token = fields.get("token", "")
    try:
        cookie, _, _ = await _services(request).writer.submit(sessions.redeem_job(token[:100]))
    except ApiProblem as problem:
        return _message(problem.status, "This link does not work", problem.detail)
    return _see_other("/console", {"Set-Cookie": sessions.cookie_header(cookie)})


@router.post("/signout")
async def signout(request: Request) -> Response:
    who = await _who(request)
    if who is None:
        return _to_signin(request)
    fields = await _form(request, who)
    if isinstance(fields, Response):
        return fields
    await _services(request).writer.submit(sessions.end_job(request.cookies[sessions.COOKIE], who[0].email))
    return _see_other("/console/signin", {"Set-Cookie": sessions.cookie_header("", 0)})


async def _reviewer(request: Request) -> tuple[Caller, str] | Response:
    who = await _who(request)
    if who is None:
        return _to_signin(request)
    if not who[0].reviewer:
        return _message(403, "Approvers only", "Only approvers and admins see this page.", who, "/console/mine")
    return who


@router.get("/requests")
async def pending(request: Request) -> Response:
    who = await _reviewer(request)
    if isinstance(who, Response):
        return who
    services = _services(request)
    items = await services.db.read(access.list_requests, who[0], True, RequestState.PENDING, services.clock())
    return page("pending.html", items=items, caller=who[0], csrf=who[1], section="pending")


@router.get("/mine")
async def mine(request: Request) -> Response:
    who = await _who(request)
    if who is None:
        return _to_signin(request)
    services = _services(request)
    items = await services.db.read(access.list_requests, who[0], False, None, services.clock())
    return page("mine.html", items=items, caller=who[0], csrf=who[1], section="mine")


@router.get("/grants")
async def grants(request: Request, done: str = "") -> Response:
    who = await _reviewer(request)
    if isinstance(who, Response):
        return who
    services = _services(request)
    items = await services.db.read(access.list_requests, who[0], True, RequestState.APPROVED, services.clock())
    return page("grants.html", items=items, caller=who[0], csrf=who[1], section="grants", notice=NOTICES.get(done))


@router.get("/audit")
async def audit_trail(request: Request, actor: str = "", action: str = "", subject: str = "",
                      before: int | None = None) -> Response:
    who = await _reviewer(request)
    if isinstance(who, Response):
        return who
    filters = {"actor": actor[:254], "action": action[:64], "subject": subject[:254]}
    events = await _services(request).db.read(audit.page, filters, before)
    older = None
    if len(events) == 100:
        older = "/console/audit?" + urlencode({**{k: v for k, v in filters.items() if v}, "before": events[-1]["seq"]})
    return page("audit.html", events=events, filters=filters, before=before, older=older, actions=AUDIT_ACTIONS,
                caller=who[0], csrf=who[1], section="audit")


async def _detail(request: Request, who: tuple[Caller, str], request_id: str, status: int = 200,
                  notice: str | None = None, error: str | None = None) -> Response:
    services = _services(request)
    try:
        item = await services.db.read(access.get_request, who[0], request_id[:64], services.clock())
    except ApiProblem:
        return _message(404, "Not found", "There is no such access request, or it is not yours to see.", who,
                        "/console")
    caller = who[0]
    own = item.requester == caller.email
    return page("request.html", status, r=item, caller=caller, csrf=who[1], notice=notice, error=error, own=own,
                can_decide=caller.reviewer and not own and item.state == RequestState.PENDING,
                can_revoke=caller.reviewer and not own and item.state == RequestState.APPROVED,
                section="pending" if caller.reviewer else "mine")


@router.get("/requests/{request_id}")
async def detail(request: Request, request_id: str, done: str = "") -> Response:
    who = await _who(request)
    if who is None:
        return _to_signin(request)
    return await _detail(request, who, request_id, notice=NOTICES.get(done))


@router.post("/requests/{request_id}/{action}")
async def decide(request: Request, request_id: str, action: str) -> Response:
    who = await _reviewer(request)
    if isinstance(who, Response):
        return who
    if action not in ("approve", "deny", "revoke"):
        return _message(404, "Not found", "No such action.", who, "/console")
    fields = await _form(request, who)
    if isinstance(fields, Response):
        return fields
    job = _review(who[0], request_id[:64], action, fields)
    if isinstance(job, str):
        return await _detail(request, who, request_id, 422, error=job)
    try:
        item = await _services(request).writer.submit(job)
    except ApiProblem as problem:
        return await _detail(request, who, request_id, problem.status, error=_refusal(problem, action))
    done = "capped" if getattr(item, "approval_capped", False) else {"approve": "approved", "deny": "denied",
                                                                     "revoke": "revoked"}[action]
    target = "/console/grants" if fields.get("next") == "grants" else f"/console/requests/{item.id}"
    return _see_other(f"{target}?done={done}")


def _review(caller: Caller, request_id: str, action: str, fields: dict[str, str]) -> Any:
    """The writer job for the form, or why the form cannot be used (a message for the page)."""
    if action == "approve":
        text = fields.get("duration", "").strip()
        try:
            seconds = parse_duration(text) if text else None
        except ValueError as err:
            return str(err)
        return access.review_job(caller, request_id, "approve", duration=seconds)
    reason = fields.get("reason", "")
    why = problem_in_text(reason)
    if why or len(reason) > 1000:
        return f"The reason {why or 'must be at most 1000 characters'}: the requester reads it, and it is audited."
    return access.review_job(caller, request_id, action, reason=reason)


def _refusal(problem: ApiProblem, action: str) -> str:
    if problem.status == 409:
        return (f"Not {action}d: someone decided this request first (or it ended). Below is what it is now.")
    return problem.detail


STATIC = {"console.css": "text/css", "favicon.svg": "image/svg+xml"}


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        return Response(status_code=404)
    content = (resources.files("aigate.server.console") / "static" / name).read_bytes()
    return Response(content, media_type=STATIC[name], headers={"Cache-Control": "max-age=3600",
                                                               "X-Content-Type-Options": "nosniff"})
