"""``aigate-server gateway nginx-config``: the nginx configuration of an enforced-mode gateway.

``/SCOPE/REST`` is proxied to ``UPSTREAM/REST`` after an ``auth_request`` to this server's
``/v1/gateway/authorize/SCOPE`` (docs/enforced-mode.md). The tool's credential headers are removed and
the vendor's header is set from the answer: ``x-api-key`` for a scope claude uses, ``Authorization:
Bearer`` for one codex uses (from the policy). ``anthropic-version`` and ``anthropic-beta`` pass
unchanged (Claude Code's gateway requirements); responses are not buffered (streaming), request bodies
of any size stream through; upstream TLS sends SNI and verifies the vendor's certificate against
``--upstream-ca``. The access log is JSON with user, tool, scope and status, never a credential.

The gateway's own credential never appears in the printed configuration: it is written, as one
``proxy_set_header`` line, to a 0600 file beside the configuration (nginx's master process reads it
as root), and included from there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aigate import constants as c
from aigate.errors import UsageError

SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"
_NO_ROUTE = "aigate gateway: no route here; paths start with /SCOPE/"
_LISTEN = re.compile(r"^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$")


@dataclass(frozen=True)
class Upstream:
    scheme: str
    host: str
    port: int
    path: str  # without a trailing slash; "" for the root

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def server(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Route:
    scope: str
    upstream: Upstream
    header: str  # "x-api-key" or "Authorization" (from the tool that uses the scope)


def parse_url(text: str, what: str) -> Upstream:
    """An http(s) URL as an Upstream; UsageError (2) naming ``what`` otherwise."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as err:
        raise UsageError(f"{what} {text!r} is not a URL: {err}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise UsageError(f"{what} {text!r} must be http(s)://HOST[:PORT][/PATH] (no user, query or fragment)")
    if not re.fullmatch(r"[A-Za-z0-9._~/%-]*", parts.path):
        raise UsageError(f"{what} {text!r}: its path may hold letters, digits and - . _ ~ / % only")
    default = 443 if parts.scheme == "https" else 80
    return Upstream(parts.scheme, parts.hostname, port or default, parts.path.rstrip("/"))


def parse_listen(text: str) -> str:
    match = _LISTEN.match(text.strip())
    if not match or not 0 < int(match.group(3)) < 65536:
        raise UsageError(f"--listen {text!r} is not HOST:PORT", "e.g. --listen 0.0.0.0:8443 or [::]:8443")
    return text.strip()


def is_loopback(listen: str) -> bool:
    """True when ``HOST:PORT`` listens on a loopback address only."""
    from aigate.server.preflight import is_loopback as loopback_host

    return loopback_host(listen.rsplit(":", 1)[0].strip("[]"))


def credential_directive(credential: str) -> str:
    """The nginx line that sends the gateway's credential on each authorization subrequest."""
    return f'proxy_set_header {c.GATEWAY_CREDENTIAL_HEADER} "{credential}";\n'


def _ssl_lines(upstream: Upstream, ca_file: str, indent: str) -> list[str]:
    if upstream.scheme != "https":
        return []
    return [f"{indent}proxy_ssl_server_name on;", f"{indent}proxy_ssl_name {upstream.host};",
            f"{indent}proxy_ssl_verify on;", f"{indent}proxy_ssl_verify_depth 4;",
            f"{indent}proxy_ssl_trusted_certificate {ca_file};", f"{indent}proxy_ssl_protocols TLSv1.2 TLSv1.3;",
            f"{indent}proxy_ssl_session_reuse on;"]


def _name(index: int, scope: str) -> str:
    return f"aigate_vendor_{index}_{re.sub(r'[^A-Za-z0-9_]', '_', scope)}"


def upstream_blocks(routes: list[Route], server: Upstream) -> list[str]:
    lines = ["upstream aigate_server {", f"    server {server.server};", "    keepalive 16;", "}"]
    for index, route in enumerate(routes):
        lines += [f"upstream {_name(index, route.scope)} {{", f"    server {route.upstream.server};",
                  "    keepalive 32;", "}"]
    return lines


def log_format() -> list[str]:
    fields = ('"time":"$time_iso8601","user":"$aigate_user","tool":"$aigate_tool","scope":"$aigate_scope",'
              '"status":$status,"method":"$request_method","path":"$uri","reason":"$aigate_reason",'
              '"request_time":$request_time,"upstream_status":"$upstream_status"')
    return ["log_format aigate_json escape=json '{" + fields + "}';"]


def _error_json(kind: str, message: str) -> str:
    """An error body both vendors' clients read (Anthropic's shape; OpenAI's clients read error.message)."""
    return '{"type":"error","error":{"type":"' + kind + '","code":"$aigate_reason","message":"' + message + '"}}'


def _error_locations() -> list[str]:
    lines = []
    for status, kind, what in ((401, "authentication_error", "refused: no valid approval token"),
                               (403, "permission_error", "refused"),
                               (502, "api_error", "the aigate server or the vendor did not answer")):
        lines += [f"    location @aigate_{status} {{",
                  "        default_type application/json;",
                  f"        return {status} '{_error_json(kind, f'aigate gateway: {what} ($aigate_reason)')}';",
                  "    }"]
    return lines


def server_block(routes: list[Route], *, listen: str, server: Upstream, credential_include: str,
                 upstream_ca: str, server_ca: str, tls_cert: str | None, tls_key: str | None,
                 access_log: str | None) -> list[str]:
    ssl = " ssl" if tls_cert else ""
    lines = ["server {", f"    listen {listen}{ssl};", "    server_tokens off;",
             "    client_max_body_size 0;"]
    if tls_cert:
        lines += [f"    ssl_certificate {tls_cert};", f"    ssl_certificate_key {tls_key};",
                  "    ssl_protocols TLSv1.2 TLSv1.3;"]
    if access_log:
        lines.append(f"    access_log {access_log} aigate_json;")
    lines += ["    error_page 401 = @aigate_401;", "    error_page 403 = @aigate_403;",
              "    error_page 500 502 503 504 = @aigate_502;"]
    for index, route in enumerate(routes):
        lines += _auth_location(route, server, credential_include, server_ca)
        lines += _route_location(index, route, upstream_ca)
    lines += ["    location / {", "        default_type application/json;",
              *(f'        set ${name} "";' for name in ("aigate_scope", "aigate_user", "aigate_tool", "aigate_reason")),
              f"        return 404 '{_error_json('not_found_error', _NO_ROUTE)}';",
              "    }"]
    return lines + _error_locations() + ["}"]


def _auth_location(route: Route, server: Upstream, credential_include: str, server_ca: str) -> list[str]:
    return [f"    location = /.aigate-authorize/{route.scope} {{",
            "        internal;",
            f"        proxy_pass {server.scheme}://aigate_server{server.path}{c.GATEWAY_AUTHORIZE_PREFIX}/{route.scope};",
            "        proxy_http_version 1.1;",
            "        proxy_pass_request_body off;",
            '        proxy_set_header Content-Length "";',
            '        proxy_set_header Connection "";',
            f"        proxy_set_header Host {server.host_header};",
            "        proxy_set_header X-Forwarded-Method $request_method;",
            "        proxy_set_header X-Forwarded-Uri $request_uri;",
            f"        include {credential_include};",
            *_ssl_lines(server, server_ca, "        "),
            "    }"]


def _route_location(index: int, route: Route, upstream_ca: str) -> list[str]:
    if route.header == "x-api-key":
        key_lines = ['        proxy_set_header Authorization "";', "        proxy_set_header x-api-key $aigate_key;"]
    else:
        key_lines = ['        proxy_set_header x-api-key "";',
                     '        proxy_set_header Authorization "Bearer $aigate_key";']
    return [f"    location /{route.scope}/ {{",
            f"        set $aigate_scope {route.scope};",
            f"        auth_request /.aigate-authorize/{route.scope};",
            f"        auth_request_set $aigate_key $upstream_http_{_var(c.GATEWAY_VENDOR_KEY_HEADER)};",
            f"        auth_request_set $aigate_user $upstream_http_{_var(c.GATEWAY_USER_HEADER)};",
            f"        auth_request_set $aigate_tool $upstream_http_{_var(c.GATEWAY_TOOL_HEADER)};",
            f"        auth_request_set $aigate_reason $upstream_http_{_var(c.GATEWAY_REASON_HEADER)};",
            f"        proxy_pass {route.upstream.scheme}://{_name(index, route.scope)}{route.upstream.path}/;",
            "        proxy_http_version 1.1;",
            '        proxy_set_header Connection "";',
            f"        proxy_set_header Host {route.upstream.host_header};",
            *key_lines,
            '        proxy_set_header api-key "";',
            f'        proxy_set_header {c.GATEWAY_CREDENTIAL_HEADER} "";',
            "        proxy_buffering off;",
            "        proxy_request_buffering off;",
            "        proxy_read_timeout 900s;",
            "        proxy_send_timeout 900s;",
            *_ssl_lines(route.upstream, upstream_ca, "        "),
            "    }"]


def _var(header: str) -> str:
    return header.lower().replace("-", "_")


def render(routes: list[Route], *, listen: str, server: Upstream, credential_include: str,
           upstream_ca: str = SYSTEM_CA, server_ca: str = SYSTEM_CA, tls_cert: str | None = None,
           tls_key: str | None = None, prefix: Path | None = None) -> str:
    """The configuration text: the ``http``-level lines and a ``server {}`` block for ``conf.d``, or
    with ``prefix`` a standalone ``nginx.conf`` whose every path is under it (no ``daemon``)."""
    head = ["# aigate enforced-mode gateway (generated by `aigate-server gateway nginx-config`)."]
    body = log_format() + upstream_blocks(routes, server)
    if prefix is None:
        block = server_block(routes, listen=listen, server=server, credential_include=credential_include,
                             upstream_ca=upstream_ca, server_ca=server_ca, tls_cert=tls_cert, tls_key=tls_key,
                             access_log="/var/log/nginx/aigate-gateway.log")
        return "\n".join(head + body + block) + "\n"
    block = server_block(routes, listen=listen, server=server, credential_include=credential_include,
                         upstream_ca=upstream_ca, server_ca=server_ca, tls_cert=tls_cert, tls_key=tls_key,
                         access_log=None)
    temp = prefix / "temp"
    http = [f"client_body_temp_path {temp / 'client_body'};", f"proxy_temp_path {temp / 'proxy'};",
            f"fastcgi_temp_path {temp / 'fastcgi'};", f"uwsgi_temp_path {temp / 'uwsgi'};",
            f"scgi_temp_path {temp / 'scgi'};", "default_type application/octet-stream;", "sendfile on;",
            "keepalive_timeout 75s;", *log_format(), f"access_log {prefix / 'access.log'} aigate_json;",
            *upstream_blocks(routes, server), *block]
    full = [*head, f"# run: nginx -p {prefix} -c {prefix / 'nginx.conf'} -g 'daemon off;'",
            "worker_processes auto;", f"pid {prefix / 'nginx.pid'};", f"error_log {prefix / 'error.log'} warn;",
            "events {", "    worker_connections 1024;", "}", "http {", *("    " + line for line in http), "}"]
    return "\n".join(full) + "\n"
