"""Settings read from the environment once per container, validated, with errors naming the variable."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Annotated, ClassVar

from imagegen_core.catalog import DEFAULT_MODEL_ID, DEFAULT_REGION, MAX_IMAGES, family_of
from imagegen_core.env_settings import ConfigError, EnvSettings, between, checked

__all__ = [
    "ApiSettings",
    "ConfigError",
    "Settings",
    "WorkerSettings",
    "get_api_settings",
    "get_settings",
    "get_worker_settings",
]

# The same rule as the template's ImagePrefix parameter: no '*' or other characters that would widen IAM.
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_QUEUE_URL_PATTERN = re.compile(r"^https?://[^/\s]+/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$")


def _bucket_name(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        raise ValueError("not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)")
    return value


def _model_id(value: str) -> str:
    family_of(value)  # raises ValueError naming the supported families
    return value


def _table_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{3,255}", value):
        raise ValueError("not a DynamoDB table name (3-255 letters, digits, '_', '-', '.')")
    return value


def _event_bus(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._/-]{1,256}|arn:aws[a-z-]*:events:[^\s]+", value):
        raise ValueError("not an EventBridge bus name or ARN")
    return value


def _queue_url(value: str) -> str:
    if not _QUEUE_URL_PATTERN.match(value):
        raise ValueError("not an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/imagegen-dlq")
    return value


def _region(value: str) -> str:
    if not _REGION_PATTERN.match(value):
        raise ValueError("not an AWS region name such as us-east-1")
    return value


def _prefix(value: str) -> str:
    value = value.strip("/")
    if not _PREFIX_PATTERN.match(value):
        raise ValueError("use letters, digits, '.', '_' and '-' in segments separated by '/'")
    return value


class Settings(EnvSettings):
    bucket_name: Annotated[str, checked(_bucket_name)]
    model_id: Annotated[str, checked(_model_id)] = DEFAULT_MODEL_ID
    bedrock_region: Annotated[str, checked(_region)] = DEFAULT_REGION
    image_prefix: Annotated[str, checked(_prefix)] = "images"
    presign_expiry_seconds: Annotated[int, between(1, 604_800)] = 3600
    bedrock_max_attempts: Annotated[int, between(1, 10)] = 4
    bedrock_read_timeout_seconds: Annotated[int, between(1, 900)] = 60
    # The longest Retry-After of a 429 (the header follows the backoff: imagegen_core.throttling.retry_after).
    retry_after_seconds: Annotated[int, between(1, 3600)] = 30
    jobs_table: Annotated[str, checked(_table_name)]
    job_retention_days: Annotated[int, between(1, 3650)] = 30
    event_bus_name: Annotated[str, checked(_event_bus)] = "default"


@cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use (at cold start) and then reused."""
    return Settings.from_env()


class WorkerSettings(EnvSettings):
    """What the SQS worker needs on top of ``Settings``.

    ``max_images_in_flight`` is at least MAX_IMAGES so that any valid message can start; ``time_guard_ms``
    is the time a message must still have before it is started (see sqs_worker.app).

    Living within Bedrock's quota (imagegen_core.throttling, docs/architecture.md): ``queue_url`` is the queue
    the worker hands throttled messages back to; ``bedrock_requests_per_minute`` is the quota the worker may use
    (0: no pacing), shared by up to ``worker_max_concurrency`` invocations at once; a handed-back message
    becomes visible again after a jittered delay that doubles with each receive from ``hand_back_base_seconds``
    up to ``hand_back_max_seconds``.
    """

    env_names: ClassVar[Mapping[str, str]] = {"concurrency": "WORKER_CONCURRENCY"}

    dlq_url: Annotated[str, checked(_queue_url)]
    queue_url: Annotated[str, checked(_queue_url)]
    concurrency: Annotated[int, between(1, 100)] = 10
    max_images_in_flight: Annotated[int, between(MAX_IMAGES, 100)] = 10
    time_guard_ms: Annotated[int, between(0, 900_000)] = 30_000
    bedrock_requests_per_minute: Annotated[int, between(0, 1_000_000)] = 0
    worker_max_concurrency: Annotated[int, between(1, 1000)] = 1
    hand_back_base_seconds: Annotated[int, between(1, 43_200)] = 2
    hand_back_max_seconds: Annotated[int, between(1, 43_200)] = 900
    max_receive_count: Annotated[int, between(1, 1000)] = 13


class ApiSettings(EnvSettings):
    """What the API function needs on top of ``Settings``: the queue ``POST /jobs`` sends to."""

    queue_url: Annotated[str, checked(_queue_url)]


@cache
def get_api_settings() -> ApiSettings:
    """The API function's settings, read on the first ``POST /jobs`` and then reused."""
    return ApiSettings.from_env()


@cache
def get_worker_settings() -> WorkerSettings:
    """The SQS worker's settings, read on first use and then reused (reset with the default service)."""
    return WorkerSettings.from_env()
