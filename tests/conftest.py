"""Fixtures shared by every test: a clean AWS-less environment, moto, the Bedrock stand-in, a Lambda context.

Plain helpers (events, PNGs, S3 keys, waiting) are in tests/helpers.py.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from imagegen_core.clients import reset_clients
from imagegen_core.observability import logger, metrics
from imagegen_core.service import reset_default_service
from local.bedrock_standin import BedrockStandin, StandinSettings
from local.lambda_context import LambdaContext
from tests.helpers import BUCKET, REGION


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real credentials, no real endpoints, a fresh container (settings, clients, metrics) per test."""
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "IMAGEGEN_", "SQS_QUEUE")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "imagegen")
    monkeypatch.setenv("BUCKET_NAME", BUCKET)
    monkeypatch.setenv("MODEL_ID", "amazon.titan-image-generator-v1")
    monkeypatch.setenv("BEDROCK_REGION", "us-east-1")
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
    """The Bedrock stand-in, reset to its defaults, reached through AWS_ENDPOINT_URL_BEDROCK_RUNTIME."""
    standin_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", standin_server.url)
    return standin_server


@pytest.fixture
def aws(standin: BedrockStandin) -> Iterator[Any]:
    """moto in-process for S3/SQS/SNS with the bucket created; Bedrock calls pass through to the stand-in."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
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
