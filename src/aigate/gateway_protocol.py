"""Enforced mode on the wire: the gateway authorization endpoint, its headers, and how each tool's
vendor expects its key; stdlib only (the server, ``nginx-config`` and the client use it).

A gateway (nginx ``auth_request``, Envoy ``ext_authz`` over HTTP, Traefik or Caddy forward-auth) asks
``{any method} /v1/gateway/authorize/{scope}[/anything]`` for each model call, passing on the tool's
own headers (its approval token as ``x-api-key`` or ``Authorization: Bearer``) and adding
``X-Aigate-Gateway-Credential``. The answer is ``200`` with the vendor key in ``X-Aigate-Vendor-Key``
(and ready-made as the vendor's own header) only for a registered gateway and a valid, live approval
token of that scope; otherwise ``401`` (no or bad token: the tool fetches a fresh one) or ``403`` (not
a registered gateway, revoked, disabled, another scope, a tool not in enforced mode), or ``503`` (no
vendor key stored for the scope), with a problem details body and ``X-Aigate-Reason`` (its code).
Design: docs/enforced-mode.md.
"""

from __future__ import annotations

from aigate.constants import Paths

AUTHORIZE_PATH = Paths.GATEWAY_AUTHORIZE  # ... and AUTHORIZE_PATH + "/{rest}" (Envoy appends the path)
AUTHORIZE_PREFIX = AUTHORIZE_PATH.removesuffix("/{scope}")

GATEWAY_CREDENTIAL_HEADER = "X-Aigate-Gateway-Credential"
VENDOR_KEY_HEADER = "X-Aigate-Vendor-Key"
USER_HEADER = "X-Aigate-User"
TOOL_HEADER = "X-Aigate-Tool"
SCOPE_HEADER = "X-Aigate-Scope"
REASON_HEADER = "X-Aigate-Reason"

#: The header each tool's vendor takes the key in, and its value's form (DESIGN.md "Enforced mode").
VENDOR_KEY_STYLE = {"claude": ("x-api-key", "{key}"), "codex": ("Authorization", "Bearer {key}")}

#: How long the server may reuse an authorization decision (live state read from the database):
#: a revocation, a disabled user or a revoked device stops the next call within this (and 5 s).
DECISION_CACHE_SECONDS = 2.0
