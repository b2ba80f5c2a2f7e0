"""SSO end to end: a developer signs in from the CLI with the company's OpenID provider (the real
oidc-provider, the device flow completed in a real headless Chromium) and runs the real claude with
no enrollment code; an approver whose role comes from their groups approves from the CLI.

Screenshots of every page go to the test's ``tmp_path/screenshots``.
"""

from __future__ import annotations

import queue
import re
import subprocess
import threading
from pathlib import Path

import pytest
from browser import open_browser, save_screenshot
from deployment import ANTHROPIC_KEY, VENV_BIN, Deployment, Person
from oidc_provider import SSO_POLICY, OidcProvider, sign_in

from harness.postgres import free_port
from harness.server import init_server, start_server
from harness.vendor_standin import REPLY_MARKER, credentials_seen

pytestmark = pytest.mark.e2e

PROMPT = re.compile(r"open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})")


@pytest.fixture(scope="module")
def sso_deployment(module_dir: Path):
    """An aigate-server with SSO at the real OpenID provider (SQLite, loopback), for this module."""
    port = free_port()
    data_dir = init_server(module_dir / "sso-server", policy=SSO_POLICY)
    with OidcProvider(module_dir, redirect_uri=f"http://127.0.0.1:{port}/sso/callback") as provider:
        server = start_server(data_dir, port=port, extra_args=provider.serve_args(), env=provider.server_env())
        yield Deployment(data_dir, server=server, port=port), provider
        server.stop()


def sso_login(person: Person, provider: OidcProvider, groups: list[str], shots: Path) -> str:
    """``aigate login --server URL`` (no code) as ``person``; the browser signs in as them, its screenshots
    in ``shots/screenshots``. Returns what the command printed on stderr."""
    provider.set_account(person.email, groups=groups)
    process = subprocess.Popen([str(VENV_BIN / "aigate"), "login", "--server", person.deployment.url],
                               cwd=person.workdir, env=person.env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True)
    reader.start()
    said = []
    try:
        while not (match := PROMPT.search("".join(said))):
            said.append(lines.get(timeout=60))
        page, user_code = match.groups()
        with open_browser(shots / "chromium") as browser:
            _confirm_in_browser(browser, page, user_code, person.email, provider, shots)
        process.wait(timeout=60)
        out = process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=10)
    while not lines.empty():
        said.append(lines.get())
    text = "".join(said)
    person.printed += [out, text]
    assert process.returncode == 0, text
    return text


def _confirm_in_browser(browser, page: str, user_code: str, login: str, provider: OidcProvider, shots: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(page)  # the bare verification URL: the person types the code shown in the terminal
    browser.find_element(By.ID, "user_code").send_keys(user_code)
    save_screenshot(browser, shots, "sso-1-enter-code")
    browser.find_element(By.ID, "continue").click()
    sign_in(browser, login, shots=shots, prefix="sso-2-")
    save_screenshot(browser, shots, "sso-3-allow-device")
    browser.find_element(By.ID, "approve").click()
    save_screenshot(browser, shots, "sso-4-done")
    assert "signed in to aigate" in browser.find_element(By.ID, "outcome").text


def test_a_developer_signs_in_with_sso_and_runs_claude_without_an_enrollment_code(
        sso_deployment, people, standin, tmp_path):
    deployment, provider = sso_deployment
    dev = people(deployment, "sso-dev")
    said = sso_login(dev, provider, ["applied-ai"], tmp_path)
    assert f"Logged in to {deployment.url} as {dev.email}" in said, said
    dev.set_key("anthropic", ANTHROPIC_KEY)
    result = dev.aigate("run", "claude", "-p", "hello after sso", extra={"ANTHROPIC_BASE_URL": standin.url})
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from anthropic: you said 'hello after sso'" in result.stdout
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}


def test_an_approver_by_group_signs_in_with_sso_and_approves(sso_deployment, people, tmp_path):
    deployment, provider = sso_deployment
    dev, lead = people(deployment, "sso-dev2"), people(deployment, "sso-lead")
    sso_login(dev, provider, ["dev"], tmp_path / "dev")
    sso_login(lead, provider, ["eng-leads"], tmp_path / "lead")
    assert "(approver)" in lead.ok("status").stdout
    request_id = dev.request("codex")
    lead.ok("admin", "approve", request_id)
    assert "approved" in dev.ok("requests").stdout
    refused = dev.aigate("admin", "approve", request_id)
    assert refused.returncode == 77


@pytest.fixture(scope="module")
def notified_deployment(module_dir: Path):
    """Like ``sso_deployment``, with a Slack-format [[notify]] receiver on loopback."""
    from receiver import WebhookReceiver

    port = free_port()
    with WebhookReceiver() as slack:
        policy = SSO_POLICY + f'\n[[notify]]\nurl = "{slack.url}"\nformat = "slack"\nevents = ["request.created"]\n'
        data_dir = init_server(module_dir / "notified-server", policy=policy)
        with OidcProvider(module_dir / "notified", redirect_uri=f"http://127.0.0.1:{port}/sso/callback") as provider:
            server = start_server(data_dir, port=port, extra_args=provider.serve_args(), env=provider.server_env())
            yield Deployment(data_dir, server=server, port=port), provider, slack
            server.stop()


def test_sso_developer_waits_the_approver_follows_the_slack_link_signs_in_with_sso_and_approves(
        notified_deployment, people, standin, tmp_path):
    """The issue's "done when": no enrollment code anywhere; `request --wait` returns at once."""
    import time

    from selenium.webdriver.support.ui import WebDriverWait

    deployment, provider, slack = notified_deployment
    dev, lead = people(deployment, "waiting-dev"), people(deployment, "slack-lead")
    sso_login(dev, provider, ["dev"], tmp_path / "dev")
    provider.set_account(lead.email, groups=["eng-leads"])
    waiting = subprocess.Popen([str(VENV_BIN / "aigate"), "request", "claude", "--reason", "ship the fix", "--wait"],
                               cwd=dev.workdir, env=dev.env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        (note,) = slack.wait_for(1)
        text = note.json["text"]
        link = text[text.index("<http") + 1:text.index("|request ")]
        with open_browser(tmp_path / "chromium") as browser:
            browser.get(link)
            browser.find_element("link text", "Sign in with SSO").click()
            sign_in(browser, lead.email, shots=tmp_path, prefix="console-")
            WebDriverWait(browser, 30).until(lambda d: d.current_url == link)
            save_screenshot(browser, tmp_path, "console-request-after-sso")
            browser.find_element("xpath", "//button[text()='Approve']").click()
            approved = time.monotonic()
            WebDriverWait(browser, 30).until(lambda d: d.find_elements("css selector", "[role=status]"))
        _, err = waiting.communicate(timeout=30)
        returned = time.monotonic() - approved
    finally:
        if waiting.poll() is None:
            waiting.kill()
    dev.printed.append(err)
    assert waiting.returncode == 0, err
    assert returned < 5.0, f"request --wait returned {returned:.1f}s after the approval"
    dev.set_key("anthropic", ANTHROPIC_KEY)
    result = dev.aigate("run", "claude", "-p", "approved in the console", extra={"ANTHROPIC_BASE_URL": standin.url})
    assert result.returncode == 0, result.stderr
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}
