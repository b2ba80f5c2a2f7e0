"""The browser half of SSO login: confirm the user code, sign in with the OpenID provider, allow the device.

``GET /sso/device[?user_code=...]`` -> form (double-submit CSRF cookie) -> ``POST /sso/device`` ->
303 to the provider with ``state``, ``nonce`` and the PKCE challenge; the verifier goes into an
HttpOnly cookie scoped to the callback -> ``GET /sso/callback`` (code exchanged, ID token verified,
user created or refreshed) -> "allow this device?" with a one-time token -> ``POST /sso/device/confirm``.

Pages are Jinja2 templates (autoescaped) under ``templates/sso``, sent with a strict
Content-Security-Policy (no script at all; forms only to this server and, for the redirect, the
provider), ``no-store`` and ``no-referrer`` (the callback URL carries the authorization code).
They are not part of the JSON API, so they stay out of the OpenAPI document.
"""

from __future__ import annotations

import hmac
import secrets
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aigate.protocol import Paths
from aigate.server import device_flow, sso_logins
from aigate.server.console import sessions as console_sessions
from aigate.server.deps import ServicesDep
from aigate.server.oidc import Identity, OidcError, pkce_pair, s256
from aigate.server.services import Services

if TYPE_CHECKING:
    import jinja2

router = APIRouter(include_in_schema=False)
CONFIRM_PATH = Paths.SSO_DEVICE + "/confirm"
STYLE_PATH = "/sso/style.css"
CSRF_COOKIE = "aigate_sso_csrf"
PKCE_COOKIE = "aigate_sso_pkce"
MAX_FORM_BYTES = 4096
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def page(services: Services, name: str, title: str, status: int = 200, **values: object) -> HTMLResponse:
    html = _environment().get_template(f"sso/{name}.html").render(title=title, style_url=STYLE_PATH, **values)
    return HTMLResponse(html, status_code=status, headers=security_headers(services))


