"""Interactive claude and codex started by `aigate run` in a real terminal (tmux).

What a developer sees must be what they see without aigate: no extra dialog caused by the injected
key, a typed prompt answered, and Ctrl-C arriving exactly once (both tools treat a second Ctrl-C
differently from the first, so a doubled signal would end the session early).
"""

from __future__ import annotations

import pytest
from deployment import ANTHROPIC_KEY, OPENAI_KEY, VENV_BIN, Person
from terminal import Terminal

from harness.toolenv import CLAUDE_READY, CODEX_READY, CODEX_TURN_DONE
from harness.vendor_standin import REPLY_MARKER, VendorStandin, credentials_seen

pytestmark = pytest.mark.e2e


def start(terminal: Terminal, person: Person, *argv: str, extra: dict | None = None) -> None:
    terminal.start([str(VENV_BIN / "aigate"), "run", *argv], person.env(extra))


def assert_no_key_on(screen: str) -> None:
    assert ANTHROPIC_KEY not in screen and OPENAI_KEY not in screen


def test_interactive_claude_answers_without_a_key_dialog(ready_dev, standin: VendorStandin, terminal):
    start(terminal, ready_dev, "claude", extra={"ANTHROPIC_BASE_URL": standin.url,
                                                "ANTHROPIC_API_KEY": "sk-ant-competing-env"})
    screen = terminal.wait_for(CLAUDE_READY)
    assert "Detected a custom API key" not in screen
    terminal.type("hello from a terminal")
    screen = terminal.wait_for(f"{REPLY_MARKER} from anthropic: you said 'hello from a terminal'")
    assert credentials_seen(standin.records()) == {ANTHROPIC_KEY}
    terminal.keys("C-c")
    terminal.wait_for("Press Ctrl-C again to exit")
    assert terminal.exit_status() is None  # one Ctrl-C reached claude once: still running
    terminal.keys("C-c")
    assert terminal.wait_exit() == 0
    assert_no_key_on(terminal.screen())


def test_interactive_claude_exit_command_ends_aigate_with_0(ready_dev, standin: VendorStandin, terminal):
    start(terminal, ready_dev, "claude", extra={"ANTHROPIC_BASE_URL": standin.url})
    terminal.wait_for(CLAUDE_READY)
    terminal.type("/exit")
    assert terminal.wait_exit() == 0


def test_interactive_codex_answers_and_ctrl_c_arrives_once(ready_dev, standin: VendorStandin, terminal):
    start(terminal, ready_dev, "codex", "-c", f'openai_base_url="{standin.openai_url}"',
          extra={"OPENAI_API_KEY": "sk-openai-competing-env", "CODEX_API_KEY": "sk-codex-competing-env"})
    screen = terminal.wait_for(CODEX_READY)
    assert "Sign in" not in screen
    terminal.type("hello codex from a terminal")
    terminal.wait_for(f"{REPLY_MARKER} from openai: you said 'hello codex from a terminal'")
    terminal.wait_for(CODEX_TURN_DONE)
    assert credentials_seen(standin.records()) == {OPENAI_KEY}
    terminal.keys("-l", "a draft")
    terminal.wait_for("a draft")
    terminal.keys("C-c")  # with text in the composer, Ctrl-C clears it; a second one would quit
    terminal.wait_for(CODEX_READY)
    assert terminal.exit_status() is None
    terminal.keys("C-c")  # at an empty prompt, Ctrl-C ends the session
    assert terminal.wait_exit() == 0
    assert_no_key_on(terminal.screen())
