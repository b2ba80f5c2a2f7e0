"""``aigate-server`` on a machine without the ``server`` extra (every laptop has the entry point)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aigate.server.launcher import SERVER_MODULES

# The interpreter as it is on a laptop: the server extra's modules cannot be imported.
WITHOUT_EXTRA = ("import sys; sys.modules.update(dict.fromkeys({mods!r})); "
                 "sys.argv[0] = 'aigate-server'; from aigate.server.launcher import main; main()")


def server_cli(*args: str, extra: bool = False) -> subprocess.CompletedProcess[str]:
    code = WITHOUT_EXTRA.format(mods=() if extra else SERVER_MODULES)
    return subprocess.run([sys.executable, "-c", code, *args], check=False, capture_output=True, text=True, timeout=60)


def test_a_command_without_the_extra_is_one_line_naming_the_extra_and_exit_78():
    done = server_cli("init", "--data-dir", "/tmp/nowhere")

    assert done.returncode == 78
    assert done.stderr.count("\n") == 1 and "aigate[server]" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_version_works_without_the_extra():
    done = server_cli("--version")

    assert (done.returncode, done.stdout.split()[0]) == (0, "aigate-server")


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_works_without_the_extra_and_says_what_to_install(flag):
    done = server_cli(flag)

    assert done.returncode == 0 and "aigate[server]" in done.stdout


@pytest.mark.parametrize("flag", ["-h", "--version"])
def test_help_and_version_work_with_the_extra(flag):
    done = server_cli(flag, extra=True)

    assert done.returncode == 0 and "aigate-server" in done.stdout
