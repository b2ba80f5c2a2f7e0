"""The packaging tier, run last by `make test` (after e2e): what `make dist` built, installed and used.

The Debian packages are installed with the real dpkg, but inside a private copy of this machine: a
mount namespace of its own (``unshare --mount``) in which /etc, /usr, /var and /opt are overlays whose
writes land in the test's temp dir. Other tests and engineers on the machine never see the packages'
``/etc/aigate/aigate.toml``, shims or system user; the test purges the packages itself and checks that
nothing is left, and the namespace's end throws the overlays away.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
from private_machine import PrivateMachine

DIST = REPO / "dist"


def artifact(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if not found:
        pytest.fail(f"dist/{pattern} is missing: run `make dist` (`make test` does)", pytrace=False)
    return found[-1]


@pytest.fixture(scope="session")
def debs() -> tuple[Path, Path]:
    return artifact("aigate_*.deb"), artifact("aigate-server_*.deb")


@pytest.fixture(scope="session")
def pyz() -> Path:
    return artifact("aigate.pyz")


@pytest.fixture(scope="module")
def machine(tmp_path_factory) -> Iterator[PrivateMachine]:
    if os.geteuid() != 0:
        pytest.fail("the packaging tier installs .deb files with dpkg in a private mount namespace: run it as root",
                    pytrace=False)
    private = PrivateMachine(tmp_path_factory.mktemp("machine"))
    try:
        yield private
    finally:
        private.run(["dpkg", "--purge", "aigate", "aigate-server"])  # if a test stopped before its purge
        private.close()


