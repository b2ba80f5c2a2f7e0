"""Enrollment, authentication, /v1/me and logout over the HTTP API (SQLite and PostgreSQL)."""

from __future__ import annotations

from aigate.protocol import Paths, Role


def test_enrollment_returns_a_device_credential_and_the_issuer(api):
    code = api.add_user("ann@corp.example", ["dev"])
    answer = api.client.post(Paths.ENROLLMENTS, json={"code": code, "device_name": "laptop", "platform": "linux"})
    assert answer.status_code == 201
    body = answer.json()
    assert body["device_credential"].startswith("agd_") and body["issuer"] == "https://aigate.test"


def test_an_enrollment_code_works_only_once(api):
    code = api.add_user("ann@corp.example")
    api.client.post(Paths.ENROLLMENTS, json={"code": code})
    again = api.client.post(Paths.ENROLLMENTS, json={"code": code})
    assert again.status_code == 400 and again.json()["code"] == "enrollment-code-invalid"


def test_an_enrollment_code_expires_after_24_hours(api):
    code = api.add_user("ann@corp.example")
    api.clock.advance(24 * 3600 + 1)
    answer = api.client.post(Paths.ENROLLMENTS, json={"code": code})
    assert answer.json()["code"] == "enrollment-code-invalid"


def test_an_enrollment_code_is_accepted_in_lower_case_without_dashes(api):
    code = api.add_user("ann@corp.example")
    answer = api.client.post(Paths.ENROLLMENTS, json={"code": code.replace("-", "").lower()})
    assert answer.status_code == 201


def test_a_second_code_for_the_same_user_enrolls_a_second_device_of_that_user(api):
    first = api.enroll("ann@corp.example")
    second = api.enroll("ann@corp.example")
    me1 = api.client.get(Paths.ME, headers=first).json()
    me2 = api.client.get(Paths.ME, headers=second).json()
    assert me1["user"]["email"] == me2["user"]["email"] and me1["device_id"] != me2["device_id"]


def test_me_without_credential_is_401_problem(api):
    answer = api.client.get(Paths.ME)
    assert answer.status_code == 401 and answer.json()["code"] == "unauthenticated"
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_forged_credential_with_a_real_device_id_is_refused(api):
    headers = api.enroll("ann@corp.example")
    credential = headers["Authorization"].removeprefix("Bearer ")
    forged = credential[:-4] + ("AAAA" if not credential.endswith("AAAA") else "BBBB")
    answer = api.client.get(Paths.ME, headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401


def test_me_lists_each_tool_with_its_approval_mode(api):
    headers = api.enroll("ann@corp.example", ["dev"])
    tools = {t["tool"]: t for t in api.client.get(Paths.ME, headers=headers).json()["tools"]}
    assert tools["claude"]["approval"] == "required" and tools["claude"]["max_duration_seconds"] == 8 * 3600


def test_disabling_a_user_stops_all_of_their_devices(api):
    from aigate.server.identity import set_disabled_job
    from aigate.server.writer import write_now

    first, second = api.enroll("ann@corp.example"), api.enroll("ann@corp.example")
    write_now(api.engine, set_disabled_job("ann@corp.example", True, "test"))
    codes = [api.client.get(Paths.ME, headers=h).json()["code"] for h in (first, second)]
    assert codes == ["user-disabled", "user-disabled"]


def test_enabling_a_user_again_restores_their_devices(api):
    from aigate.server.identity import set_disabled_job
    from aigate.server.writer import write_now

    headers = api.enroll("ann@corp.example")
    write_now(api.engine, set_disabled_job("ann@corp.example", True, "test"))
    write_now(api.engine, set_disabled_job("ann@corp.example", False, "test"))
    assert api.client.get(Paths.ME, headers=headers).status_code == 200


def test_a_disabled_user_cannot_enroll_a_device(api):
    from aigate.server.identity import set_disabled_job
    from aigate.server.writer import write_now

    code = api.add_user("ann@corp.example")
    write_now(api.engine, set_disabled_job("ann@corp.example", True, "test"))
    answer = api.client.post(Paths.ENROLLMENTS, json={"code": code})
    assert answer.status_code == 403 and answer.json()["code"] == "user-disabled"


def test_logout_makes_the_credential_stop_working(api):
    headers = api.enroll("ann@corp.example")
    assert api.client.delete(Paths.CURRENT_DEVICE, headers=headers).status_code == 204
    assert api.client.get(Paths.ME, headers=headers).status_code == 401


def test_logout_leaves_the_users_other_devices_working(api):
    first, second = api.enroll("ann@corp.example"), api.enroll("ann@corp.example")
    api.client.delete(Paths.CURRENT_DEVICE, headers=first)
    assert api.client.get(Paths.ME, headers=second).status_code == 200


def test_enrollment_is_an_audit_event(api):
    api.enroll("ann@corp.example", role=Role.APPROVER)
    assert "device.enrolled" in api.audit_actions()


def test_adding_an_existing_user_without_groups_or_role_changes_nothing_on_either_database(api):
    from aigate.protocol import Role
    from aigate.server import identity
    from aigate.server.writer import write_now

    api.add_user("ann@corp.example", ["dev"], Role.APPROVER)
    changed: list[str] = []
    user, _ = write_now(api.engine, identity.add_user_job("ann@corp.example", None, None, "test", changed))
    assert (user.groups, user.role, changed) == (["dev"], Role.APPROVER, [])


def test_adding_an_existing_user_with_a_new_role_reports_the_change_on_either_database(api):
    from aigate.protocol import Role
    from aigate.server import identity
    from aigate.server.writer import write_now

    api.add_user("ann@corp.example", ["dev"])
    changed: list[str] = []
    write_now(api.engine, identity.add_user_job("ann@corp.example", ["dev"], Role.ADMIN, "test", changed))
    assert changed == ["role user -> admin"]
