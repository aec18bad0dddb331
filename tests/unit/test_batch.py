from __future__ import annotations

import threading
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from imagegen_core.batch import ConcurrentBatchProcessor, WeightedSemaphore


def sqs_records(count: int) -> list[dict[str, Any]]:
    return [
        {
            "messageId": f"m-{index}",
            "body": str(index),
            "attributes": {},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }
        for index in range(count)
    ]


# --- WeightedSemaphore -----------------------------------------------------------------------------


def test_permits_are_taken_until_none_are_left() -> None:
    # given
    semaphore = WeightedSemaphore(10)

    # when
    taken = [semaphore.acquire(5, timeout=0), semaphore.acquire(3, timeout=0), semaphore.acquire(3, timeout=0)]

    # then the third does not fit in the 2 permits left
    assert taken == [True, True, False]
    assert semaphore.available == 2


def test_released_permits_let_a_waiting_holder_in() -> None:
    # given a full semaphore and a thread waiting for 4 permits
    semaphore = WeightedSemaphore(5)
    assert semaphore.acquire(5)
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(semaphore.acquire(4, timeout=10)))
    waiter.start()

    # when
    semaphore.release(5)
    waiter.join(timeout=10)

    # then
    assert got == [True]
    assert semaphore.available == 1


@pytest.mark.parametrize("permits", [0, 6])
def test_a_request_outside_the_capacity_is_refused(permits: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 5"):
        WeightedSemaphore(5).acquire(permits)


def test_releasing_more_than_was_taken_is_a_bug() -> None:
    with pytest.raises(RuntimeError, match="released more permits"):
        WeightedSemaphore(3).release(1)


# --- ConcurrentBatchProcessor ----------------------------------------------------------------------


def test_records_run_together_up_to_max_workers() -> None:
    # given 6 records, 3 workers, and a handler that waits until 3 records are in it together
    processor = ConcurrentBatchProcessor(max_workers=3)
    together = threading.Barrier(3, timeout=10)
    threads: set[str] = set()

    def handler(record: SQSRecord) -> str:
        threads.add(threading.current_thread().name)
        together.wait()
        return record.body

    # when
    with processor(records=sqs_records(6), handler=handler):
        results = processor.process()

    # then every record succeeded, in the batch's order, on exactly 3 threads
    assert [(status, result) for status, result, _ in results] == [("success", str(index)) for index in range(6)]
    assert len(threads) == 3
    assert processor.response() == {"batchItemFailures": []}


def test_failures_are_reported_in_the_batch_s_order_whatever_order_they_finish_in() -> None:
    # given records 1, 2 and 4 fail, and record 4's failure is recorded before the others fail
    processor = ConcurrentBatchProcessor(max_workers=5)
    four_recorded = threading.Event()
    record_failure = processor.failure_handler

    def recording_failure(record: Any, exception: Any) -> Any:
        entry = record_failure(record, exception)
        if record.message_id == "m-4":
            four_recorded.set()
        return entry

    processor.failure_handler = recording_failure  # type: ignore[method-assign]

    def handler(record: SQSRecord) -> None:
        if record.message_id == "m-4":
            raise ValueError("four")
        if record.message_id in ("m-1", "m-2"):
            assert four_recorded.wait(timeout=10)
            raise ValueError("one or two")

    # when
    with processor(records=sqs_records(5), handler=handler):
        processor.process()

    # then
    assert processor.response() == {"batchItemFailures": [{"itemIdentifier": f"m-{i}"} for i in (1, 2, 4)]}


def test_a_batch_where_every_record_fails_raises_so_that_lambda_counts_an_error() -> None:
    # given
    processor = ConcurrentBatchProcessor(max_workers=2)

    def handler(record: SQSRecord) -> None:
        raise ValueError("no")

    # when / then
    with pytest.raises(BatchProcessingError, match="All records failed"), processor(sqs_records(2), handler):
        processor.process()


def test_an_empty_batch_has_nothing_to_report() -> None:
    processor = ConcurrentBatchProcessor(max_workers=4)
    with processor(records=[], handler=lambda record: None):
        assert processor.process() == []
    assert processor.response() == {"batchItemFailures": []}
