"""Fixtures of the integration tests: the worker's queues in moto, as template.yaml makes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from local.template import load_template, queue_settings
from tests.helpers import REGION


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
    numbers = queue_settings(load_template())["ImageQueue"]
    visibility, max_receives = int(numbers["VisibilityTimeout"] or 0), int(numbers["maxReceiveCount"] or 0)
    sqs = boto3.client("sqs", region_name=REGION)
    dlq_url = sqs.create_queue(QueueName="imagegen-images-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})
    url = sqs.create_queue(
        QueueName="imagegen-images", Attributes={"VisibilityTimeout": str(visibility), "RedrivePolicy": redrive}
    )["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", url)
    monkeypatch.setenv("DLQ_URL", dlq_url)
    return Queues(url, dlq_url, visibility, max_receives)


@pytest.fixture
def dlq(queues: Queues) -> str:
    """The dead-letter queue in moto, its URL in DLQ_URL (and the image queue's in QUEUE_URL)."""
    return queues.dlq_url
