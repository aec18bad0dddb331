"""POST /generate-image through the handler, with the events of events/, S3 in moto and Bedrock through
the stand-in: one test (at least) for every status and error code of the API contract."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from generate_image.app import lambda_handler
from local.bedrock_standin import BedrockStandin
from local.lambda_context import LambdaContext
from tests.helpers import BUCKET, PNG_SIGNATURE, api_event, load_event, response_headers

Response = dict[str, Any]


def invoke(event: dict[str, Any], context: LambdaContext) -> tuple[int, dict[str, Any], Response]:
    response = lambda_handler(event, context)
    return response["statusCode"], response_headers(response), json.loads(response["body"])


def assert_error(status: int, body: Response, expected_status: int, code: str, request_id: str) -> None:
    assert status == expected_status
    assert set(body) == {"error", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["request_id"] == request_id


# --- 200 -----------------------------------------------------------------------------------------


def test_the_sample_event_stores_its_image_and_answers_where_it_is(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given the event that `sam local invoke -e events/api_generate_image.json` sends (the default model)
    event = load_event("api_generate_image")
    request_id = event["requestContext"]["requestId"]

    # when
    status, headers, body = invoke(event, lambda_context)

    # then the answer lists the PNG under the prefix, named after the request and the seed
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert (body["request_id"], body["model_id"], body["seed"]) == (request_id, "stability.stable-image-core-v1:1", 42)
    assert [image["key"] for image in body["images"]] == [f"team-a/api/{request_id}/0-seed-42.png"]
    image = body["images"][0]
    assert (image["bucket"], image["width"], image["height"]) == (BUCKET, 1344, 768)
    assert image["s3_uri"] == f"s3://{BUCKET}/{image['key']}"
    # and the object is a real PNG with the promised content type and metadata: nothing of the prompt, not even
    # a hash, that whoever holds a presigned URL could check a guessed prompt against
    stored = aws.get_object(Bucket=BUCKET, Key=image["key"])
    assert stored["Body"].read().startswith(PNG_SIGNATURE)
    assert stored["ContentType"] == "image/png"
    assert stored["Metadata"] == {
        "model-id": "stability.stable-image-core-v1:1",
        "seed": "42",
        "request-id": request_id,
        "width": "1344",
        "height": "768",
    }
    # and Bedrock got one Stability request with the size's aspect ratio
    assert [call.body["aspect_ratio"] for call in standin.calls] == ["16:9"]


def test_titan_makes_several_images_in_one_call(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, titan: str
) -> None:
    # given
    event = api_event({"prompt": "a lighthouse", "number_of_images": 2, "seed": 42}, request_id="r2")

    # when
    status, _, body = invoke(event, lambda_context)

    # then both images are stored, from one Titan request
    assert status == 200
    assert body["model_id"] == titan
    assert [image["key"] for image in body["images"]] == ["team-a/api/r2/0-seed-42.png", "team-a/api/r2/1-seed-42.png"]
    assert all((image["width"], image["height"]) == (1024, 1024) for image in body["images"])
    assert [call.body["imageGenerationConfig"]["numberOfImages"] for call in standin.calls] == [2]


def test_the_url_is_a_presigned_get_with_the_configured_expiry(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    monkeypatch.setenv("PRESIGN_EXPIRY_SECONDS", "900")

    # when
    _, _, body = invoke(api_event({"prompt": "a cat"}), lambda_context)

    # then
    url = urlparse(body["images"][0]["url"])
    query = parse_qs(url.query)
    assert url.path.endswith(body["images"][0]["key"])
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]


def test_a_random_seed_is_chosen_and_reported_when_none_is_given(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # when
    _, _, body = invoke(api_event({"prompt": "a cat"}), lambda_context)

    # then the seed sent to Bedrock is the one reported and named in the key
    sent = standin.calls[0].body["seed"]
    assert body["seed"] == sent
    assert body["images"][0]["key"].endswith(f"-seed-{sent}.png")


def test_a_repeated_seed_never_overwrites_an_image(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given two requests with the same prompt and seed
    payload = {"prompt": "a cat", "seed": 7}

    # when
    first = invoke(api_event(payload), lambda_context)[2]
    second = invoke(api_event(payload), lambda_context)[2]

    # then each has its own object
    keys = {first["images"][0]["key"], second["images"][0]["key"]}
    assert len(keys) == 2
    listed = aws.list_objects_v2(Bucket=BUCKET, Prefix="team-a/")["Contents"]
    assert {item["Key"] for item in listed} == keys


def test_a_stability_model_gets_its_own_request_format(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Stability model where Bedrock offers it
    monkeypatch.setenv("MODEL_ID", "stability.sd3-5-large-v1:0")
    monkeypatch.setenv("BEDROCK_REGION", "us-west-2")

    # when
    status, _, body = invoke(api_event({"prompt": "a fox", "width": 1344, "height": 768, "seed": 3}), lambda_context)

    # then
    assert status == 200
    assert standin.calls[0].model_id == "stability.sd3-5-large-v1:0"
    assert standin.calls[0].body["aspect_ratio"] == "16:9"
    assert (body["images"][0]["width"], body["images"][0]["height"]) == (1344, 768)


def test_a_base64_encoded_body_is_decoded(aws: Any, standin: BedrockStandin, lambda_context: LambdaContext) -> None:
    # given
    event = api_event(None, raw=base64.b64encode(b'{"prompt": "a cat"}').decode())
    event["isBase64Encoded"] = True

    # when / then
    assert invoke(event, lambda_context)[0] == 200


def test_the_prompt_is_not_logged_at_info(
    aws: Any,
    standin: BedrockStandin,
    lambda_context: LambdaContext,
    logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given
    prompt = "a very private prompt about my neighbour"

    # when
    invoke(api_event({"prompt": prompt}), lambda_context)

    # then the logs carry its hash, not its text, and the metrics count the image
    log_text = logs.getvalue()
    assert prompt not in log_text
    assert hashlib.sha256(prompt.encode()).hexdigest() in log_text
    metrics_text = capsys.readouterr().out
    assert prompt not in metrics_text
    assert '"ImagesGenerated":[1.0]' in metrics_text


# --- 400 invalid_json ---------------------------------------------------------------------------


def test_the_invalid_json_sample_event_is_a_400(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given
    event = load_event("api_invalid_json")

    # when
    status, headers, body = invoke(event, lambda_context)

    # then
    assert_error(status, body, 400, "invalid_json", event["requestContext"]["requestId"])
    assert headers["Content-Type"] == "application/json"
    assert "not valid JSON" in body["error"]["message"]
    assert standin.calls == []


@pytest.mark.parametrize(("raw", "phrase"), [(None, "missing"), ("   ", "missing"), ("[1, 2]", "not an array")])
def test_a_missing_or_non_object_body_is_a_400(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, raw: str | None, phrase: str
) -> None:
    # given
    event = api_event(None, request_id="rid-1")
    event["body"] = raw

    # when
    status, _, body = invoke(event, lambda_context)

    # then
    assert_error(status, body, 400, "invalid_json", "rid-1")
    assert phrase in body["error"]["message"]


# --- 422 validation_error -------------------------------------------------------------------------


def test_the_validation_sample_event_lists_every_field_at_fault(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # given
    event = load_event("api_validation_error")

    # when
    status, _, body = invoke(event, lambda_context)

    # then
    assert_error(status, body, 422, "validation_error", event["requestContext"]["requestId"])
    fields = {detail["field"]: detail["message"] for detail in body["error"]["details"]}
    assert set(fields) == {"prompt", "number_of_images", "style"}
    assert fields["style"] == "unknown field"
    assert standin.calls == []


def test_a_size_the_model_family_does_not_support_is_a_validation_error(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext
) -> None:
    # when
    status, _, body = invoke(
        api_event({"prompt": "a cat", "width": 1000, "height": 1000}, request_id="r"), lambda_context
    )

    # then
    assert_error(status, body, 422, "validation_error", "r")
    assert {d["field"] for d in body["error"]["details"]} == {"width", "height"}
    assert standin.calls == []


def test_stability_rejects_more_than_one_image(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    monkeypatch.setenv("MODEL_ID", "stability.stable-image-core-v1:1")

    # when
    status, _, body = invoke(api_event({"prompt": "a cat", "number_of_images": 2}, request_id="r"), lambda_context)

    # then
    assert_error(status, body, 422, "validation_error", "r")
    assert body["error"]["details"] == [
        {"field": "number_of_images", "message": "Stable Image Core makes 1 image per request"}
    ]


# --- 422 content_filtered -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "region", "prompt"),
    [
        ("amazon.titan-image-generator-v1", "us-east-1", "something forbidden"),  # Titan: ValidationException
        ("amazon.titan-image-generator-v1", "us-east-1", "an unsafe-output picture"),  # Titan: 200 with "error"
        ("stability.sd3-5-large-v1:0", "us-west-2", "something forbidden"),  # Stability: finish_reasons
        ("stability.sd3-5-large-v1:0", "us-west-2", "an unsafe-output picture"),
    ],
)
def test_moderation_is_a_422_content_filtered(
    aws: Any,
    standin_before_eol: BedrockStandin,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    model_id: str,
    region: str,
    prompt: str,
) -> None:
    # given (Titan, before its end of life, as the Amazon format's moderation answers)
    monkeypatch.setenv("MODEL_ID", model_id)
    monkeypatch.setenv("BEDROCK_REGION", region)

    # when
    status, _, body = invoke(api_event({"prompt": prompt}, request_id="r"), lambda_context)

    # then
    assert_error(status, body, 422, "content_filtered", "r")
    assert aws.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


# --- 429 throttled --------------------------------------------------------------------------------


def test_throttling_is_retried_a_bounded_number_of_times_then_a_429_with_retry_after(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given Bedrock throttles every attempt, and the client may try twice
    monkeypatch.setenv("BEDROCK_MAX_ATTEMPTS", "2")

    # when
    status, headers, body = invoke(api_event({"prompt": "please throttle-me"}, request_id="r"), lambda_context)

    # then the caller is told to wait what a third attempt would have waited: up to 0.5 s x 2^2, whole seconds
    assert_error(status, body, 429, "throttled", "r")
    assert 1 <= int(headers["Retry-After"]) <= 2
    assert len(standin.calls) == 2


def test_retry_after_doubles_while_bedrock_keeps_throttling_up_to_its_cap_and_falls_back_after_a_success(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given one attempt per request and a cap of 8 s
    monkeypatch.setenv("RETRY_AFTER_SECONDS", "8")

    def retry_after(prompt: str) -> int | None:
        status, headers, _ = invoke(api_event({"prompt": prompt}), lambda_context)
        return int(headers["Retry-After"]) if status == 429 else None

    # when five requests in a row are throttled, then one succeeds, then one is throttled again
    waits = [retry_after("please throttle-me") for _ in range(5)]
    succeeded = retry_after("a calm lake") is None
    after_success = retry_after("please throttle-me")

    # then each wait lies between half and all of 1, 2, 4, 8 (the cap) and 8 seconds
    for wait, ceiling in zip(waits, [1, 2, 4, 8, 8], strict=True):
        assert wait is not None
        assert (ceiling + 1) // 2 <= wait <= ceiling
    # and a success ends the streak: the next 429 says 1 s again
    assert succeeded
    assert after_success == 1


def test_a_throttle_that_clears_on_retry_succeeds(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given Bedrock throttles about half the calls and the client may try up to 10 times
    monkeypatch.setenv("BEDROCK_MAX_ATTEMPTS", "10")
    standin.configure(throttle_rate=0.5, random_seed=1)

    # when
    status, _, _ = invoke(api_event({"prompt": "a cat"}), lambda_context)

    # then
    assert status == 200
    assert [call.status for call in standin.calls][-1] == 200


# --- 502 model_error ------------------------------------------------------------------------------


def test_a_model_timeout_is_a_502_model_error(aws: Any, standin: BedrockStandin, lambda_context: LambdaContext) -> None:
    status, _, body = invoke(api_event({"prompt": "please timeout-me"}, request_id="r"), lambda_context)
    assert_error(status, body, 502, "model_error", "r")
    assert body["error"]["message"] == "the image model failed to answer; try again later"


def test_a_generation_slower_than_the_read_timeout_is_one_call_and_a_502(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given Bedrock takes longer than the function waits, and throttling may be retried
    monkeypatch.setenv("BEDROCK_READ_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("BEDROCK_MAX_ATTEMPTS", "3")
    standin.configure(latency_ms=1500)

    # when
    status, _, body = invoke(api_event({"prompt": "a slow cat"}, request_id="r"), lambda_context)

    # then the generation is not repeated (a second one could not finish in time) and the caller is told
    assert_error(status, body, 502, "model_error", "r")
    assert "did not answer in time" in body["error"]["message"]
    assert len(standin.calls) == 1


def test_a_model_past_end_of_life_is_a_502_that_says_how_to_change_it(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    monkeypatch.setenv("MODEL_ID", "amazon.titan-image-generator-v2:0")
    standin.configure(eol_models=("amazon.titan-image-generator-v2:0",))

    # when
    status, _, body = invoke(api_event({"prompt": "a cat"}, request_id="r"), lambda_context)

    # then the caller is told the service's model is retired, and nothing of how the operator fixes it
    assert_error(status, body, 502, "model_error", "r")
    message = body["error"]["message"]
    assert "amazon.titan-image-generator-v2:0" in message
    assert "reached its end of life on Bedrock on 2026-06-30" in message
    assert "stack parameter" not in message


@pytest.mark.parametrize(
    ("model_id", "fail_with", "phrase"),
    [
        (
            "stability.stable-image-core-v1:1",
            "AccessDeniedException",
            "may not use its image model",
        ),
        ("stability.stable-image-core-v9:0", "", "is not available"),  # the stand-in, like Bedrock, knows no such model
    ],
)
def test_an_unusable_model_is_a_502_that_names_it_and_the_way_out(
    aws: Any,
    standin: BedrockStandin,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    model_id: str,
    fail_with: str,
    phrase: str,
) -> None:
    # given
    monkeypatch.setenv("MODEL_ID", model_id)
    if fail_with:
        standin.configure(fail_with=fail_with)

    # when
    status, _, body = invoke(api_event({"prompt": "a cat"}, request_id="r"), lambda_context)

    # then
    assert_error(status, body, 502, "model_error", "r")
    assert phrase in body["error"]["message"]
    assert model_id in body["error"]["message"]
    assert "stack parameter" not in body["error"]["message"]


# --- 500 internal_error ---------------------------------------------------------------------------


def test_an_s3_failure_is_a_500_with_a_generic_message(
    aws: Any, standin: BedrockStandin, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a bucket that does not exist
    monkeypatch.setenv("BUCKET_NAME", "no-such-bucket-here")

    # when
    status, _, body = invoke(api_event({"prompt": "a cat"}, request_id="r"), lambda_context)

    # then the caller learns nothing of the internals
    assert_error(status, body, 500, "internal_error", "r")
    assert "no-such-bucket" not in body["error"]["message"]
    assert "request_id" in body["error"]["message"]


def test_a_bad_setting_is_a_500_and_the_log_names_the_variable(
    aws: Any,
    standin: BedrockStandin,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    logs: io.StringIO,
) -> None:
    # given
    monkeypatch.setenv("PRESIGN_EXPIRY_SECONDS", "forever")

    # when
    status, _, body = invoke(api_event({"prompt": "a cat"}, request_id="r"), lambda_context)

    # then
    assert_error(status, body, 500, "internal_error", "r")
    assert "PRESIGN_EXPIRY_SECONDS" not in body["error"]["message"]
    assert "PRESIGN_EXPIRY_SECONDS='forever' is invalid" in logs.getvalue()


# --- routing ----------------------------------------------------------------------------------------


def test_an_unknown_route_is_a_json_404(aws: Any, standin: BedrockStandin, lambda_context: LambdaContext) -> None:
    # given
    event = api_event({"prompt": "a cat"}, request_id="r")
    event["path"] = event["resource"] = "/images"

    # when
    status, _, body = invoke(event, lambda_context)

    # then
    assert_error(status, body, 404, "not_found", "r")
