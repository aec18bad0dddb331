"""How Bedrock's exceptions (as botocore parses them) map onto our error codes."""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError

from imagegen_core.bedrock import backoff_ceiling, error_from, invoke
from imagegen_core.errors import ContentFilteredError, ModelError, ThrottledError, UpstreamUnavailableError

MODEL = "amazon.titan-image-generator-v1"


def client_error(code: str, message: str, status: int) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "InvokeModel")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 429), ("ServiceQuotaExceededException", 400), ("TooManyRequestsException", 429)],
)
def test_throttling_is_throttled_and_transient(code: str, status: int) -> None:
    error = error_from(client_error(code, "Too many requests", status), MODEL, "us-east-1")
    assert isinstance(error, ThrottledError)
    assert (error.code, error.status, error.transient) == ("throttled", 429, True)


INTERNALS = ("http", "stack parameter", "ModelId", "MODEL_ID", "console", "Exception", "arn:", "us-east-1", "Operator")


def assert_client_safe(message: str) -> None:
    """A message for the caller: what they can do, none of the operator's internals."""
    assert message
    for internal in INTERNALS:
        assert internal not in message, f"{internal!r} in {message!r}"


@pytest.mark.parametrize("code", ["ModelTimeoutException", "ModelErrorException", "ModelNotReadyException"])
def test_passing_model_failures_are_transient_model_errors(code: str) -> None:
    error = error_from(client_error(code, "try later", 500), MODEL, "us-east-1")
    assert (error.code, error.status, error.transient) == ("model_error", 502, True)
    assert_client_safe(error.message)
    assert MODEL in error.detail
    assert code in error.detail


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ServiceUnavailableException", 503),
        ("InternalServerException", 500),
        # what botocore makes of an answer without x-amzn-ErrorType (a proxy's HTML page): the status as the code
        ("503", 503),
        ("502", 502),
        ("500", 500),
        ("", 504),
        ("SomethingNobodyDocumented", 400),
    ],
)
def test_an_outage_at_bedrock_s_endpoint_is_transient_and_never_blames_the_model(code: str, status: int) -> None:
    # when
    error = error_from(client_error(code, "<html><body>Service Unavailable</body></html>", status), MODEL, "us-east-1")

    # then the caller may retry: 503, never the "choose another model" of a permanent model error
    assert isinstance(error, UpstreamUnavailableError)
    assert (error.code, error.status, error.transient) == ("service_unavailable", 503, True)
    assert_client_safe(error.message)
    assert "another model" not in error.message


def test_an_untyped_429_is_throttling() -> None:
    error = error_from(client_error("429", "<html>Too Many Requests</html>", 429), MODEL, "us-east-1")
    assert (error.code, error.status, error.transient) == ("throttled", 429, True)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
        ("ResourceNotFoundException", "This model version has reached the end of its life."),
        ("ResourceNotFoundException", "Access denied. This Model is marked by provider as Legacy"),
        ("ValidationException", "This model version has reached the end of its life."),
        ("ValidationException", "The provided model identifier is invalid."),
    ],
)
def test_an_unusable_model_is_permanent_and_the_operator_is_told_how_to_change_it(code: str, message: str) -> None:
    # when
    error = error_from(client_error(code, message, 404), MODEL, "us-east-1")

    # then the caller learns the service's model is unusable; the operator's detail says what to change
    assert isinstance(error, ModelError)
    assert (error.code, error.status, error.transient) == ("model_error", 502, False)
    assert_client_safe(error.message)
    assert MODEL in error.message
    assert message.rstrip(".") in error.detail
    assert "ModelId and BedrockRegion stack parameters" in error.detail
    assert "us-east-1" in error.detail


def test_a_retired_model_s_message_says_when_it_retired() -> None:
    error = error_from(client_error("ValidationException", "The provided model identifier is invalid.", 400),
                       "amazon.nova-canvas-v1:0", "us-west-2")  # fmt: skip
    assert "reached its end of life on Bedrock on 2026-09-30" in error.message


def test_a_model_called_outside_its_regions_says_where_it_is_offered() -> None:
    error = error_from(client_error("ValidationException", "The provided model identifier is invalid.", 400),
                       "stability.stable-image-core-v1:1", "us-east-1")  # fmt: skip
    assert "not available in us-east-1 (it is offered in us-west-2)" in error.message


