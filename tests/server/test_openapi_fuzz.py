"""The OpenAPI tells the truth: schemathesis, every check, over every operation of the app.

Each operation of the published schema (routes added later are picked up by themselves) is fuzzed
with a bounded number of examples, positive and negative, without credentials and with a device
credential (an admin's, fresh for each operation, so a logout case cannot spoil the next one), on
SQLite and PostgreSQL. Any failure (a 5xx, an undocumented status or content type, a body that does
not fit its documented schema, schema-valid data refused or schema-invalid data accepted, a wrong
``Allow`` ...) fails the test with schemathesis's own report. ``AIGATE_FUZZ_EXAMPLES`` raises the
bound for a longer run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from aigate.protocol import Paths, Role
from aigate.server import db as dbmod
from aigate.server import identity
from aigate.server.app import create_app
from aigate.server.services import open_services
from aigate.server.settings import Settings
from aigate.server.writer import write_now
from tests.server.conftest import POLICY, Clock, _template

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402 - after the importorskip
from schemathesis.checks import CHECKS, load_all_checks  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

EXAMPLES = int(os.environ.get("AIGATE_FUZZ_EXAMPLES", "12"))
CONFIG = {
    # An enrollment code is a credential: a well-formed one that was never issued is refused 400
    # (enrollment-code-invalid), as any credential check refuses a wrong credential.
    "operations": [{"include-path": Paths.ENROLLMENTS,
                    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "403", "429"]}}}],
}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzzed(request, tmp_path_factory, templates) -> Iterator[tuple]:
    """One app per backend for the module: (app, engine)."""
    folder, url = _template(templates, request.param, request)
    base = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    data_dir = base / "data"
    shutil.copytree(folder, data_dir, ignore=shutil.ignore_patterns("aigate.db*"))
    (data_dir / "policy.toml").write_text(POLICY)
    if request.param == "sqlite":
        shutil.copy(folder / "aigate.db", base / "aigate.db")
        db_url = f"sqlite:///{base / 'aigate.db'}"
    else:
        from harness.postgres import create_database

        db_url = create_database(url, "fuzz", template="template_aigate")
    services = open_services(Settings.resolve(data_dir, db_url, public_url="https://aigate.test"), Clock())
    engine = dbmod.make_engine(db_url, writer=True, pool_size=1)
    app = create_app(services, sweep_seconds=3600)
    from fastapi.testclient import TestClient

    with TestClient(app):  # runs the lifespan (writer loop, sweeper) for the module
        yield app, engine
    engine.dispose()


def _credential(app, engine) -> str:
    from fastapi.testclient import TestClient

    _, code = write_now(engine, identity.add_user_job("fuzz@corp.example", ["dev"], Role.ADMIN, "test"))
    answer = TestClient(app).post(Paths.ENROLLMENTS, json={"code": code},
                                  headers={"X-Forwarded-For": "10.9.9.9"})
    assert answer.status_code == 201, answer.text
    return answer.json()["device_credential"]


def _operations(app) -> list:
    schema = schemathesis.openapi.from_asgi(Paths.OPENAPI, _without_lifespan(app),
                                            config=SchemathesisConfig.from_dict(CONFIG))
    return [result.ok() for result in schema.get_all_operations()]


def _without_lifespan(app):
    """``app`` for schemathesis's test clients, whose lifespan events would close the module's services."""

    async def asgi(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return None

    return asgi


@pytest.mark.parametrize("with_credential", [False, True], ids=["anonymous", "device"])
def test_schemathesis_finds_no_failure_in_any_operation(fuzzed, with_credential):
    app, engine = fuzzed
    load_all_checks()
    checks = CHECKS.get_all()
    failures = []
    for operation in _operations(app):
        headers = {"Authorization": f"Bearer {_credential(app, engine)}"} if with_credential else None
        app.state.services.limits.__init__(app.state.services.clock)  # a fresh rate budget per operation
        strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE) | \
            operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE)
        run = _fuzzer(strategy, headers, checks)
        try:
            run()
        except Exception as failure:  # noqa: BLE001 - collected, so one run reports every operation
            failures.append(f"{operation.label}: {failure}")
    assert failures == [], "\n\n".join(failures)


def _fuzzer(strategy, headers, checks):
    """A hypothesis test sending each generated case (with ``headers``) and running ``checks`` on it."""

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    return run


def test_options_names_every_method_of_the_path_in_allow(fuzzed):
    from fastapi.testclient import TestClient

    answer = TestClient(fuzzed[0]).options(Paths.ACCESS_REQUESTS)
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, POST"
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_secured_operation_without_a_credential_is_401_before_its_body_is_parsed(fuzzed):
    from fastapi.testclient import TestClient

    answer = TestClient(fuzzed[0]).post(Paths.ACCESS_REQUESTS, content=b"{not json",
                                         headers={"content-type": "application/json"})
    assert answer.status_code == 401 and answer.json()["code"] == "unauthenticated"


def test_every_documented_error_is_problem_details_and_422_is_not_fastapis_shape(fuzzed):
    document = fuzzed[0].openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
            assert errors, f"{method} {path} documents no error"
            assert all(list(r["content"]) == ["application/problem+json"] for r in errors.values()), (method, path)


def test_the_tool_fields_the_policy_judges_are_enums_of_the_policys_tools(fuzzed):
    schemas = fuzzed[0].openapi()["components"]["schemas"]
    assert schemas["ApprovalTokenCreate"]["properties"]["tool"]["enum"] == ["claude", "codex"]
    assert schemas["AccessRequestCreate"]["properties"]["tool"]["enum"] == ["claude", "codex"]
