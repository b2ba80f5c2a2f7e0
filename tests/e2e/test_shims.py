"""The shims end to end: a bare `claude -p` and `codex exec`, typed as a developer types them, go
through the gate to the vendor stand-in with the scoped key only; without an approval, 77 and the fix."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from deployment import ANTHROPIC_KEY, OPENAI_KEY, VENV_BIN, Person

from harness.toolenv import SYSTEM_PATH, TOOLS_BIN
from harness.vendor_standin import REPLY_MARKER, VendorStandin, credentials_seen

pytestmark = pytest.mark.e2e


def shimmed(person: Person, tmp_path: Path) -> Path:
    """`aigate shims install --dir` in the person's HOME; the folder (not yet on anyone's PATH)."""
    folder = tmp_path / "shims"
    person.ok("shims", "install", "--dir", str(folder))
    return folder


def bare(person: Person, shims: Path, *argv: str, extra: dict | None = None) -> subprocess.CompletedProcess[str]:
    """``argv`` as the person types it, with the shims first on PATH, then the real tools."""
    env = person.env(extra)
    env["PATH"] = f"{shims}:{VENV_BIN}:{TOOLS_BIN}:{SYSTEM_PATH}"
    result = subprocess.run(list(argv), cwd=person.workdir, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=120, check=False)
    person.printed += [result.stdout, result.stderr]
    return result


def test_a_bare_claude_p_goes_through_the_gate(ready_dev, standin: VendorStandin, tmp_path):
    shims = shimmed(ready_dev, tmp_path)
    result = bare(ready_dev, shims, "claude", "-p", "hello from a habit",
                  extra={"ANTHROPIC_BASE_URL": standin.url, "ANTHROPIC_API_KEY": "sk-ant-competing-env"})
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from anthropic: you said 'hello from a habit'" in result.stdout
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}


def test_a_bare_codex_exec_goes_through_the_gate(ready_dev, standin: VendorStandin, tmp_path):
    shims = shimmed(ready_dev, tmp_path)
    result = bare(ready_dev, shims, "codex", "-c", f'openai_base_url="{standin.openai_url}"', "exec",
                  "hello from a script", extra={"OPENAI_API_KEY": "sk-openai-competing-env"})
    assert result.returncode == 0, result.stderr
    assert f"{REPLY_MARKER} from openai: you said 'hello from a script'" in result.stdout
    assert credentials_seen(standin.records()) == {OPENAI_KEY}


def test_a_bare_claude_without_an_approval_is_refused_with_77_and_the_fix(dev, standin, tmp_path):
    dev.set_key("anthropic", ANTHROPIC_KEY)
    shims = shimmed(dev, tmp_path)
    result = bare(dev, shims, "claude", "-p", "not yet", extra={"ANTHROPIC_BASE_URL": standin.url})
    assert result.returncode == 77
    assert "aigate request claude" in result.stderr
    assert standin.records() == []


def test_the_tool_exit_status_comes_back_through_the_shim(ready_dev, tmp_path):
    shims = shimmed(ready_dev, tmp_path)
    result = bare(ready_dev, shims, "claude", "--no-such-option-for-claude")
    assert result.returncode == 1  # what the real claude exits with for an unknown option
    assert "unknown option '--no-such-option-for-claude'" in result.stderr


def test_removing_the_shims_leaves_nothing(ready_dev, tmp_path):
    shims = shimmed(ready_dev, tmp_path)
    ready_dev.ok("shims", "remove", "--dir", str(shims))
    assert not shims.exists()
