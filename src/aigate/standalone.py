"""The entry of aigate run from a private folder: ``dist/aigate.pyz`` (shiv) and the Debian package.

It records where the package was imported from, so the commands aigate starts of itself (the key
callback, the spool flusher) find it again (:mod:`aigate.selfcmd`); then it is ``aigate``'s ``main``.
"""

from __future__ import annotations

import os
import sys

import aigate
from aigate import selfcmd


def main() -> int:
    selfcmd.set_site(os.path.dirname(os.path.dirname(os.path.abspath(aigate.__file__))))
    from aigate.cli.entry import main as aigate_main

    return aigate_main()


if __name__ == "__main__":
    sys.exit(main())
