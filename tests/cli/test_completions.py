"""Shell completions: the committed scripts are current, and the programs answer them."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _generator():
    spec = importlib.util.spec_from_file_location("gen_completions", ROOT / "scripts" / "gen_completions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_completion_scripts_are_what_the_generator_writes():
    stale = [str(path.relative_to(ROOT)) for path, text in _generator().expected().items()
             if not path.exists() or path.read_text() != text]

    assert stale == [], "run: .venv/bin/python scripts/gen_completions.py"


@pytest.mark.parametrize(("prog", "words", "expected"), [
    ("aigate", "aigate ad", "admin"),
    ("aigate", "aigate admin ", "approve"),
    ("aigate", "aigate keys ", "set"),
    ("aigate-server", "aigate-server us", "users"),
])
def test_bash_completion_offers_the_commands(prog, words, expected, tmp_path):
    var = "_{}_COMPLETE".format(prog.replace("-", "_").upper())
    env = {**os.environ, var: "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1),
           "HOME": str(tmp_path)}

    result = subprocess.run([str(BIN / prog)], env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr
    assert expected in result.stdout.split()
