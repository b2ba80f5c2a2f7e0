"""Write the shell completion scripts under completions/ (bash, zsh, fish, PowerShell).

Run after changing a program's name: ``.venv/bin/python scripts/gen_completions.py``. The scripts only
call the program back (typer's completion protocol: ``_AIGATE_COMPLETE=complete_bash aigate``), so
they stay current as commands change; tests/cli/test_completions.py checks they are.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.completion import get_completion_script

PROGRAMS = ("aigate", "aigate-server")
SHELLS = {"bash": "bash", "zsh": "zsh", "fish": "fish", "powershell": "ps1"}
OUT = Path(__file__).resolve().parent.parent / "completions"


def script(prog: str, shell: str) -> str:
    """The completion script of ``prog`` for ``shell``, as typer writes it, with a final newline."""
    var = "_{}_COMPLETE".format(prog.replace("-", "_").upper())
    return get_completion_script(prog_name=prog, complete_var=var, shell=shell) + "\n"


def expected() -> dict[Path, str]:
    return {OUT / f"{prog}.{ext}": script(prog, shell) for prog in PROGRAMS for shell, ext in SHELLS.items()}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for path, text in expected().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(OUT.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
