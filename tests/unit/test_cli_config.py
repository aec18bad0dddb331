"""Where the CLI's settings come from: flags > environment > stack outputs > .local/endpoints.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from imagegen_cli.aws import AwsClients, read_stack_settings
from imagegen_cli.config import LOCAL_CREDENTIALS, Flags, Settings, api_base_url, resolve
from imagegen_cli.errors import ConfigError

REGION = "eu-west-1"

LOCAL = {
    "api_url": "http://127.0.0.1:3000/generate-image",
    "api_key": "local-key",
    "aws_endpoint_url": "http://127.0.0.1:5000",
    "region": "us-east-1",
    "bucket": "local-bucket",
    "queue_url": "http://127.0.0.1:5000/123456789012/local-queue",
    "dlq_url": "http://127.0.0.1:5000/123456789012/local-dlq",
    "image_prefix": "images",
    "bedrock_endpoint_url": "http://127.0.0.1:5001",
}


def no_stack(stack: str, region: str | None, with_api_key: bool) -> dict[str, str]:
    raise AssertionError("the stack must not be read")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A working directory with the local stack's endpoints file in it."""
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "endpoints.json").write_text(json.dumps(LOCAL))
    return tmp_path


def test_the_endpoints_file_supplies_everything_for_the_local_stack(workdir: Path) -> None:
    # when
    settings = resolve(Flags(), {}, ["api_url", "queue_url"], no_stack, cwd=workdir)
    # then
    assert settings.api_url == LOCAL["api_url"]
    assert settings.api_key == "local-key"
    assert settings.queue_url == LOCAL["queue_url"]
    assert settings.dlq_url == LOCAL["dlq_url"]
    assert settings.bucket == "local-bucket"
    assert settings.image_prefix == "images"
    assert settings.region == "us-east-1"
    assert settings.endpoint_url == "http://127.0.0.1:5000"
    assert settings.credentials == LOCAL_CREDENTIALS


def test_the_environment_wins_over_the_endpoints_file(workdir: Path) -> None:
    # given
    env = {"SQS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/env-queue", "AWS_REGION": "eu-west-1"}
    # when
    settings = resolve(Flags(), env, ["queue_url"], no_stack, cwd=workdir)
    # then
    assert settings.queue_url == env["SQS_QUEUE_URL"]
    assert settings.bucket == "local-bucket"  # what the environment leaves out still comes from the file
    assert settings.sources["queue_url"] == "environment"


def test_the_local_stacks_region_goes_with_its_endpoint_whatever_aws_region_says(workdir: Path) -> None:
    # when
    settings = resolve(Flags(), {"AWS_REGION": "eu-west-1"}, ["queue_url"], no_stack, cwd=workdir)
    # then
    assert settings.endpoint_url == LOCAL["aws_endpoint_url"]
    assert settings.region == LOCAL["region"]


def test_the_environments_region_stays_when_the_endpoint_is_not_the_files(workdir: Path) -> None:
    # given
    env = {"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9999"}
    # when
    settings = resolve(Flags(), env, ["queue_url"], no_stack, cwd=workdir)
    # then
    assert settings.region == "eu-west-1"
    assert settings.credentials is None


def test_a_region_flag_wins_over_the_files_region(workdir: Path) -> None:
    # when
    settings = resolve(Flags(region="ap-south-1"), {}, ["queue_url"], no_stack, cwd=workdir)
    # then
    assert settings.region == "ap-south-1"


def test_a_flag_wins_over_the_environment(workdir: Path) -> None:
    # given
    env = {"IMAGEGEN_API_URL": "https://env.example/generate-image", "IMAGEGEN_API_KEY": "env-key"}
    flags = Flags(api_url="https://flag.example/generate-image")
    # when
    settings = resolve(flags, env, ["api_url"], no_stack, cwd=workdir)
    # then
    assert settings.api_url == "https://flag.example/generate-image"
    assert settings.api_key == "env-key"
    assert settings.sources["api_url"] == "flag"


def test_fake_credentials_named_in_the_endpoints_file_are_used(workdir: Path) -> None:
    # given
    local = {**LOCAL, "aws_access_key_id": "moto-id", "aws_secret_access_key": "moto-secret"}
    (workdir / ".local" / "endpoints.json").write_text(json.dumps(local))
    # when
    settings = resolve(Flags(), {}, ["queue_url"], no_stack, cwd=workdir)
    # then
    assert settings.credentials == ("moto-id", "moto-secret")


def test_aws_credentials_in_the_environment_replace_the_fake_local_ones(workdir: Path) -> None:
    # when
    settings = resolve(Flags(), {"AWS_ACCESS_KEY_ID": "AKIA..."}, ["queue_url"], no_stack, cwd=workdir)
    # then
    assert settings.credentials is None


