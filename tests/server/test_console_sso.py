"""Signing in to the approver console with SSO: a real aigate-server, the real OpenID provider
(oidc-provider) and a real headless Chromium. Roles come from the policy's ``[roles]`` by group."""

from __future__ import annotations

import pytest

from aigate.protocol import Paths
from harness.postgres import free_port
from harness.server import init_server, run_server_cli, start_server
from tests.support.browser import console_errors, open_browser, save_screenshot
from tests.support.oidc_provider import SSO_POLICY, OidcProvider, sign_in


@pytest.fixture(scope="module")
def sso(tmp_path_factory):
    base = tmp_path_factory.mktemp("console-sso")
    port = free_port()
    data_dir = init_server(base / "server", policy=SSO_POLICY)
    with OidcProvider(base, redirect_uri=f"http://127.0.0.1:{port}{Paths.SSO_CALLBACK}") as provider, \
            start_server(data_dir, port=port, extra_args=provider.serve_args(), env=provider.server_env()) as server:
        yield server, provider


@pytest.fixture
def browser(tmp_path):
    with open_browser(tmp_path / "chromium") as driver:
        yield driver


def sso_sign_in(browser, server, login: str, shots) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url + "/console/signin")
    save_screenshot(browser, shots, "console-signin-sso")
    browser.find_element("link text", "Sign in with SSO").click()
    sign_in(browser, login, shots=shots)
    WebDriverWait(browser, 30).until(lambda d: d.current_url.startswith(server.url + "/console/")
                                     and "/signin" not in d.current_url)


def test_a_group_approver_signs_in_with_sso_and_sees_the_pending_requests(sso, browser, tmp_path):
    server, provider = sso
    provider.set_account("rosa@corp.example", groups=["eng-leads"])
    sso_sign_in(browser, server, "rosa@corp.example", tmp_path)
    assert browser.current_url == server.url + "/console/requests"
    assert "rosa@corp.example (approver)" in browser.find_element("css selector", "header").text
    save_screenshot(browser, tmp_path, "console-after-sso")
    assert [e for e in console_errors(browser) if e.startswith(server.url)] == []  # the provider has its own


def test_a_plain_user_signs_in_with_sso_and_sees_only_their_own_requests(sso, browser, tmp_path):
    server, provider = sso
    provider.set_account("tom@corp.example", groups=["applied-ai"])
    sso_sign_in(browser, server, "tom@corp.example", tmp_path)
    assert browser.current_url == server.url + "/console/mine"
    browser.get(server.url + "/console/requests")
    assert browser.find_element("css selector", "h1").text == "Approvers only"


def test_a_disabled_user_is_refused_at_the_sso_callback(sso, browser, tmp_path):
    server, provider = sso
    run_server_cli("users", "add", "gone@corp.example", data_dir=server.data_dir)
    run_server_cli("users", "disable", "gone@corp.example", data_dir=server.data_dir)
    provider.set_account("gone@corp.example", groups=["eng-leads"])
    browser.get(server.url + "/console/signin")
    browser.find_element("link text", "Sign in with SSO").click()
    sign_in(browser, "gone@corp.example", shots=tmp_path)
    assert "gone@corp.example is disabled" in browser.find_element("tag name", "main").text
    browser.get(server.url + "/console/requests")
    assert "/console/signin" in browser.current_url


def test_signing_in_from_a_request_link_comes_back_to_that_request(sso, browser, tmp_path):
    server, provider = sso
    provider.set_account("ines@corp.example", groups=["eng-leads"])
    browser.get(server.url + "/console/requests/0123456789abcdef")  # as from a Slack message
    browser.find_element("link text", "Sign in with SSO").click()
    sign_in(browser, "ines@corp.example", shots=tmp_path)
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(lambda d: "/console/requests/" in d.current_url)
    assert browser.current_url == server.url + "/console/requests/0123456789abcdef"
    assert browser.find_element("css selector", "h1").text == "Not found"  # no such request, but signed in
