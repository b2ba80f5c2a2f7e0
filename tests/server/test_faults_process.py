"""The fault runs of benchmarks/faults.py, short, on every run: a real server under load through a
kill -9 and a full disk (root: a small tmpfs) loses no acknowledged write and leaves no request
without an answer (but those the kill cut off). The PostgreSQL restart run needs a cluster of its own
to restart, so it stays in the script (``--run restart``); tests/server/test_database_faults.py covers
its SQLSTATE 57P01 in-process on every run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import faults


def test_a_kill_9_under_load_loses_no_acknowledged_write(tmp_path, capsys):
    assert faults.run_crash(tmp_path, 3.0, 3), capsys.readouterr().out


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mounts a small tmpfs: root only")
def test_a_full_disk_answers_503_on_open_connections_and_recovers(tmp_path, capsys):
    assert faults.run_diskfull(tmp_path, 3.0, 3), capsys.readouterr().out