def test_an_explicit_endpoints_file_is_read_from_its_path(tmp_path: Path) -> None:
    # given
    path = tmp_path / "elsewhere.json"
    path.write_text(json.dumps({**LOCAL, "bucket": "other-bucket"}))
    # when
    settings = resolve(Flags(endpoints=path), {}, ["bucket"], no_stack, cwd=tmp_path / "empty")
    # then
    assert settings.bucket == "other-bucket"


def test_an_explicit_endpoints_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    # when
    with pytest.raises(ConfigError, match="does not exist") as raised:
        resolve(Flags(endpoints=tmp_path / "nope.json"), {}, [], no_stack, cwd=tmp_path)
    # then
    assert "make local" in str(raised.value)


def test_an_endpoints_file_that_is_not_json_is_an_error_naming_it(workdir: Path) -> None:
    # given
    (workdir / ".local" / "endpoints.json").write_text("{not json")
    # when / then
    with pytest.raises(ConfigError, match=r"endpoints\.json is not readable JSON"):
        resolve(Flags(), {}, [], no_stack, cwd=workdir)


def test_every_missing_setting_is_named_with_its_flag_and_variable(tmp_path: Path) -> None:
    # when
    with pytest.raises(ConfigError) as raised:
        resolve(Flags(), {}, ["queue_url", "bucket"], no_stack, cwd=tmp_path)
    # then
    message = str(raised.value)
    assert "missing the queue URL: pass --queue-url URL or set SQS_QUEUE_URL" in message
    assert "missing the bucket name: pass --bucket NAME or set IMAGEGEN_BUCKET" in message
    assert "--stack NAME" in message


def test_a_named_stack_fills_what_flags_and_environment_leave_out_and_the_file_is_ignored(workdir: Path) -> None:
    # given
    calls: list[tuple[str, str | None, bool]] = []

    def read_stack(stack: str, region: str | None, with_api_key: bool) -> dict[str, str]:
        calls.append((stack, region, with_api_key))
        return {"api_url": "https://stack.example/generate-image", "api_key": "stack-key", "bucket": "stack-bucket"}

    # when
    settings = resolve(
        Flags(stack="imagegen", region="eu-west-1"),
        {"IMAGEGEN_API_URL": "https://env.example/generate-image"},
        ["api_url"],
        read_stack,
        cwd=workdir,
        wants=["api_key"],
    )
    # then
    assert calls == [("imagegen", "eu-west-1", True)]
    assert settings.api_url == "https://env.example/generate-image"
    assert settings.api_key == "stack-key"
    assert settings.endpoint_url is None  # never the local emulation's endpoint for a deployed stack
    assert settings.credentials is None
    assert settings.queue_url is None


def test_a_named_stack_is_not_read_when_nothing_is_missing(tmp_path: Path) -> None:
    # when
    settings = resolve(Flags(stack="imagegen", queue_url="https://q"), {}, ["queue_url"], no_stack, cwd=tmp_path)
    # then
    assert settings.queue_url == "https://q"


@pytest.fixture
def deployed_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A stack in moto with the real template's output names, and an API key in API Gateway."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        key = boto3.client("apigateway", region_name=REGION).create_api_key(name="imagegen", value="k" * 30)
        template = {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "imagegen-images"}}},
            "Outputs": {
                "ApiUrl": {"Value": "https://abc.execute-api.eu-west-1.amazonaws.com/Prod/generate-image"},
                "ApiBaseUrl": {"Value": "https://abc.execute-api.eu-west-1.amazonaws.com/Prod"},
                "ApiKeyId": {"Value": key["id"]},
                "BucketName": {"Value": "imagegen-bucket"},
                "QueueUrl": {"Value": {"Ref": "Queue"}},
                "DeadLetterQueueUrl": {"Value": "https://sqs.eu-west-1.amazonaws.com/123456789012/imagegen-dlq"},
            },
        }
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(StackName="imagegen", TemplateBody=json.dumps(template))
        yield {"api_key": "k" * 30}


def test_stack_outputs_are_read_from_cloudformation_and_the_key_from_api_gateway(
    deployed_stack: dict[str, str],
) -> None:
    # when
    found = read_stack_settings("imagegen", REGION, with_api_key=True)
    # then
    assert found["api_url"] == "https://abc.execute-api.eu-west-1.amazonaws.com/Prod/generate-image"
    assert found["api_base_url"] == "https://abc.execute-api.eu-west-1.amazonaws.com/Prod"
    assert found["api_key"] == deployed_stack["api_key"]
    assert found["bucket"] == "imagegen-bucket"
    assert found["queue_url"].endswith("/imagegen-images")
    assert found["dlq_url"].endswith("/imagegen-dlq")
    assert found["region"] == REGION


