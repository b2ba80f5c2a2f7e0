"""A Python process whose wall clock is off by ``SKEWED_CLOCK_SECONDS`` (tests only).

Put this folder on ``PYTHONPATH`` of a process (an ``aigate-server``): ``time.time`` and
``time.time_ns`` (and with them the tokens' ``iat``/``nbf``/``exp`` and uvicorn's ``Date`` header)
run that many seconds ahead (negative: behind) of the machine's clock.
"""

import os
import time

_SKEW = float(os.environ.get("SKEWED_CLOCK_SECONDS", "0"))
_time, _time_ns = time.time, time.time_ns
time.time = lambda: _time() + _SKEW
time.time_ns = lambda: _time_ns() + int(_SKEW * 1e9)
