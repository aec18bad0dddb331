"""`sam local` and the local stack reach local endpoints; the deployed functions reach AWS's.

The template declares AWS_ENDPOINT_URL_S3 / _SQS / _BEDROCK_RUNTIME empty: in AWS an empty value means the
default endpoint, and declaring them is what lets `sam local invoke --env-vars local/sam-env.json` set them
(SAM only overrides variables the template declares).
"""

from __future__ import annotations

import json

import botocore.session
import pytest

from local.intrinsics import Resolver
from local.stack import API_FUNCTION, WORKER_FUNCTION, LocalStack, StackSettings
from local.template import load_template
from tests.helpers import ROOT
from tests.infra.cfn import REGION, Rendered

SAM_ENV = json.loads((ROOT / "local" / "sam-env.json").read_text())
FUNCTIONS = [API_FUNCTION, WORKER_FUNCTION]
ENDPOINT_VARIABLES = {
    "AWS_ENDPOINT_URL_S3": "s3",
    "AWS_ENDPOINT_URL_SQS": "sqs",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "bedrock-runtime",
}


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_every_variable_of_sam_env_json_is_one_the_template_declares_for_that_function(
    stack: Rendered, function_id: str
) -> None:
    # given what sam-env.json sets for the function, and what the deployed function declares
    local_values = SAM_ENV[function_id]
    declared = stack.properties(function_id)["Environment"]["Variables"]

    # then sam local applies every one of them (an undeclared one would be dropped silently)
    assert set(local_values) <= set(declared)


def test_sam_env_json_sets_the_endpoints_of_every_service_the_functions_call() -> None:
    # then no function is left calling real S3, SQS or Bedrock under sam local
    for function_id in FUNCTIONS:
        assert set(ENDPOINT_VARIABLES) <= set(SAM_ENV[function_id])


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_the_deployed_functions_declare_the_endpoints_empty(stack: Rendered, function_id: str) -> None:
    # when the function's environment is rendered
    variables = stack.properties(function_id)["Environment"]["Variables"]

    # then each endpoint variable is there, and empty
    assert {name: variables.get(name) for name in ENDPOINT_VARIABLES} == dict.fromkeys(ENDPOINT_VARIABLES, "")


@pytest.mark.parametrize(("variable", "service"), ENDPOINT_VARIABLES.items())
def test_botocore_ignores_an_empty_endpoint_variable(
    stack: Rendered, monkeypatch: pytest.MonkeyPatch, variable: str, service: str
) -> None:
    # given the deployed environment's (empty) value of the service's endpoint variable
    monkeypatch.setenv(variable, stack.properties(API_FUNCTION)["Environment"]["Variables"][variable])

    # when a client of that service is created, as the core creates them
    client = botocore.session.get_session().create_client(service, region_name=REGION)

    # then it calls the service's AWS endpoint
    assert client.meta.endpoint_url == f"https://{service}.{REGION}.amazonaws.com"


def test_the_local_stacks_functions_reach_the_local_endpoints_although_the_template_declares_them_empty() -> None:
    # given the local stack reading template.yaml, with its emulated AWS and Bedrock stand-in
    template = load_template()
    resolver = Resolver(template, REGION, "123456789012", "imagegen-local")
    resolver.refs.update({"ImageBucket": "imagegen-local-imagebucket", "ImageDeadLetterQueue": "http://dlq"})
    aws, bedrock = "http://127.0.0.1:4566", "http://127.0.0.1:4567"

    # when it makes its containers' environments
    specs = LocalStack(StackSettings())._function_specs(resolver, aws, bedrock)

    # then the local endpoints win over the template's empty values
    for function_id in FUNCTIONS:
        environment = specs[function_id].environment
        assert environment["AWS_ENDPOINT_URL_S3"] == aws
        assert environment["AWS_ENDPOINT_URL_SQS"] == aws
        assert environment["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == bedrock
