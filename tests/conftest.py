"""Fixtures shared by every test: a clean AWS-less environment, moto, the Bedrock stand-in, a Lambda context.

Plain helpers (events, PNGs, S3 keys, waiting) are in tests/helpers.py.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import settings
from moto import mock_aws

from imagegen_core.clients import reset_clients
from imagegen_core.observability import logger, metrics
from imagegen_core.service import reset_default_service
from local.bedrock_standin import BedrockStandin, StandinSettings
from local.lambda_context import LambdaContext
from local.resources import create_jobs_table
from tests.helpers import BUCKET, JOBS_TABLE, REGION
from tests.standin_requests import DEPLOYER

# A date when Titan Image Generator (end of life 2026-06-30) and Nova Canvas (2026-09-30) still answered.
BEFORE_AMAZON_EOL = date(2026, 6, 1)

# Property tests (Hypothesis): a bounded run in `make test`; HYPOTHESIS_PROFILE=deep (`make test-deep`) for a
# long one. No deadline: the machine is shared, and a slow example is not a failure.
settings.register_profile("bounded", max_examples=100, deadline=None, print_blob=True)
settings.register_profile("deep", max_examples=3000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bounded"))


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
    monkeypatch.setenv("JOBS_TABLE", JOBS_TABLE)
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
    """moto in-process for S3/SQS/DynamoDB/EventBridge with the bucket and the jobs table created (the table as
    template.yaml declares it); Bedrock calls pass through to the stand-in."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})  # as deployed
        create_jobs_table(boto3.client("dynamodb", region_name=REGION), JOBS_TABLE, REGION)
        yield s3


@pytest.fixture
def lambda_context() -> LambdaContext:
    """A fresh invocation's context (local.lambda_context: the one the local stack and the benchmarks use)."""
    return LambdaContext(function_name="imagegen-test", region=REGION)


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the Powertools logger writes (its handler keeps the stdout it had at import, so capsys misses it)."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    handler.setStream(previous)  # type: ignore[attr-defined]


@pytest.fixture
def empty_working_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty working directory (no .local/endpoints.json for the CLI to find); clean_environment has already
    cleared our variables and set fake credentials and the region."""
    monkeypatch.chdir(tmp_path)
