"""Running the records of one Lambda batch in parallel, within bounds: how many at once, and how much they hold."""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType


class ConcurrentBatchProcessor(BatchProcessor):
    """Powertools' SQS ``BatchProcessor`` that handles the records of a batch on a bounded thread pool.

    Only ``process`` changes. Powertools calls ``_process_record`` (its extension point for custom processors)
    for one record after the other; here up to ``max_workers`` threads call it at once. ``_process_record``
    turns the record handler's return into a success and its exception into a failure through
    ``success_handler``/``failure_handler``, which only append to lists (atomic in CPython), and the
    ``batchItemFailures`` response is built by Powertools as usual once every thread is done.

    Each record runs in a copy of the caller's context, so the logger keys that the record handler adds
    with ``thread_safe_append_keys`` belong to that record alone.

    When every record fails, leaving the processor's context raises ``BatchProcessingError`` (Powertools'
    default): SQS retries the whole batch, as it would for a response listing every record, and Lambda
    counts a function error, which the errors alarm sees and which makes the event source back off.
    """

    def __init__(self, max_workers: int) -> None:
        super().__init__(event_type=EventType.SQS)
        self._max_workers = max_workers

    def process(self) -> list[tuple[Any, ...]]:
        if not self.records:
            return []
        workers = min(self._max_workers, len(self.records))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sqs-record") as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, self._process_record, record) for record in self.records
            ]
            results = [future.result() for future in futures]
        # Threads finish in any order: report the failures in the batch's order, as the sequential processor does.
        self.fail_messages[:] = [record for status, _, record in results if status == "fail"]
        return results


class WeightedSemaphore:
    """A semaphore whose holders take several permits at once (one per image of a message).

    Waiters are woken together and whoever fits goes first, so a small message may pass a large one that
    is waiting; within a batch of at most a few dozen messages that costs little and avoids idle permits.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._available = capacity
        self._condition = threading.Condition()

    def acquire(self, permits: int, timeout: float | None = None) -> bool:
        """Take ``permits``; False when they could not be had within ``timeout`` seconds."""
        if not 1 <= permits <= self.capacity:
            raise ValueError(f"permits must be between 1 and {self.capacity}, not {permits}")
        with self._condition:
            if not self._condition.wait_for(lambda: self._available >= permits, timeout=timeout):
                return False
            self._available -= permits
            return True

    def release(self, permits: int) -> None:
        with self._condition:
            self._available += permits
            if self._available > self.capacity:
                raise RuntimeError("released more permits than were acquired")
            self._condition.notify_all()

    @property
    def available(self) -> int:
        with self._condition:
            return self._available
