from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from imagegen_core.errors import ContentFilteredError, InvalidJsonError, ModelError, RequestValidationError
from imagegen_core.models import PROMPT_MAX_CHARS, SEED_MAX
from imagegen_core.queue_messages import (
    ERROR_MESSAGE_MAX_CHARS,
    dead_letter_attributes,
    derived_seed,
    error_text,
    job_id_for,
    parse_body,
    request_for,
)

MESSAGE_ID = "059f36b4-87a3-44ab-83d2-661975830a7d"

# --- reading a body --------------------------------------------------------------------------------


def test_a_plain_text_body_is_the_prompt_with_default_parameters() -> None:
    # given / when
    request = parse_body("  a red fox in fresh snow, watercolor \n")

    # then
    assert request.prompt == "a red fox in fresh snow, watercolor"
    assert (request.number_of_images, request.width, request.height, request.seed) == (1, 1024, 1024, None)


def test_a_json_object_body_carries_the_fields_of_the_http_request() -> None:
    # given
    body = json.dumps({"prompt": "a lighthouse", "number_of_images": 2, "seed": 42, "width": 512, "height": 512})

    # when
    request = parse_body(body)

    # then
    assert (request.prompt, request.number_of_images, request.seed, request.width) == ("a lighthouse", 2, 42, 512)


def test_a_json_string_body_is_the_prompt() -> None:
    assert parse_body(json.dumps("a cat in a hat")).prompt == "a cat in a hat"


@pytest.mark.parametrize("body", ["1984", "true", "null", "[style: ukiyo-e] a wave", '"Hello" in neon letters'])
def test_text_that_merely_looks_like_json_is_still_the_prompt(body: str) -> None:
    assert parse_body(body).prompt == body


def test_a_json_array_is_invalid_json_with_the_http_message() -> None:
    with pytest.raises(InvalidJsonError, match="must be a JSON object, not an array"):
        parse_body('[{"prompt": "a cat"}]')


def test_a_broken_json_object_is_invalid_json_not_a_prompt() -> None:
    with pytest.raises(InvalidJsonError, match=r"message body \(it starts with '\{'\) is not valid JSON"):
        parse_body('{"prompt": "a cat",')


def test_a_json_object_breaking_a_rule_lists_the_fields_at_fault() -> None:
    # given / when
    with pytest.raises(RequestValidationError) as caught:
        parse_body(json.dumps({"prompt": "a cat", "number_of_images": 9, "colour": "red"}))

    # then
    assert {detail["field"] for detail in caught.value.details or []} == {"number_of_images", "colour"}


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
def test_an_empty_body_is_a_validation_error_on_the_prompt(body: str) -> None:
    with pytest.raises(RequestValidationError, match="message body is empty") as caught:
        parse_body(body)
    assert caught.value.details == [{"field": "prompt", "message": "field required"}]


def test_a_plain_text_prompt_over_every_model_s_limit_is_a_validation_error() -> None:
    with pytest.raises(RequestValidationError, match="check prompt"):
        parse_body("x" * (PROMPT_MAX_CHARS + 1))


# --- seeds and keys --------------------------------------------------------------------------------


def test_a_message_without_a_seed_gets_the_same_seed_on_every_delivery() -> None:
    # given / when
    first = request_for("a cat", MESSAGE_ID, SEED_MAX)
    again = request_for("a cat", MESSAGE_ID, SEED_MAX)

    # then
    assert first.seed == again.seed == derived_seed(MESSAGE_ID, SEED_MAX)


def test_a_message_with_a_seed_keeps_it() -> None:
    assert request_for('{"prompt": "a cat", "seed": 7}', MESSAGE_ID, SEED_MAX).seed == 7


def test_derived_seeds_are_in_the_model_s_range_and_differ_between_messages() -> None:
    # given
    seed_max = 858_993_459  # the smallest range of a listed model (Nova Canvas)
    seeds = {derived_seed(f"message-{index}", seed_max) for index in range(1000)}

    # then: never 0, which Stability models read as "pick a random seed"
    assert all(1 <= seed <= seed_max for seed in seeds)
    assert len(seeds) == 1000


def test_a_message_s_images_live_under_its_message_id() -> None:
    assert job_id_for(MESSAGE_ID) == f"sqs/{MESSAGE_ID}"


# --- dead letters ----------------------------------------------------------------------------------


def test_a_dead_letter_says_what_failed_where_and_when() -> None:
    # given
    error = ContentFilteredError("the model's content filter blocked the request")
    failed_at = datetime(2026, 11, 22, 11, 15, 30, tzinfo=timezone(timedelta(hours=1)))

    # when
    attributes = dead_letter_attributes(
        error, original_message_id=MESSAGE_ID, model_id="amazon.titan-image-generator-v1", receive_count=2,
        failed_at=failed_at,
    )  # fmt: skip

    # then
    assert {name: value["StringValue"] for name, value in attributes.items()} == {
        "error_code": "content_filtered",
        "error_message": "the model's content filter blocked the request",
        "original_message_id": MESSAGE_ID,
        "model_id": "amazon.titan-image-generator-v1",
        "receive_count": "2",
        "failed_at": "2026-11-22T10:15:30+00:00",
    }
    assert attributes["receive_count"]["DataType"] == "Number"
    assert len(attributes) <= 10  # SQS's limit per message


def test_the_error_text_names_each_field_at_fault() -> None:
    # given
    error = RequestValidationError("invalid request: check seed", [{"field": "seed", "message": "too large"}])

    # then
    assert error_text(error) == "invalid request: check seed (seed: too large)"


def test_a_long_error_text_is_cut_to_the_limit() -> None:
    # given
    error = ModelError("x" * 5000, transient=False)

    # when
    text = error_text(error)

    # then
    assert len(text) == ERROR_MESSAGE_MAX_CHARS
    assert text.endswith("…")


def test_characters_sqs_refuses_are_replaced() -> None:
    # given a message with a NUL and a vertical tab, which SQS rejects in attribute values
    error = ModelError("bad\x00byte\x0bhere", transient=False)

    # then
    assert error_text(error) == "bad?byte?here"


def test_a_dead_letter_s_timestamp_is_in_utc() -> None:
    attributes = dead_letter_attributes(
        InvalidJsonError("nope"), original_message_id="m", model_id="m", receive_count=1, failed_at=datetime.now(UTC)
    )
    assert attributes["failed_at"]["StringValue"].endswith("+00:00")
