"""The approver console over HTTP (in-process app, SQLite and PostgreSQL): sign-in, rules, defences."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from aigate.protocol import Paths, Role
from aigate.server.console import sessions
from aigate.server.console.render import CSP


@dataclass
class Browser:
    """A console session as a browser holds it: the cookie (sent by hand: it is Secure) and a CSRF token."""

    api: object
    cookie: str = ""

    def get(self, path: str, **kw):
        return self.api.client.get(path, headers={"Cookie": self.cookie}, follow_redirects=False, **kw)

    def post(self, path: str, data: dict, site: str = "same-origin"):
        return self.api.client.post(path, data=data, follow_redirects=False,
                                    headers={"Cookie": self.cookie, "Sec-Fetch-Site": site})

    def csrf(self, path: str = "/console/mine") -> str:
        return re.search(r'name="csrf" value="([0-9a-f]+)"', self.get(path).text).group(1)


def link_for(api, headers) -> str:
    answer = api.client.post(Paths.CONSOLE_LINKS, headers=headers)
    assert answer.status_code == 201, answer.text
    url = answer.json()["url"]
    assert url.startswith("https://aigate.test/console/signin?token=")
    return url


def sign_in(api, headers) -> Browser:
    token = urlsplit(link_for(api, headers)).query.split("=", 1)[1]
    answer = api.client.post("/console/signin", data={"token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return Browser(api, answer.headers["set-cookie"].split(";", 1)[0])


@pytest.fixture
def team(api):
    return {"ann": api.enroll("ann@corp.example"), "boss": api.enroll("boss@corp.example", role=Role.APPROVER),
            "chief": api.enroll("chief@corp.example", role=Role.ADMIN)}


def test_a_link_signs_in_once_with_a_secure_httponly_samesite_host_cookie(api, team):
    token = urlsplit(link_for(api, team["boss"])).query.split("=", 1)[1]
    shown = api.client.get(f"/console/signin?token={token}")
    assert shown.status_code == 200 and f'value="{token}"' in shown.text  # a GET does not use it up
    first = api.client.post("/console/signin", data={"token": token}, follow_redirects=False)
    cookie = first.headers["set-cookie"]
    assert first.status_code == 303 and cookie.startswith("__Host-aigate-console=")
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"))
    again = api.client.post("/console/signin", data={"token": token}, follow_redirects=False)
    assert again.status_code == 400 and "set-cookie" not in again.headers


def test_a_link_expires_in_minutes(api, team):
    token = urlsplit(link_for(api, team["boss"])).query.split("=", 1)[1]
    api.clock.advance(5 * 60 + 1)
    assert api.client.post("/console/signin", data={"token": token}).status_code == 400


def test_logging_the_device_out_ends_its_console_session(api, team):
    boss = sign_in(api, team["boss"])
    assert boss.get("/console/requests").status_code == 200
    api.client.delete(Paths.CURRENT_DEVICE, headers=team["boss"])
    answer = boss.get("/console/requests")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin?next=%2Fconsole%2Frequests"


@pytest.mark.parametrize("where", ["https://evil.example/console", "//evil.example/console", "/console/../v1/me",
                                   "/consolex", "/console\\evil", "javascript:alert(1)", ""])
def test_after_signing_in_only_a_console_page_of_this_server_is_a_destination(where):
    assert sessions.safe_next(where) == "/console"


def test_after_signing_in_the_page_asked_for_is_kept():
    assert sessions.safe_next("/console/requests/7a1e8c448e34121f") == "/console/requests/7a1e8c448e34121f"
    assert sessions.safe_next("/console/audit?action=access_request.") == "/console/audit?action=access_request."


def test_every_page_carries_a_strict_content_security_policy(api, team):
    boss = sign_in(api, team["boss"])
    for path in ("/console/requests", "/console/grants", "/console/audit", "/console/mine", "/console/signin"):
        answer = boss.get(path)
        assert answer.headers["content-security-policy"] == CSP, path
        assert answer.headers["x-frame-options"] == "DENY" and answer.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in CSP and "'unsafe-inline'" not in CSP and "default-src 'none'" in CSP


def test_what_a_requester_typed_is_shown_as_text(api, team):
    reason = "<script>alert(1)</script> \"quoted\" & <b>bold</b>"
    item = api.request(team["ann"], reason=reason)
    page = sign_in(api, team["boss"]).get(f"/console/requests/{item['id']}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#34;quoted&#34; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "<script>" not in page and "<b>bold" not in page


def test_a_form_without_the_sessions_csrf_token_changes_nothing(api, team):
    item = api.request(team["ann"])
    boss = sign_in(api, team["boss"])
    assert boss.post(f"/console/requests/{item['id']}/approve", {"csrf": "0" * 64}).status_code == 403
    assert boss.post(f"/console/requests/{item['id']}/approve", {"duration": "1h"}).status_code == 403
    csrf = boss.csrf()
    assert boss.post(f"/console/requests/{item['id']}/approve", {"csrf": csrf}, site="cross-site").status_code == 403
    assert api.client.get(Paths.ACCESS_REQUEST.format(id=item["id"]), headers=team["ann"]).json()["state"] == "pending"


def test_a_plain_user_sees_only_their_own_requests_and_decides_nothing(api, team):
    item = api.request(team["ann"], reason="mine to see")
    ann = sign_in(api, team["ann"])
    assert ann.get("/console").headers["location"] == "/console/mine"
    assert "mine to see" in ann.get("/console/mine").text
    for path in ("/console/requests", "/console/grants", "/console/audit"):
        assert ann.get(path).status_code == 403
    assert ann.post(f"/console/requests/{item['id']}/approve", {"csrf": ann.csrf()}).status_code == 403
    assert "Approve</button>" not in ann.get(f"/console/requests/{item['id']}").text


def test_nobody_decides_their_own_request_in_the_console(api, team):
    item = api.request(team["boss"])
    boss = sign_in(api, team["boss"])
    page = boss.get(f"/console/requests/{item['id']}").text
    assert "your own request" in page and "Approve</button>" not in page
    answer = boss.post(f"/console/requests/{item['id']}/approve", {"csrf": boss.csrf()})
    assert answer.status_code == 403 and "nobody reviews their own access request" in answer.text


def test_approve_says_the_rules_maximum_and_caps_a_longer_duration(api, team):
    item = api.request(team["ann"])
    boss = sign_in(api, team["boss"])
    page = boss.get(f"/console/requests/{item['id']}").text
    assert "At most 8h, the\n      maximum of the policy rule for claude" in page
    answer = boss.post(f"/console/requests/{item['id']}/approve", {"csrf": boss.csrf(), "duration": "30h"})
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=capped")
    page = boss.get(answer.headers["location"]).text
    assert "capped" in page and "<dt>Granted for</dt><dd>8h</dd>" in page


def test_deny_needs_a_reason(api, team):
    item = api.request(team["ann"])
    boss = sign_in(api, team["boss"])
    answer = boss.post(f"/console/requests/{item['id']}/deny", {"csrf": boss.csrf(), "reason": "  "})
    assert answer.status_code == 422 and 'role="alert"' in answer.text
    answer = boss.post(f"/console/requests/{item['id']}/deny", {"csrf": boss.csrf(), "reason": "use the sandbox"})
    assert answer.status_code == 303
    assert "use the sandbox" in boss.get(f"/console/requests/{item['id']}").text


def test_two_approvers_at_once_get_one_winner_and_the_other_is_told(api, team):
    item = api.request(team["ann"])
    boss, chief = sign_in(api, team["boss"]), sign_in(api, team["chief"])
    forms = [(boss, "approve", {"csrf": boss.csrf()}), (chief, "deny", {"csrf": chief.csrf(), "reason": "no"})]
    answers: list = [None, None]

    def decide(i: int) -> None:
        who, action, data = forms[i]
        answers[i] = who.post(f"/console/requests/{item['id']}/{action}", data)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [303, 409]
    loser = next(a for a in answers if a.status_code == 409)
    assert "someone decided this request first" in loser.text and 'role="alert"' in loser.text


def test_revoking_from_the_grants_page(api, team):
    item = api.request(team["ann"])
    api.approve(item["id"], team["boss"])
    chief = sign_in(api, team["chief"])
    assert item["id"] in chief.get("/console/grants").text
    answer = chief.post(f"/console/requests/{item['id']}/revoke",
                        {"csrf": chief.csrf(), "reason": "project ended", "next": "grants"})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/grants?done=revoked"
    assert item["id"] not in chief.get("/console/grants").text


def test_the_audit_trail_filters_by_action_prefix_and_actor(api, team):
    item = api.request(team["ann"])
    api.approve(item["id"], team["boss"])
    chief = sign_in(api, team["chief"])
    page = chief.get("/console/audit", params={"action": "access_request.", "actor": "boss@corp.example"}).text
    rows = re.findall(r"<td>(access_request\.\w+|console\.\w+|device\.\w+|user\.\w+)</td>", page)
    assert rows == ["access_request.approved"]


def test_signing_out_ends_the_session(api, team):
    boss = sign_in(api, team["boss"])
    answer = boss.post("/console/signout", {"csrf": boss.csrf()})
    assert answer.status_code == 303 and "Max-Age=0" in answer.headers["set-cookie"]
    assert boss.get("/console/requests").status_code == 303


def test_the_sweep_forgets_links_and_sessions_a_day_after_they_ended(api, team):
    from sqlalchemy import func, select

    from aigate.server.models import console_links, console_sessions
    from aigate.server.writer import write_now

    sign_in(api, team["boss"])
    link_for(api, team["boss"])  # never used
    def count(table) -> int:
        with api.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar()

    assert (count(console_links), count(console_sessions)) == (2, 1)
    write_now(api.engine, sessions.sweep_job, lambda: api.clock() + sessions.SESSION_SECONDS + 86400 + 1)
    assert (count(console_links), count(console_sessions)) == (0, 0)
