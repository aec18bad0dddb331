"""Waiting for a job to finish: a poll with a bounded backoff, on a clock the tests replace.

The first look comes at once, the next after ``Backoff.first`` seconds, each later one ``factor`` times
longer, never more than ``most`` seconds apart (a job that takes ten minutes costs about 80 requests,
not thousands) and never past the deadline. Some failures are part of waiting rather than its end:

- 404 for the first ``NOT_FOUND_GRACE`` seconds: a message sent straight to the queue becomes a job only
  when the worker first receives it, so a ``job <MessageId> --wait`` right after sending may ask too early;
- a transient failure (429 throttled, a 5xx, the network), up to ``MAX_TRANSIENT_FAILURES`` in a row, with
  the ``Retry-After`` the API asked for: a blip does not end a long wait, a service that is down does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from imagegen_cli.errors import ApiError, JobNotFound, NetworkError, StillRunning
from imagegen_cli.jobs_api import Job

NOT_FOUND_GRACE = 30.0
MAX_TRANSIENT_FAILURES = 5
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class Clock:
    """Where the time comes from and how to let it pass (tests give one that only pretends)."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Backoff:
    first: float = 1.0
    factor: float = 1.5
    most: float = 8.0

    def delays(self) -> Iterator[float]:
        """first, first*factor, ... up to ``most``, then ``most`` for ever."""
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.most)


def wait_for_job(
    fetch: Callable[[], Job],
    job_id: str,
    timeout: float,
    *,
    clock: Clock,
    backoff: Backoff = Backoff(),
    on_change: Callable[[Job], None] = lambda job: None,
) -> Job:
    """The job once it has succeeded or failed (``fetch()`` returns it); StillRunning when ``timeout``
    seconds pass first. ``on_change`` sees each new status (or attempt) on the way."""
    started = clock.now()
    deadline = started + timeout
    delays = backoff.delays()
    last: Job | None = None
    failures = 0
    while True:
        retry_after = 0.0
        try:
            job = fetch()
        except JobNotFound:
            if last is not None or clock.now() - started >= NOT_FOUND_GRACE or clock.now() >= deadline:
                raise
        except (ApiError, NetworkError) as error:
            failures += 1
            if not _transient(error) or failures >= MAX_TRANSIENT_FAILURES:
                raise
            retry_after = _retry_after(error)
        else:
            failures = 0
            if job.finished:
                return job
            if last is None or (job.status, job.attempts) != (last.status, last.attempts):
                on_change(job)
            last = job
        remaining = deadline - clock.now()
        if remaining <= 0:
            status = last.status if last else "not recorded"
            raise StillRunning(job_id, status, timeout, last_answer=last.answer if last else None)
        clock.sleep(min(max(next(delays), retry_after), remaining))


def _transient(error: ApiError | NetworkError) -> bool:
    return isinstance(error, NetworkError) or error.status == 429 or error.status >= 500


def _retry_after(error: ApiError | NetworkError) -> float:
    """The seconds a 429 or 503 asked to wait (Retry-After in seconds), at most MAX_RETRY_AFTER; else 0."""
    text = error.retry_after if isinstance(error, ApiError) else None
    try:
        seconds = float(text) if text else 0.0
    except ValueError:
        return 0.0
    return min(seconds, MAX_RETRY_AFTER) if math.isfinite(seconds) and seconds > 0 else 0.0
