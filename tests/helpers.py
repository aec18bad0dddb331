"""Helpers the tests share (fixtures live in the conftest.py files; these are plain functions and constants).

- the test environment's names: ``ROOT``, ``BUCKET``, ``JOBS_TABLE``, ``REGION``;
- events from ``events/`` (the same files ``sam local invoke -e`` uses): ``load_event``, ``api_event``;
- a Lambda proxy answer's headers as API Gateway sends them: ``response_headers``;
- PNGs, made and read independently of the code under test: ``tiny_png``, ``png_size``, ``PNG_SIGNATURE``;
- what landed in S3: ``keys_under``;
- the functions in-process, called as API Gateway and Lambda's SQS event source call them: ``call`` (an API
  request), ``sqs_event``, ``deliver`` (a queue's messages to the worker), ``failures`` (the worker's answer),
  ``dead_letters`` (a DLQ's content);
- a running local stack's API over HTTP (the e2e tests): ``post``, ``get``, ``finished`` (a job, once it ends);
- waiting on a condition with a deadline instead of sleeping: ``wait_until``;
- what a careless or hostile caller sends, for the property tests (Hypothesis strategies): ``JSON_VALUES``,
  ``REQUESTS``, without the prompts of ``STANDIN_WORDS``.
"""

from __future__ import annotations

import copy
import json
import struct
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hypothesis import strategies as st

from generate_image.app import lambda_handler as api_handler
from local.lambda_context import LambdaContext
from local.sqs_poller import build_sqs_record
from sqs_worker.app import lambda_handler as worker_handler

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
BUCKET = "imagegen-test-bucket"
JOBS_TABLE = "imagegen-test-jobs"
REGION = "eu-west-1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

T = TypeVar("T")


def load_event(name: str) -> dict[str, Any]:
    """An event from events/ (the same files `sam local invoke -e` uses)."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def api_event(body: Any, *, raw: str | None = None, request_id: str | None = None) -> dict[str, Any]:
    """The API event of events/api_generate_image.json with another body and a fresh request id."""
    event = load_event("api_generate_image")
    event["body"] = raw if raw is not None else json.dumps(body)
    event["requestContext"]["requestId"] = request_id or str(uuid.uuid4())
    return event


def response_headers(response: dict[str, Any]) -> dict[str, str]:
    """The headers of a REST API (payload v1) proxy answer: ``headers`` and ``multiValueHeaders`` merged, as API
    Gateway merges them (the last value of a multi-value header)."""
    headers = dict(response.get("headers") or {})
    headers.update({name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()})
    return headers


def tiny_png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size (8-bit greyscale, one zlib stream)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a valid PNG has right after its signature."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (kind, length) == (b"IHDR", 13), "the first chunk is not IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def keys_under(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The keys in ``bucket`` under ``prefix``, sorted (one page: the tests store far fewer than 1,000)."""
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def sqs_event(*bodies: str, ids: list[str] | None = None) -> dict[str, Any]:
    """An SQS event shaped like events/sqs_plain_text.json with one record per body."""
    template = load_event("sqs_plain_text")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = ids[index] if ids else f"00000000-0000-4000-8000-{index:012d}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


def failures(response: dict[str, Any]) -> list[str]:
    """The message ids the worker's answer hands back to SQS (its batchItemFailures)."""
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def dead_letters(url: str) -> list[dict[str, Any]]:
    """Every message in the DLQ, with its attributes as plain strings."""
    sqs = boto3.client("sqs", region_name=REGION)
    received: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        messages = batch.get("Messages", [])
        if not messages:
            return received
        for message in messages:
            attributes = {name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()}
            received.append({"body": message["Body"], "attributes": attributes})


def call(
    method: str, path: str, context: LambdaContext, body: Any = None, **query: str
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """One API request as API Gateway sends it (the shape of events/api_generate_image.json)."""
    event = api_event(body)
    event.update(httpMethod=method, path=path, resource=path, queryStringParameters=query or None)
    if body is None:
        event["body"] = None
    if path.startswith("/jobs/"):
        event["resource"], event["pathParameters"] = "/jobs/{job_id}", {"job_id": path.split("/", 2)[2]}
    response = api_handler(event, context)
    return response["statusCode"], response_headers(response), json.loads(response["body"])


def deliver(queue_url: str, context: LambdaContext, receive_count: int | None = None) -> dict[str, Any]:
    """Everything waiting in the queue, as one event to the worker (Lambda's record shape), deleted after."""
    sqs = boto3.client("sqs", region_name=REGION)
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    records = [build_sqs_record(message, queue_arn="arn:aws:sqs:eu-west-1:123456789012:q", region=REGION)
               for message in messages]  # fmt: skip
    if receive_count is not None:
        for record in records:
            record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    try:
        response: dict[str, Any] = worker_handler({"Records": records}, context)
    except BatchProcessingError:  # every record failed: Lambda's function error, the whole batch comes back
        response = {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in records]}
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        else:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return response


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """The first truthy value of ``condition()``, polled until ``timeout`` s; fails saying ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)  # a poll interval, not a fixed wait: the deadline bounds the whole wait


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    """POST ``body`` to ``url`` (a running local stack's API); the status, headers and JSON answer, errors too."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def get(stack: dict[str, Any], path: str) -> tuple[int, Any]:
    """GET ``path`` of a running local stack's API with its key; the status and JSON answer, errors too."""
    request = urllib.request.Request(f"{stack['api_base_url']}{path}", headers={"x-api-key": stack["api_key"]})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def finished(stack: dict[str, Any], job_id: str, what: str = "the job to finish") -> dict[str, Any]:
    """The job once it has succeeded or failed (polled through GET /jobs/{id}, up to a minute)."""

    def done() -> dict[str, Any] | None:
        status, job = get(stack, f"/jobs/{job_id}")
        return job if status == 200 and job["status"] in ("succeeded", "failed") else None

    job = wait_until(done, 60, what)
    assert job is not None
    return job


# Prompts the stand-in treats specially (filters, faults): the properties are about callers, not those knobs.
STANDIN_WORDS = ("forbidden", "unsafe", "throttle-me", "timeout-me", "outage-me", "corrupt-me", "not-png", "fewer-me")

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = {
    "prompt": st.text(max_size=40).filter(lambda text: not any(word in text.lower() for word in STANDIN_WORDS)),
    "negative_prompt": st.text(max_size=20).filter(lambda text: not any(w in text.lower() for w in STANDIN_WORDS)),
    "width": st.sampled_from([1024, 1344, 768, 512, 0, -1, 10**9]) | JSON_VALUES,
    "height": st.sampled_from([1024, 768, 1344, 512]) | JSON_VALUES,
    "number_of_images": st.integers(-2, 7) | JSON_VALUES,
    "seed": st.integers(-(2**70), 2**70) | JSON_VALUES,
    "cfg_scale": st.floats() | JSON_VALUES,
    "quality": st.sampled_from(["standard", "premium", "ultra"]) | JSON_VALUES,
}
REQUESTS = st.fixed_dictionaries({}, optional=FIELDS) | st.dictionaries(st.text(max_size=20), JSON_VALUES, max_size=5)
