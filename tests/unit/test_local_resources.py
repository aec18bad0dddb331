"""template.yaml read for the local stack: intrinsics resolved, functions, queue mapping, settings, sam-env.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from imagegen_core.env_settings import ConfigError
from local.intrinsics import Resolver, TemplateError
from local.resources import function_properties, function_spec, queue_attributes, sqs_event_source
from local.stack import (
    API_FUNCTION,
    ROOT,
    STACK_NAME,
    WORKER_FUNCTION,
    LocalStack,
    StackSettings,
    _core_default_model,
    parameter_values,
)
from local.template import load_template

TEMPLATE = load_template()
QUEUE_URL = "http://127.0.0.1:4566/123456789012/imagegen-local-images"
DLQ_URL = "http://127.0.0.1:4566/123456789012/imagegen-local-images-dlq"


def resolver(template: dict[str, Any] = TEMPLATE) -> Resolver:
    resolver = Resolver(template, "us-east-1", "123456789012", STACK_NAME)
    resolver.refs.update({"ImageBucket": "local-bucket", "ImageQueue": QUEUE_URL, "ImageDeadLetterQueue": DLQ_URL})
    resolver.attributes["ImageDeadLetterQueue.Arn"] = "arn:aws:sqs:us-east-1:123456789012:imagegen-local-images-dlq"
    return resolver


def spec(logical_id: str, overrides: dict[str, str] | None = None) -> Any:
    return function_spec(
        TEMPLATE, resolver(), logical_id, root=ROOT, environment={"AWS_REGION": "us-east-1"}, overrides=overrides or {}
    )


def test_intrinsics_resolve_to_the_local_values() -> None:
    # given
    template = {
        "Parameters": {"Prefix": {"Type": "String", "Default": "images"}, "Empty": {"Type": "String", "Default": ""}},
        "Conditions": {"HasEmpty": {"Fn::Equals": [{"Ref": "Empty"}, ""]}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}, "Topic": {"Type": "AWS::SNS::Topic"}},
    }
    r = Resolver(template, "eu-west-1", "123456789012", "stack")
    r.refs["Queue"] = "http://local/queue"

    # when
    value = r.resolve(
        {
            "url": {"Ref": "Queue"},
            "sub": {"Fn::Sub": "${AWS::StackName}-${Prefix}/${Topic.TopicName}"},
            "sub_vars": {"Fn::Sub": ["${A}-x", {"A": {"Ref": "Prefix"}}]},
            "chosen": {"Fn::If": ["HasEmpty", "yes", "no"]},
            "dropped": {"Ref": "AWS::NoValue"},
            "topic_arn": {"Fn::GetAtt": ["Topic", "Arn"]},
            "joined": {"Fn::Join": ["/", ["a", {"Ref": "AWS::Region"}]]},
        }
    )

    # then
    assert value == {
        "url": "http://local/queue",
        "sub": "stack-images/stack-topic",
        "sub_vars": "images-x",
        "chosen": "yes",
        "topic_arn": "arn:aws:sns:eu-west-1:123456789012:stack-topic",
        "joined": "a/eu-west-1",
    }


def test_a_reference_to_nothing_is_an_error_naming_it() -> None:
    # then
    with pytest.raises(TemplateError, match="Missing"):
        resolver().resolve({"Ref": "Missing"})


def test_the_api_function_gets_the_templates_handler_code_layer_timeout_and_variables() -> None:
    # given
    properties = function_properties(TEMPLATE, API_FUNCTION)

    # when
    result = spec(API_FUNCTION)

    # then
    assert result.handler == properties["Handler"]
    assert result.paths == ((ROOT / "generate_image").resolve(), (ROOT / "core").resolve())
    assert result.timeout_seconds == properties["Timeout"]
    assert result.memory_mb == properties["MemorySize"]
    env = result.environment
    assert env["BUCKET_NAME"] == "local-bucket"
    assert env["IMAGE_PREFIX"] == TEMPLATE["Parameters"]["ImagePrefix"]["Default"]
    assert env["BEDROCK_MAX_ATTEMPTS"] == properties["Environment"]["Variables"]["BEDROCK_MAX_ATTEMPTS"]
    assert env["POWERTOOLS_SERVICE_NAME"] == properties["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == f"{STACK_NAME}-generate-image"
    assert env["AWS_REGION"] == "us-east-1"


@pytest.mark.parametrize("logical_id", [API_FUNCTION, WORKER_FUNCTION])
def test_every_function_reaches_both_bedrock_endpoints_of_the_stand_in_and_no_other(logical_id: str) -> None:
    # given the local stack's functions, built as `make local` builds them
    stack = LocalStack(StackSettings())

    # when
    environment = stack._function_specs(resolver(), "http://127.0.0.1:4566", "http://127.0.0.1:4567")[
        logical_id
    ].environment

    # then InvokeModel and the control plane both go to the stand-in (the template's empty values give way)
    assert environment["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == "http://127.0.0.1:4567"
    assert environment["AWS_ENDPOINT_URL_BEDROCK"] == "http://127.0.0.1:4567"
    assert environment["AWS_ENDPOINT_URL_S3"] == environment["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:4566"


def test_the_worker_gets_its_queue_its_dlq_its_quota_and_the_overrides_win() -> None:
    # when
    result = spec(WORKER_FUNCTION, overrides={"MODEL_ID": "stability.sd3-5-large-v1:0"})

    # then
    assert result.environment["DLQ_URL"] == DLQ_URL
    assert result.environment["QUEUE_URL"] == QUEUE_URL
    parameters = TEMPLATE["Parameters"]
    assert result.environment["BEDROCK_REQUESTS_PER_MINUTE"] == str(parameters["BedrockRequestsPerMinute"]["Default"])
    assert result.environment["WORKER_MAX_CONCURRENCY"] == str(parameters["WorkerMaxConcurrency"]["Default"])
    assert result.environment["MODEL_ID"] == "stability.sd3-5-large-v1:0"
    assert result.environment["WORKER_CONCURRENCY"] == str(TEMPLATE["Parameters"]["WorkerThreads"]["Default"])


def test_the_queue_mapping_reports_item_failures_with_the_templates_concurrency() -> None:
    # when
    mapping = sqs_event_source(TEMPLATE, resolver(), WORKER_FUNCTION)

    # then
    assert mapping.queue_logical_id == "ImageQueue"
    assert mapping.report_batch_item_failures is True
    assert mapping.maximum_concurrency == int(TEMPLATE["Parameters"]["WorkerMaxConcurrency"]["Default"])


def test_queue_attributes_carry_sse_and_the_redrive_policy_as_json() -> None:
    # given
    properties = resolver().resolve(TEMPLATE["Resources"]["ImageQueue"]["Properties"])

    # when
    attributes = queue_attributes(properties)

    # then
    assert attributes["SqsManagedSseEnabled"] == "true"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":imagegen-local-images-dlq")
    assert redrive["maxReceiveCount"] == properties["RedrivePolicy"]["maxReceiveCount"]


def test_settings_come_from_local_variables() -> None:
    # when
    settings = StackSettings.from_env(
        {
            "LOCAL_API_PORT": "0",
            "LOCAL_VISIBILITY_TIMEOUT": "3",
            "LOCAL_MODEL_ID": "amazon.nova-canvas-v1:0",
            "LOCAL_API_THROTTLE": "off",
            "LOCAL_ENV_BEDROCK_MAX_ATTEMPTS": "1",
            "LOCAL_STATE_DIR": "/tmp/somewhere",
            "LOCAL_PARAMETER_OVERRIDES": "BedrockRequestsPerMinute=120  WorkerMaxConcurrency=3",
        }
    )

    # then
    assert settings.api_port == 0
    assert settings.aws_port == 4566
    assert settings.visibility_timeout == 3
    assert settings.model_id == "amazon.nova-canvas-v1:0"
    assert settings.api_throttle is False
    assert settings.function_env == {"BEDROCK_MAX_ATTEMPTS": "1"}
    assert settings.state_dir == Path("/tmp/somewhere")
    assert settings.parameters == {"BedrockRequestsPerMinute": "120", "WorkerMaxConcurrency": "3"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOCAL_API_PORT", "http"),
        ("LOCAL_AWS_PORT", "70000"),
        ("LOCAL_API_THROTTLE", "maybe"),
        ("LOCAL_PARAMETER_OVERRIDES", "BedrockRequestsPerMinute"),
    ],
)
def test_a_bad_setting_is_an_error_naming_the_variable(name: str, value: str) -> None:
    # then
    with pytest.raises(ConfigError, match=name):
        StackSettings.from_env({name: value})


def test_sam_env_json_points_at_what_the_local_stack_creates() -> None:
    # given
    sam_env = json.loads((ROOT / "local" / "sam-env.json").read_text())
    r = Resolver(TEMPLATE, "us-east-1", "123456789012", STACK_NAME)
    dlq_name = r.resolve(TEMPLATE["Resources"]["ImageDeadLetterQueue"]["Properties"]["QueueName"])
    queue_name = r.resolve(TEMPLATE["Resources"]["ImageQueue"]["Properties"]["QueueName"])
    table_name = r.resolve(TEMPLATE["Resources"]["JobsTable"]["Properties"]["TableName"])
    defaults = StackSettings()
    aws = f"http://host.docker.internal:{defaults.aws_port}"

    # then
    for function in (API_FUNCTION, WORKER_FUNCTION):
        variables = sam_env[function]
        assert variables["BUCKET_NAME"] == r.physical_name("ImageBucket")
        assert variables["MODEL_ID"] == _core_default_model()
        assert variables["AWS_ENDPOINT_URL_S3"] == aws
        assert variables["AWS_ENDPOINT_URL_SQS"] == aws
        assert variables["AWS_ENDPOINT_URL_DYNAMODB"] == variables["AWS_ENDPOINT_URL_EVENTBRIDGE"] == aws
        assert variables["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == f"http://host.docker.internal:{defaults.bedrock_port}"
        assert variables["JOBS_TABLE"] == table_name
        assert variables["QUEUE_URL"] == f"{aws}/123456789012/{queue_name}"
    assert sam_env[WORKER_FUNCTION]["DLQ_URL"] == f"{aws}/123456789012/{dlq_name}"


@pytest.mark.parametrize(
    ("env", "quota_rps", "expected"),
    [
        ({}, 0.0, {"BedrockRequestsPerMinute": "0"}),
        ({}, 2.0, {"BedrockRequestsPerMinute": "120"}),
        (
            {"LOCAL_PARAMETER_OVERRIDES": "BedrockRequestsPerMinute=90", "LOCAL_WORKER_CONCURRENCY": "3"},
            2.0,
            {"BedrockRequestsPerMinute": "90", "WorkerMaxConcurrency": "3"},
        ),
    ],
    ids=["no quota, no pacing", "paced to the stand-in's quota", "the overrides win"],
)
def test_the_local_stack_sizes_the_worker_to_the_stand_ins_quota_unless_told_otherwise(
    env: dict[str, str], quota_rps: float, expected: dict[str, str]
) -> None:
    # when
    values = parameter_values(TEMPLATE, StackSettings.from_env(env), quota_rps)

    # then
    assert values == expected


def test_an_override_of_a_parameter_the_template_lacks_is_an_error_naming_it() -> None:
    settings = StackSettings.from_env({"LOCAL_PARAMETER_OVERRIDES": "BedrockRequestsPerHour=5"})
    with pytest.raises(ConfigError, match=r"LOCAL_PARAMETER_OVERRIDES .* BedrockRequestsPerHour"):
        parameter_values(TEMPLATE, settings, 0.0)
