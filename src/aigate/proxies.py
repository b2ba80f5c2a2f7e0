"""Which proxy a request to a URL goes through: the proxy variables read the way curl reads them.

httpx reads them differently (docs/tools.md: CIDR ranges in ``NO_PROXY`` are ignored; SOCKS needs
its ``socks`` extra), so aigate decides here, for every HTTP call it makes, and hands httpx one proxy
or none. Rules, from curl(1) "ENVIRONMENT" and its ``--noproxy``:

- the variable for the URL's scheme: ``http_proxy`` (lower case only: an upper-case ``HTTP_PROXY``
  can be set by a web request's ``Proxy:`` header under CGI, "httpoxy"), ``https_proxy`` /
  ``HTTPS_PROXY``; else ``all_proxy`` / ``ALL_PROXY``. Lower case wins when both are set. A value
  without a scheme is an HTTP proxy. ``socks5://``, ``socks5h://``, ``socks4://`` name SOCKS proxies.
- ``no_proxy`` / ``NO_PROXY``: entries separated by commas or spaces; ``*`` alone means no proxy for
  any host; an entry matches the host itself and every name under it (``corp.example`` matches
  ``aigate.corp.example``; a leading dot is ignored); IP addresses compare as addresses, and
  ``addr/bits`` (CIDR) matches a range; ``[v6]`` brackets are allowed. An entry with a port
  (``host:8443``) matches that port only (curl ignores the port; Go and wget honour it).

Stdlib only; the result names the variable it came from, so errors can say which one to fix.
"""

from __future__ import annotations

import ipaddress
import os
from collections import namedtuple
from collections.abc import Mapping
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# url: the proxy's URL as the variable gives it (scheme added); variable: its name, e.g. "ALL_PROXY".
Proxy = namedtuple("Proxy", "url variable")


def proxy_for(url: str, env: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy for a request to ``url`` under ``env`` (default: this process's), or None (direct)."""
    env = os.environ if env is None else env
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    names = ("http_proxy",) if scheme == "http" else (f"{scheme}_proxy", f"{scheme.upper()}_PROXY")
    found = _first(env, (*names, "all_proxy", "ALL_PROXY"))
    if found is None or bypassed(host, port, _first_value(env, ("no_proxy", "NO_PROXY"))):
        return None
    variable, value = found
    return Proxy(value if "://" in value else f"http://{value}", variable)


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = (env.get(name) or "").strip()
        if value:
            return name, value
    return None


def _first_value(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    found = _first(env, names)
    return found[1] if found else ""


def bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` (``no_proxy``, its value) sends ``host``:``port`` direct (rules above)."""
    entries = no_proxy.replace(",", " ").split()
    if entries == ["*"]:
        return True
    host = host.strip("[]").rstrip(".").lower()
    address = _address(host)
    return any(_matches(entry.lower(), host, port, address) for entry in entries)


def _matches(entry: str, host: str, port: int | None, address: IPAddress | None) -> bool:
    entry, entry_port = _split_port(entry)
    if entry_port is not None and entry_port != port:
        return False
    if address is not None:
        try:
            return address in ipaddress.ip_network(entry, strict=False)
        except ValueError:
            return False
    name = entry.lstrip(".").rstrip(".")
    return bool(name) and (host == name or host.endswith("." + name))


def _split_port(entry: str) -> tuple[str, int | None]:
    """``host:port``, ``[v6]:port``, ``[v6]``, a bare IPv6 address or range, or a name."""
    if entry.startswith("["):
        inside, _, rest = entry[1:].partition("]")
        return inside, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    head, sep, tail = entry.rpartition(":")
    if sep and tail.isdigit() and ":" not in head:
        return head, int(tail)
    return entry, None


def _address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def shown(proxy: Proxy) -> str:
    """``VARIABLE=URL`` for messages, without any ``user:password@`` in the URL."""
    parts = urlsplit(proxy.url)
    netloc = parts.netloc.rpartition("@")[2]
    return f"{proxy.variable}={parts.scheme}://{netloc}"
