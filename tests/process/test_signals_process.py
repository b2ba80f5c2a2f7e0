"""Signals between a terminal, aigate and the tool: each exactly once (docs/tools.md)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time

import pexpect


def _wait_for_ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert line.strip() == b"READY", line


def _signals(client) -> list[int]:
    return json.loads(client.record.read_text())["signals"]


def test_sigterm_sent_to_aigate_alone_reaches_the_tool_once(client):
    proc = subprocess.Popen(client.argv("run", "claude"), env=client.env(FAKE_TOOL_MODE="wait"),
                            stdout=subprocess.PIPE, cwd=client.tmp)
    _wait_for_ready(proc)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert _signals(client) == [signal.SIGTERM]


def test_sighup_sent_to_aigate_alone_reaches_the_tool_once(client):
    proc = subprocess.Popen(client.argv("run", "claude"), env=client.env(FAKE_TOOL_MODE="wait"),
                            stdout=subprocess.PIPE, cwd=client.tmp)
    _wait_for_ready(proc)
    os.kill(proc.pid, signal.SIGHUP)
    assert proc.wait(timeout=20) == 0
    assert _signals(client) == [signal.SIGHUP]


def test_tool_shares_aigates_process_group(client):
    proc = subprocess.Popen(client.argv("run", "claude"), env=client.env(FAKE_TOOL_MODE="wait"),
                            stdout=subprocess.PIPE, cwd=client.tmp, start_new_session=True)
    _wait_for_ready(proc)
    assert json.loads(client.record.read_text())["pgid"] == os.getpgid(proc.pid)
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def test_ctrl_c_in_a_terminal_reaches_the_tool_exactly_once(client):
    term = pexpect.spawn(client.argv()[0], client.argv("run", "claude")[1:], env=client.env(FAKE_TOOL_MODE="wait"),
                         cwd=str(client.tmp), timeout=20)
    term.expect("READY")
    term.sendintr()  # the terminal's Ctrl-C: SIGINT to the whole foreground process group
    term.expect(pexpect.EOF)
    term.close()
    assert term.exitstatus == 0
    assert _signals(client) == [signal.SIGINT]


def _wait_for_signal(client, timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (client.record.exists() and _signals(client)):
        time.sleep(0.05)
    time.sleep(0.8)  # a duplicate would arrive by now
    return _signals(client)


def test_terminal_hangup_under_a_shell_is_never_forwarded_again(client):
    log = client.tmp / "aigate.log"
    term = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=client.env(FAKE_TOOL_MODE="wait", PS1="$ "),
                         cwd=str(client.tmp), timeout=20)
    term.sendline(shlex.join(client.argv("--debug", "run", "claude")) + f" 2>{log}")
    term.expect("READY")
    os.close(term.child_fd)  # the terminal goes away: the kernel hangs up bash, bash hangs up its jobs
    assert signal.SIGHUP in _wait_for_signal(client)
    deadline = time.monotonic() + 10
    while "kept spooled event" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)  # aigate has finished once its end-of-session flusher has run
    assert "already reached the tool" in log.read_text()
    assert "forwarding signal" not in log.read_text()


def test_terminal_hangup_with_aigate_leading_the_session_reaches_the_tool_once(client):
    term = pexpect.spawn(client.argv()[0], client.argv("run", "claude")[1:], env=client.env(FAKE_TOOL_MODE="wait"),
                         cwd=str(client.tmp), timeout=20)
    term.expect("READY")
    os.close(term.child_fd)  # only the session leader (aigate) hears this hangup from the kernel
    _, status = os.waitpid(term.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _signals(client) == [signal.SIGHUP]
