"""What a new user's tester found: each case states the expected value."""

import json

from aigate import keystore
from tests.cli.conftest import SERVER


def test_a_request_whose_answer_was_lost_says_it_may_be_filed_and_how_to_see_it(cli, logged_in, server):
    server.lose_create_answer = True
    code, _, err = cli("request", "claude", "--reason", "refactor")
    assert code == 69 and "may have been filed" in err and "aigate requests" in err
    assert list(server.requests) == ["r1"]


def test_a_server_never_reached_does_not_say_the_request_may_be_filed(cli, logged_in, server, monkeypatch):
    import httpx

    def refuse(request):
        raise httpx.ConnectError("connection refused")

    monkeypatch.setattr(server, "create", refuse)
    code, _, err = cli("request", "claude", "--reason", "x")
    assert code == 69 and "cannot reach" in err and "may have been filed" not in err


def test_request_wait_with_a_pending_request_waits_on_it_and_says_so(cli, logged_in, server):
    server.one_pending = True
    cli("request", "claude", "--reason", "first")
    server.decide_on_poll = "approved"
    code, _, err = cli("request", "claude", "--reason", "again", "--wait")
    assert code == 0, err
    assert "already have a pending request r1 for claude: waiting on it" in err
    assert list(server.requests) == ["r1"]


def test_request_without_wait_and_a_pending_request_names_the_wait_command(cli, logged_in, server):
    server.one_pending = True
    cli("request", "claude", "--reason", "first")
    code, _, err = cli("request", "claude", "--reason", "again")
    assert code == 1 and "aigate requests wait r1" in err


def test_requests_wait_waits_on_an_id(cli, logged_in, server):
    cli("request", "claude", "--reason", "first")
    server.decide_on_poll = "denied"
    code, out, _ = cli("requests", "wait", "r1", "--json")
    assert code == 77 and json.loads(out) == {"id": "r1", "state": "denied"}


def test_login_again_revokes_the_previous_device_and_says_so(cli, logged_in, server, store):
    server.codes["8KQ2-MX4P-9TRD"] = "ann@corp.example"
    code, _, err = cli("login", "--server", SERVER, "--code", "8KQ2-MX4P-9TRD")
    assert code == 0, err
    assert "previous device d1 of this computer was revoked" in err
    assert server.devices == {"cred-2": "d2"}
    assert store.get(keystore.device_entry(SERVER)) == "cred-2"


def test_logout_with_the_server_unreachable_names_the_admin_command_that_exists(cli, logged_in, server,
                                                                                monkeypatch):
    import httpx

    real = server.__call__

    def down(request):
        if request.method == "DELETE":
            raise httpx.ConnectError("connection refused")
        return real(request)

    monkeypatch.setattr(type(server), "__call__", lambda self, request: down(request))
    code, _, err = cli("logout")
    assert code == 0 and "aigate-server users revoke-device d1" in err
    assert "disable this device" not in err


def test_a_fullwidth_duration_is_refused_as_a_usage_error(cli, logged_in, server):
    code, _, err = cli("request", "claude", "--reason", "x", "--duration", "\uff18h")
    assert code == 2 and "invalid duration" in err and server.requests == {}


def test_a_server_that_is_not_a_url_says_so_instead_of_suggesting_login_with_it(cli):
    code, _, err = cli("--server", "notaurl", "requests")
    assert code == 2 and "'notaurl' (from --server) is not an http(s) URL" in err
    assert "aigate login --server notaurl" not in err


def test_a_corrupt_config_toml_says_how_to_fix_it(cli):
    from aigate import paths

    paths.user_config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.user_config_file().write_text("server = [\n")
    code, _, err = cli("requests")
    assert code == 78 and "is not valid TOML" in err and "aigate: to fix: fix it, or remove it" in err


def test_a_missing_ca_bundle_says_how_to_fix_it(tmp_path):
    import pytest

    from aigate.approval import make_http_client
    from aigate.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        make_http_client(SERVER, ca_bundle=str(tmp_path / "none.pem"))
    assert "cannot read ca_bundle" in caught.value.message and "readable PEM file" in caught.value.hint
