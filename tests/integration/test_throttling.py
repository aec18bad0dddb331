"""The worker at Bedrock's quota, end to end: messages received from moto's SQS (with template.yaml's 1810 s
visibility timeout), the stand-in's quota, and the handler. A message the worker gives up on comes back within
seconds; the worker slows down when Bedrock throttles; every throttled attempt is counted."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from imagegen_core.config import get_worker_settings
from imagegen_core.throttling import current_streak, pace
from local.bedrock_standin import BedrockStandin
from local.lambda_context import LambdaContext
from local.sqs_poller import build_sqs_record
from sqs_worker.app import lambda_handler
from tests.helpers import REGION, failures, wait_until
from tests.integration.conftest import Queues

COME_BACK_WITHIN = 20.0  # seconds we wait for a handed-back message; the queue would hide it for 1810 s


def queued_batch(queues: Queues, *bodies: str) -> dict[str, Any]:
    """Send ``bodies`` to the image queue and receive them, as Lambda's event source would: the SQS event."""
    sqs: Any = boto3.client("sqs", region_name=REGION)
    for body in bodies:
        sqs.send_message(QueueUrl=queues.url, MessageBody=body)
    arn = sqs.get_queue_attributes(QueueUrl=queues.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages: list[dict[str, Any]] = []
    while len(messages) < len(bodies):
        answer = sqs.receive_message(
            QueueUrl=queues.url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        )
        messages.extend(answer.get("Messages", []))
    return {"Records": [build_sqs_record(message, queue_arn=arn, region=REGION) for message in messages]}


def delivered_again(queues: Queues, message_id: str) -> dict[str, Any]:
    """Wait (long polling) until the queue delivers ``message_id`` again; the message."""

    sqs: Any = boto3.client("sqs", region_name=REGION)

    def receive() -> dict[str, Any] | None:
        answer = sqs.receive_message(
            QueueUrl=queues.url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        )
        return next((m for m in answer.get("Messages", []) if m["MessageId"] == message_id), None)

    message = wait_until(receive, COME_BACK_WITHIN, f"message {message_id} to be delivered again")
    assert message is not None
    return message


def emf_values(printed: str, name: str) -> list[float]:
    """Every value of metric ``name`` in the EMF lines the handler printed."""
    records = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    values: list[float] = []
    for record in records:
        if name in record:
            value = record[name]
            values.extend(value if isinstance(value, list) else [value])
    return values


def test_a_throttled_message_is_delivered_again_within_seconds_not_after_the_visibility_timeout(
    queues: Queues, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given a quota with one call left (it refills one call per 1000 s), and two queued prompts
    standin.configure(quota_rps=0.001, quota_burst=1, image_detail="flat")
    event = queued_batch(queues, "a lighthouse at dawn", "a harbour at dusk")

    # when the worker runs the batch
    response = lambda_handler(event, lambda_context)

    # then one prompt was generated and the other was throttled and handed back
    [throttled] = failures(response)
    assert standin.throttled_calls == 1
    # and SQS delivers it again within seconds, although the queue hides a failed message for 1810 s
    again = delivered_again(queues, throttled)
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert queues.visibility_timeout == 1810


def test_a_message_not_started_for_lack_of_time_is_delivered_again_within_seconds(
    queues: Queues, standin: BedrockStandin
) -> None:
    # given an invocation with 10 s left, under the 30 s time guard
    event = queued_batch(queues, "a quiet lake")
    [record] = event["Records"]

    # when / then the message is not started (the whole batch failed: a function error)
    with pytest.raises(BatchProcessingError):
        lambda_handler(event, LambdaContext(remaining_ms=10_000))
    assert standin.calls == []
    # and it comes back within seconds for another invocation to start it
    assert delivered_again(queues, record["messageId"])["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_message_without_a_turn_at_the_quota_before_the_time_guard_is_handed_back_not_throttled(
    queues: Queues, standin: BedrockStandin, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a quota of one call a minute for one invocation, and 10 s to spare above the time guard
    monkeypatch.setenv("BEDROCK_REQUESTS_PER_MINUTE", "1")
    monkeypatch.setenv("WORKER_MAX_CONCURRENCY", "1")
    event = queued_batch(queues, "a red kite", "a blue heron")

    # when the batch runs: one message takes the minute's turn, the other's turn is 60 s away
    response = lambda_handler(event, LambdaContext(remaining_ms=40_000))

    # then the other was never sent to Bedrock, so never throttled: it goes back to the queue, to come back soon
    [waiting] = failures(response)
    assert len(standin.calls) == 1
    assert standin.throttled_calls == 0
    assert emf_values(capsys.readouterr().out, "MessagesHandedBack") == [1.0]
    assert delivered_again(queues, waiting)["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_throttled_call_slows_the_workers_pace_and_every_attempt_is_counted(
    queues: Queues,
    standin: BedrockStandin,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a generous quota for one invocation, three attempts per call, and a prompt Bedrock always throttles
    # next to one it answers
    monkeypatch.setenv("BEDROCK_REQUESTS_PER_MINUTE", "6000")
    monkeypatch.setenv("WORKER_MAX_CONCURRENCY", "1")
    monkeypatch.setenv("BEDROCK_MAX_ATTEMPTS", "3")
    event = queued_batch(queues, "please throttle-me", "a calm lake")

    # when
    response = lambda_handler(event, lambda_context)

    # then the throttled message went back to the queue after three throttled attempts, each one counted
    assert len(failures(response)) == 1
    printed = capsys.readouterr().out
    assert sum(emf_values(printed, "BedrockThrottled")) == 3
    # and the container's pace fell below its starting share of the quota, and was published
    pacer = pace(get_worker_settings())
    assert pacer is not None
    assert pacer.rate < pacer.initial == 100.0
    [published] = emf_values(printed, "BedrockPace")
    assert published == pytest.approx(pacer.rate, abs=0.001)
    # and the call that answered has its own latency, without the waits between the other's attempts
    [call_ms] = emf_values(printed, "BedrockCallLatency")
    assert 0 < call_ms <= max(emf_values(printed, "BedrockLatency"))


def test_a_success_ends_the_throttle_streak(queues: Queues, standin: BedrockStandin) -> None:
    # given one throttled batch (its only message failed: a function error), then a good one
    with pytest.raises(BatchProcessingError):
        lambda_handler(queued_batch(queues, "please throttle-me"), LambdaContext())
    assert current_streak() == 1

    # when
    response = lambda_handler(queued_batch(queues, "a calm sea"), LambdaContext())

    # then
    assert failures(response) == []
    assert current_streak() == 0
