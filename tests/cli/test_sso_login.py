"""`aigate login` without a code: SSO through the device authorization flow (fake server, memory keyring).

The real flow, with the real OpenID provider and a real browser, is tests/e2e/test_sso_login.py.
"""

import time

from aigate import config, device_login, keystore
from tests.cli.conftest import SERVER


def test_sso_login_prints_url_and_code_then_keeps_the_credential(cli, server, store):
    server.device_polls = ["authorization-pending", "ok"]
    code, _, err = cli("login", "--server", SERVER)
    assert code == 0, err
    assert f"{SERVER}/sso/device" in err and "BCDF-GHJK" in err
    assert "Logged in to" in err and "ann@corp.example" in err
    assert store.get(keystore.device_entry(SERVER)) == "cred-1"
    assert config.load_config().server.value == SERVER
    assert "dc-1" not in err  # the device code is the polling secret: never shown


def test_slow_down_makes_the_client_wait_longer_between_polls(cli, server, monkeypatch):
    monkeypatch.setattr(device_login, "SLOW_DOWN_STEP_SECONDS", 1)  # RFC 8628 says 5; 1 keeps the test short
    server.device_polls = ["slow-down", "ok"]
    times = []
    answer = server.device_flow
    server.device_flow = lambda path: (times.append(time.monotonic()), answer(path))[1]
    code, _, err = cli("login", "--server", SERVER)
    assert code == 0, err
    assert len(times) == 3 and times[2] - times[1] >= 1.9  # start, then polls 1 + 1 seconds apart


def test_a_sign_in_denied_in_the_browser_exits_77(cli, server, store):
    server.device_polls = ["access-denied"]
    code, _, err = cli("login", "--server", SERVER)
    assert code == 77 and "denied in the browser" in err
    assert store.get(keystore.device_entry(SERVER)) is None


def test_an_expired_device_code_says_to_log_in_again(cli, server):
    server.device_polls = ["expired-token"]
    code, _, err = cli("login", "--server", SERVER)
    assert code == 1 and "expired" in err and f"aigate login --server {SERVER}" in err


def test_a_server_without_sso_falls_back_to_the_enrollment_code(cli, server):
    server.device_polls = None
    code, _, err = cli("login", "--server", SERVER)
    assert code == 2 and "no SSO" in err and "--code" in err
