"""The REST API: the key on the method (or not, for ApiAuth=NONE), its limits, its errors and its outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.cfn import Rendered, render, translate

# API Gateway's own errors: the status the caller sees and the stable code in our error shape.
GATEWAY_ERRORS = {
    "INVALID_API_KEY": ("403", "forbidden"),
    "ACCESS_DENIED": ("403", "forbidden"),
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found"),
    "THROTTLED": ("429", "throttled"),
    "QUOTA_EXCEEDED": ("429", "quota_exceeded"),
    "INTEGRATION_TIMEOUT": ("504", "timeout"),
    "DEFAULT_4XX": (None, "bad_request"),
    "DEFAULT_5XX": (None, "internal_error"),
}


def operation(stack: Rendered) -> dict[str, Any]:
    return stack.properties("ImageApi")["Body"]["paths"]["/generate-image"]["post"]


def stage(stack: Rendered) -> dict[str, Any]:
    [properties] = [resource["Properties"] for resource in stack.of_type("AWS::ApiGateway::Stage").values()]
    return properties


def test_the_method_requires_the_api_key_header_by_default(stack: Rendered) -> None:
    # when the API's definition is rendered with ApiAuth=API_KEY
    body = stack.properties("ImageApi")["Body"]

    # then POST /generate-image requires the x-api-key header
    assert operation(stack)["security"] == [{"api_key": []}]
    assert body["securityDefinitions"]["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}


def test_a_demo_stack_requires_no_key_and_creates_none(open_stack: Rendered) -> None:
    # when the stack is rendered with ApiAuth=NONE
    # then the method is open and there is no key, usage plan or key output
    assert "security" not in operation(open_stack)
    assert not open_stack.of_type("AWS::ApiGateway::ApiKey")
    assert not open_stack.of_type("AWS::ApiGateway::UsagePlan")
    assert not open_stack.of_type("AWS::ApiGateway::UsagePlanKey")
    assert "ApiKeyId" not in open_stack.outputs
    assert "FetchApiKeyCommand" not in open_stack.outputs


@pytest.mark.parametrize("api_auth", ["API_KEY", "NONE"])
def test_the_method_invokes_the_api_function_through_the_proxy_integration(api_auth: str) -> None:
    # when the API is rendered with either ApiAuth
    integration = operation(render(ApiAuth=api_auth))["x-amazon-apigateway-integration"]

    # then SAM merged the function's Api event into the definition
    assert integration["type"] == "aws_proxy"
    assert integration["httpMethod"] == "POST"
    assert ":function:imagegen-test-generate-image/invocations" in integration["uri"]


def test_every_deployment_redeploys_the_api_so_that_switching_api_auth_reaches_the_stage(
    template: dict[str, Any],
) -> None:
    # given the method's security, chosen by Fn::If, which SAM's deployment hash does not resolve
    security = template["Resources"]["ImageApi"]["Properties"]["DefinitionBody"]["paths"]["/generate-image"]["post"]
    assert "Fn::If" in security["security"]

    # then the API is redeployed on every `sam deploy` (SAM's hash would not change with ApiAuth)
    assert template["Resources"]["ImageApi"]["Properties"]["AlwaysDeploy"] is True


def test_the_usage_plan_takes_its_limits_from_the_parameters(template: dict[str, Any]) -> None:
    # given the usage plan as translated
    plan = translate()["Resources"]["ImageApiUsagePlan"]["Properties"]

    # then its limits are the parameters themselves
    assert plan["Throttle"] == {
        "RateLimit": {"Ref": "UsagePlanRateLimit"},
        "BurstLimit": {"Ref": "UsagePlanBurstLimit"},
    }
    assert plan["Quota"] == {"Limit": {"Ref": "UsagePlanDailyQuota"}, "Period": "DAY"}


def test_the_usage_plan_binds_the_key_to_the_deployed_stage_with_the_given_numbers() -> None:
    # given custom limits
    stack = render(UsagePlanRateLimit="3", UsagePlanBurstLimit="6", UsagePlanDailyQuota="250")

    # when the plan and its key binding are rendered
    plan = stack.properties("ImageApiUsagePlan")
    binding = stack.properties("ImageApiUsagePlanKey")

    # then
    assert plan["ApiStages"] == [{"ApiId": "ImageApi", "Stage": "v1"}]
    assert plan["Throttle"] == {"RateLimit": "3", "BurstLimit": "6"}
    assert plan["Quota"] == {"Limit": "250", "Period": "DAY"}
    assert binding == {"KeyId": "ImageApiKey", "KeyType": "API_KEY", "UsagePlanId": "ImageApiUsagePlan"}


@pytest.mark.parametrize("api_auth", ["API_KEY", "NONE"])
def test_the_stage_throttles_every_method_even_without_keys(api_auth: str) -> None:
    # given custom limits
    stack = render(ApiAuth=api_auth, UsagePlanRateLimit="3", UsagePlanBurstLimit="6")

    # then the stage-wide method settings use them
    [setting] = stage(stack)["MethodSettings"]
    assert setting["ResourcePath"] == "/*"
    assert setting["HttpMethod"] == "*"
    assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == ("3", "6")


@pytest.mark.parametrize(("response_type", "expected"), GATEWAY_ERRORS.items())
def test_api_gateways_own_errors_answer_json_in_the_apis_error_shape(
    stack: Rendered, response_type: str, expected: tuple[str | None, str]
) -> None:
    # given the gateway response of this type
    response = stack.properties("ImageApi")["Body"]["x-amazon-apigateway-gateway-responses"][response_type]

    # when API Gateway fills in its variables ($context.error.messageString is already a quoted string)
    body = (
        response["responseTemplates"]["application/json"]
        .replace("$context.error.messageString", '"Forbidden"')
        .replace("$context.requestId", "c0ffee")
    )

    # then the caller gets the status and a JSON body with a stable code
    status, code = expected
    assert response.get("statusCode") == status
    document = json.loads(body)
    assert document == {"error": {"code": code, "message": document["error"]["message"]}, "request_id": "c0ffee"}
    assert document["error"]["message"]


def test_throttled_callers_are_told_when_to_retry(stack: Rendered) -> None:
    # when the THROTTLED response is rendered
    response = stack.properties("ImageApi")["Body"]["x-amazon-apigateway-gateway-responses"]["THROTTLED"]

    # then it carries a static Retry-After header
    assert response["responseParameters"] == {"gatewayresponse.header.Retry-After": "'1'"}


def test_access_logs_are_off_by_default_and_json_to_their_own_log_group_when_enabled(stack: Rendered) -> None:
    # given the default stack and one with ApiAccessLogs=Enabled
    enabled = render(ApiAccessLogs="Enabled")

    # then the default stage has no access log setting and no log group
    assert "AccessLogSetting" not in stage(stack)
    assert "ApiAccessLogGroup" not in stack.resources

    # and the enabled one writes JSON lines with the request id to the retained log group
    setting = stage(enabled)["AccessLogSetting"]
    assert setting["DestinationArn"].endswith(":log-group:/aws/apigateway/imagegen-test-api-access:*")
    assert json.loads(setting["Format"])["requestId"] == "$context.requestId"
    assert enabled.properties("ApiAccessLogGroup")["RetentionInDays"] == enabled.parameters["LogRetentionDays"]


def test_the_stage_is_traced(stack: Rendered) -> None:
    assert stage(stack)["TracingEnabled"] is True


def test_the_outputs_give_the_full_url_the_key_id_and_the_command_that_prints_the_key(stack: Rendered) -> None:
    # when the outputs are rendered
    outputs = stack.outputs

    # then
    assert outputs["ApiUrl"] == "https://ImageApi.execute-api.eu-west-1.amazonaws.com/v1/generate-image"
    assert outputs["ApiKeyId"] == "ImageApiKey"
    assert outputs["FetchApiKeyCommand"].startswith(
        "aws apigateway get-api-key --api-key ImageApiKey --include-value --query value --output text"
    )


def test_raising_the_key_version_names_a_new_key_so_that_cloudformation_replaces_it() -> None:
    # given two key versions
    names = [render(ApiKeyVersion=version).properties("ImageApiKey")["Name"] for version in ("1", "2")]

    # then the key's name, a property whose change replaces the key, differs
    assert names == ["imagegen-test-key-v1", "imagegen-test-key-v2"]
