"""The job store's state machine against DynamoDB (moto, with the table as template.yaml declares it): every
transition is a conditional write, so no redelivery, duplicate or race moves a job backwards, and only the write
that completes a job publishes its event."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from imagegen_core.errors import BadRequestError, ContentFilteredError, ModelError
from imagegen_core.jobs import JobImage, JobStore
from tests.helpers import JOBS_TABLE, REGION

MODEL = "stability.stable-image-core-v1:1"
REQUEST = {"prompt": "a lighthouse", "seed": 7}
START = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves forward itself."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events_queue(aws: Any) -> str:
    """Where the default bus's imagegen events land: a rule with an SQS target, as README's sample rule."""
    sqs, events = boto3.client("sqs", region_name=REGION), boto3.client("events", region_name=REGION)
    url = sqs.create_queue(QueueName="job-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="jobs", EventPattern=json.dumps({"source": ["imagegen"]}), State="ENABLED")
    events.put_targets(Rule="jobs", Targets=[{"Id": "q", "Arn": arn}])
    return url


@pytest.fixture
def jobs(aws: Any, events_queue: str, clock: Clock) -> JobStore:
    return JobStore(
        boto3.client("dynamodb", region_name=REGION),
        JOBS_TABLE,
        lambda: boto3.client("events", region_name=REGION),
        retention_days=30,
        clock=clock,
    )


def published(events_queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    found = []
    while messages := sqs.receive_message(QueueUrl=events_queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=events_queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def started(jobs: JobStore, job_id: str, attempt: int = 1) -> bool:
    return jobs.start(job_id, source="queue", request=REQUEST, model_id=MODEL, attempt=attempt)


# --- the happy path -------------------------------------------------------------------------------------


def test_a_queued_job_runs_then_succeeds_and_publishes_once(jobs: JobStore, clock: Clock, events_queue: str) -> None:
    # given a job queued over HTTP
    assert jobs.queue("m-1", source="api", request=REQUEST, model_id=MODEL)
    assert jobs.get("m-1")["status"] == "queued"  # type: ignore[index]

    # when the worker starts it, then stores its image
    clock.tick()
    assert started(jobs, "m-1")
    clock.tick()
    assert jobs.succeed("m-1", [JobImage("images/sqs/m-1/0-seed-7.png", 1024, 1024)])

    # then the job says so, with its times, and one event went out
    job = jobs.get("m-1")
    assert job is not None
    assert (job["status"], job["source"], job["attempts"], job["model_id"]) == ("succeeded", "api", 1, MODEL)
    assert job["request"] == REQUEST
    assert job["images"] == [{"key": "images/sqs/m-1/0-seed-7.png", "width": 1024, "height": 1024}]
    assert job["created_at"] == "2026-11-29T12:00:00.000Z"
    assert job["updated_at"] == "2026-11-29T12:00:02.000Z"
    assert job["expires_at"] == int((START + timedelta(days=30)).timestamp())
    [event] = published(events_queue)
    assert (event["source"], event["detail-type"]) == ("imagegen", "Job Succeeded")
    assert event["detail"] == {"job_id": "m-1", "status": "succeeded", "images": ["images/sqs/m-1/0-seed-7.png"]}


def test_a_message_sent_straight_to_the_queue_becomes_a_job_when_the_worker_starts_it(jobs: JobStore) -> None:
    assert started(jobs, "m-2")
    job = jobs.get("m-2")
    assert job is not None
    assert (job["status"], job["source"], job["attempts"]) == ("running", "queue", 1)


def test_a_job_its_caller_waited_for_is_recorded_once_when_it_ends(jobs: JobStore, events_queue: str) -> None:
    # when POST /generate-image answers (one write: the open connection was the job's status meanwhile)
    image = JobImage("images/api/r-1/0-seed-7.png", 1024, 1024)
    assert jobs.record_finished("r-1", source="api", request=REQUEST, model_id=MODEL, images=[image])
    refused = ContentFilteredError("blocked")
    assert jobs.record_finished("r-2", source="api", request=REQUEST, model_id=MODEL, error=refused)

    # then both jobs are complete, with one event each
    done, failed = jobs.get("r-1"), jobs.get("r-2")
    assert done is not None
    assert failed is not None
    assert (done["status"], done["attempts"], done["images"][0]["key"]) == ("succeeded", 1, image.key)
    assert (failed["status"], failed["error"]["code"]) == ("failed", "content_filtered")
    assert [event["detail-type"] for event in published(events_queue)] == ["Job Succeeded", "Job Failed"]

    # and a second record of the same request id changes nothing (a Lambda retry of the same invocation)
    assert not jobs.record_finished("r-1", source="api", request=REQUEST, model_id=MODEL, error=refused)
    assert jobs.get("r-1")["status"] == "succeeded"  # type: ignore[index]
    assert published(events_queue) == []


# --- never backwards ----------------------------------------------------------------------------------


def test_a_redelivery_counts_an_attempt_and_a_stale_or_duplicate_one_does_not(jobs: JobStore) -> None:
    assert started(jobs, "m-3", attempt=1)
    assert started(jobs, "m-3", attempt=2)
    assert not started(jobs, "m-3", attempt=2)  # a duplicate delivery of the same receive
    assert not started(jobs, "m-3", attempt=1)  # a stale one
    assert jobs.get("m-3")["attempts"] == 2  # type: ignore[index]


def test_a_finished_job_is_never_started_again(jobs: JobStore) -> None:
    started(jobs, "m-4")
    jobs.succeed("m-4", [])
    assert not started(jobs, "m-4", attempt=2)
    assert jobs.get("m-4")["status"] == "succeeded"  # type: ignore[index]


def test_a_succeeded_job_stays_succeeded_when_a_racing_delivery_fails(jobs: JobStore, events_queue: str) -> None:
    # given two deliveries of one message: one stored the images
    started(jobs, "m-5")
    assert jobs.succeed("m-5", [JobImage("k", 1, 1)])

    # when the other fails for good, or succeeds again
    failed = jobs.fail("m-5", ContentFilteredError("blocked"), source="queue", model_id=MODEL)
    again = jobs.succeed("m-5", [JobImage("k", 1, 1)])

    # then nothing changed, and one event only was published
    assert (failed, again) == (False, False)
    assert jobs.get("m-5")["status"] == "succeeded"  # type: ignore[index]
    assert [event["detail-type"] for event in published(events_queue)] == ["Job Succeeded"]


def test_queueing_after_the_worker_started_keeps_the_worker_s_status(jobs: JobStore) -> None:
    # given the worker got the message before the API recorded it (the API sends, then records)
    started(jobs, "m-6")

    # when the API records it as queued
    jobs.queue("m-6", source="api", request=REQUEST, model_id=MODEL)

    # then it is still running
    assert jobs.get("m-6")["status"] == "running"  # type: ignore[index]


def test_a_job_cannot_succeed_before_it_exists(jobs: JobStore) -> None:
    assert not jobs.succeed("never-started", [])
    assert jobs.get("never-started") is None


# --- failures -----------------------------------------------------------------------------------------


def test_a_message_that_fails_before_it_starts_is_a_failed_job_with_its_reason(
    jobs: JobStore, events_queue: str
) -> None:
    # given an unparseable message's job (no request, its body only)
    error = ModelError("the image model rejected the request", transient=False, detail="internal detail")

    # when
    assert jobs.fail("m-7", error, source="queue", model_id=MODEL, body="{" + "x" * 500)

    # then the client-safe message is kept, not the operator's detail, and the body only in part
    job = jobs.get("m-7")
    assert job is not None
    assert job["status"] == "failed"
    assert job["error"] == {"code": "model_error", "message": "the image model rejected the request"}
    assert len(job["body_excerpt"]) == 200
    [event] = published(events_queue)
    assert (event["detail-type"], event["detail"]["error"]["code"]) == ("Job Failed", "model_error")


# --- listing ------------------------------------------------------------------------------------------


def test_jobs_are_listed_newest_first_a_page_at_a_time(jobs: JobStore, clock: Clock) -> None:
    # given five jobs, a second apart
    for index in range(5):
        started(jobs, f"job-{index}")
        clock.tick()

    # when they are read two at a time
    pages, token = [], None
    while True:
        items, token = jobs.newest(2, token)
        pages.append([item["job_id"] for item in items])
        if token is None:
            break

    # then newest first, each once
    assert [job for page in pages for job in page] == ["job-4", "job-3", "job-2", "job-1", "job-0"]
    assert pages[0] == ["job-4", "job-3"]


@pytest.mark.parametrize("token", ["not-a-token", "e30", "W10", "eyJqb2JfaWQiOjF9", "%%%"])
def test_a_page_token_this_api_did_not_give_out_is_the_caller_s_mistake(jobs: JobStore, token: str) -> None:
    with pytest.raises(BadRequestError, match="next token"):
        jobs.newest(2, token)


@pytest.mark.parametrize("job_id", ["", "../etc", "a" * 101, "with space", "-leading"])
def test_an_id_that_cannot_be_a_job_is_simply_not_found(jobs: JobStore, job_id: str) -> None:
    assert jobs.get(job_id) is None


# --- best effort --------------------------------------------------------------------------------------


def test_a_table_that_cannot_be_written_is_logged_and_does_not_stop_the_work(
    aws: Any, logs: Any, clock: Callable[[], datetime]
) -> None:
    # given a store on a table that does not exist
    store = JobStore(
        boto3.client("dynamodb", region_name=REGION), "no-such-table",
        lambda: boto3.client("events", region_name=REGION), retention_days=1, clock=clock,
    )  # fmt: skip

    # when / then nothing raises, and the log says what was lost
    assert not store.start("m-8", source="queue", request=REQUEST, model_id=MODEL, attempt=1)
    assert "the job could not be recorded" in logs.getvalue()
