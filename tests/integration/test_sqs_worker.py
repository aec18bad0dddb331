"""The SQS worker through its handler, with the events of events/, S3 and SQS in moto and Bedrock through the
stand-in: what is stored, what is retried, what is dead-lettered, and that a batch runs in parallel."""

from __future__ import annotations

import copy
import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from imagegen_core.clients import bedrock_client
from imagegen_core.config import get_settings
from imagegen_core.models import GenerationRequest
from imagegen_core.observability import logger
from imagegen_core.queue_messages import derived_seed
from imagegen_core.service import default_service
from local.bedrock_standin import BedrockStandin
from local.lambda_context import LambdaContext
from sqs_worker.app import lambda_handler
from tests.helpers import BUCKET, PNG_SIGNATURE, dead_letters, failures, keys_under, load_event, sqs_event
from tests.integration.conftest import MAX_RECEIVES, Queues

MIXED = {
    "good": "7c9b3d52-4a1e-4f3c-9a55-0d2f1e6b8a01",
    "invalid": "7c9b3d52-4a1e-4f3c-9a55-0d2f1e6b8a02",
    "broken_json": "7c9b3d52-4a1e-4f3c-9a55-0d2f1e6b8a03",
    "filtered": "7c9b3d52-4a1e-4f3c-9a55-0d2f1e6b8a04",
    "throttled": "7c9b3d52-4a1e-4f3c-9a55-0d2f1e6b8a05",
}


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    """The worker's JSON log lines, read from an in-memory stream that replaces the logger's."""
    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


@dataclass
class InFlight:
    """Bedrock calls in flight, seen from the worker's Bedrock client (botocore events), with high-water marks."""

    barrier: threading.Barrier | None = None
    calls: int = 0
    images: int = 0
    peak_calls: int = 0
    peak_images: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        body = json.loads(params["body"])
        images = context["images"] = body.get("imageGenerationConfig", {}).get("numberOfImages", 1)
        with self.lock:
            self.calls += 1
            self.images += images
            self.peak_calls = max(self.peak_calls, self.calls)
            self.peak_images = max(self.peak_images, self.images)
        if self.barrier is not None:
            self.barrier.wait()  # breaks (and fails the call) unless `parties` calls are in flight together

    def after(self, context: dict[str, Any], **_: Any) -> None:
        with self.lock:
            self.calls -= 1
            self.images -= context["images"]


@pytest.fixture
def in_flight() -> Iterator[InFlight]:
    """Observes the Bedrock client that the worker's service will use (the container's cached one)."""
    settings = get_settings()
    client = bedrock_client(settings.bedrock_region, settings.bedrock_read_timeout_seconds)
    observer = InFlight()
    client.meta.events.register("before-call.bedrock-runtime.InvokeModel", observer.before)
    client.meta.events.register("after-call.bedrock-runtime.InvokeModel", observer.after)
    yield observer
    if observer.barrier is not None:
        observer.barrier.abort()


# --- the sample events ----------------------------------------------------------------------------


