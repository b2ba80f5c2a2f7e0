"""HTTP routes, one module per resource; every path comes from :class:`aigate.protocol.Paths`."""

from aigate.server.console import routes as console
from aigate.server.routes import (
    access_requests,
    console_links,
    enrollment,
    gateway_authz,
    health,
    sessions,
    sso,
    sso_pages,
    tokens,
)

ROUTERS = [health.router, enrollment.router, access_requests.router, tokens.router, sessions.router,
           gateway_authz.router, sso.router, sso_pages.router, console_links.router, console.router]
