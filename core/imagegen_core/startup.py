"""Cold-start tuning shared by both handlers (measured in bench/cold_start.py; docs/performance.md)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def imports_without_gc() -> Iterator[None]:
    """Run a handler's imports with the garbage collector off, then freeze what they built.

    The imports build tens of thousands of objects that live as long as the container: collecting while
    they are built finds nothing to free (~10 ms), and moving them to the permanent generation afterwards
    spares the full collections of client creation and the first event from walking them all again.
    Collection resumes whatever happens, so a failed import does not leave the process without it.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
