"""How this aigate starts itself again: the tools' key callback and the detached spool flusher; stdlib only.

Installed normally (a venv, a wheel), ``python -m aigate`` finds the package. Run from the one-file
``aigate.pyz`` or from the Debian package's private folder, this Python alone would not find it, so
:mod:`aigate.standalone` records the folder aigate was imported from (:func:`set_site`) and the
commands become ``python -I -c BOOT SITE MODULE ARGS...``: isolated mode, so neither the user's site
packages nor the working directory (a repository could hold its own ``aigate`` package) come first.
"""

from __future__ import annotations

import sys

_site: str | None = None
# argv after -c: [SITE, MODULE, ARGS...]; SITE goes first on sys.path, MODULE runs as __main__ with ARGS.
_BOOT = ("import runpy,sys;sys.path.insert(0,sys.argv.pop(1));"
         "runpy.run_module(sys.argv.pop(1),run_name='__main__',alter_sys=True)")


def set_site(folder: str) -> None:
    """Record ``folder`` (the one holding the ``aigate`` package) for :func:`module_argv`."""
    global _site
    _site = folder


def module_argv(module: str, python: str | None = None) -> list[str]:
    """The argv that runs ``python -m MODULE`` for this aigate (arguments are appended by the caller)."""
    python = python or sys.executable
    if _site is None:
        return [python, "-m", module]
    return [python, "-I", "-c", _BOOT, _site, module]
