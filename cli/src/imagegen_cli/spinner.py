"""A spinner on stderr while the API works, shown only to a person watching a terminal."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import TextIO

_FRAMES = "|/-\\"


class Spinner:
    """``with Spinner(stream, "generating", enabled=...)``: redraws one line until the block ends."""

    def __init__(self, stream: TextIO, label: str, *, enabled: bool, interval: float = 0.1) -> None:
        self.stream = stream
        self.label = label
        self.enabled = enabled
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, name="imagegen-spinner", daemon=True)

    def __enter__(self) -> Spinner:
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            self.stream.write("\r\x1b[K")  # clear the spinner's line
            self.stream.flush()

    def _spin(self) -> None:
        started = time.monotonic()
        frame = 0
        while not self._stop.wait(self.interval):
            elapsed = time.monotonic() - started
            self.stream.write(f"\r{_FRAMES[frame % len(_FRAMES)]} {self.label} {elapsed:4.0f}s")
            self.stream.flush()
            frame += 1


def wants_spinner(stream: TextIO, quiet: bool) -> bool:
    """Only for a terminal: a spinner in a log file or a pipe is noise."""
    return not quiet and stream.isatty()
