"""The SQS event source emulation: records built like Lambda's, and what is deleted after an invocation."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.containers import Invocation
from local.sqs_poller import MappingSettings, SqsPoller, build_sqs_record, failed_message_ids
from tests.helpers import REGION, load_event

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:imagegen-local-images"


def received(**overrides: Any) -> dict[str, Any]:
    """One message as ReceiveMessage returns it."""
    message = {
        "MessageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "ReceiptHandle": "handle-1",
        "MD5OfBody": "8b817e519de588594d590f7540d8a332",
        "Body": "a red fox in fresh snow, watercolor",
        "Attributes": {
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "SentTimestamp": "1795342530000",
            "ApproximateReceiveCount": "1",
            "ApproximateFirstReceiveTimestamp": "1795342530012",
        },
    }
    message.update(overrides)
    return message


def test_a_record_has_exactly_the_fields_of_lambdas_sample_record() -> None:
    # given
    sample = load_event("sqs_plain_text")["Records"][0]

    # when
    record = build_sqs_record(received(), queue_arn=QUEUE_ARN, region=REGION)

    # then
    assert set(record) == set(sample)
    assert set(record["attributes"]) == set(sample["attributes"])
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == QUEUE_ARN
    assert record["awsRegion"] == REGION
    assert record["body"] == sample["body"]
    assert record["md5OfBody"] == sample["md5OfBody"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_message_attributes_are_written_the_way_lambda_writes_them() -> None:
    # given
    message = received(
        MD5OfMessageAttributes="abc",
        MessageAttributes={
            "trace": {"StringValue": "t-1", "DataType": "String"},
            "blob": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
        },
    )

    # when
    record = build_sqs_record(message, queue_arn=QUEUE_ARN, region=REGION)

    # then
    assert record["md5OfMessageAttributes"] == "abc"
    assert record["messageAttributes"]["trace"] == {
        "stringValue": "t-1",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert base64.b64decode(record["messageAttributes"]["blob"]["binaryValue"]) == b"\x00\x01"


IDS = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"id": "b"}]}, set(IDS)),
        ("not an object", set(IDS)),
    ],
)
def test_lambdas_partial_batch_response_rules_decide_what_stays_on_the_queue(result: Any, failed: set[str]) -> None:
    # when
    kept = failed_message_ids(Invocation("r", result=result), IDS, report_item_failures=True)

    # then
    assert kept == failed


def test_a_failed_invocation_leaves_the_whole_batch() -> None:
    # when
    kept = failed_message_ids(Invocation("r", error={"errorType": "Sandbox.Timedout"}), IDS, report_item_failures=True)

    # then
    assert kept == set(IDS)


def test_without_report_batch_item_failures_a_successful_invocation_deletes_everything() -> None:
    # when
    kept = failed_message_ids(
        Invocation("r", result={"batchItemFailures": [{"itemIdentifier": "a"}]}), IDS, report_item_failures=False
    )

    # then
    assert kept == set()


class FailingSome:
    """A worker that reports the messages whose body starts with 'fail' as batch item failures."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.done = threading.Event()

    def __call__(self, event: dict[str, Any]) -> Invocation:
        self.events.append(event)
        failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"].startswith("fail")]
        self.done.set()
        return Invocation("r", result={"batchItemFailures": failures})


@pytest.fixture
def queue() -> Iterator[tuple[Any, str, str]]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="local-poller-test", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        yield sqs, url, arn


def test_the_poller_deletes_the_successes_and_leaves_the_failures(queue: tuple[Any, str, str]) -> None:
    # given
    sqs, url, arn = queue
    for body in ("ok one", "fail two", "ok three"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    worker = FailingSome()
    settings = MappingSettings(url, arn, REGION, batch_size=10, batching_window_seconds=0, pollers=1)
    poller = SqsPoller(sqs, settings, worker, lambda _: None)

    # when
    poller.start()
    assert worker.done.wait(10)
    poller.signal_stop()
    poller.join(10)

    # then
    first = worker.events[0]["Records"]
    assert {record["body"] for record in first} == {"ok one", "fail two", "ok three"}
    assert {record["eventSourceARN"] for record in first} == {arn}
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in left] == ["fail two"]


def test_the_poller_stops_promptly_when_the_queue_is_empty(queue: tuple[Any, str, str]) -> None:
    # given
    sqs, url, arn = queue
    settings = MappingSettings(url, arn, REGION, batch_size=10, batching_window_seconds=5, pollers=2)
    poller = SqsPoller(sqs, settings, FailingSome(), lambda _: None)
    poller.start()

    # when
    poller.signal_stop()
    poller.join(timeout=10)

    # then
    assert not poller.alive


def test_a_poller_that_never_started_stops_at_once(queue: tuple[Any, str, str]) -> None:
    # given a stack stopped between its start and its polling (a benchmark that failed in between)
    sqs, url, arn = queue
    settings = MappingSettings(url, arn, REGION, batch_size=10, batching_window_seconds=5, pollers=2)
    poller = SqsPoller(sqs, settings, FailingSome(), lambda _: None)

    # when
    poller.signal_stop()
    poller.join(timeout=10)

    # then nothing raised, and nothing runs
    assert not poller.alive


class HandingBack:
    """A worker that hands the messages whose body starts with 'fail' back with a 1 s visibility (as ours does
    with a throttled message) and reports them failed; it notes each delivery's receive count."""

    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs, self.url = sqs, url
        self.receives: list[tuple[str, str]] = []
        self.second_delivery = threading.Event()

    def __call__(self, event: dict[str, Any]) -> Invocation:
        failures = []
        for record in event["Records"]:
            count = record["attributes"]["ApproximateReceiveCount"]
            self.receives.append((record["body"], count))
            if count == "2":
                self.second_delivery.set()
            elif record["body"].startswith("fail"):
                self.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=1
                )
                failures.append({"itemIdentifier": record["messageId"]})
        return Invocation("r", result={"batchItemFailures": failures})


def test_the_poller_honours_a_visibility_the_worker_changed(queue: tuple[Any, str, str]) -> None:
    # given a queue that hides a failed message for the template's 1810 s, and a worker that hands one back after 1 s
    sqs, url, arn = queue
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1810"})
    sqs.send_message(QueueUrl=url, MessageBody="fail, then try again")
    worker = HandingBack(sqs, url)
    settings = MappingSettings(url, arn, REGION, batch_size=10, batching_window_seconds=0, pollers=1)
    poller = SqsPoller(sqs, settings, worker, lambda _: None)

    # when
    poller.start()
    delivered_again = worker.second_delivery.wait(20)
    poller.signal_stop()
    poller.join(10)

    # then the poller left the message alone after the failure, and it came back within seconds, not 1810 s
    assert delivered_again
    assert worker.receives[:2] == [("fail, then try again", "1"), ("fail, then try again", "2")]
