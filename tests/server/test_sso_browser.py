"""SSO sign-in end to end at the server: a real aigate-server, the real OpenID provider (oidc-provider),
and a real headless Chromium that confirms the user code, signs in and allows (or denies) the device.

Screenshots of every page go to the test's ``tmp_path/screenshots``.
"""

from __future__ import annotations

import httpx
import pytest

from aigate.protocol import Paths
from harness.postgres import free_port
from harness.server import init_server, run_server_cli, start_server
from tests.support.browser import console_errors, open_browser, save_screenshot
from tests.support.oidc_provider import SSO_POLICY, OidcProvider, sign_in


@pytest.fixture(scope="module")
def sso(tmp_path_factory):
    """(server, provider): an aigate-server with SSO at the real provider, on SQLite, for this module."""
    base = tmp_path_factory.mktemp("sso")
    port = free_port()
    data_dir = init_server(base / "server", policy=SSO_POLICY)
    with OidcProvider(base, redirect_uri=f"http://127.0.0.1:{port}{Paths.SSO_CALLBACK}") as provider, \
            start_server(data_dir, port=port, extra_args=provider.serve_args(), env=provider.server_env()) as server:
        yield server, provider


@pytest.fixture
def browser(tmp_path):
    with open_browser(tmp_path / "chromium") as driver:
        yield driver


def start(url: str, name: str = "laptop") -> dict:
    answer = httpx.post(url + Paths.DEVICE_AUTHORIZATIONS, json={"device_name": name, "platform": "Linux"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def poll(url: str, grant: dict) -> httpx.Response:
    return httpx.post(url + Paths.DEVICE_TOKEN, json={"device_code": grant["device_code"]})


def complete(browser, grant: dict, login: str, shots, *, action: str = "approve", prefix: str = "") -> str:
    """Confirm the code, sign in at the provider, then allow or deny; the final page's text."""
    from selenium.webdriver.common.by import By

    browser.get(grant["verification_uri_complete"])
    save_screenshot(browser, shots, f"{prefix}1-enter-code")
    browser.find_element(By.ID, "continue").click()
    sign_in(browser, login, shots=shots, prefix=prefix)
    save_screenshot(browser, shots, f"{prefix}2-allow-device")
    browser.find_element(By.ID, action).click()
    save_screenshot(browser, shots, f"{prefix}3-{action}d")
    return browser.find_element(By.TAG_NAME, "main").text


def me(url: str, enrollment: dict) -> dict:
    headers = {"Authorization": f"Bearer {enrollment['device_credential']}"}
    return httpx.get(url + Paths.ME, headers=headers).json()


def test_first_sign_in_creates_the_user_with_groups_from_the_claim_and_roles_from_the_policy(sso, browser, tmp_path):
    server, provider = sso
    provider.set_account("lea@corp.example", groups=["applied-ai", "eng-leads"])
    grant = start(server.url)
    text = complete(browser, grant, "lea@corp.example", tmp_path)
    assert "signed in to aigate as lea@corp.example" in text
    enrolled = poll(server.url, grant)
    assert enrolled.status_code == 201, enrolled.text
    who = me(server.url, enrolled.json())
    assert who["user"] == {"email": "lea@corp.example", "groups": ["applied-ai", "eng-leads"],
                           "role": "approver", "disabled": False}
    assert {t["tool"]: t["approval"] for t in who["tools"]}["claude"] == "auto"


def test_groups_are_refreshed_from_the_claim_at_every_sign_in(sso, browser, tmp_path):
    server, provider = sso
    provider.set_account("max@corp.example", groups=["it-admins"])
    first = start(server.url)
    complete(browser, first, "max@corp.example", tmp_path, prefix="a-")
    assert me(server.url, poll(server.url, first).json())["user"]["role"] == "admin"
    provider.set_account("max@corp.example", groups=["dev"])
    browser.delete_all_cookies()
    second = start(server.url, "desktop")
    complete(browser, second, "max@corp.example", tmp_path, prefix="b-")
    who = me(server.url, poll(server.url, second).json())
    assert who["user"]["groups"] == ["dev"] and who["user"]["role"] == "user"


def test_a_disabled_user_cannot_sign_in(sso, browser, tmp_path):
    server, _ = sso
    run_server_cli("users", "add", "eve@corp.example", data_dir=server.data_dir)
    run_server_cli("users", "disable", "eve@corp.example", data_dir=server.data_dir)
    grant = start(server.url)
    from selenium.webdriver.common.by import By

    browser.get(grant["verification_uri_complete"])
    browser.find_element(By.ID, "continue").click()
    sign_in(browser, "eve@corp.example")
    save_screenshot(browser, tmp_path, "disabled")
    assert "disabled" in browser.find_element(By.ID, "error").text
    assert poll(server.url, grant).json()["code"] == "access-denied"


def test_denying_the_device_in_the_browser_refuses_its_poll(sso, browser, tmp_path):
    server, _ = sso
    grant = start(server.url)
    text = complete(browser, grant, "dan@corp.example", tmp_path, action="deny")
    assert "not signed in" in text
    answer = poll(server.url, grant)
    assert answer.status_code == 400 and answer.json()["code"] == "access-denied"


def test_a_callback_is_single_use(sso, browser, tmp_path):
    server, _ = sso
    grant = start(server.url)
    from selenium.webdriver.common.by import By

    browser.get(grant["verification_uri_complete"])
    browser.find_element(By.ID, "continue").click()
    sign_in(browser, "rex@corp.example")
    callback = browser.current_url
    assert callback.startswith(server.url + Paths.SSO_CALLBACK)
    browser.get(callback)
    assert "already used" in browser.find_element(By.ID, "error").text


def test_an_unknown_user_code_is_refused_on_the_page(sso, browser, tmp_path):
    server, _ = sso
    from selenium.webdriver.common.by import By

    browser.get(server.url + Paths.SSO_DEVICE)
    browser.find_element(By.ID, "user_code").send_keys("BBBB-BBBB")
    browser.find_element(By.ID, "continue").click()
    save_screenshot(browser, tmp_path, "unknown-code")
    assert "unknown or has expired" in browser.find_element(By.ID, "error").text


def test_pages_send_a_strict_content_security_policy_and_no_referrer(sso):
    server, provider = sso
    page = httpx.get(server.url + Paths.SSO_DEVICE)
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert f"form-action 'self' {provider.issuer}" in csp
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_a_form_without_its_csrf_cookie_is_refused(sso):
    server, _ = sso
    grant = start(server.url)
    answer = httpx.post(server.url + Paths.SSO_DEVICE, data={"user_code": grant["user_code"], "csrf": "forged"})
    assert answer.status_code == 403 and "not sent from this page" in answer.text


def test_a_callback_in_another_browser_than_the_one_that_started_is_refused(sso):
    server, _ = sso
    grant = start(server.url)
    with httpx.Client(base_url=server.url) as first:
        form = first.get(Paths.SSO_DEVICE)
        csrf = form.cookies["aigate_sso_csrf"]
        sent = first.post(Paths.SSO_DEVICE, data={"user_code": grant["user_code"], "csrf": csrf})
        assert sent.status_code == 303
        state = httpx.URL(sent.headers["location"]).params["state"]
    other = httpx.get(server.url + Paths.SSO_CALLBACK, params={"state": state, "code": "stolen"})
    assert other.status_code == 403 and "another browser" in other.text


# --- the approver console, signed in with SSO ------------------------------------------------------


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
