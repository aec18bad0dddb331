"""How Bedrock's exceptions (as botocore parses them) map onto our error codes."""

from __future__ import annotations

import io

import pytest
from botocore.exceptions import ClientError

from imagegen_core.bedrock import backoff_ceiling, error_from, invoke
from imagegen_core.errors import ContentFilteredError, ModelError, ThrottledError

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


@pytest.mark.parametrize(
    "code",
    [
        "ModelTimeoutException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelErrorException",
        "ModelNotReadyException",
    ],
)
def test_passing_model_failures_are_transient_model_errors(code: str) -> None:
    error = error_from(client_error(code, "try later", 500), MODEL, "us-east-1")
    assert (error.code, error.status, error.transient) == ("model_error", 502, True)
    assert MODEL in error.message


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
def test_an_unusable_model_is_a_permanent_error_that_says_how_to_change_it(code: str, message: str) -> None:
    # when
    error = error_from(client_error(code, message, 404), MODEL, "us-east-1")

    # then
    assert isinstance(error, ModelError)
    assert (error.code, error.status, error.transient) == ("model_error", 502, False)
    assert MODEL in error.message
    assert "us-east-1" in error.message
    assert "ModelId stack parameter" in error.message


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


def test_any_other_validation_error_is_a_permanent_model_error_with_the_way_out() -> None:
    error = error_from(client_error("ValidationException", "Malformed input request", 400), MODEL, "us-east-1")
    assert (error.code, error.transient) == ("model_error", False)
    assert "Malformed input request" in error.message
    assert "ModelId stack parameter" in error.message


class AnsweringClient:
    """A bedrock-runtime client whose InvokeModel answers 200 with the given body (what botocore returns)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def invoke_model(self, **_: object) -> dict[str, object]:
        return {"body": io.BytesIO(self._body), "contentType": "application/json"}


@pytest.mark.parametrize("body", [b"<html>gateway error</html>", b'["images"]', b""])
def test_an_answer_that_is_not_a_json_object_is_a_transient_model_error(body: bytes) -> None:
    with pytest.raises(ModelError, match=MODEL) as caught:
        invoke(AnsweringClient(body), MODEL, {"taskType": "TEXT_IMAGE"})  # type: ignore[arg-type]
    assert caught.value.transient


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
    with pytest.raises(ModelError):
        invoke(client, MODEL, {}, max_attempts=3, sleep=lambda _: None)  # type: ignore[arg-type]
    assert client.calls == 1


def test_the_backoff_ceiling_doubles_up_to_its_cap() -> None:
    assert [backoff_ceiling(attempt) for attempt in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