def security_headers(services: Services) -> dict[str, str]:
    provider = ""
    if services.oidc is not None:
        parts = urlsplit(services.oidc.config.issuer)
        provider = f" {parts.scheme}://{parts.netloc}"
    return {
        "Content-Security-Policy": (f"default-src 'none'; style-src 'self'; img-src 'self'; "
                                    f"form-action 'self'{provider}; frame-ancestors 'none'; base-uri 'none'"),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def error_page(services: Services, message: str, status: int = 400) -> HTMLResponse:
    return page(services, "error", "Sign-in failed", status, message=message, restart_url=Paths.SSO_DEVICE)


def set_cookie(response: Response, services: Services, name: str, value: str, *, path: str,
               same_site: Literal["lax", "strict"]) -> None:
    response.set_cookie(name, value, max_age=sso_logins.LOGIN_TTL_SECONDS, path=path, httponly=True,
                        samesite=same_site, secure=services.settings.public_url.startswith("https://"))


async def form_fields(request: Request) -> dict[str, str] | None:
    """An ``application/x-www-form-urlencoded`` body as single values; None when too big or not one."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return None
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        return None
    return {key: values[0] for key, values in fields.items()}


@router.get(STYLE_PATH)
async def style() -> Response:
    return Response((TEMPLATES / "sso" / "style.css").read_bytes(), media_type="text/css",
                    headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})


@router.get(Paths.SSO_DEVICE)
async def device_form(services: ServicesDep, user_code: str = "") -> Response:
    if services.oidc is None:
        return error_page(services, "This aigate server has no SSO configured; ask your aigate admin "
                                    "for an enrollment code.", 404)
    return _device_form(services, user_code[:16])


def _device_form(services: Services, user_code: str, error: str | None = None) -> Response:
    csrf = secrets.token_urlsafe(24)
    response = page(services, "device", "Sign in a device", 400 if error else 200, user_code=user_code,
                    csrf=csrf, error=error, action=Paths.SSO_DEVICE)
    set_cookie(response, services, CSRF_COOKIE, csrf, path=Paths.SSO_DEVICE, same_site="strict")
    return response


@router.post(Paths.SSO_DEVICE)
async def device_submit(request: Request, services: ServicesDep) -> Response:
    oidc = services.oidc
    fields = await form_fields(request)
    if oidc is None or fields is None:
        return error_page(services, "This form could not be read; start again.")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, fields.get("csrf", "")):
        return error_page(services, "This form expired or was not sent from this page; start again.", 403)
    user_code = fields.get("user_code", "")[:16]
    found = await services.db.read(device_flow.find_by_user_code, user_code, services.clock())
    if found is None:
        return _device_form(services, user_code, "That code is unknown or has expired. Check the code in "
                                                 "your terminal, or run `aigate login` again.")
    response = await to_provider(services, sso_logins.PURPOSE_DEVICE, device_authorization_id=found.id)
    response.delete_cookie(CSRF_COOKIE, path=Paths.SSO_DEVICE)
    return response


async def to_provider(services: Services, purpose: str, *, device_authorization_id: str | None = None,
                      return_to: str | None = None) -> Response:
    """Start a sign-in for ``purpose``: record it, put the PKCE verifier in this browser's cookie, and
    redirect (303) to the provider; an error page when the provider cannot be reached."""
    oidc = services.oidc
    if oidc is None:
        return error_page(services, "This aigate server has no SSO configured.", 404)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    try:
        target = await oidc.authorization_url(state=state, nonce=nonce, code_challenge=challenge)
    except OidcError as err:
        return error_page(services, f"The sign-in provider cannot be used right now: {err}", 502)
    await services.writer.submit(sso_logins.begin_login_job(
        state, nonce, challenge, purpose, device_authorization_id=device_authorization_id, return_to=return_to))
    response = RedirectResponse(target, status_code=303, headers=security_headers(services))
    set_cookie(response, services, PKCE_COOKIE, verifier, path=Paths.SSO_CALLBACK, same_site="lax")
    return response


@router.get(Paths.SSO_CALLBACK)
async def callback(request: Request, services: ServicesDep, state: str = "", code: str = "",
                   error: str = "") -> Response:
    oidc = services.oidc
    if oidc is None:
        return error_page(services, "This aigate server has no SSO configured.", 404)
    login = await services.db.read(sso_logins.pending_login, state[:200], services.clock()) if state else None
    if login is None:
        return error_page(services, "This sign-in is unknown, already used or expired; start again.")
    if error:
        return error_page(services, f"The sign-in provider did not sign you in ({error[:80]}).", 403)
    verifier = request.cookies.get(PKCE_COOKIE, "")
    if not verifier or not hmac.compare_digest(s256(verifier), login.code_challenge):
        return error_page(services, "This sign-in was started in another browser; start again in this one.", 403)
    try:
        claims = await oidc.verify(await oidc.exchange(code[:2048], verifier), login.nonce_hash)
        identity = oidc.identity(claims)
    except OidcError as err:
        return error_page(services, f"The sign-in could not be verified: {err}", 502)
    if login.purpose == sso_logins.PURPOSE_CONSOLE:
        return await _console_session(services, login, identity)
    confirm = secrets.token_urlsafe(32)
    try:
        result = await services.writer.submit(sso_logins.finish_login_job(login, identity, confirm))
    except sso_logins.SignInRefused as refused:
        return error_page(services, str(refused), 403)
    if isinstance(result, str):
        return error_page(services, result, 403)
    signed_in, device = result
    response = page(services, "confirm", "Allow this device?", email=signed_in.email,
                    device_name=device.device_name, platform=device.platform, confirm=confirm,
                    action=CONFIRM_PATH)
    response.delete_cookie(PKCE_COOKIE, path=Paths.SSO_CALLBACK)
    return response


async def _console_session(services: Services, login: sso_logins.PendingLogin, identity: Identity) -> Response:
    """The end of an approver console sign-in: a console session (cookie) and on to ``/console``."""
    try:
        cookie, _, _ = await services.writer.submit(console_sessions.sso_session_job(login, identity))
    except sso_logins.SignInRefused as refused:
        return error_page(services, str(refused), 403)
    target = console_sessions.safe_next(login.return_to)
    response = RedirectResponse(target, status_code=303, headers=security_headers(services))
    response.raw_headers.append((b"set-cookie", console_sessions.cookie_header(cookie).encode()))
    response.delete_cookie(PKCE_COOKIE, path=Paths.SSO_CALLBACK)
    return response


@router.post(CONFIRM_PATH)
async def confirm(request: Request, services: ServicesDep) -> Response:
    fields = await form_fields(request)
    if fields is None or fields.get("action") not in ("approve", "deny"):
        return error_page(services, "This form could not be read; start again.")
    approve = fields["action"] == "approve"
    email = await services.writer.submit(device_flow.confirm_job(fields.get("confirm", "")[:100], approve))
    if email is None:
        return error_page(services, "This confirmation was already used or has expired; start again.")
    if approve:
        return page(services, "done", "Device signed in", message=f"Your device is now signed in to aigate as {email}.")
    return page(services, "done", "Device denied", message="The device was not signed in.")
