"""The device authorization API and its jobs, in-process, on SQLite and PostgreSQL (clock moved by hand).

The sign-in itself (provider, browser) is in test_sso_browser.py; here an :class:`Identity` stands
for a verified ID token, so the database side is checked on both backends.
"""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from aigate.protocol import Paths
from aigate.server import device_flow, sso_logins
from aigate.server.identity import set_disabled_job
from aigate.server.models import device_authorizations
from aigate.server.models import sso_logins as sso_logins_table
from aigate.server.oidc import Identity, OidcClient, OidcConfig, pkce_pair
from aigate.server.writer import write_now


@pytest.fixture
def sso_api(api):
    """The ``api`` fixture with SSO configured (the provider is never called by these tests)."""
    config = OidcConfig("https://idp.corp.example", "aigate", "client-secret")
    api.client.app.state.services.oidc = OidcClient(config, "https://aigate.test/sso/callback")
    return api


def start(api) -> dict:
    answer = api.client.post(Paths.DEVICE_AUTHORIZATIONS, json={"device_name": "laptop", "platform": "Linux"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def poll(api, grant: dict):
    return api.client.post(Paths.DEVICE_TOKEN, json={"device_code": grant["device_code"]})


def sign_in_and_confirm(api, grant: dict, email: str, groups: list[str] | None, approve: bool = True):
    """What the browser pages do after the provider vouched for ``email``: finish the sign-in, confirm."""
    found = write_now(api.engine, lambda conn, now: (device_flow.find_by_user_code(conn, grant["user_code"], now), []))
    assert found is not None
    state, nonce, (_, challenge) = secrets.token_urlsafe(16), secrets.token_urlsafe(16), pkce_pair()
    write_now(api.engine, sso_logins.begin_login_job(state, nonce, challenge, sso_logins.PURPOSE_DEVICE,
                                                     device_authorization_id=found.id))
    login = write_now(api.engine, lambda conn, now: (sso_logins.pending_login(conn, state, now), []))
    confirm = secrets.token_urlsafe(16)
    result = write_now(api.engine, sso_logins.finish_login_job(login, Identity("sub-1", email, groups), confirm))
    if not isinstance(result, str):
        write_now(api.engine, device_flow.confirm_job(confirm, approve))
    return result


def test_a_server_without_sso_says_so(api):
    answer = api.client.post(Paths.DEVICE_AUTHORIZATIONS, json={})
    assert answer.status_code == 404 and answer.json()["code"] == "sso-not-configured"


def test_a_device_authorization_has_the_rfc_8628_shape_and_stores_no_code_in_clear(sso_api):
    grant = start(sso_api)
    assert grant["verification_uri"] == "https://aigate.test/sso/device"
    assert grant["verification_uri_complete"].endswith(f"?user_code={grant['user_code']}")
    assert grant["expires_in"] == 600 and grant["interval"] == 5
    assert len(grant["user_code"]) == 9 and set(grant["user_code"]) <= set(device_flow.USER_CODE_ALPHABET + "-")
    with sso_api.engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(select(device_authorizations)) for v in row)
    assert grant["device_code"] not in stored and grant["user_code"].replace("-", "") not in stored


def test_polling_before_the_user_confirmed_is_pending_and_polling_too_fast_slows_down(sso_api):
    grant = start(sso_api)
    assert poll(sso_api, grant).json()["code"] == "authorization-pending"
    assert poll(sso_api, grant).json()["code"] == "slow-down"
    sso_api.clock.advance(6)
    assert poll(sso_api, grant).json()["code"] == "slow-down"  # 10 s now; and 15 s after this one
    sso_api.clock.advance(15)
    assert poll(sso_api, grant).json()["code"] == "authorization-pending"


def test_a_confirmed_device_gets_its_credential_once(sso_api):
    grant = start(sso_api)
    user, device = sign_in_and_confirm(sso_api, grant, "ann@corp.example", ["dev"])
    assert user.created and device.device_name == "laptop"
    enrolled = poll(sso_api, grant)
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["user"]["email"] == "ann@corp.example"
    headers = {"Authorization": f"Bearer {enrolled.json()['device_credential']}"}
    assert sso_api.client.get(Paths.ME, headers=headers).json()["user"]["groups"] == ["dev"]
    sso_api.clock.advance(6)
    assert poll(sso_api, grant).json()["code"] == "expired-token"
    actions = sso_api.audit_actions()
    assert {"user.created", "sso.signed_in", "device_authorization.approved", "device.enrolled"} <= set(actions)


def test_a_device_code_expires_unconfirmed(sso_api):
    grant = start(sso_api)
    sso_api.clock.advance(601)
    assert poll(sso_api, grant).json()["code"] == "expired-token"
    assert sso_api.client.post(Paths.DEVICE_TOKEN, json={"device_code": "made-up"}).json()["code"] == "expired-token"


def test_a_denied_device_is_refused(sso_api):
    grant = start(sso_api)
    sign_in_and_confirm(sso_api, grant, "ann@corp.example", ["dev"], approve=False)
    assert poll(sso_api, grant).json()["code"] == "access-denied"


def test_a_user_disabled_before_signing_in_is_refused_and_the_device_denied(sso_api):
    sso_api.add_user("eve@corp.example", ["dev"])
    write_now(sso_api.engine, set_disabled_job("eve@corp.example", True, "test"))
    grant = start(sso_api)
    refused = sign_in_and_confirm(sso_api, grant, "eve@corp.example", ["dev"])
    assert isinstance(refused, str) and "disabled" in refused
    assert poll(sso_api, grant).json()["code"] == "access-denied"


def test_a_user_disabled_after_confirming_gets_no_device(sso_api):
    grant = start(sso_api)
    sign_in_and_confirm(sso_api, grant, "sam@corp.example", ["dev"])
    write_now(sso_api.engine, set_disabled_job("sam@corp.example", True, "test"))
    answer = poll(sso_api, grant)
    assert answer.status_code == 403 and answer.json()["code"] == "user-disabled"


def test_a_token_without_a_groups_claim_keeps_the_groups_an_admin_gave(sso_api):
    sso_api.add_user("kim@corp.example", ["applied-ai"])
    user, _ = sign_in_and_confirm(sso_api, start(sso_api), "kim@corp.example", None)
    assert not user.created and user.groups == ["applied-ai"]


def test_a_sign_in_is_single_use(sso_api):
    state, nonce, (_, challenge) = "s" * 43, "n" * 43, pkce_pair()
    write_now(sso_api.engine, sso_logins.begin_login_job(state, nonce, challenge, sso_logins.PURPOSE_DEVICE))
    login = write_now(sso_api.engine, lambda conn, now: (sso_logins.pending_login(conn, state, now), []))
    write_now(sso_api.engine, lambda conn, now: (sso_logins.claim_login(conn, login, now), []))
    with pytest.raises(sso_logins.SignInRefused):
        write_now(sso_api.engine, lambda conn, now: (sso_logins.claim_login(conn, login, now), []))
    with sso_api.engine.connect() as conn:
        assert conn.execute(select(sso_logins_table.c.state_hash)).scalar() != state
