"""Jobs end to end in one process: POST /jobs and GET /jobs through the API handler, the queue and the jobs table in
moto, the worker fed the queue's messages as Lambda's event source would, Bedrock through the stand-in."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest

from local.bedrock_standin import BedrockStandin
from local.lambda_context import LambdaContext
from tests.helpers import BUCKET, REGION, call, dead_letters, deliver
from tests.integration.conftest import Queues


@pytest.fixture
def queue(queues: Queues) -> str:
    """The image queue POST /jobs sends to and the worker reads (QUEUE_URL), in moto as the template makes it."""
    return queues.url


# --- POST /jobs ----------------------------------------------------------------------------------------


def test_a_job_is_queued_at_once_and_followed_to_its_images(
    queue: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # when a job is created
    status, headers, created = call("POST", "/jobs", lambda_context, {"prompt": "a lighthouse", "seed": 5})

    # then it is accepted without waiting for Bedrock, and says where to look
    assert status == 202
    job_id = created["job_id"]
    assert created == {"job_id": job_id, "status": "queued", "status_url": created["status_url"]}
    assert headers["Location"] == created["status_url"]
    assert urlparse(created["status_url"]).path == f"/v1/jobs/{job_id}"
    assert standin.calls == []
    status, _, job = call("GET", f"/jobs/{job_id}", lambda_context)
    assert (status, job["status"], job["source"], job["request"]) == (
        200,
        "queued",
        "api",
        {"prompt": "a lighthouse", "seed": 5},
    )

    # when the worker gets the message
    assert deliver(queue, lambda_context) == {"batchItemFailures": []}

    # then the job succeeded, with fresh presigned URLs to its images
    status, _, job = call("GET", f"/jobs/{job_id}", lambda_context)
    assert (status, job["status"], job["attempts"]) == (200, "succeeded", 1)
    [image] = job["images"]
    assert image["key"] == f"team-a/sqs/{job_id}/0-seed-5.png"
    assert (image["width"], image["height"]) == (1024, 1024)
    assert urlparse(image["url"]).path.endswith(image["key"])
    assert "X-Amz-Signature" in image["url"]


@pytest.mark.parametrize("body", [{"prompt": ""}, {"prompt": "a cat", "number_of_images": 3}, {"style": "x"}])
def test_an_invalid_job_is_refused_at_once_and_nothing_is_queued(
    queue: str, standin: BedrockStandin, lambda_context: LambdaContext, body: dict[str, Any]
) -> None:
    status, _, answer = call("POST", "/jobs", lambda_context, body)
    assert (status, answer["error"]["code"]) == (422, "validation_error")
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


# --- jobs of messages sent straight to the queue ----------------------------------------------------------


def test_a_message_sent_straight_to_the_queue_is_a_job_under_its_message_id(
    queue: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given `aws sqs send-message --message-body "a cat in space"`
    message_id = boto3.client("sqs", region_name=REGION).send_message(QueueUrl=queue, MessageBody="a cat in space")[
        "MessageId"
    ]

    # when the worker gets it
    deliver(queue, lambda_context)

    # then GET /jobs/<MessageId> shows it succeeded, from the queue
    status, _, job = call("GET", f"/jobs/{message_id}", lambda_context)
    assert (status, job["status"], job["source"]) == (200, "succeeded", "queue")
    assert job["request"]["prompt"] == "a cat in space"
    assert len(job["images"]) == 1


def test_a_poison_message_s_job_fails_with_the_dead_letter_s_code(
    queue: str, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given a message that can never be read
    message_id = boto3.client("sqs", region_name=REGION).send_message(QueueUrl=queue, MessageBody='{"prompt": ')[
        "MessageId"
    ]

    # when
    deliver(queue, lambda_context)

    # then its dead letter and its job say the same
    [letter] = dead_letters(dlq)
    status, _, job = call("GET", f"/jobs/{message_id}", lambda_context)
    assert (status, job["status"]) == (200, "failed")
    assert job["error"]["code"] == letter["attributes"]["error_code"] == "invalid_json"
    assert job["body_excerpt"] == '{"prompt": '


def test_a_retried_message_shows_its_attempts_growing_until_it_succeeds(
    queue: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given a message whose first two deliveries meet an outage at Bedrock's endpoint
    message_id = boto3.client("sqs", region_name=REGION).send_message(QueueUrl=queue, MessageBody="a harbour")[
        "MessageId"
    ]
    standin.configure(outage_rate=1.0)

    # when it is delivered twice while the outage lasts
    for attempt in (1, 2):
        deliver(queue, lambda_context, receive_count=attempt)
        _, _, job = call("GET", f"/jobs/{message_id}", lambda_context)

        # then the job is running, on its nth attempt
        assert (job["status"], job["attempts"]) == ("running", attempt)

    # and when the outage is over, the third delivery succeeds
    standin.configure(outage_rate=0.0)
    deliver(queue, lambda_context, receive_count=3)
    _, _, job = call("GET", f"/jobs/{message_id}", lambda_context)
    assert (job["status"], job["attempts"]) == ("succeeded", 3)


# --- POST /generate-image is a job too ---------------------------------------------------------------------


def test_a_generation_over_http_is_recorded_as_a_job_under_its_request_id(
    queue: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    status, _, answer = call("POST", "/generate-image", lambda_context, {"prompt": "a fox"})
    assert status == 200
    status, _, job = call("GET", f"/jobs/{answer['request_id']}", lambda_context)
    assert (status, job["status"], job["source"]) == (200, "succeeded", "api")
    assert [image["key"] for image in job["images"]] == [image["key"] for image in answer["images"]]


def test_a_refused_generation_over_http_is_a_failed_job(
    queue: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    status, _, answer = call("POST", "/generate-image", lambda_context, {"prompt": "something forbidden"})
    assert status == 422
    status, _, job = call("GET", f"/jobs/{answer['request_id']}", lambda_context)
    assert (job["status"], job["error"]["code"]) == ("failed", "content_filtered")


# --- GET /jobs ---------------------------------------------------------------------------------------------


def test_jobs_are_listed_newest_first_with_a_next_token(
    queue: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given three jobs
    ids = [call("POST", "/jobs", lambda_context, {"prompt": f"a boat {index}"})[2]["job_id"] for index in range(3)]

    # when the first page of two is read, then the rest
    status, _, first = call("GET", "/jobs", lambda_context, limit="2")
    _, _, rest = call("GET", "/jobs", lambda_context, limit="2", next=first["next"])

    # then newest first, every job once, and no next token after the last page
    assert status == 200
    listed = [job["job_id"] for job in first["jobs"] + rest["jobs"]]
    assert listed == list(reversed(ids))
    assert rest["next"] is None
    assert first["jobs"][0]["request"]["prompt"] == "a boat 2"


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [({"limit": "0"}, 422, "validation_error"), ({"limit": "lots"}, 422, "validation_error"),
     ({"limit": "101"}, 422, "validation_error"), ({"next": "garbage"}, 400, "bad_request")],
)  # fmt: skip
def test_a_bad_page_request_is_the_caller_s_mistake(
    queue: str, standin: BedrockStandin, lambda_context: LambdaContext, query: dict[str, str], status: int, code: str
) -> None:
    answered, _, body = call("GET", "/jobs", lambda_context, **query)
    assert (answered, body["error"]["code"]) == (status, code)


@pytest.mark.parametrize("job_id", ["no-such-job", "../../etc", "x" * 300])
def test_an_unknown_job_is_a_json_404(
    queue: str, standin: BedrockStandin, lambda_context: LambdaContext, job_id: str
) -> None:
    status, _, body = call("GET", f"/jobs/{job_id}", lambda_context)
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert len(json.dumps(body)) < 1_000


def test_the_images_of_a_job_are_in_the_bucket(
    aws: Any, queue: str, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    job_id = call("POST", "/jobs", lambda_context, {"prompt": "a kite"})[2]["job_id"]
    deliver(queue, lambda_context)
    [image] = call("GET", f"/jobs/{job_id}", lambda_context)[2]["images"]
    assert aws.head_object(Bucket=BUCKET, Key=image["key"])["ContentType"] == "image/png"
