"""Building a ServerClient for this device: the one place that joins config, keyring and HTTP.

Cold path only (imports httpx). ``http`` lets tests hand in an ``httpx.Client`` on a MockTransport;
production builds one with :func:`aigate.approval.make_http_client`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aigate import keystore
from aigate.approval import ServerClient, make_http_client
from aigate.errors import ConfigError

if TYPE_CHECKING:
    import httpx

HttpFactory = Callable[[str, "str | None"], "httpx.Client"]  # (server, ca_bundle) -> httpx.Client


def default_http(server: str, ca_bundle: str | None) -> httpx.Client:
    """The production HTTP client for ``server`` (see :func:`aigate.approval.make_http_client`)."""
    return make_http_client(server, ca_bundle=ca_bundle)


def anonymous_client(server: str, *, ca_bundle: str | None = None, http: HttpFactory = default_http) -> ServerClient:
    """A client for ``server`` that sends no credential (enrollment, JWKS)."""
    return ServerClient(http(server, ca_bundle), server)


def device_client(
    server: str,
    *,
    store: keystore.KeyStore,
    ca_bundle: str | None = None,
    http: HttpFactory = default_http,
) -> ServerClient:
    """A client authenticated as this device. ConfigError (78) when the device has no credential."""
    credential = store.get(keystore.device_entry(server))
    if not credential:
        raise ConfigError(f"this device is not logged in to {server}", hint=f"aigate login --server {server}")
    return ServerClient(http(server, ca_bundle), server, credential)
