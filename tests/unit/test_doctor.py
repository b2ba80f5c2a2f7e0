"""`aigate doctor`'s checks as data: bounded in time, secrets never shown, plain text for a ticket."""

import time

from aigate import doctor, doctor_local
from aigate.cli.doctor import render


def test_a_check_that_hangs_is_reported_failed_with_its_fix_and_the_rest_still_run():
    def slow(probe):
        time.sleep(30)

    def fine(probe):
        return doctor.Check("after", True, "ran")

    started = time.monotonic()
    checks = doctor.run_checks(doctor.Probe(env={}), checks=[("stuck", slow, 0.2, "unstick it"),
                                                               ("after", fine, 1, "-")])
    assert time.monotonic() - started < 5
    assert [(c.name, c.ok, c.detail, c.fix) for c in checks] == [
        ("stuck", False, "it did not answer within 0.2 s", "unstick it"), ("after", True, "ran", None)]


def test_a_check_that_raises_is_one_failed_line_without_a_traceback():
    def check_broken(probe):
        raise RuntimeError("sk-secret-in-an-exception")

    [check] = doctor.run_checks(doctor.Probe(env={}), checks=[("broken", check_broken, 1, "-")])
    assert not check.ok and "sk-secret" not in check.detail and check.detail == "the check failed: RuntimeError"


def test_proxy_credentials_are_never_shown():
    check = doctor_local.check_proxy(doctor.Probe(env={"HTTPS_PROXY": "http://ann:hunter2@proxy.corp:3128",
                                                       "no_proxy": "localhost,10.0.0.0/8"}))
    assert check.ok and "hunter2" not in check.detail and "ann" not in check.detail
    assert "HTTPS_PROXY=http://proxy.corp:3128" in check.detail
    assert "NO_PROXY=localhost,10.0.0.0/8" in check.detail  # ranges are honoured (aigate.proxies), not flagged
    assert "not honoured" not in check.detail


def test_a_socks_proxy_without_socks_support_fails(monkeypatch):
    monkeypatch.setattr(doctor_local, "_has_module", lambda name: False)
    check = doctor_local.check_proxy(doctor.Probe(env={"ALL_PROXY": "socks5://proxy.corp:1080"}))
    assert not check.ok and "SOCKS" in check.detail


def test_vendor_keys_are_named_never_shown():
    check = doctor_local.check_environment(doctor.Probe(env={"OPENAI_API_KEY": "sk-live-value"}))
    assert not check.ok and "OPENAI_API_KEY" in check.detail and "sk-live" not in check.detail + check.fix


def test_a_stale_spool_fails_a_fresh_one_passes(isolated_home):
    from aigate import paths

    spool = paths.spool_dir()
    spool.mkdir(parents=True)
    event = spool / "s1-start.json"
    event.write_text("{}")
    assert doctor_local.check_spool(doctor.Probe(env={})).ok
    old = time.time() - 2 * doctor_local.SPOOL_STALE_SECONDS
    import os

    os.utime(event, (old, old))
    check = doctor_local.check_spool(doctor.Probe(env={}))
    assert not check.ok and "not reaching the server" in check.detail


def test_the_report_puts_the_fix_under_a_failure_and_counts_failures():
    text = render([doctor.Check("server", False, "cannot reach X", "check the network"),
                   doctor.Check("keys", True, "stored: anthropic (claude)")], ok=False)
    lines = text.splitlines()
    assert lines[1] == "FAIL  server  cannot reach X"
    assert lines[2] == "              fix: check the network"
    assert lines[3] == "ok    keys    stored: anthropic (claude)"
    assert lines[-1] == "1 of 2 checks failed"


def test_keys_held_by_the_gateway_are_not_asked_for():
    from aigate import constants, keystore, protocol
    from aigate.doctor_server import check_keys

    def access(tool, scope, source):
        return protocol.ToolAccess(tool, constants.ApprovalMode.REQUIRED, scope, 3600, key_source=source)

    probe = doctor.Probe(env={}, store=keystore.MemoryKeyStore({keystore.key_entry("openai"): "sk-x"}))
    probe.me = type("Me", (), {"tools": [access("claude", "anthropic", constants.KEY_SOURCE_GATEWAY),
                                         access("codex", "openai", constants.KEY_SOURCE_LAPTOP)]})()
    check = check_keys(probe)
    assert check.ok and check.detail == "stored: openai (codex); held by the gateway: claude"


def test_path_without_shims_says_the_tool_on_path_is_ungated(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "claude").write_text("#!/bin/sh\nexit 0\n")
    (folder / "claude").chmod(0o755)
    check = doctor_local.check_path(doctor.Probe(env={"PATH": str(folder)}))
    expected = f"nothing ahead of a shim; claude is {folder / 'claude'}, ungated: no shim on PATH (see shims)"
    assert check.ok and check.detail == expected
