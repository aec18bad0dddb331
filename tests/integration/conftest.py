"""Fixtures of the integration tests: the worker's queues in moto, as template.yaml makes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from local.template import load_template, queue_settings
from tests.helpers import REGION

# template.yaml's numbers for the image queue, read once (reading the template takes longer than a test).
_IMAGE_QUEUE = queue_settings(load_template())["ImageQueue"]
VISIBILITY_TIMEOUT = int(_IMAGE_QUEUE["VisibilityTimeout"] or 0)
MAX_RECEIVES = int(_IMAGE_QUEUE["maxReceiveCount"] or 0)


@dataclass(frozen=True)
class Queues:
    url: str
    dlq_url: str
    visibility_timeout: int
    max_receive_count: int


@pytest.fixture
def queues(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Queues:
    """The image queue and its DLQ in moto with template.yaml's visibility timeout and redrive policy; their URLs
    in QUEUE_URL and DLQ_URL, as the template gives them to the worker."""
    sqs = boto3.client("sqs", region_name=REGION)
    dlq_url = sqs.create_queue(QueueName="imagegen-images-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES})
    url = sqs.create_queue(
        QueueName="imagegen-images", Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT), "RedrivePolicy": redrive}
    )["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", url)
    monkeypatch.setenv("DLQ_URL", dlq_url)
    return Queues(url, dlq_url, VISIBILITY_TIMEOUT, MAX_RECEIVES)


@pytest.fixture
def dlq(queues: Queues) -> str:
    """The dead-letter queue in moto, its URL in DLQ_URL (and the image queue's in QUEUE_URL)."""
    return queues.dlq_url
