"""Fixtures of the integration tests (the shared ones, moto and the Bedrock stand-in, are in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.helpers import REGION


@pytest.fixture
def dlq(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The dead-letter queue in moto, its URL in DLQ_URL."""
    url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="imagegen-dlq")["QueueUrl"]
    monkeypatch.setenv("DLQ_URL", url)
    return url
