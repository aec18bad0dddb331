from __future__ import annotations

import pytest

from imagegen_core.config import ConfigError, WorkerSettings

DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/imagegen-images-dlq"
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/imagegen-images"
REQUIRED = {"DLQ_URL": DLQ_URL, "QUEUE_URL": QUEUE_URL}


def test_defaults_apply_when_only_the_queues_are_given() -> None:
    # given / when
    settings = WorkerSettings.from_env(REQUIRED)

    # then
    assert settings == WorkerSettings(
        dlq_url=DLQ_URL,
        queue_url=QUEUE_URL,
        concurrency=10,
        max_images_in_flight=10,
        time_guard_ms=30_000,
        bedrock_requests_per_minute=0,
        worker_max_concurrency=1,
        hand_back_base_seconds=2,
        hand_back_max_seconds=900,
    )


@pytest.mark.parametrize("name", ["DLQ_URL", "QUEUE_URL"])
def test_a_missing_queue_names_the_variable(name: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} is required"):
        WorkerSettings.from_env({key: value for key, value in REQUIRED.items() if key != name})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000/123456789012/imagegen-images-dlq",
        "https://sqs.us-east-1.amazonaws.com/000000000000/jobs-dlq.fifo",
    ],
)
def test_local_and_fifo_queue_urls_are_accepted(url: str) -> None:
    assert WorkerSettings.from_env({**REQUIRED, "DLQ_URL": url}).dlq_url == url


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("DLQ_URL", "arn:aws:sqs:eu-west-1:123456789012:dlq", "not an SQS queue URL"),
        ("WORKER_CONCURRENCY", "0", "between 1 and 100"),
        ("WORKER_CONCURRENCY", "many", "not an integer"),
        ("MAX_IMAGES_IN_FLIGHT", "4", "between 5 and 100"),
        ("TIME_GUARD_MS", "-1", "between 0 and 900000"),
        ("QUEUE_URL", "imagegen-images", "not an SQS queue URL"),
        ("BEDROCK_REQUESTS_PER_MINUTE", "-1", "between 0 and 1000000"),
        ("BEDROCK_REQUESTS_PER_MINUTE", "2.5", "not an integer"),
        ("WORKER_MAX_CONCURRENCY", "0", "between 1 and 1000"),
        ("HAND_BACK_BASE_SECONDS", "0", "between 1 and 43200"),
        ("HAND_BACK_MAX_SECONDS", "43201", "between 1 and 43200"),
    ],
)
def test_a_bad_worker_value_fails_naming_the_variable(name: str, value: str, reason: str) -> None:
    # given
    env = {**REQUIRED, name: value}

    # when / then
    with pytest.raises(ConfigError, match=rf"{name}=.*{reason}"):
        WorkerSettings.from_env(env)
