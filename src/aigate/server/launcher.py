"""``aigate-server``'s entry point: check that the ``server`` extra is installed, then run the CLI.

Every laptop that installs ``aigate`` gets the ``aigate-server`` script too, but not the server's
libraries (FastAPI, SQLAlchemy, Alembic, uvicorn), which come with the ``server`` extra. Without them
this module answers ``--version`` and ``-h``/``--help`` itself and refuses everything else with one
line naming ``aigate[server]`` and exit 78 (configuration), instead of a ModuleNotFoundError
traceback. It imports only the standard library until the check passes.
"""

from __future__ import annotations

import importlib.util
import sys

from aigate.installer import add_extra

# The import names of the ``server`` extra's distributions (pyproject.toml, [project.optional-dependencies]).
SERVER_MODULES = ("fastapi", "pydantic", "uvicorn", "sqlalchemy", "alembic")
EXIT_CONFIG = 78


def missing_modules() -> list[str]:
    """The server extra's modules that cannot be imported here (none when the extra is installed)."""
    return [name for name in SERVER_MODULES if _absent(name)]


def _absent(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return True


def main(argv: list[str] | None = None) -> None:
    """Run ``aigate-server``; without the server extra, answer ``--version``/``--help`` or exit 78."""
    args = list(sys.argv[1:] if argv is None else argv)
    missing = missing_modules()
    if not missing:
        from aigate.server.cli import main as server_main

        server_main(args)
        return
    if args[:1] == ["--version"]:
        from aigate import __version__

        print(f"aigate-server {__version__}")
        sys.exit(0)
    if not args or args[:1] in (["-h"], ["--help"]):
        print("Usage: aigate-server COMMAND [OPTIONS]\n\n"
              "The aigate approval server. Its commands need the server extra, which is not installed here:\n"
              f"  {add_extra('server')}\n\n"
              "Developers' laptops need only the `aigate` command.")
        sys.exit(0 if args else 2)
    print(f"aigate-server: the approval server needs aigate's server extra, which is not installed here "
          f"(no {', '.join(missing)}): {add_extra('server')}", file=sys.stderr)
    sys.exit(EXIT_CONFIG)

