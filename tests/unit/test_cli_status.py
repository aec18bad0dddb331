"""`imagegen status`: queue depths, dead letters and the newest images, against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from imagegen_cli.main import main
from imagegen_cli.status import newest_images
from tests.helpers import REGION

pytestmark = pytest.mark.usefixtures("empty_working_directory")  # no .local/endpoints.json to find

BUCKET = "imagegen-status-test"


@dataclass
class Stack:
    queue_url: str
    dlq_url: str


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A queue with 3 waiting and 1 in-flight message, a DLQ with 2 failures, a bucket with images."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="images")["QueueUrl"]
        dlq_url = sqs.create_queue(QueueName="images-dlq")["QueueUrl"]
        for n in range(4):
            sqs.send_message(QueueUrl=queue_url, MessageBody=f"prompt {n}")
        sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, VisibilityTimeout=600)
        for code in ("content_filtered", "validation_error"):
            sqs.send_message(
                QueueUrl=dlq_url,
                MessageBody="{}",
                MessageAttributes={
                    "error_code": {"DataType": "String", "StringValue": code},
                    "error_message": {"DataType": "String", "StringValue": f"{code} happened"},
                    "original_message_id": {"DataType": "String", "StringValue": f"orig-{code}"},
                },
            )
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        for n in range(5):
            s3.put_object(Bucket=BUCKET, Key=f"team-a/sqs/msg-{n}/0.png", Body=b"\x89PNG" + b"x" * (100 * n))
        s3.put_object(Bucket=BUCKET, Key="team-a/sqs/notes.txt", Body=b"not an image")
        s3.put_object(Bucket=BUCKET, Key="other/elsewhere.png", Body=b"\x89PNG")
        monkeypatch.setenv("SQS_QUEUE_URL", queue_url)
        monkeypatch.setenv("IMAGEGEN_DLQ_URL", dlq_url)
        monkeypatch.setenv("IMAGEGEN_BUCKET", BUCKET)
        monkeypatch.setenv("IMAGEGEN_IMAGE_PREFIX", "team-a")
        yield Stack(queue_url, dlq_url)


def test_status_shows_queue_depths_and_the_newest_images_first(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    code = main(["status", "--limit", "3"])
    # then
    assert code == 0
    out = capsys.readouterr().out
    assert "3 waiting, 1 in flight, 0 delayed" in out
    assert "2 failed messages" in out
    assert f"newest 3 in s3://{BUCKET}/team-a/" in out
    keys = [line.split()[-1] for line in out.splitlines() if line.endswith(".png")]
    assert len(keys) == 3
    assert all(key.startswith("team-a/sqs/msg-") for key in keys)


def test_status_json_holds_the_same_facts(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    # when
    code = main(["status", "--json"])
    # then
    assert code == 0
    status = json.loads(capsys.readouterr().out)
    assert status["queue"] == {"url": stack.queue_url, "visible": 3, "in_flight": 1, "delayed": 0}
    assert status["dead_letter_queue"]["visible"] == 2
    newest = status["images"]["newest"]
    assert sorted(image["key"] for image in newest) == [f"team-a/sqs/msg-{n}/0.png" for n in range(5)]
    assert sorted(image["size"] for image in newest) == [4, 104, 204, 304, 404]
    assert status["images"]["complete"] is True


def test_status_with_dlq_shows_the_dead_letters_error_codes_and_leaves_them_queued(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # when
    code = main(["status", "--dlq"])
    # then
    assert code == 0
    out = capsys.readouterr().out
    assert "content_filtered" in out
    assert "orig-validation_error" in out
    visible = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=stack.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert visible == "2"


def test_a_listing_larger_than_the_scan_bound_stops_and_says_so(stack: Stack) -> None:
    # given
    s3 = boto3.client("s3", region_name=REGION)
    # when
    listing = newest_images(s3, BUCKET, "team-a/", limit=10, scan=2)
    # then
    assert listing.complete is False
    assert listing.scanned == 2
    assert len(listing.newest) <= 2


class PagedS3:
    """An in-memory bucket listing: pages of objects with the given modification times."""

    def __init__(self, pages: list[list[tuple[str, datetime]]]) -> None:
        self.pages = pages

    def get_paginator(self, name: str) -> PagedS3:
        assert name == "list_objects_v2"
        return self

    def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
        for number, page in enumerate(self.pages, start=1):
            contents = [{"Key": key, "Size": 1, "LastModified": when} for key, when in page]
            yield {"Contents": contents, "IsTruncated": number < len(self.pages)}


def test_the_newest_images_come_first_whatever_their_key_order_and_only_pngs_count() -> None:
    # given keys whose name order is the reverse of their time order, over two pages
    start = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    first = [("a/9.png", start), ("a/8.png", start + timedelta(milliseconds=1)), ("a/7.txt", start)]
    second = [("b/2.png", start + timedelta(seconds=5)), ("b/1.png", start + timedelta(seconds=9))]
    # when
    listing = newest_images(PagedS3([first, second]), "bucket", "", limit=3, scan=100)  # type: ignore[arg-type]
    # then
    assert [image.key for image in listing.newest] == ["b/1.png", "b/2.png", "a/8.png"]
    assert listing.newest[0].last_modified == "2025-01-01T12:00:09+00:00"
    assert listing.scanned == 5
    assert listing.complete is True


def test_status_without_bucket_or_dlq_still_shows_the_queue_and_says_what_is_missing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    monkeypatch.delenv("IMAGEGEN_BUCKET")
    monkeypatch.delenv("IMAGEGEN_DLQ_URL")
    # when
    code = main(["status"])
    # then
    assert code == 0
    out = capsys.readouterr().out
    assert "3 waiting" in out
    assert "no dead-letter queue URL (--dlq-url or IMAGEGEN_DLQ_URL)" in out
    assert "no bucket name (--bucket or IMAGEGEN_BUCKET)" in out
