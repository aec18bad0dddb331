"""Jobs against the running local stack, as a user follows them: POST /jobs, a plain `aws sqs send-message`, a
poison message, the listing, and the jobs' events on EventBridge."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from tests.helpers import finished, get, png_size, post, wait_until

pytestmark = pytest.mark.e2e


def test_a_job_queued_over_http_succeeds_with_downloadable_pngs(local_stack: dict[str, Any]) -> None:
    # when
    status, headers, created = post(
        f"{local_stack['api_base_url']}/jobs",
        json.dumps({"prompt": f"a lighthouse {uuid.uuid4()}", "width": 1344, "height": 768}).encode(),
        {"Content-Type": "application/json", "x-api-key": local_stack["api_key"]},
    )

    # then 202 at once, and the job it names succeeds with a PNG of the asked size
    assert status == 202, created
    assert created["status"] == "queued"
    assert headers["Location"] == created["status_url"]
    job = finished(local_stack, created["job_id"])
    assert (job["status"], job["source"]) == ("succeeded", "api"), job
    [image] = job["images"]
    with urllib.request.urlopen(image["url"], timeout=10) as response:
        assert png_size(response.read()) == (1344, 768)


def test_a_message_sent_with_aws_sqs_send_message_is_a_job_under_its_message_id(
    local_stack: dict[str, Any], aws_clients: tuple[Any, Any]
) -> None:
    # given
    _, sqs = aws_clients
    message_id = sqs.send_message(QueueUrl=local_stack["queue_url"], MessageBody=f"a cat in space {uuid.uuid4()}")[
        "MessageId"
    ]

    # when / then
    job = finished(local_stack, message_id)
    assert (job["status"], job["source"], job["attempts"]) == ("succeeded", "queue", 1)


def test_a_poison_message_s_job_fails_with_the_dead_letter_s_code(
    local_stack: dict[str, Any], aws_clients: tuple[Any, Any]
) -> None:
    # given
    _, sqs = aws_clients
    message_id = sqs.send_message(QueueUrl=local_stack["queue_url"], MessageBody='{"prompt": "a cat", "seed": -1}')[
        "MessageId"
    ]

    # when / then
    job = finished(local_stack, message_id, "the poison message's job to fail")
    assert job["status"] == "failed"
    assert job["error"]["code"] == "validation_error"


def test_an_unknown_job_is_a_404_and_the_listing_is_newest_first(local_stack: dict[str, Any]) -> None:
    # given two jobs, one after the other
    headers = {"Content-Type": "application/json", "x-api-key": local_stack["api_key"]}
    ids = [
        post(f"{local_stack['api_base_url']}/jobs", json.dumps({"prompt": f"a boat {n}"}).encode(), headers)[2][
            "job_id"
        ]
        for n in range(2)
    ]

    # when
    status, listing = get(local_stack, "/jobs?limit=50")
    missing, error = get(local_stack, "/jobs/no-such-job")

    # then
    assert status == 200
    listed = [job["job_id"] for job in listing["jobs"]]
    assert listed.index(ids[1]) < listed.index(ids[0])
    assert (missing, error["error"]["code"]) == (404, "not_found")


def test_a_finished_job_is_announced_on_eventbridge(local_stack: dict[str, Any], aws_clients: tuple[Any, Any]) -> None:
    # given a job that finishes
    _, sqs = aws_clients
    message_id = sqs.send_message(QueueUrl=local_stack["queue_url"], MessageBody=f"a kite {uuid.uuid4()}")["MessageId"]
    finished(local_stack, message_id)

    # when the local stack's rule (source imagegen, the README's sample rule) has delivered the events (the other
    # tests' jobs' events are read and dropped on the way: only this test reads that queue)
    def event_of_the_job() -> dict[str, Any] | None:
        queue = local_stack["job_events_queue_url"]
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        events = [json.loads(message["Body"]) for message in messages]
        return next((event for event in events if event["detail"]["job_id"] == message_id), None)

    # then
    event = wait_until(event_of_the_job, 30, "the job's event")
    assert event is not None
    assert (event["source"], event["detail-type"]) == ("imagegen", "Job Succeeded")
    assert event["detail"]["status"] == "succeeded"