def test_the_api_key_is_not_fetched_when_it_is_not_needed(deployed_stack: dict[str, str]) -> None:
    # when
    found = read_stack_settings("imagegen", REGION, with_api_key=False)
    # then
    assert "api_key" not in found


def test_a_stack_that_does_not_exist_is_a_configuration_error(deployed_stack: dict[str, str]) -> None:
    # when / then
    with pytest.raises(ConfigError, match="stack 'nope' was not found in eu-west-1"):
        read_stack_settings("nope", REGION, with_api_key=False)


def test_aws_clients_use_the_settings_endpoint_region_and_fake_credentials(workdir: Path) -> None:
    # given
    settings = resolve(Flags(), {}, ["queue_url"], no_stack, cwd=workdir)
    # when
    clients = AwsClients(settings)
    # then
    assert clients.sqs.meta.endpoint_url == "http://127.0.0.1:5000"
    assert clients.sqs.meta.region_name == "us-east-1"
    credentials = clients.session.get_credentials()
    assert credentials is not None
    assert (credentials.access_key, credentials.secret_key) == LOCAL_CREDENTIALS


# --- the API's base URL, for the job commands ------------------------------------------------------------

JOB_WANTS = ["api_url", "api_base_url", "api_key"]


@pytest.mark.parametrize(
    ("api_url", "base"),
    [
        (
            "https://abc.execute-api.eu-west-1.amazonaws.com/Prod/generate-image",
            "https://abc.execute-api.eu-west-1.amazonaws.com/Prod",
        ),
        ("http://127.0.0.1:3000/generate-image/", "http://127.0.0.1:3000"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("http://127.0.0.1:3000/Prod/", "http://127.0.0.1:3000/Prod"),
    ],
)
def test_the_base_url_is_the_api_url_without_its_generate_image(api_url: str, base: str) -> None:
    # when / then
    assert api_base_url(Settings(api_url=api_url, sources={"api_url": "flag"})) == base


def test_a_stacks_base_url_output_is_preferred_to_its_api_url(tmp_path: Path) -> None:
    # given
    def read_stack(stack: str, region: str | None, with_api_key: bool) -> dict[str, str]:
        return {"api_url": "https://a.example/Prod/generate-image", "api_base_url": "https://b.example/Prod/"}

    # when
    settings = resolve(Flags(stack="imagegen"), {}, [], read_stack, cwd=tmp_path, wants=JOB_WANTS)
    # then
    assert api_base_url(settings) == "https://b.example/Prod"


def test_an_api_url_from_the_environment_wins_over_the_files_base_url(workdir: Path) -> None:
    # given
    data = {**LOCAL, "api_base_url": "http://127.0.0.1:3000"}
    (workdir / ".local" / "endpoints.json").write_text(json.dumps(data))
    env = {"IMAGEGEN_API_URL": "https://mine.example/v1/generate-image"}
    # when
    settings = resolve(Flags(), env, [], no_stack, cwd=workdir, wants=JOB_WANTS)
    # then
    assert api_base_url(settings) == "https://mine.example/v1"


def test_the_stack_is_not_read_for_a_base_url_the_api_url_already_gives(tmp_path: Path) -> None:
    # when
    flags = Flags(stack="imagegen", api_url="https://a.example/Prod/generate-image", api_key="k")
    settings = resolve(flags, {}, [], no_stack, cwd=tmp_path, wants=JOB_WANTS)
    # then
    assert api_base_url(settings) == "https://a.example/Prod"


def test_a_base_url_that_cannot_be_used_names_where_it_came_from(workdir: Path) -> None:
    # given
    (workdir / ".local" / "endpoints.json").write_text(json.dumps({**LOCAL, "api_base_url": "ftp://x"}))
    # when / then
    with pytest.raises(ConfigError, match=r"the API base URL \(file .*endpoints.json\) cannot be used"):
        resolve(Flags(), {}, [], no_stack, cwd=workdir, wants=JOB_WANTS)


def test_no_api_url_at_all_is_the_usual_missing_setting_error(tmp_path: Path) -> None:
    # given
    settings = resolve(Flags(), {}, [], no_stack, cwd=tmp_path, wants=JOB_WANTS)
    # when / then
    with pytest.raises(ConfigError, match="missing the API URL: pass --api-url URL or set IMAGEGEN_API_URL"):
        api_base_url(settings)
