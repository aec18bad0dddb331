"""The functions: runtime, architecture, time budget and the settings they start with (the layer: test_core_layer)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from imagegen_core.bedrock import backoff_ceiling
from imagegen_core.catalog import DEFAULT_MODEL_ID, DEFAULT_REGION, spec_for
from imagegen_core.clients import bedrock_client, reset_clients
from imagegen_core.config import ConfigError, Settings, WorkerSettings
from imagegen_core.families import family_for
from tests.infra.cfn import Rendered, render

FUNCTIONS = ["GenerateImageFunction", "SqsWorkerFunction"]
API_GATEWAY_TIMEOUT_SECONDS = 29
# Stability SD3.5 Large / Stable Image Ultra, and 5 images of Titan or Nova Canvas, often take more than 12 s.
SLOW_GENERATION_SECONDS = 20


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_each_function_runs_python_3_13_on_arm64_with_tracing_and_the_core_layer(
    stack: Rendered, function_id: str
) -> None:
    # when the function is rendered
    function = stack.properties(function_id)

    # then
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["TracingConfig"] == {"Mode": "Active"}
    [layer] = function["Layers"]
    assert stack.resources[layer]["Type"] == "AWS::Lambda::LayerVersion"


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_each_function_limits_glibc_to_two_malloc_arenas(stack: Rendered, function_id: str) -> None:
    # when the function is rendered
    variables = stack.properties(function_id)["Environment"]["Variables"]

    # then threads share two arenas (docs/performance.md: 228 MB -> 111 MB for a 10 x 5 batch)
    assert variables["MALLOC_ARENA_MAX"] == "2"


def test_the_api_function_answers_before_api_gateway_gives_up_after_29_seconds(stack: Rendered) -> None:
    # when the API function is rendered
    timeout = stack.properties("GenerateImageFunction")["Timeout"]

    # then it times out first, so the caller gets the function's own answer
    assert timeout <= 28


def test_the_api_functions_bedrock_budget_ends_before_the_function_and_api_gateway_give_up(
    stack: Rendered,
) -> None:
    # given the Bedrock client the core makes from the API function's settings
    function = stack.properties("GenerateImageFunction")
    settings = Settings.from_env(function["Environment"]["Variables"])
    reset_clients()
    try:
        client = bedrock_client(settings.bedrock_region, settings.bedrock_read_timeout_seconds)
        config: Any = client.meta.config  # botocore's Config (its stubs do not list the timeouts)
    finally:
        reset_clients()

    # when every throttled attempt backs off as long as it may, and the last attempt takes all its time
    backoff = sum(backoff_ceiling(attempt) for attempt in range(1, settings.bedrock_max_attempts))
    worst_case = backoff + config.connect_timeout + config.read_timeout

    # then the function still answers (its own 502/429) before Lambda and API Gateway stop it: the SDK makes
    # one attempt per call (a timed-out generation is never repeated) and throttling gets bounded retries
    assert config.retries["total_max_attempts"] == 1
    assert settings.bedrock_max_attempts >= 2
    assert worst_case < function["Timeout"] < API_GATEWAY_TIMEOUT_SECONDS


def test_the_api_function_waits_for_a_slow_models_generation(stack: Rendered) -> None:
    # given the API function's settings
    settings = Settings.from_env(stack.properties("GenerateImageFunction")["Environment"]["Variables"])

    # then a slow but normal generation is answered, not cut off by the read timeout
    assert settings.bedrock_read_timeout_seconds >= SLOW_GENERATION_SECONDS


def test_the_worker_runs_a_full_batch_in_one_round_of_bedrock_calls_by_default(stack: Rendered) -> None:
    # given the worker's SQS event and its default number of threads
    worker = stack.properties("SqsWorkerFunction")
    [mapping] = stack.of_type("AWS::Lambda::EventSourceMapping").values()
    threads = WorkerSettings.from_env(worker["Environment"]["Variables"]).concurrency

    # then every message of a full batch gets a thread at once: the batch takes one Bedrock latency, not several
    assert threads >= mapping["Properties"]["BatchSize"] == 10


def test_the_worker_has_minutes_for_a_batch_and_a_modest_memory_size(stack: Rendered) -> None:
    # when the worker is rendered
    worker = stack.properties("SqsWorkerFunction")

    # then
    assert 120 <= worker["Timeout"] <= 900
    assert 256 <= worker["MemorySize"] <= 512


@pytest.mark.parametrize("function_id", FUNCTIONS)
@pytest.mark.parametrize(
    "parameters",
    [{}, {"ModelId": "amazon.nova-canvas-v1:0", "ImagePrefix": "team-a/imagegen", "ExistingBucketName": "team-images"}],
)
def test_each_function_starts_with_settings_the_core_accepts(function_id: str, parameters: dict[str, str]) -> None:
    # given a stack rendered with these parameters
    stack = render(**parameters)
    variables = stack.properties(function_id)["Environment"]["Variables"]

    # when the core reads its settings from that environment
    settings = Settings.from_env(variables)

    # then they are the stack's parameters
    assert settings.model_id == stack.parameters["ModelId"]
    assert settings.image_prefix == stack.parameters["ImagePrefix"]
    assert settings.bucket_name == (stack.parameters["ExistingBucketName"] or "imagebucket")
    assert variables["POWERTOOLS_SERVICE_NAME"] == "imagegen"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "imagegen"
    assert variables["LOG_LEVEL"] == "INFO"


def test_the_worker_starts_with_worker_settings_the_core_accepts(stack: Rendered) -> None:
    # given the worker's environment with WorkerThreads=6
    variables = render(WorkerThreads="6").properties("SqsWorkerFunction")["Environment"]["Variables"]

    # when the core reads the worker's settings
    settings = WorkerSettings.from_env(variables)

    # then it sends dead letters to the stack's DLQ and runs the configured number of threads
    assert settings.dlq_url == stack.outputs["DeadLetterQueueUrl"]
    assert settings.concurrency == 6


@pytest.mark.parametrize(
    "model_id",
    [
        "amazon.titan-image-generator-v1",
        "amazon.titan-image-generator-v2:0",
        "amazon.nova-canvas-v1:0",
        "stability.sd3-5-large-v1:0",
        "stability.stable-image-core-v1:1",
        "stability.stable-image-ultra-v1:1",
        "us.stability.stable-image-core-v1:1",
        "eu.amazon.nova-canvas-v1:0",
        "global.stability.sd3-5-large-v1:0",
    ],
)
def test_the_model_parameter_accepts_ids_of_the_supported_families(template: dict[str, Any], model_id: str) -> None:
    # given the ModelId parameter's pattern
    pattern = template["Parameters"]["ModelId"]["AllowedPattern"]

    # then the id passes both CloudFormation and the core
    assert re.fullmatch(pattern, model_id)
    family_for(model_id)


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "us.anthropic.claude-3-haiku-20240307-v1:0",
        "xx.stability.stable-image-core-v1:1",
        "stability.",
        "amazon.titan-text-express-v1",
        "arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0",
    ],
)
def test_the_model_parameter_rejects_other_ids_and_arns(template: dict[str, Any], model_id: str) -> None:
    # given the ModelId parameter's pattern (an ARN would not fit the IAM resources built from the id)
    pattern = template["Parameters"]["ModelId"]["AllowedPattern"]

    # then CloudFormation refuses the id
    assert not re.fullmatch(pattern, model_id)


@pytest.mark.parametrize("prefix", ["images", "team-a/imagegen", "a.b_c-d"])
def test_every_image_prefix_the_template_accepts_is_accepted_by_the_core(template: dict[str, Any], prefix: str) -> None:
    # given a prefix the ImagePrefix pattern accepts
    assert re.fullmatch(template["Parameters"]["ImagePrefix"]["AllowedPattern"], prefix)

    # then the core accepts it as it is
    environment = {"BUCKET_NAME": "bucket-name", "JOBS_TABLE": "imagegen-jobs", "IMAGE_PREFIX": prefix}
    assert Settings.from_env(environment).image_prefix == prefix


@pytest.mark.parametrize("prefix", ["images/*", "/images", "images/", "a b"])
def test_the_image_prefix_parameter_refuses_prefixes_that_would_widen_or_break_the_s3_permissions(
    template: dict[str, Any], prefix: str
) -> None:
    # then CloudFormation refuses the prefix before IAM ever sees a wildcard or an empty segment
    assert not re.fullmatch(template["Parameters"]["ImagePrefix"]["AllowedPattern"], prefix)


def test_a_stack_with_a_bucket_name_the_core_rejects_fails_at_the_parameter_not_at_cold_start(
    template: dict[str, Any],
) -> None:
    # given a bucket name the core would reject
    name = "Not_A_Bucket"

    # then the parameter's pattern rejects it too
    assert not re.fullmatch(template["Parameters"]["ExistingBucketName"]["AllowedPattern"], name)
    with pytest.raises(ConfigError, match="BUCKET_NAME"):
        Settings.from_env({"BUCKET_NAME": name})


def test_the_template_deploys_the_core_s_default_model_in_its_region(template: dict[str, Any]) -> None:
    # given the template's defaults and the core's catalog
    parameters = template["Parameters"]

    # then a stack deployed with the defaults runs the catalog's live default model where it is offered
    assert parameters["ModelId"]["Default"] == DEFAULT_MODEL_ID
    assert parameters["BedrockRegion"]["Default"] == DEFAULT_REGION
    assert DEFAULT_REGION in spec_for(DEFAULT_MODEL_ID).regions
    assert spec_for(DEFAULT_MODEL_ID).lifecycle.status_on(date.today()) == "ACTIVE"
