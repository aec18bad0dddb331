from __future__ import annotations

import pytest

from imagegen_core.config import ConfigError, WorkerSettings

DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/imagegen-images-dlq"


def test_defaults_apply_when_only_the_dlq_is_given() -> None:
    # given / when
    settings = WorkerSettings.from_env({"DLQ_URL": DLQ_URL})

    # then
    assert settings == WorkerSettings(dlq_url=DLQ_URL, concurrency=10, max_images_in_flight=10, time_guard_ms=30_000)


def test_a_missing_dlq_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="DLQ_URL is required"):
        WorkerSettings.from_env({})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000/123456789012/imagegen-images-dlq",
        "https://sqs.us-east-1.amazonaws.com/000000000000/jobs-dlq.fifo",
    ],
)
def test_local_and_fifo_queue_urls_are_accepted(url: str) -> None:
    assert WorkerSettings.from_env({"DLQ_URL": url}).dlq_url == url


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("DLQ_URL", "arn:aws:sqs:eu-west-1:123456789012:dlq", "not an SQS queue URL"),
        ("WORKER_CONCURRENCY", "0", "between 1 and 100"),
        ("WORKER_CONCURRENCY", "many", "not an integer"),
        ("MAX_IMAGES_IN_FLIGHT", "4", "between 5 and 100"),
        ("TIME_GUARD_MS", "-1", "between 0 and 900000"),
    ],
)
def test_a_bad_worker_value_fails_naming_the_variable(name: str, value: str, reason: str) -> None:
    # given
    env = {"DLQ_URL": DLQ_URL, name: value}

    # when / then
    with pytest.raises(ConfigError, match=rf"{name}=.*{reason}"):
        WorkerSettings.from_env(env)
