"""Fixtures shared by every test: a clean AWS-less environment, moto, the Bedrock stand-in, events."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from imagegen_core.clients import reset_clients
from imagegen_core.observability import logger, metrics
from imagegen_core.service import reset_default_service
from local.bedrock_standin import BedrockStandin, StandinSettings
from tests.standin_requests import DEPLOYER

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
BUCKET = "imagegen-test-bucket"
REGION = "eu-west-1"
# A date when Titan Image Generator (end of life 2026-06-30) and Nova Canvas (2026-09-30) still answered.
BEFORE_AMAZON_EOL = date(2026, 6, 1)


@dataclass
class LambdaContext:
    """The parts of Lambda's context object that Powertools and our handlers read."""

    function_name: str = "imagegen-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:000000000000:function:imagegen-test"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def load_event(name: str) -> dict[str, Any]:
    """An event from events/ (the same files `sam local invoke -e` uses)."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def api_event(body: Any, *, raw: str | None = None, request_id: str | None = None) -> dict[str, Any]:
    """The API event of events/api_generate_image.json with another body and a fresh request id."""
    event = load_event("api_generate_image")
    event["body"] = raw if raw is not None else json.dumps(body)
    event["requestContext"]["requestId"] = request_id or str(uuid.uuid4())
    return event


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real credentials, no real endpoints, a fresh container (settings, clients, metrics) per test."""
    for name in list(__import__("os").environ):
        if name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "IMAGEGEN_", "SQS_QUEUE")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "imagegen")
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    monkeypatch.setenv("MODEL_ID", "stability.stable-image-core-v1:1")
    monkeypatch.setenv("BEDROCK_REGION", "us-west-2")
    monkeypatch.setenv("IMAGE_PREFIX", "team-a")
    monkeypatch.setenv("BEDROCK_MAX_ATTEMPTS", "1")
    _fresh_container()
    yield
    _fresh_container()


def _fresh_container() -> None:
    from aws_lambda_powertools.metrics.provider.cold_start import reset_cold_start_flag

    reset_default_service()
    reset_clients()
    metrics.clear_metrics()
    reset_cold_start_flag()


@pytest.fixture(scope="session")
def standin_server() -> Iterator[BedrockStandin]:
    server = BedrockStandin(StandinSettings(), host="127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def standin(standin_server: BedrockStandin, monkeypatch: pytest.MonkeyPatch) -> BedrockStandin:
    """The Bedrock stand-in, reset to its defaults (today's Bedrock), reached through
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME (InvokeModel) and AWS_ENDPOINT_URL_BEDROCK (the control plane)."""
    standin_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", standin_server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", standin_server.url)
    return standin_server


TITAN = "amazon.titan-image-generator-v1"


@pytest.fixture
def fresh_account(standin: BedrockStandin) -> BedrockStandin:
    """The stand-in as a fresh AWS account: no Marketplace model (Stability's) subscribed yet, and only the access
    key id ``tests.standin_requests.DEPLOYER`` may subscribe (docs/bedrock-standin.md, Model access)."""
    standin.configure(marketplace_unsubscribed=True, marketplace_subscribers=[DEPLOYER])
    return standin


@pytest.fixture
def standin_before_eol(standin: BedrockStandin) -> BedrockStandin:
    """The stand-in on BEFORE_AMAZON_EOL, when Titan Image Generator and Nova Canvas still answered: for the
    tests of the Amazon request format (several images per call, Titan sizes), which the core still supports.
    Every other rule (regions, limits) holds as on any day; the next test gets today's Bedrock again."""
    standin.configure(today=BEFORE_AMAZON_EOL)
    return standin


@pytest.fixture
def titan(standin_before_eol: BedrockStandin, monkeypatch: pytest.MonkeyPatch) -> str:
    """Configure Titan Image Generator v1 in us-east-1, as it answered before its end of life, to exercise the
    Amazon TEXT_IMAGE format (several images per call, Titan sizes), which the core still speaks."""
    monkeypatch.setenv("MODEL_ID", TITAN)
    monkeypatch.setenv("BEDROCK_REGION", "us-east-1")
    return TITAN


@pytest.fixture
def aws(standin: BedrockStandin) -> Iterator[Any]:
    """moto in-process for S3/SQS/SNS with the bucket created; Bedrock calls pass through to the stand-in."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield s3


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the Powertools logger writes (its handler keeps the stdout it had at import, so capsys misses it)."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    handler.setStream(previous)  # type: ignore[attr-defined]
