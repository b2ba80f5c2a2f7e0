"""``python -m aigate``: the same as the ``aigate`` command (the tools call the key helper this way)."""

import sys

from aigate.cli.entry import main

sys.exit(main())
