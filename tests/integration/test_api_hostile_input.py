"""POST /generate-image against what a careless or hostile caller, or a sick upstream, can send: every answer is
JSON with a stable code, small whatever the input, and never a 5xx for the caller's fault (issue 11).

Properties run through the real handler with S3 in moto and Bedrock through the stand-in."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generate_image.app import lambda_handler
from local.bedrock_standin import BedrockStandin
from local.lambda_context import LambdaContext
from tests.helpers import BUCKET, JSON_VALUES, REQUESTS, api_event, response_headers

ANSWER_MAX_BYTES = 16 * 1024
CLIENT_CODES = {"invalid_json", "validation_error", "content_filtered", "bad_request"}
PROPERTY = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def answer(event: Any, context: LambdaContext) -> tuple[int, dict[str, str], dict[str, Any], int]:
    response = lambda_handler(event, context)
    raw = response["body"]
    return response["statusCode"], response_headers(response), json.loads(raw), len(raw.encode())


def assert_client_error(status: int, body: dict[str, Any], size: int) -> None:
    assert 400 <= status < 500, body
    assert set(body) == {"error", "request_id"}
    assert body["error"]["code"] in CLIENT_CODES
    assert size <= ANSWER_MAX_BYTES


# --- bodies the parser cannot take ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "base64_encoded"),
    [
        ("not base64 at all!!", True),
        (base64.b64encode(b'\xff\xfe{"prompt": "a cat"}').decode(), True),  # bytes that are not UTF-8
        ('{"prompt": ' + "[" * 100_000 + "]" * 100_000 + "}", False),  # nesting no parser should follow
        ("[" * 5_000 + "]" * 5_000, False),
        ('{"prompt": "a cat", "cfg_scale": NaN}', False),
        ('{"prompt": "a cat", "seed": ' + "9" * 5_000 + "}", False),  # an integer too long to convert
        ('{"prompt": "a cat", "seed": Infinity}', False),
        ("\ud800", False),
    ],
)
def test_a_body_the_parser_cannot_take_is_a_400_invalid_json(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, body: str, base64_encoded: bool
) -> None:
    # given
    event = api_event(None, raw=body)
    event["isBase64Encoded"] = base64_encoded

    # when
    status, _, answered, size = answer(event, lambda_context)

    # then
    assert (status, answered["error"]["code"]) == (400, "invalid_json"), answered
    assert size <= ANSWER_MAX_BYTES
    assert standin.calls == []


def test_a_few_megabytes_of_unknown_fields_get_a_small_422(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given 50,000 unknown fields with long names (a few MB of body)
    payload = {"prompt": "a cat", **{f"field_{index}_" + "x" * 60: index for index in range(50_000)}}

    # when
    status, _, body, size = answer(api_event(payload), lambda_context)

    # then the answer names the first fields at fault, says how many more, and stays small
    assert (status, body["error"]["code"]) == (422, "validation_error")
    details = body["error"]["details"]
    assert len(details) == 21
    assert details[-1] == {"field": "…", "message": "and 49980 more problems"}
    assert all(len(detail["field"]) <= 100 for detail in details)
    assert size <= ANSWER_MAX_BYTES


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"prompt": "a cat"},  # a direct invoke with a request body's shape
        {"httpMethod": "POST", "path": "/generate-image", "body": '{"prompt": "a cat"}'},  # no requestContext
        [],
        "a cat",
        None,
    ],
)
def test_an_event_that_is_not_an_api_gateway_request_gets_a_json_400(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, event: Any
) -> None:
    status, headers, body, _ = answer(event, lambda_context)
    assert (status, body["error"]["code"]) == (400, "bad_request")
    assert headers["Content-Type"] == "application/json"
    assert body["request_id"] == lambda_context.aws_request_id
    assert standin.calls == []


# --- upstream faults: retryable, never the caller's or the model's fault ----------------------------------


@pytest.mark.parametrize("outage_status", [503, 502, 500, 504])
def test_an_untyped_outage_at_bedrock_is_a_503_with_retry_after(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, outage_status: int
) -> None:
    # given the endpoint answers with a proxy's HTML error page, without x-amzn-ErrorType
    standin.configure(outage_status=outage_status)

    # when
    status, headers, body, _ = answer(api_event({"prompt": "a castle, outage-me"}, request_id="r"), lambda_context)

    # then
    assert (status, body["error"]["code"]) == (503, "service_unavailable")
    assert headers["Retry-After"] == "10"
    assert "model" not in body["error"]["message"]
    assert "<html" not in json.dumps(body).lower()


@pytest.mark.parametrize("prompt", ["a castle, corrupt-me", "a castle, not-png-me"])
def test_model_output_that_is_not_an_image_is_a_502_and_nothing_is_stored(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, prompt: str
) -> None:
    status, _, body, _ = answer(api_event({"prompt": prompt}, request_id="r"), lambda_context)
    assert (status, body["error"]["code"]) == (502, "model_error")
    assert aws.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_fewer_images_than_asked_is_a_502_and_none_of_them_is_stored(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, titan: str
) -> None:
    event = api_event({"prompt": "a castle, fewer-me", "number_of_images": 3}, request_id="r")
    status, _, body, _ = answer(event, lambda_context)
    assert (status, body["error"]["code"]) == (502, "model_error")
    assert aws.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


# --- properties ---------------------------------------------------------------------------------------------


@PROPERTY
@given(payload=REQUESTS | JSON_VALUES)
def test_any_json_body_gets_a_json_answer_below_500_with_a_stable_code(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, payload: Any
) -> None:
    # when
    status, _, body, size = answer(api_event(payload), lambda_context)

    # then a picture, or the caller's fault explained, small
    if status == 200:
        assert body["images"]
    else:
        assert_client_error(status, body, size)


@PROPERTY
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode), base64_encoded=st.booleans())
def test_any_bytes_as_a_body_get_a_json_answer_below_500(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, raw: bytes, base64_encoded: bool
) -> None:
    # given the bytes as API Gateway delivers them: base64 when flagged, else as text (undecodable bytes replaced)
    event = api_event(None, raw=base64.b64encode(raw).decode() if base64_encoded else raw.decode(errors="replace"))
    event["isBase64Encoded"] = base64_encoded

    # when
    status, _, body, size = answer(event, lambda_context)

    # then
    if status != 200:
        assert_client_error(status, body, size)
