"""The proxy for each of aigate's HTTP calls, decided the way curl decides it (issue 7, item 4).

Each case is also put to the real curl: with ``--resolve`` pointing every name at 127.0.0.1 and
nothing listening, the port curl tries first says whether it went to the proxy or direct.
"""

import re
import shutil
import subprocess

import pytest

from aigate import proxies

PROXY_PORT, SERVER_PORT = 9, 7  # nothing listens on either: curl's first "Trying" line tells
PROXY = f"http://127.0.0.1:{PROXY_PORT}"

# (url, environment, goes through the proxy)
CASES = [
    ("https://aigate.corp.example:{p}/", {"HTTPS_PROXY": PROXY}, True),
    ("https://aigate.corp.example:{p}/", {"HTTPS_PROXY": PROXY, "NO_PROXY": "corp.example"}, False),
    ("https://aigate.corp.example:{p}/", {"HTTPS_PROXY": PROXY, "NO_PROXY": ".corp.example"}, False),
    ("https://aigate.corp.example:{p}/", {"HTTPS_PROXY": PROXY, "NO_PROXY": "other.example, corp.example"}, False),
    ("https://aigate.corp.example:{p}/", {"HTTPS_PROXY": PROXY, "NO_PROXY": "rp.example"}, True),
    ("https://aigate.corp.example:{p}/", {"HTTPS_PROXY": PROXY, "NO_PROXY": "*"}, False),
    ("https://aigate.corp.example:{p}/", {"ALL_PROXY": PROXY}, True),
    ("https://aigate.corp.example:{p}/", {"all_proxy": PROXY, "no_proxy": "aigate.corp.example"}, False),
    ("http://aigate.corp.example:{p}/", {"HTTP_PROXY": PROXY}, False),  # upper case: ignored (httpoxy)
    ("http://aigate.corp.example:{p}/", {"http_proxy": PROXY}, True),
    ("http://127.0.0.1:{p}/", {"http_proxy": PROXY, "no_proxy": "127.0.0.0/8"}, False),
    ("http://127.0.0.1:{p}/", {"http_proxy": PROXY, "no_proxy": "10.0.0.0/8"}, True),
    ("http://127.0.0.1:{p}/", {"http_proxy": PROXY, "no_proxy": "127.0.0.1"}, False),
    ("http://[::1]:{p}/", {"http_proxy": PROXY, "no_proxy": "::1"}, False),
    ("http://[::1]:{p}/", {"http_proxy": PROXY, "no_proxy": "fe80::/10"}, True),
]


@pytest.mark.parametrize("url, env, proxied", CASES)
def test_proxy_choice(url, env, proxied):
    got = proxies.proxy_for(url.format(p=SERVER_PORT), env)
    assert (got is not None) == proxied
    if proxied:
        assert got.url == PROXY and got.variable in env


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("url, env, proxied", CASES)
def test_curl_decides_the_same(url, env, proxied):
    url = url.format(p=SERVER_PORT)
    host = url.split("//")[1].split(":")[0]
    done = subprocess.run(
        ["curl", "-sv", "--max-time", "3", "--resolve", f"{host}:{SERVER_PORT}:127.0.0.1", url],
        env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=20, check=False)
    tried = re.search(r"Trying \[?[0-9a-f.:]+\]?:(\d+)", done.stderr)
    assert tried, done.stderr
    assert (int(tried.group(1)) == PROXY_PORT) == proxied, done.stderr


def test_an_entry_with_a_port_matches_that_port_only():
    env = {"HTTPS_PROXY": PROXY, "NO_PROXY": "aigate.corp.example:8443"}
    assert proxies.proxy_for("https://aigate.corp.example:8443/", env) is None
    assert proxies.proxy_for("https://aigate.corp.example/", env) is not None


def test_a_proxy_without_a_scheme_is_http_and_credentials_are_never_shown():
    got = proxies.proxy_for("https://a.example/", {"HTTPS_PROXY": "alice:s3cret@proxy.corp:3128"})
    assert got.url == "http://alice:s3cret@proxy.corp:3128"
    assert proxies.shown(got) == "HTTPS_PROXY=http://proxy.corp:3128"
