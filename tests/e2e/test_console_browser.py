"""The approver's day in a real browser: a Slack-format notification links to the console, the
approver signs in with the link ``aigate admin console`` printed, approves with the keyboard, and the
developer's ``aigate request --wait`` returns at once. Then deny, revoke, the audit trail, and a
plain user's own page. Screenshots of each page go to the test's output (``screenshots/``); with
``AIGATE_SCREENSHOTS_TO=docs/console`` they are also copied there for the README.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from browser import console_errors, open_browser, save_screenshot
from deployment import POLICY, VENV_BIN, Deployment, new_person

from harness.server import init_server
from tests.support.receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

NOTIFY = """
[[notify]]
name = "eng-leads"
url = "{url}"
format = "slack"
events = ["request.created"]
"""


@pytest.fixture(scope="module")
def slack() -> WebhookReceiver:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, slack):
    base = tmp_path_factory.mktemp("console")
    init_server(base / "server", policy=POLICY.format(token_ttl="10m") + NOTIFY.format(url=slack.url))
    deployment = Deployment(base / "server").start()
    approver = new_person(base, deployment, "ada", base, None).login(role="approver")
    developer = new_person(base, deployment, "dan", base, None).login()
    yield deployment, approver, developer
    deployment.stop()


@pytest.fixture
def browser(tmp_path):
    with open_browser(tmp_path / "chromium") as driver:
        yield driver


def shot(driver, tmp_path: Path, name: str) -> None:
    path = save_screenshot(driver, tmp_path, name)
    docs = os.environ.get("AIGATE_SCREENSHOTS_TO")
    if docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(docs) / path.name)
    assert console_errors(driver) == [], f"{name}: the page broke its Content-Security-Policy or failed to load"


def sign_in(driver, person) -> None:
    link = person.ok("admin", "console", "--no-browser").stdout.strip()
    assert link.startswith(person.deployment.url + "/console/signin?token=")
    driver.get(link)
    driver.find_element("css selector", "form[action='/console/signin'] button").click()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(lambda d: "/console/signin" not in d.current_url)


def press_tab_until(driver, predicate, limit: int = 40):
    """Move the focus with Tab alone until ``predicate(focused element)``; that element."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused = driver.switch_to.active_element
        if predicate(focused):
            return focused
    raise AssertionError("the element was not reachable with the Tab key")


def status_text(driver, timeout: float = 15.0) -> str:
    """The text of the page's status message, once the page that has one has loaded."""
    from selenium.webdriver.support.ui import WebDriverWait

    found = WebDriverWait(driver, timeout).until(lambda d: d.find_elements("css selector", "[role=status]"))
    return found[0].text


def every_field_is_labelled(driver) -> None:
    for field in driver.find_elements("css selector", "input:not([type=hidden]), textarea"):
        ident = field.get_attribute("id")
        assert ident and driver.find_elements("css selector", f"label[for='{ident}']"), field.get_attribute("name")


def test_notified_signed_in_approved_and_the_wait_returns_at_once(deployed, slack, browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    deployment, approver, developer = deployed
    waiting = subprocess.Popen([str(VENV_BIN / "aigate"), "request", "claude", "--reason", "fix <b>billing</b> & tests",
                                "--wait"], cwd=developer.workdir, env=developer.env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        (note,) = slack.wait_for(1)
        text = note.json["text"]
        link = text[text.index("<http") + 1:text.index("|request ")]
        assert link.startswith(deployment.url + "/console/requests/") and "&lt;b&gt;billing&lt;/b&gt; &amp;" in text

        driver = browser
        driver.get(link)
        assert "/console/signin" in driver.current_url  # not signed in yet
        shot(driver, tmp_path, "signin")
        sign_in(driver, approver)
        assert driver.find_element("css selector", "h1").text == "Pending requests"
        assert "fix <b>billing</b> & tests" in driver.find_element("css selector", "td.reason").text
        every_field_is_labelled(driver)
        shot(driver, tmp_path, "pending")

        driver.get(link)
        every_field_is_labelled(driver)
        help_text = driver.find_element("id", "duration-help").text
        assert "At most 8h, the maximum of the policy rule for claude" in help_text
        shot(driver, tmp_path, "request")
        duration = press_tab_until(driver, lambda e: e.get_attribute("id") == "duration")
        duration.send_keys(Keys.CONTROL, "a")
        duration.send_keys("2h")
        press_tab_until(driver, lambda e: e.tag_name == "button" and e.text == "Approve")
        clicked = time.monotonic()
        driver.switch_to.active_element.send_keys(Keys.ENTER)
        _, err = waiting.communicate(timeout=30)
        returned = time.monotonic() - clicked
    finally:
        if waiting.poll() is None:
            waiting.kill()
    assert waiting.returncode == 0, err
    assert returned < 5.0, f"request --wait returned {returned:.1f}s after the approval"
    assert "approved" in err
    assert status_text(driver) == "Approved."
    shot(driver, tmp_path, "approved")


def test_deny_with_the_keyboard_revoke_and_the_audit_trail(deployed, browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    deployment, approver, developer = deployed
    denied = developer.request("codex", "try codex")
    driver = browser
    sign_in(driver, approver)
    driver.get(f"{deployment.url}/console/requests/{denied}")
    reason = press_tab_until(driver, lambda e: e.get_attribute("id") == "deny-reason")
    reason.send_keys("use claude, already approved")
    press_tab_until(driver, lambda e: e.tag_name == "button" and e.text == "Deny").send_keys(Keys.ENTER)
    assert status_text(driver) == "Denied."
    shot(driver, tmp_path, "denied")

    driver.get(f"{deployment.url}/console/grants")
    every_field_is_labelled(driver)
    shot(driver, tmp_path, "grants")
    row = driver.find_element("xpath", f"//tr[td[2][text()='{developer.email}']]")
    row.find_element("css selector", "input[name=reason]").send_keys("project ended")
    row.find_element("css selector", "button").click()
    assert "Revoked" in status_text(driver)

    driver.get(f"{deployment.url}/console/audit?action=access_request.")
    actions = [td.text for td in driver.find_elements("css selector", "tbody tr td:nth-child(4)")]
    assert {"access_request.revoked", "access_request.denied", "access_request.approved"} <= set(actions)
    assert all(a.startswith("access_request.") for a in actions)
    every_field_is_labelled(driver)
    shot(driver, tmp_path, "audit")


def test_a_plain_user_sees_their_own_requests(deployed, browser, tmp_path):
    deployment, _, developer = deployed
    driver = browser
    sign_in(driver, developer)
    assert driver.current_url.endswith("/console/mine")
    assert driver.find_elements("css selector", "tbody tr")
    assert not driver.find_elements("link text", "Pending requests")
    shot(driver, tmp_path, "mine")
    driver.get(f"{deployment.url}/console/requests")
    assert driver.find_element("css selector", "h1").text == "Approvers only"