def test_a_marketplace_refusal_tells_the_operator_to_subscribe() -> None:
    text = (
        "Model access is denied due to IAM user or service role is not authorized to perform the required AWS "
        "Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe)"
    )
    error = error_from(client_error("AccessDeniedException", text, 403), MODEL, "us-east-1")
    assert (error.code, error.transient) == ("model_error", False)
    assert "make preflight CANARY=1" in error.detail


@pytest.mark.parametrize(
    "message",
    [
        "This request has been blocked by our content filters.",
        "The generated image has been blocked by our content filters.",
    ],
)
def test_moderation_refusals_are_content_filtered(message: str) -> None:
    error = error_from(client_error("ValidationException", message, 400), MODEL, "us-east-1")
    assert isinstance(error, ContentFilteredError)
    assert (error.code, error.status, error.transient) == ("content_filtered", 422, False)
    assert_client_safe(error.message)


def test_any_other_validation_error_is_a_permanent_model_error_with_bedrock_s_words_for_the_operator() -> None:
    error = error_from(client_error("ValidationException", "Malformed input request", 400), MODEL, "us-east-1")
    assert (error.code, error.transient) == ("model_error", False)
    assert_client_safe(error.message)
    assert "Malformed input request" in error.detail


class AnsweringClient:
    """A bedrock-runtime client whose InvokeModel answers 200 with the given body (what botocore returns)."""

    meta = type("Meta", (), {"region_name": "us-east-1"})()

    def __init__(self, body: bytes) -> None:
        self._body = body

    def invoke_model(self, **_: object) -> dict[str, object]:
        return {"body": io.BytesIO(self._body), "contentType": "application/json"}


@pytest.mark.parametrize("body", [b"<html>gateway error</html>", b'["images"]', b""])
def test_an_answer_that_is_not_a_json_object_is_a_transient_model_error(body: bytes) -> None:
    with pytest.raises(ModelError, match=MODEL) as caught:
        invoke(AnsweringClient(body), MODEL, {"taskType": "TEXT_IMAGE"})  # type: ignore[arg-type]
    assert caught.value.transient
    assert_client_safe(caught.value.message)


def test_a_json_answer_is_decoded() -> None:
    answer = invoke(AnsweringClient(b'{"images": ["aGk="], "error": null}'), MODEL, {})  # type: ignore[arg-type]
    assert answer == {"images": ["aGk="], "error": None}


class ScriptedClient:
    """A bedrock-runtime client that raises the scripted errors in turn, then answers with one image."""

    meta = type("Meta", (), {"region_name": "us-east-1"})()

    def __init__(self, *errors: ClientError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def invoke_model(self, **_: object) -> dict[str, object]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"body": io.BytesIO(b'{"images": ["aGk="]}')}


def throttled() -> ClientError:
    return client_error("ThrottlingException", "Too many requests, please wait before trying again.", 429)


def test_throttling_is_retried_with_jittered_backoff_below_each_ceiling() -> None:
    # given Bedrock throttles twice, then answers
    client = ScriptedClient(throttled(), throttled())
    waits: list[float] = []

    # when
    answer = invoke(client, MODEL, {}, max_attempts=3, sleep=waits.append)  # type: ignore[arg-type]

    # then three calls were made, with a wait below 0.5 s and then below 1 s between them
    assert answer == {"images": ["aGk="]}
    assert client.calls == 3
    assert len(waits) == 2
    assert 0 <= waits[0] <= backoff_ceiling(1) == 0.5
    assert 0 <= waits[1] <= backoff_ceiling(2) == 1.0


def test_throttling_on_every_attempt_is_throttled_after_max_attempts_calls() -> None:
    client = ScriptedClient(throttled(), throttled(), throttled())
    with pytest.raises(ThrottledError):
        invoke(client, MODEL, {}, max_attempts=2, sleep=lambda _: None)  # type: ignore[arg-type]
    assert client.calls == 2


@pytest.mark.parametrize("code", ["ModelTimeoutException", "ServiceUnavailableException", "AccessDeniedException"])
def test_anything_but_throttling_is_not_retried(code: str) -> None:
    client = ScriptedClient(client_error(code, "no", 500))
    with pytest.raises((ModelError, UpstreamUnavailableError)):
        invoke(client, MODEL, {}, max_attempts=3, sleep=lambda _: None)  # type: ignore[arg-type]
    assert client.calls == 1


def test_the_backoff_ceiling_doubles_up_to_its_cap() -> None:
    assert [backoff_ceiling(attempt) for attempt in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
