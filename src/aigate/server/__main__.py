"""``python -m aigate.server`` is ``aigate-server``."""

from aigate.server.launcher import main

main()
