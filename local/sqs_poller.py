"""Lambda's SQS event source mapping, locally: poll the queue, invoke the worker, delete what succeeded.

As in AWS: pollers long-poll the queue and gather up to ``BatchSize`` messages, waiting at most
``MaximumBatchingWindowInSeconds`` after the first one; there are as many pollers as the mapping's
maximum concurrency, so at most that many invocations run at once. Each record is built exactly like
Lambda's (``build_sqs_record``). After the invocation, with ReportBatchItemFailures, every message not
named in ``batchItemFailures`` is deleted; a failed invocation (error, timeout, crash) or an invalid
response deletes nothing. Nothing else touches the failed messages: they become visible again when
their visibility timeout ends — the queue's, or the one the worker set with ``ChangeMessageVisibility``
on the record's receipt handle (ours does for a throttled message; moto honours it as SQS does) — and the
queue's redrive policy moves them to the DLQ after ``maxReceiveCount`` receives (moto implements redrive
like SQS).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from local.containers import Invocation, PoolStoppedError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import DeleteMessageBatchRequestEntryTypeDef

MAX_MESSAGES_PER_RECEIVE = 10
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit ends a batch early
LONG_POLL_SECONDS = 1  # short enough that Ctrl-C stops a poller at once

Invoke = Callable[[dict[str, Any]], Invocation]
LogLine = Callable[[str], None]


@dataclass(frozen=True)
class MappingSettings:
    """The event source mapping's settings, as template.yaml gives them."""

    queue_url: str
    queue_arn: str
    region: str
    batch_size: int
    batching_window_seconds: int
    pollers: int
    report_batch_item_failures: bool = True


def build_sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event from a ReceiveMessage result (attribute names and casing as Lambda's)."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {name: str(value) for name, value in (message.get("Attributes") or {}).items()},
        "messageAttributes": {
            name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(invocation: Invocation, message_ids: Iterable[str], *, report_item_failures: bool) -> set[str]:
    """The messages to leave on the queue after ``invocation``: all, none, or those in ``batchItemFailures``.

    Lambda's rules: a function error fails the whole batch. With ReportBatchItemFailures, a null or empty
    response or an empty ``batchItemFailures`` is complete success, and an invalid response (not an
    object, an item without a valid ``itemIdentifier``, an id that is not in the batch) a complete failure.
    """
    batch = set(message_ids)
    if not invocation.ok:
        return batch
    if not report_item_failures:
        return set()
    result = invocation.result
    if result is None or result == {}:
        return set()
    if not isinstance(result, dict):
        return batch
    items = result.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return batch
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in batch:
            return batch
        failed.add(identifier)
    return failed


class SqsPoller:
    """The event source mapping: ``pollers`` threads, each gathering a batch and invoking the worker."""

    def __init__(self, client: SQSClient, settings: MappingSettings, invoke: Invoke, log: LogLine) -> None:
        self._client = client
        self.settings = settings
        self._invoke = invoke
        self._log = log
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"sqs-poller-{number}", daemon=True)
            for number in range(1, settings.pollers + 1)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def signal_stop(self) -> None:
        """Stop gathering; batches in flight end when their containers are stopped."""
        self._stopping.set()

    @property
    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def join(self, timeout: float) -> None:
        """Wait for the pollers that were started (a stack stopped before it started polling has none)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = self._gather()
                if batch and not self._stopping.is_set():
                    self._process(batch)
            except PoolStoppedError:
                return
            except Exception as exc:  # the mapping keeps polling, as Lambda's does
                if not self._stopping.is_set():
                    self._log(f"poller error (retrying): {exc}")
                    self._stopping.wait(1.0)

    def _gather(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages: the first long poll, then more until full or the window ends."""
        settings = self.settings
        batch: list[dict[str, Any]] = []
        size = 0
        window_ends: float | None = None
        while not self._stopping.is_set() and len(batch) < settings.batch_size and size < MAX_PAYLOAD_BYTES:
            if window_ends is None:
                wait = LONG_POLL_SECONDS
            else:
                remaining = window_ends - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(LONG_POLL_SECONDS, int(remaining))
            messages = self._receive(min(MAX_MESSAGES_PER_RECEIVE, settings.batch_size - len(batch)), wait)
            batch.extend(messages)
            size += sum(len(message.get("Body", "").encode()) for message in messages)
            if batch and window_ends is None:
                if settings.batching_window_seconds <= 0:
                    break
                window_ends = time.monotonic() + settings.batching_window_seconds
            if not messages and window_ends is not None and wait == 0:
                self._stopping.wait(min(0.2, max(0.0, window_ends - time.monotonic())))
        return batch

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self._client.receive_message(
            QueueUrl=self.settings.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))  # type: ignore[arg-type]

    def _process(self, batch: list[dict[str, Any]]) -> None:
        settings = self.settings
        event = {
            "Records": [
                build_sqs_record(message, queue_arn=settings.queue_arn, region=settings.region) for message in batch
            ]
        }
        invocation = self._invoke(event)
        ids = [message["MessageId"] for message in batch]
        failed = failed_message_ids(invocation, ids, report_item_failures=settings.report_batch_item_failures)
        done = [message for message in batch if message["MessageId"] not in failed]
        self._delete(done)
        summary = f"batch of {len(batch)}: {len(done)} deleted, {len(failed)} left to retry"
        if not invocation.ok:
            error = invocation.error or {}
            summary += f" (invocation failed: {error.get('errorType')}: {error.get('errorMessage')})"
        self._log(summary)

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), MAX_MESSAGES_PER_RECEIVE):
            chunk = messages[start : start + MAX_MESSAGES_PER_RECEIVE]
            entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(chunk)
            ]
            response = self._client.delete_message_batch(QueueUrl=self.settings.queue_url, Entries=entries)
            for failure in response.get("Failed", []):
                self._log(f"delete failed for entry {failure.get('Id')}: {failure.get('Message')}")


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """ReceiveMessage's ``{"StringValue", "DataType"}`` as Lambda writes it: camelCase, binary as base64."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _base64(value["BinaryValue"])
    attribute["stringListValues"] = list(value.get("StringListValues") or [])
    attribute["binaryListValues"] = [_base64(item) for item in value.get("BinaryListValues") or []]
    attribute["dataType"] = value["DataType"]
    return attribute


def _base64(value: bytes | str) -> str:
    return base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode()
