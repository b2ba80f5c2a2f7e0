"""The live line of ``aigate request --wait``: a spinner, the time waited and the request's state.

The wait itself (a long-poll, :mod:`aigate.waiting`) runs on a daemon thread, so the line keeps
moving while a call is held by the server, and Ctrl-C ends the wait at once (the request stays
open). On a terminal the line redraws itself (rich); elsewhere (a pipe, CI) one line says what
aigate waits for, and the result follows when it comes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.text import Text

from aigate.cli.output import safe
from aigate.protocol import AccessRequest, format_duration

REFRESH_SECONDS = 0.1


class WaitingLine:
    def __init__(self, item: AccessRequest, console: Console | None = None):
        self.item = item
        self.console = console or Console(stderr=True, highlight=False)
        self.started = time.monotonic()
        self._status: Any = None

    def text(self) -> Text:
        waited = format_duration(int(time.monotonic() - self.started))
        return Text(safe(f"Request {self.item.id} for {self.item.tool}: {self.item.state.value}, waited {waited} "
                         "(Ctrl-C stops waiting; the request stays open)"), no_wrap=True, overflow="ellipsis")

    def update(self, item: AccessRequest) -> None:
        self.item = item

    def __enter__(self) -> WaitingLine:
        if self.console.is_terminal:
            self._status = self.console.status(self.text(), spinner="dots")
            self._status.__enter__()
        else:
            self.console.print(self.text())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)

    def run(self, wait: Callable[[], AccessRequest]) -> AccessRequest:
        """Run ``wait`` on a daemon thread, redrawing the line until it returns; its result or error."""
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                outcome["item"] = wait()
            except BaseException as err:  # noqa: BLE001 - handed back to the main thread as is
                outcome["error"] = err

        worker = threading.Thread(target=target, name="aigate-wait", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(REFRESH_SECONDS)
            if self._status is not None:
                self._status.update(self.text())
        if "error" in outcome:
            raise outcome["error"]
        item: AccessRequest = outcome["item"]
        return item
