from __future__ import annotations

import pytest

from imagegen_core.config import ConfigError, Settings

VALID = {"BUCKET_NAME": "my-images", "JOBS_TABLE": "imagegen-jobs", "IMAGE_PREFIX": "team-a"}
REQUIRED = {"BUCKET_NAME": "my-images", "JOBS_TABLE": "imagegen-jobs"}


def test_defaults_apply_when_only_the_bucket_and_the_jobs_table_are_given() -> None:
    # given / when
    settings = Settings.from_env(REQUIRED)

    # then
    assert settings.model_id == "stability.stable-image-core-v1:1"
    assert settings.bedrock_region == "us-west-2"
    assert settings.image_prefix == "images"
    assert settings.presign_expiry_seconds == 3600
    assert (settings.job_retention_days, settings.event_bus_name) == (30, "default")


def test_a_missing_bucket_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="BUCKET_NAME is required"):
        Settings.from_env({})


def test_a_missing_jobs_table_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="JOBS_TABLE is required"):
        Settings.from_env({"BUCKET_NAME": "my-images"})


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("BUCKET_NAME", "Not_A_Bucket", "not a valid S3 bucket name"),
        ("MODEL_ID", "openai.dall-e-3", "unsupported model id"),
        ("BEDROCK_REGION", "mars", "not an AWS region"),
        ("IMAGE_PREFIX", "a//b", "segments"),
        ("IMAGE_PREFIX", "team*", "segments"),
        ("PRESIGN_EXPIRY_SECONDS", "0", "between 1 and 604800"),
        ("PRESIGN_EXPIRY_SECONDS", "soon", "not an integer"),
        ("BEDROCK_MAX_ATTEMPTS", "50", "between 1 and 10"),
    ],
)
def test_a_bad_value_fails_naming_the_variable(name: str, value: str, reason: str) -> None:
    # given
    env = {**VALID, name: value}

    # when / then
    with pytest.raises(ConfigError, match=rf"{name}=.*{reason}"):
        Settings.from_env(env)


def test_the_prefix_loses_its_surrounding_slashes() -> None:
    assert Settings.from_env({**VALID, "IMAGE_PREFIX": "/candidates/42/"}).image_prefix == "candidates/42"


def test_stability_and_cross_region_model_ids_are_accepted() -> None:
    assert Settings.from_env({**VALID, "MODEL_ID": "stability.sd3-5-large-v1:0"}).model_id.startswith("stability.")
    assert (
        Settings.from_env({**VALID, "MODEL_ID": "us.amazon.nova-canvas-v1:0"}).model_id == "us.amazon.nova-canvas-v1:0"
    )
