"""Settings read from the environment once per container, validated, with errors naming the variable."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from imagegen_core.families import family_for
from imagegen_core.models import MAX_IMAGES

T = TypeVar("T")

# The same rule as the template's ImagePrefix parameter: no '*' or other characters that would widen IAM.
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_QUEUE_URL_PATTERN = re.compile(r"^https?://[^/\s]+/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


@dataclass(frozen=True)
class Settings:
    bucket_name: str
    model_id: str
    bedrock_region: str
    image_prefix: str
    presign_expiry_seconds: int
    bedrock_max_attempts: int
    bedrock_read_timeout_seconds: int
    retry_after_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        model_id = _read(env, "MODEL_ID", _model_id, "amazon.titan-image-generator-v1")
        return cls(
            bucket_name=_read(env, "BUCKET_NAME", _bucket_name),
            model_id=model_id,
            bedrock_region=_read(env, "BEDROCK_REGION", _region, "us-east-1"),
            image_prefix=_read(env, "IMAGE_PREFIX", _prefix, "images"),
            presign_expiry_seconds=_read(env, "PRESIGN_EXPIRY_SECONDS", _int_in(1, 604_800), "3600"),
            bedrock_max_attempts=_read(env, "BEDROCK_MAX_ATTEMPTS", _int_in(1, 10), "4"),
            bedrock_read_timeout_seconds=_read(env, "BEDROCK_READ_TIMEOUT_SECONDS", _int_in(1, 900), "60"),
            retry_after_seconds=_read(env, "RETRY_AFTER_SECONDS", _int_in(1, 3600), "10"),
        )


@cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use (at cold start) and then reused."""
    return Settings.from_env()


@dataclass(frozen=True)
class WorkerSettings:
    """What the SQS worker needs on top of ``Settings``.

    ``max_images_in_flight`` is at least MAX_IMAGES so that any valid message can start; ``time_guard_ms``
    is the time a message must still have before it is started (see sqs_worker.app).
    """

    dlq_url: str
    concurrency: int
    max_images_in_flight: int
    time_guard_ms: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerSettings:
        env = os.environ if env is None else env
        return cls(
            dlq_url=_read(env, "DLQ_URL", _queue_url),
            concurrency=_read(env, "WORKER_CONCURRENCY", _int_in(1, 100), "10"),
            max_images_in_flight=_read(env, "MAX_IMAGES_IN_FLIGHT", _int_in(MAX_IMAGES, 100), "10"),
            time_guard_ms=_read(env, "TIME_GUARD_MS", _int_in(0, 900_000), "30000"),
        )


@cache
def get_worker_settings() -> WorkerSettings:
    """The SQS worker's settings, read on first use and then reused (reset with the default service)."""
    return WorkerSettings.from_env()


def _read(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: str | None = None) -> T:
    raw = env.get(name, "").strip() or default
    if raw is None:
        raise ConfigError(f"environment variable {name} is required but not set")
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"environment variable {name}={raw!r} is invalid: {exc}") from None


def _bucket_name(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        raise ValueError("not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)")
    return value


def _model_id(value: str) -> str:
    family_for(value)  # raises ValueError naming the supported families
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


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError("not an integer") from None
        if not low <= number <= high:
            raise ValueError(f"must be between {low} and {high}")
        return number

    return parse
