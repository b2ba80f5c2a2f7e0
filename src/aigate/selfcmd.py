"""How this aigate starts itself again: the tools' key callback and the detached spool flusher; stdlib only.

Always ``python -I -c BOOT SITE MODULE ARGS...``: isolated mode (neither the working directory nor a
script's folder on ``sys.path``, no ``PYTHON*`` variables, no user site-packages), so a repository
holding its own ``aigate`` package, the tool's working directory, is never imported in place of
aigate (docs/tools.md: ``python -m aigate`` in such a repository runs the repository's code as the
key helper). SITE, the folder holding this ``aigate`` package, goes first on ``sys.path``, so the
process runs exactly the aigate that started it: by default the folder aigate was imported from;
run from the one-file ``aigate.pyz`` or the Debian package's private folder, the one
:mod:`aigate.standalone` recorded (:func:`set_site`).
"""

from __future__ import annotations

import os
import sys

import aigate

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
    site = _site or os.path.dirname(os.path.dirname(os.path.abspath(aigate.__file__)))
    return [python or sys.executable, "-I", "-c", _BOOT, site, module]
