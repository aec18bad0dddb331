"""The queue worker against any message body: every message ends as images in S3, or in the DLQ with its reason,
or is handed back to SQS for a reason that a retry can cure; never an "unexpected" failure (issue 11)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagegen_core.errors import ImageGenError
from imagegen_core.models import SEED_MAX
from imagegen_core.queue_messages import request_for
from local.bedrock_standin import BedrockStandin
from local.lambda_context import LambdaContext
from sqs_worker.app import lambda_handler
from tests.helpers import BUCKET, JSON_VALUES, REQUESTS, STANDIN_WORDS, dead_letters, keys_under, sqs_event

PROPERTY = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
BODIES = (
    st.text(min_size=0, max_size=80)
    | REQUESTS.map(json.dumps)
    | JSON_VALUES.map(json.dumps)
    | st.text(max_size=40).map(lambda text: "{" + text)  # looks like JSON, is not
    | st.integers(1, 3_000).map(lambda depth: '{"prompt": ' + "[" * depth + "]" * depth + "}")
).filter(lambda body: not any(word in body.lower() for word in STANDIN_WORDS))


@PROPERTY
@given(body=BODIES)
def test_any_body_is_a_request_or_a_permanent_error_with_a_stable_code(body: str) -> None:
    outcome: Any
    try:
        outcome = request_for(body, "a-message-id", SEED_MAX)
    except ImageGenError as error:
        outcome = error
    if isinstance(outcome, ImageGenError):
        assert outcome.code in {"invalid_json", "validation_error"}
        assert not outcome.transient
        assert outcome.detail
    else:
        assert outcome.prompt
        assert outcome.seed is not None


@PROPERTY
@given(body=BODIES)
def test_any_message_is_stored_or_dead_lettered_with_its_reason_never_left_to_chance(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext, body: str
) -> None:
    # given one message with that body
    event = sqs_event(body, ids=[f"m-{abs(hash(body))}"])
    message_id = event["Records"][0]["messageId"]
    dead_before = {letter["attributes"]["original_message_id"] for letter in dead_letters(dlq)}

    # when the worker gets it
    response = lambda_handler(event, lambda_context)

    # then it is acknowledged: either its image is stored, or it is in the DLQ with a code and a reason
    assert response == {"batchItemFailures": []}
    stored = keys_under(aws, BUCKET, f"team-a/sqs/{message_id}/")
    letters = [letter for letter in dead_letters(dlq) if letter["attributes"]["original_message_id"] == message_id]
    if message_id in dead_before or letters:
        assert not stored
        assert letters[-1]["attributes"]["error_code"] in {"invalid_json", "validation_error"}
        assert letters[-1]["attributes"]["error_message"]
        assert letters[-1]["body"] == body
    else:
        assert len(stored) == 1


@pytest.mark.parametrize("size", [200_000, 262_000])
def test_a_message_as_large_as_sqs_allows_still_reaches_the_dlq_with_its_reason(
    aws: Any, dlq: str, standin: BedrockStandin, lambda_context: LambdaContext, size: int
) -> None:
    # given a body near SQS's 256 KiB that is broken JSON (a long reason would not fit beside it)
    body = "{" + "x" * (size - 1)
    event = sqs_event(body)

    # when
    response = lambda_handler(event, lambda_context)

    # then
    assert response == {"batchItemFailures": []}
    [letter] = dead_letters(dlq)
    assert letter["attributes"]["error_code"] == "invalid_json"
    assert letter["attributes"]["error_message"]
    assert len(letter["body"]) == size
