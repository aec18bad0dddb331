"""The whole system offline, through ``python -m local``: HTTP and SQS in, PNGs in S3, failures in the DLQ."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import clients_for, start_local_stack, stop_local_stack
from tests.helpers import keys_under, png_size, post, wait_until

pytestmark = pytest.mark.e2e


def generate(stack: dict[str, Any], payload: Any, *, key: str | None = None, url: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", "x-api-key": key if key is not None else stack["api_key"]}
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return post(url or stack["api_url"], body, headers)


def dead_letter(sqs: Any, dlq_url: str, body: str) -> dict[str, Any] | None:
    """The DLQ message with ``body``, looked at without hiding it from the other tests (visibility 0)."""
    messages = sqs.receive_message(
        QueueUrl=dlq_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=0,
        WaitTimeSeconds=1,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])
    return next((message for message in messages if message["Body"] == body), None)


def test_a_request_over_http_stores_a_png_that_the_presigned_url_serves(
    local_stack: dict[str, Any], aws_clients: tuple[Any, Any]
) -> None:
    # given the local stack runs the default model (Stable Image Core)
    s3, _ = aws_clients
    assert local_stack["model_id"] == "stability.stable-image-core-v1:1"

    # when
    status, headers, answer = generate(local_stack, {"prompt": "a lighthouse at dawn", "width": 1216, "height": 832})

    # then
    assert status == 200, answer
    assert answer["request_id"] == headers["x-amzn-RequestId"]
    assert len(answer["images"]) == 1
    for image in answer["images"]:
        assert image["bucket"] == local_stack["bucket"]
        assert image["key"].startswith(f"{local_stack['image_prefix']}/api/{answer['request_id']}/")
        with urllib.request.urlopen(image["url"], timeout=10) as response:
            served = response.read()
        stored = s3.get_object(Bucket=image["bucket"], Key=image["key"])["Body"].read()
        assert served == stored
        assert png_size(stored) == (image["width"], image["height"]) == (1216, 832)
        assert len(stored) > 10_000


def test_the_stage_path_of_the_deployed_url_works_too(local_stack: dict[str, Any]) -> None:
    # when
    status, _, answer = generate(local_stack, {"prompt": "a cat"}, url=local_stack["api_stage_url"])

    # then
    assert status == 200, answer
    assert len(answer["images"]) == 1


@pytest.mark.parametrize("key", ["", "not-the-key"])
def test_a_missing_or_wrong_api_key_is_refused_with_a_json_403(local_stack: dict[str, Any], key: str) -> None:
    # when
    status, headers, answer = generate(local_stack, {"prompt": "a cat"}, key=key)

    # then
    assert status == 403
    assert answer["error"]["code"] == "forbidden"
    assert answer["request_id"] == headers["x-amzn-RequestId"]


def test_a_body_that_is_not_json_is_a_400_invalid_json(local_stack: dict[str, Any]) -> None:
    # when
    status, _, answer = generate(local_stack, b'{"prompt": "a cat",')

    # then
    assert status == 400
    assert answer["error"]["code"] == "invalid_json"


def test_an_unknown_route_is_a_json_404(local_stack: dict[str, Any]) -> None:
    # when
    status, _, answer = generate(local_stack, {"prompt": "a cat"}, url=local_stack["api_url"] + "-please")

    # then
    assert status == 404
    assert answer["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "body", ["a red fox in fresh snow, watercolor", json.dumps({"prompt": "a red fox", "seed": 7})]
)
def test_a_queued_message_stores_its_png_under_its_message_id(
    local_stack: dict[str, Any], aws_clients: tuple[Any, Any], body: str
) -> None:
    # given
    s3, sqs = aws_clients

    # when
    message_id = sqs.send_message(QueueUrl=local_stack["queue_url"], MessageBody=body)["MessageId"]

    # then
    prefix = f"{local_stack['image_prefix']}/sqs/{message_id}/"
    keys = wait_until(lambda: keys_under(s3, local_stack["bucket"], prefix), 20, f"an image under {prefix}")
    assert len(keys) == 1
    png_size(s3.get_object(Bucket=local_stack["bucket"], Key=keys[0])["Body"].read())


@pytest.mark.parametrize(
    ("body", "code"),
    [('{"prompt": "forbidden words", "note": "%s"}', "validation_error"), ("forbidden fruit %s", "content_filtered")],
)
def test_a_poison_message_lands_in_the_dlq_with_its_reason(
    local_stack: dict[str, Any], aws_clients: tuple[Any, Any], body: str, code: str
) -> None:
    # given
    _, sqs = aws_clients
    unique = body % uuid.uuid4()

    # when
    message_id = sqs.send_message(QueueUrl=local_stack["queue_url"], MessageBody=unique)["MessageId"]

    # then
    letter = wait_until(partial(dead_letter, sqs, local_stack["dlq_url"], unique), 20, "the dead letter")
    assert letter is not None
    attributes = letter["MessageAttributes"]
    assert attributes["error_code"]["StringValue"] == code
    assert attributes["original_message_id"]["StringValue"] == message_id
    assert attributes["error_message"]["StringValue"]


def test_throttled_messages_are_retried_then_dead_lettered_with_their_reason_on_the_last_receive(
    local_stack: dict[str, Any], aws_clients: tuple[Any, Any], local_stack_log: Path
) -> None:
    # given prompts Bedrock always throttles (each hand-back takes 1 s here: LOCAL_ENV_HAND_BACK_MAX_SECONDS)
    s3, sqs = aws_clients
    bodies = [f"throttle-me please, burst {index} {uuid.uuid4()}" for index in range(3)]

    # when
    ids = [sqs.send_message(QueueUrl=local_stack["queue_url"], MessageBody=body)["MessageId"] for body in bodies]

    # then
    dlq = local_stack["dlq_url"]
    letters = [wait_until(partial(dead_letter, sqs, dlq, body), 120, f"{body!r} in the DLQ") for body in bodies]
    for letter in letters:
        assert letter is not None
        # sent by the worker on the message's last receive, with the last failure as its reason
        attributes = {name: value["StringValue"] for name, value in letter["MessageAttributes"].items()}
        assert attributes["error_code"] == "throttled"
        assert int(attributes["receive_count"]) == local_stack["max_receive_count"]
        assert f"failed on each of {local_stack['max_receive_count']} receives" in attributes["error_message"]
    for message_id in ids:
        assert keys_under(s3, local_stack["bucket"], f"{local_stack['image_prefix']}/sqs/{message_id}/") == []
    assert "left to retry" in local_stack_log.read_text()
    assert "handed back to the queue" in local_stack_log.read_text()


def test_with_a_bedrock_quota_a_burst_of_prompts_is_paced_and_nothing_is_dead_lettered(tmp_path: Path) -> None:
    # given a local stack whose Bedrock allows 4 calls a second, in bursts of 2
    stack = start_local_stack(tmp_path, BEDROCK_STANDIN_QUOTA_RPS="4", BEDROCK_STANDIN_QUOTA_BURST="2")
    try:
        s3, sqs = clients_for(stack.endpoints)
        bodies = [f"a paced lantern number {index}" for index in range(12)]

        # when a burst of prompts arrives
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(index), "MessageBody": body} for index, body in enumerate(bodies[start : start + 10])]
            sqs.send_message_batch(QueueUrl=stack.endpoints["queue_url"], Entries=entries)

        # then every prompt gets its image, and none lands in the DLQ (about 3 s at this quota; the generous wait
        # is for a machine busy with other tests, where a handed-back message may wait 2, then 4 s to reappear)
        prefix = f"{stack.endpoints['image_prefix']}/sqs/"
        wait_until(lambda: len(keys_under(s3, stack.endpoints["bucket"], prefix)) == len(bodies), 120, "all 12 images")
        depth = sqs.get_queue_attributes(QueueUrl=stack.endpoints["dlq_url"], AttributeNames=["All"])["Attributes"]
        assert depth["ApproximateNumberOfMessages"] == "0"
        # and the banner said how Bedrock's quota and the worker's pace were set
        assert "Bedrock quota 4 req/s (burst 2); the worker's pace: 240 calls/min" in stack.log()
    finally:
        assert stop_local_stack(stack) == 0


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_everything_cleanly(tmp_path: Path, signal_number: int) -> None:
    # given
    stack = start_local_stack(tmp_path)
    status, _, _ = generate(stack.endpoints, {"prompt": "a cat"})
    assert status == 200
    containers = _children(stack.process.pid)
    assert containers, "the request should have started a container"

    # when
    code = stop_local_stack(stack, signal_number)

    # then
    assert code == 0, stack.log()
    assert "local stack stopped" in stack.log()
    assert not [pid for pid in containers if Path(f"/proc/{pid}").exists()]
    assert not (stack.state_dir / "endpoints.json").exists()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(stack.endpoints["api_url"], timeout=5)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the containers), from /proc."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry))
    return children
