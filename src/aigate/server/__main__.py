"""``python -m aigate.server`` is ``aigate-server``."""

from aigate.server.cli import main

main()