def test_a_plain_text_message_is_the_prompt_and_its_png_lands_under_the_message_id(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given the event that `sam local invoke SqsWorkerFunction -e events/sqs_plain_text.json` sends
    event = load_event("sqs_plain_text")
    message_id = event["Records"][0]["messageId"]

    # when
    response = lambda_handler(event, lambda_context)

    # then the message is acknowledged and its image stored under a seed derived from the message id
    assert response == {"batchItemFailures": []}
    seed = derived_seed(message_id, 4_294_967_295)  # Stable Image Core's seed range
    key = f"team-a/sqs/{message_id}/0-seed-{seed}.png"
    assert keys_under(aws, BUCKET, f"team-a/sqs/{message_id}/") == [key]
    stored = aws.get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read().startswith(PNG_SIGNATURE)
    assert stored["Metadata"]["request-id"] == message_id
    # and Bedrock was asked for the body's text with the default parameters
    [call] = standin.calls
    assert call.body == {
        "prompt": "a red fox in fresh snow, watercolor",
        "aspect_ratio": "1:1",
        "seed": seed,
        "output_format": "png",
    }
    assert dead_letters(dlq) == []


def test_a_json_message_carries_the_fields_of_the_http_request(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given
    event = load_event("sqs_json")
    message_id = event["Records"][0]["messageId"]

    # when
    response = lambda_handler(event, lambda_context)

    # then the image is stored with the message's own seed and size
    assert response == {"batchItemFailures": []}
    assert keys_under(aws, BUCKET, f"team-a/sqs/{message_id}/") == [f"team-a/sqs/{message_id}/0-seed-42.png"]
    head = aws.head_object(Bucket=BUCKET, Key=f"team-a/sqs/{message_id}/0-seed-42.png")
    assert (head["Metadata"]["width"], head["Metadata"]["height"]) == ("832", "1216")
    [call] = standin.calls
    assert (call.body["aspect_ratio"], call.body["negative_prompt"]) == ("2:3", "people")


# --- failures: retried or dead-lettered -----------------------------------------------------------


def test_a_mixed_batch_retries_the_throttled_message_and_dead_letters_the_hopeless_ones(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given a batch with a good message, an invalid request, broken JSON, a filtered prompt and a throttled one
    event = load_event("sqs_mixed_batch")
    bodies = {record["messageId"]: record["body"] for record in event["Records"]}

    # when
    response = lambda_handler(event, lambda_context)

    # then only the throttled message goes back to the queue
    assert failures(response) == [MIXED["throttled"]]
    # and the good one is stored
    assert len(keys_under(aws, BUCKET, f"team-a/sqs/{MIXED['good']}/")) == 1
    # and exactly the three hopeless ones are in the DLQ, with their original body and the reason
    letters = {letter["attributes"]["original_message_id"]: letter for letter in dead_letters(dlq)}
    assert set(letters) == {MIXED["invalid"], MIXED["broken_json"], MIXED["filtered"]}
    expected_codes = {
        MIXED["invalid"]: "validation_error",
        MIXED["broken_json"]: "invalid_json",
        MIXED["filtered"]: "content_filtered",
    }
    for message_id, letter in letters.items():
        assert letter["body"] == bodies[message_id]
        assert letter["attributes"]["error_code"] == expected_codes[message_id]
        assert letter["attributes"]["model_id"] == "stability.stable-image-core-v1:1"
        assert letter["attributes"]["failed_at"].endswith("+00:00")
        assert letter["attributes"]["receive_count"] == "1"
    assert "number_of_images" in letters[MIXED["invalid"]]["attributes"]["error_message"]
    assert "not valid JSON" in letters[MIXED["broken_json"]]["attributes"]["error_message"]
    assert "content filter" in letters[MIXED["filtered"]]["attributes"]["error_message"]
    # and nothing was stored for any failed message
    for name in ("invalid", "broken_json", "filtered", "throttled"):
        assert keys_under(aws, BUCKET, f"team-a/sqs/{MIXED[name]}/") == []


def test_a_model_past_its_end_of_life_dead_letters_the_message_as_a_model_error(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given
    standin.configure(eol_models=("stability.stable-image-core-v1:1",))
    event = load_event("sqs_plain_text")

    # when
    response = lambda_handler(event, lambda_context)

    # then
    assert response == {"batchItemFailures": []}
    [letter] = dead_letters(dlq)
    assert letter["attributes"]["error_code"] == "model_error"
    assert "end of its life" in letter["attributes"]["error_message"]
    assert letter["body"] == event["Records"][0]["body"]


def test_a_model_timeout_is_retried_not_dead_lettered(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given
    event = sqs_event("a slow castle, timeout-me", "a quick castle")

    # when
    response = lambda_handler(event, lambda_context)

    # then
    assert failures(response) == [event["Records"][0]["messageId"]]
    assert dead_letters(dlq) == []


@pytest.mark.parametrize(
    "prompt",
    [
        "a castle, outage-me",  # a proxy's HTML 503 at Bedrock's endpoint: no x-amzn-ErrorType
        "a castle, corrupt-me",  # an image that is not valid base64
        "a castle, not-png-me",  # valid base64 that is not a PNG
    ],
)
def test_an_outage_or_an_answer_that_is_not_an_image_is_retried_never_dead_lettered(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext, prompt: str
) -> None:
    # given a batch with one such message and a good one
    event = sqs_event(prompt, "a quick castle")

    # when
    response = lambda_handler(event, lambda_context)

    # then only that message goes back to SQS, nothing is stored for it, and the DLQ stays empty
    assert failures(response) == [event["Records"][0]["messageId"]]
    assert keys_under(aws, BUCKET, f"team-a/sqs/{event['Records'][0]['messageId']}/") == []
    assert dead_letters(dlq) == []


def test_fewer_images_than_asked_are_retried_and_none_is_kept(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext, titan: str
) -> None:
    # given a two-image message whose answer brings one image
    event = sqs_event(json.dumps({"prompt": "a castle, fewer-me", "number_of_images": 2}), "a quick castle")

    # when
    response = lambda_handler(event, lambda_context)

    # then it is retried, and the one image that came was not written
    assert failures(response) == [event["Records"][0]["messageId"]]
    assert keys_under(aws, BUCKET, f"team-a/sqs/{event['Records'][0]['messageId']}/") == []
    assert dead_letters(dlq) == []


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_body_nested_too_deeply_to_parse_is_dead_lettered_at_once_with_its_reason(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext, depth: int
) -> None:
    # given a JSON-looking body no parser should recurse into
    body = '{"prompt": ' + "[" * depth + "]" * depth + "}"
    event = sqs_event(body)

    # when
    response = lambda_handler(event, lambda_context)

    # then it is acknowledged and in the DLQ with a reason, on its first receive
    assert response == {"batchItemFailures": []}
    [letter] = dead_letters(dlq)
    assert letter["attributes"]["error_code"] in ("invalid_json", "validation_error")
    assert letter["attributes"]["receive_count"] == "1"


def last_receive(event: dict[str, Any], count: int = MAX_RECEIVES) -> dict[str, Any]:
    for record in event["Records"]:
        record["attributes"]["ApproximateReceiveCount"] = str(count)
    return event


def test_a_transient_failure_on_the_last_receive_is_dead_lettered_with_its_reason(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given a message that keeps timing out, on its last receive (the queue's maxReceiveCount)
    event = last_receive(sqs_event("a slow castle, timeout-me"))

    # when
    response = lambda_handler(event, lambda_context)

    # then the worker dead-letters it itself, with the last failure, instead of SQS moving it without a reason
    assert response == {"batchItemFailures": []}
    [letter] = dead_letters(dlq)
    assert letter["attributes"]["error_code"] == "model_error"
    assert f"failed on each of {MAX_RECEIVES} receives" in letter["attributes"]["error_message"]
    assert "ModelTimeoutException" in letter["attributes"]["error_message"]
    assert letter["body"] == "a slow castle, timeout-me"


def test_before_the_last_receive_the_same_failure_is_retried(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    event = last_receive(sqs_event("a slow castle, timeout-me", "a quick castle"), count=MAX_RECEIVES - 1)
    response = lambda_handler(event, lambda_context)
    assert failures(response) == [event["Records"][0]["messageId"]]
    assert dead_letters(dlq) == []


def test_an_s3_failure_is_retried_and_a_batch_that_failed_whole_is_a_function_error(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a bucket that has gone away
    aws.delete_bucket(Bucket=BUCKET)
    event = sqs_event("a cat", "a dog")

    # when / then every message failed, so the invocation fails (SQS retries the whole batch)
    with pytest.raises(BatchProcessingError, match="All records failed"):
        lambda_handler(event, lambda_context)
    # and nothing was dead-lettered, and the metrics were still published
    assert dead_letters(dlq) == []
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [emf] = [record for record in printed if "MessagesRetried" in record]
    assert emf["MessagesRetried"] == [2.0]


def test_a_message_the_dlq_cannot_take_is_retried_rather_than_lost(
    aws: Any, queues: Queues, standin: BedrockStandin, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a DLQ_URL whose queue does not exist
    monkeypatch.setenv("DLQ_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/no-such-queue")
    event = sqs_event('{"prompt": "a cat", "number_of_images": 9}', "a good dog")

    # when
    response = lambda_handler(event, lambda_context)

    # then the invalid message goes back to the queue (its redrive policy will move it to the DLQ)
    assert failures(response) == [event["Records"][0]["messageId"]]


def test_an_unexpected_exception_is_retried_and_logged_with_its_stack(
    aws: Any,
    dlq: str,
    standin: BedrockStandin,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    # given a service that breaks, for one prompt, in a way nobody planned for
    service = default_service()
    generate = service.generate

    def broken(request: GenerationRequest, **kwargs: Any) -> Any:
        if "fire" in request.prompt:
            raise RuntimeError("disk on fire")
        return generate(request, **kwargs)

    monkeypatch.setattr(service, "generate", broken)
    event = sqs_event("a house on fire", "a quiet lake")
    message_id = event["Records"][0]["messageId"]

    # when
    response = lambda_handler(event, lambda_context)

    # then
    assert failures(response) == [message_id]
    assert dead_letters(dlq) == []
    [error] = [line for line in log_lines() if line["level"] == "ERROR"]
    assert error["message"] == "unexpected error; SQS will retry the message"
    assert error["message_id"] == message_id
    assert "RuntimeError: disk on fire" in error["exception"]


def test_every_log_line_of_a_message_carries_its_message_id_and_no_other(
    aws: Any, dlq: str, standin: BedrockStandin, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    # given
    event = sqs_event(*(f"tulip number {index}" for index in range(6)))
    ids = {record["messageId"] for record in event["Records"]}

    # when
    lambda_handler(event, LambdaContext())

    # then each message logged "generating" and "images stored" under its own id
    per_message = [line for line in log_lines() if line["message"] in ("generating", "images stored")]
    assert sorted(line["message_id"] for line in per_message) == sorted([*ids, *ids])
    for line in per_message:
        if line["message"] == "images stored":
            assert all(key.startswith(f"team-a/sqs/{line['message_id']}/") for key in line["keys"])
    # and the batch summary, logged after the fan-out, belongs to no message
    [summary] = [line for line in log_lines() if line["message"] == "batch done"]
    assert "message_id" not in summary


def test_the_batch_publishes_how_many_messages_succeeded_were_retried_and_dead_lettered(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    event = load_event("sqs_mixed_batch")

    # when
    lambda_handler(event, lambda_context)

    # then the EMF record of the invocation counts 1 stored, 1 retried, 3 dead-lettered
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [emf] = [record for record in printed if "MessagesSucceeded" in record]
    assert (emf["MessagesSucceeded"], emf["MessagesRetried"], emf["MessagesDeadLettered"]) == ([1.0], [1.0], [3.0])
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "imagegen"
    # and one Failures data point per failed message, by error code
    failures_by_code = sorted(record["code"] for record in printed if "Failures" in record)
    assert failures_by_code == ["content_filtered", "invalid_json", "throttled", "validation_error"]


# --- redeliveries ---------------------------------------------------------------------------------


def test_a_duplicate_delivery_calls_bedrock_once_and_stores_one_object(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given a message that was processed once
    event = load_event("sqs_plain_text")
    message_id = event["Records"][0]["messageId"]
    lambda_handler(event, lambda_context)
    stored = keys_under(aws, BUCKET, f"team-a/sqs/{message_id}/")

    # when SQS delivers it again
    redelivered = copy.deepcopy(event)
    redelivered["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"
    response = lambda_handler(redelivered, lambda_context)

    # then it is acknowledged without a second Bedrock call or a second object
    assert response == {"batchItemFailures": []}
    assert len(standin.calls) == 1
    assert keys_under(aws, BUCKET, f"team-a/sqs/{message_id}/") == stored
    assert len(stored) == 1


def test_a_partly_written_message_completes_only_the_missing_image(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext, titan: str
) -> None:
    # given a two-image message whose second image is missing and whose first is marked
    event = sqs_event(json.dumps({"prompt": "a lighthouse", "number_of_images": 2, "seed": 42}))
    message_id = event["Records"][0]["messageId"]
    lambda_handler(event, lambda_context)
    first, second = (f"team-a/sqs/{message_id}/{index}-seed-42.png" for index in (0, 1))
    aws.put_object(Bucket=BUCKET, Key=first, Body=b"the first image, untouched")
    aws.delete_object(Bucket=BUCKET, Key=second)

    # when SQS delivers it again
    response = lambda_handler(event, lambda_context)

    # then the second image is back and the first was not written again
    assert response == {"batchItemFailures": []}
    assert len(standin.calls) == 2
    assert aws.get_object(Bucket=BUCKET, Key=second)["Body"].read().startswith(PNG_SIGNATURE)
    assert aws.get_object(Bucket=BUCKET, Key=first)["Body"].read() == b"the first image, untouched"


# --- time ------------------------------------------------------------------------------------------


def test_with_too_little_time_left_no_message_is_started_and_all_are_handed_back(
    aws: Any, dlq: str, standin: BedrockStandin
) -> None:
    # given an invocation with 10 s left, under the default 30 s guard
    event = sqs_event("a cat", "a dog", '{"prompt": "a cow", "number_of_images": 9}')

    # when / then every message goes back to the queue (the whole batch failed: a function error)
    with pytest.raises(BatchProcessingError, match="All records failed") as caught:
        lambda_handler(event, LambdaContext(remaining_ms=10_000))
    assert {type(exc).__name__ for _, exc, _ in caught.value.child_exceptions} == {"NotStartedError"}
    # and untouched: no Bedrock call, not even the invalid message dead-lettered
    assert standin.calls == []
    assert dead_letters(dlq) == []
    assert keys_under(aws, BUCKET, "team-a/") == []


class TimedByBedrock(LambdaContext):
    """A Lambda context whose time runs short once Bedrock has answered a first call."""

    def __init__(self, *, remaining_ms: int, standin: BedrockStandin, later_ms: int) -> None:
        super().__init__(remaining_ms=remaining_ms)
        self.standin = standin
        self.later_ms = later_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms if not self.standin.calls else self.later_ms


def test_messages_start_while_time_remains_and_the_rest_are_handed_back(
    aws: Any, dlq: str, standin: BedrockStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given one message at a time, a 5 s guard, and 4 s left once the first message has called Bedrock
    monkeypatch.setenv("WORKER_CONCURRENCY", "1")
    monkeypatch.setenv("TIME_GUARD_MS", "5000")
    event = sqs_event("a cat", "a dog", "a cow")
    context = TimedByBedrock(remaining_ms=60_000, standin=standin, later_ms=4_000)

    # when
    response = lambda_handler(event, context)

    # then the first is done and the other two go back to the queue
    ids = [record["messageId"] for record in event["Records"]]
    assert failures(response) == ids[1:]
    assert len(standin.calls) == 1
    assert len(keys_under(aws, BUCKET, f"team-a/sqs/{ids[0]}/")) == 1


# --- concurrency -----------------------------------------------------------------------------------


def test_the_messages_of_a_batch_call_bedrock_together_up_to_worker_concurrency(
    aws: Any, dlq: str, standin: BedrockStandin, in_flight: InFlight, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given 8 messages, 4 workers, and calls that wait until 4 of them are in flight together
    monkeypatch.setenv("WORKER_CONCURRENCY", "4")
    in_flight.barrier = threading.Barrier(4, timeout=20)
    event = sqs_event(*(f"lantern number {index}" for index in range(8)))

    # when
    response = lambda_handler(event, LambdaContext())

    # then every call met three others in flight, and never more than four were
    assert response == {"batchItemFailures": []}
    assert len(standin.calls) == 8
    assert in_flight.peak_calls == 4
    assert len(keys_under(aws, BUCKET, "team-a/sqs/")) == 8


def test_a_full_batch_of_ten_runs_all_at_once_by_default(
    aws: Any, dlq: str, standin: BedrockStandin, in_flight: InFlight
) -> None:
    # given ten one-image messages and calls that wait until all ten are in flight together
    in_flight.barrier = threading.Barrier(10, timeout=20)
    event = sqs_event(*(f"kite number {index}" for index in range(10)))

    # when
    response = lambda_handler(event, LambdaContext())

    # then
    assert response == {"batchItemFailures": []}
    assert in_flight.peak_calls == 10


def test_the_images_in_flight_never_exceed_max_images_in_flight(
    aws: Any, dlq: str, standin: BedrockStandin, titan: str, in_flight: InFlight, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given four 2-image messages, room for 5 images (two messages), calls that wait for a partner in
    # flight, and slow answers, so that more messages would overlap if they were let in
    monkeypatch.setenv("MAX_IMAGES_IN_FLIGHT", "5")
    standin.configure(latency_ms=100, image_detail="flat")
    in_flight.barrier = threading.Barrier(2, timeout=20)
    event = sqs_event(*(json.dumps({"prompt": f"bird {i}", "number_of_images": 2}) for i in range(4)))

    # when
    response = lambda_handler(event, LambdaContext())

    # then every image is stored, two messages ran together, and never more than 4 images were in flight
    assert response == {"batchItemFailures": []}
    assert len(keys_under(aws, BUCKET, "team-a/sqs/")) == 8
    assert in_flight.peak_calls == 2
    assert in_flight.peak_images == 4
