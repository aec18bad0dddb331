"""The API Gateway shim without a network: events it builds, routes, API key, gateway responses, throttle."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from local.api_shim import (
    ApiDefinition,
    ApiGateway,
    HttpRequest,
    Route,
    RouteMatch,
    TokenBucket,
    build_api_event,
    gateway_answer,
    proxy_answer,
)
from local.containers import Invocation
from local.intrinsics import Resolver
from local.resources import api_definition, api_throttle
from local.template import load_template
from tests.helpers import load_event

KEY = "local-dev-api-key"
NOW = datetime(2026, 11, 22, 10, 15, 30, tzinfo=UTC)
ROUTE = Route("/generate-image", "POST", api_key_required=True)
MATCHED = RouteMatch(ROUTE, "/generate-image", {})


@pytest.fixture(scope="module")
def api() -> ApiDefinition:
    """The API as template.yaml declares it."""
    template = load_template()
    return api_definition(template, Resolver(template, "us-east-1", "123456789012", "imagegen-local"), "ImageApi")


def request(
    method: str = "POST", target: str = "/generate-image", body: bytes = b'{"prompt": "a cat"}', key: str | None = KEY
) -> HttpRequest:
    headers = [("Host", "127.0.0.1:3000"), ("User-Agent", "curl/8.5.0"), ("Content-Type", "application/json")]
    if key is not None:
        headers.append(("x-api-key", key))
    return HttpRequest(method, target, headers, body, "127.0.0.1")


class RecordingFunction:
    """Stands in for a container pool: records the events, answers what it is told."""

    def __init__(self, answer: Invocation | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self._answer = answer

    def __call__(self, event: dict[str, Any], request_id: str) -> Invocation:
        self.events.append(event)
        if self._answer is not None:
            return self._answer
        body = json.dumps({"request_id": event["requestContext"]["requestId"]})
        return Invocation(
            request_id, result={"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}
        )


def gateway(api: ApiDefinition, function: RecordingFunction, throttle: TokenBucket | None = None) -> ApiGateway:
    return ApiGateway(api, KEY, function, lambda _: None, throttle)


def header(answer: Any, name: str) -> str | None:
    return next((value for key, value in answer.headers if key.lower() == name.lower()), None)


def test_the_event_has_every_field_of_the_sample_event_lambda_receives() -> None:
    # given
    sample = load_event("api_generate_image")

    # when
    event = build_api_event(request(), matched=MATCHED, stage="v1", request_id="r-1", api_key=KEY, now=NOW)

    # then
    assert set(event) == set(sample)
    assert set(sample["requestContext"]) <= set(event["requestContext"])
    assert set(sample["requestContext"]["identity"]) <= set(event["requestContext"]["identity"])


def test_the_event_carries_the_request_as_api_gateway_passes_it_on() -> None:
    # given
    http = request(target="/v1/generate-image?size=big&tag=a&tag=b")

    # when
    event = build_api_event(http, matched=MATCHED, stage="v1", request_id="r-1", api_key=KEY, now=NOW)

    # then
    assert event["resource"] == "/generate-image"
    assert event["path"] == "/generate-image"
    assert event["httpMethod"] == "POST"
    assert event["body"] == '{"prompt": "a cat"}'
    assert event["isBase64Encoded"] is False
    assert event["queryStringParameters"] == {"size": "big", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"size": ["big"], "tag": ["a", "b"]}
    assert event["headers"]["x-api-key"] == KEY
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["multiValueHeaders"]["User-Agent"] == ["curl/8.5.0"]
    context = event["requestContext"]
    assert context["requestId"] == "r-1"
    assert context["stage"] == "v1"
    assert context["path"] == "/v1/generate-image"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["apiKey"] == KEY
    assert context["requestTimeEpoch"] == int(NOW.timestamp() * 1000)


def test_a_body_that_is_not_utf8_is_passed_base64_encoded() -> None:
    # given
    raw = b"\xff\xfe\x00binary"

    # when
    event = build_api_event(request(body=raw), matched=MATCHED, stage="v1", request_id="r", api_key=KEY, now=NOW)

    # then
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_a_request_without_a_body_has_a_null_body() -> None:
    # when
    event = build_api_event(request(body=b""), matched=MATCHED, stage="v1", request_id="r", api_key=KEY, now=NOW)

    # then
    assert event["body"] is None


def test_the_template_declares_its_routes_with_an_api_key_on_stage_v1_but_the_web_page_s(api: ApiDefinition) -> None:
    # then
    assert api.stage == "v1"
    assert set(api.routes) == {
        Route("/generate-image", "POST", api_key_required=True),
        Route("/jobs", "POST", api_key_required=True),
        Route("/jobs", "GET", api_key_required=True),
        Route("/jobs/{job_id}", "GET", api_key_required=True),
        Route("/config", "GET", api_key_required=True),
        Route("/", "GET", api_key_required=False),
        Route("/static/{name}", "GET", api_key_required=False),
    }


@pytest.mark.parametrize(
    ("method", "path", "resource", "parameters"),
    [
        ("GET", "/jobs/abc-123", "/jobs/{job_id}", {"job_id": "abc-123"}),
        ("GET", "/v1/jobs/abc-123", "/jobs/{job_id}", {"job_id": "abc-123"}),
        ("GET", "/jobs/a%20b", "/jobs/{job_id}", {"job_id": "a b"}),
        ("GET", "/jobs", "/jobs", {}),
        ("POST", "/jobs", "/jobs", {}),
    ],
)
def test_a_path_parameter_is_one_segment_of_the_path(
    api: ApiDefinition, method: str, path: str, resource: str, parameters: dict[str, str]
) -> None:
    # when
    matched = api.match(method, path)

    # then
    assert matched is not None
    assert matched.route.resource == resource
    assert matched.parameters == parameters
    assert matched.route.parameters(matched.path) == parameters


@pytest.mark.parametrize(("method", "path"), [("GET", "/jobs/a/b"), ("GET", "/job"), ("DELETE", "/jobs/x")])
def test_other_paths_and_methods_are_no_route(api: ApiDefinition, method: str, path: str) -> None:
    assert api.match(method, path) is None


@pytest.mark.parametrize("path", ["/generate-image", "/v1/generate-image"])
def test_the_route_is_found_with_or_without_the_stage(api: ApiDefinition, path: str) -> None:
    # when
    matched = api.match("POST", path)

    # then
    assert matched == (Route("/generate-image", "POST", api_key_required=True), "/generate-image", {})


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/generate-image"), ("POST", "/other"), ("POST", "/prod/generate-image")]
)
def test_other_routes_are_not_found(api: ApiDefinition, method: str, path: str) -> None:
    # then
    assert api.match(method, path) is None


def test_a_literal_route_wins_over_a_path_parameter_whatever_order_they_are_declared_in() -> None:
    # given a parameter route declared before a literal route of the same shape
    by_id, latest = Route("/jobs/{job_id}", "GET", api_key_required=True), Route("/jobs/latest", "GET", True)
    api = ApiDefinition(stage="v1", routes=(by_id, latest))

    # when
    literal, parameter = api.match("GET", "/jobs/latest"), api.match("GET", "/jobs/abc-123")

    # then
    assert literal == (latest, "/jobs/latest", {})
    assert parameter == (by_id, "/jobs/abc-123", {"job_id": "abc-123"})


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_a_missing_or_wrong_api_key_gets_the_templates_403_and_never_reaches_the_function(
    api: ApiDefinition, key: str | None
) -> None:
    # given
    function = RecordingFunction()

    # when
    answer = gateway(api, function).handle(request(key=key))

    # then
    assert answer.status == 403
    body = json.loads(answer.body)
    assert body["error"]["code"] == "forbidden"
    assert body["request_id"] == header(answer, "x-amzn-RequestId")
    assert function.events == []


@pytest.mark.parametrize("target", ["/", "/v1", "/v1/", "/v1/static/app.css?v=1"])
def test_the_web_page_and_its_files_reach_the_function_without_a_key(api: ApiDefinition, target: str) -> None:
    # given
    function = RecordingFunction()

    # when a browser asks, without a key
    answer = gateway(api, function).handle(request(method="GET", target=target, body=b"", key=None))

    # then the function answers, and sees the page's path under the stage as API Gateway passes it on
    assert answer.status == 200
    [event] = function.events
    assert event["requestContext"]["path"] == "/v1" + event["path"]
    assert event["requestContext"]["identity"]["apiKey"] is None


@pytest.mark.parametrize("target", ["/local-stack.json", "/v1/local-stack.json"])
def test_the_local_stack_gives_the_page_its_key_and_nothing_else_can_read_it_cross_origin(
    api: ApiDefinition, target: str
) -> None:
    # given the gateway as the local stack starts it
    function = RecordingFunction()
    local = ApiGateway(api, KEY, function, lambda _: None, page_settings={"api_key": KEY})

    # when the page asks for its settings (no key: it has none yet)
    answer = local.handle(request(method="GET", target=target, body=b"", key=None))

    # then it gets the key, uncached, with no CORS header, and the function never sees the request
    assert (answer.status, json.loads(answer.body)) == (200, {"api_key": KEY})
    assert header(answer, "Cache-Control") == "no-store"
    assert not [name for name, _ in answer.headers if name.lower().startswith("access-control-")]
    assert function.events == []


def test_without_page_settings_the_local_route_is_unknown_as_on_a_deployed_api(api: ApiDefinition) -> None:
    # when
    answer = gateway(api, RecordingFunction()).handle(request(method="GET", target="/local-stack.json", key=None))

    # then
    assert answer.status == 404
    assert json.loads(answer.body)["error"]["code"] == "not_found"


def test_an_unknown_route_gets_the_templates_404(api: ApiDefinition) -> None:
    # when
    answer = gateway(api, RecordingFunction()).handle(request(method="GET", target="/nothing-here"))

    # then
    assert answer.status == 404
    assert json.loads(answer.body)["error"]["code"] == "not_found"
    assert header(answer, "x-amzn-ErrorType") == "MissingAuthenticationTokenException"


def test_each_request_gets_a_fresh_request_id_that_the_function_and_the_caller_both_see(api: ApiDefinition) -> None:
    # given
    function = RecordingFunction()
    shim = gateway(api, function)

    # when
    answers = [shim.handle(request()) for _ in range(2)]

    # then
    ids = [event["requestContext"]["requestId"] for event in function.events]
    assert len(set(ids)) == 2
    assert [header(answer, "x-amzn-RequestId") for answer in answers] == ids
    assert [json.loads(answer.body)["request_id"] for answer in answers] == ids


def test_a_function_error_is_a_502_with_the_templates_5xx_body(api: ApiDefinition) -> None:
    # given
    crash = Invocation("r", error={"errorType": "KeyError", "errorMessage": "'x'"})

    # when
    answer = gateway(api, RecordingFunction(crash)).handle(request())

    # then
    assert answer.status == 502
    body = json.loads(answer.body)
    assert body["error"] == {"code": "internal_error", "message": "Internal server error"}


def test_a_malformed_proxy_answer_is_a_502(api: ApiDefinition) -> None:
    # given
    malformed = Invocation("r", result={"body": "no status code"})

    # when
    answer = gateway(api, RecordingFunction(malformed)).handle(request())

    # then
    assert answer.status == 502


def test_requests_beyond_the_stage_throttle_get_the_templates_429(api: ApiDefinition) -> None:
    # given
    clock = [0.0]
    shim = gateway(api, RecordingFunction(), TokenBucket(rate=2, burst=2, clock=lambda: clock[0]))

    # when
    statuses = [shim.handle(request()).status for _ in range(3)]
    clock[0] += 0.5
    after_refill = shim.handle(request())

    # then
    assert statuses == [200, 200, 429]
    assert after_refill.status == 200


def test_the_429_carries_the_templates_retry_after_header(api: ApiDefinition) -> None:
    # given
    shim = gateway(api, RecordingFunction(), TokenBucket(rate=1, burst=1, clock=lambda: 0.0))
    shim.handle(request())

    # when
    answer = shim.handle(request())

    # then
    assert answer.status == 429
    assert json.loads(answer.body)["error"]["code"] == "throttled"
    assert header(answer, "Retry-After") == "1"


def test_the_stage_throttle_comes_from_the_templates_method_settings() -> None:
    # given
    template = load_template()
    resolver = Resolver(template, "us-east-1", "123456789012", "imagegen-local")
    parameters = template["Parameters"]

    # when
    throttle = api_throttle(template, resolver, "ImageApi")

    # then
    assert throttle is not None
    assert throttle.rate == float(parameters["UsagePlanRateLimit"]["Default"])
    assert throttle.burst == int(parameters["UsagePlanBurstLimit"]["Default"])


def test_a_proxy_answer_keeps_status_headers_and_body() -> None:
    # when
    answer = proxy_answer(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": "{}",
            "isBase64Encoded": False,
        }
    )

    # then
    assert answer is not None
    assert answer.status == 201
    assert ("Set-Cookie", "a=1") in answer.headers
    assert ("Set-Cookie", "b=2") in answer.headers
    assert ("Content-Type", "application/json") in answer.headers
    assert answer.body == b"{}"


def test_a_base64_proxy_answer_is_decoded() -> None:
    # when
    answer = proxy_answer({"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True})

    # then
    assert answer is not None
    assert answer.body == b"\x89PNG"


def test_without_a_custom_gateway_response_api_gateways_default_body_is_used() -> None:
    # given
    bare = ApiDefinition(stage="v1", routes=(ROUTE,))

    # when
    answer = gateway_answer(bare, "INVALID_API_KEY", "r-1")

    # then
    assert answer.status == 403
    assert json.loads(answer.body) == {"message": "Forbidden"}
