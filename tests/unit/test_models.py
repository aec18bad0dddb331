from __future__ import annotations

from typing import Any

import pytest

from imagegen_core.errors import InvalidJsonError, RequestValidationError
from imagegen_core.models import PROMPT_MAX_CHARS, SEED_MAX, parse_request


def fields_at_fault(payload: Any) -> dict[str, str]:
    with pytest.raises(RequestValidationError) as caught:
        parse_request(payload)
    assert caught.value.details is not None
    return {d["field"]: d["message"] for d in caught.value.details}


def test_a_prompt_alone_gets_the_documented_defaults() -> None:
    # when
    request = parse_request({"prompt": "  a cat in space  "})

    # then
    assert request.prompt == "a cat in space"
    assert (request.width, request.height, request.number_of_images) == (1024, 1024, 1)
    assert (request.cfg_scale, request.quality, request.seed, request.negative_prompt) == (8.0, "standard", None, None)


def test_every_field_can_be_set() -> None:
    payload = {
        "prompt": "p",
        "negative_prompt": "n",
        "width": 512,
        "height": 512,
        "number_of_images": 5,
        "cfg_scale": 10,
        "seed": 2147483646,
        "quality": "premium",
    }
    assert parse_request(payload).model_dump() == {**payload, "cfg_scale": 10.0}


@pytest.mark.parametrize("payload", [[], "a cat", 42, None, True])
def test_a_body_that_is_not_an_object_is_invalid_json(payload: Any) -> None:
    with pytest.raises(InvalidJsonError, match="must be a JSON object"):
        parse_request(payload)


def test_unknown_fields_are_rejected_by_name() -> None:
    assert fields_at_fault({"prompt": "p", "style": "anime"}) == {"style": "unknown field"}


def test_a_missing_prompt_is_reported() -> None:
    assert fields_at_fault({}) == {"prompt": "field required"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * (PROMPT_MAX_CHARS + 1)}, "prompt"),
        ({"prompt": "p", "negative_prompt": ""}, "negative_prompt"),
        ({"prompt": "p", "negative_prompt": "n" * (PROMPT_MAX_CHARS + 1)}, "negative_prompt"),
        ({"prompt": "p", "number_of_images": 0}, "number_of_images"),
        ({"prompt": "p", "number_of_images": 6}, "number_of_images"),
        ({"prompt": "p", "number_of_images": "2"}, "number_of_images"),
        ({"prompt": "p", "cfg_scale": 1.0}, "cfg_scale"),
        ({"prompt": "p", "cfg_scale": 10.5}, "cfg_scale"),
        ({"prompt": "p", "seed": -1}, "seed"),
        ({"prompt": "p", "seed": SEED_MAX + 1}, "seed"),
        ({"prompt": "p", "seed": 1.5}, "seed"),
        ({"prompt": "p", "quality": "ultra"}, "quality"),
        ({"prompt": "p", "width": True}, "width"),
        ({"prompt": 7}, "prompt"),
    ],
)
def test_each_rule_names_the_field_that_breaks_it(payload: dict[str, Any], field: str) -> None:
    assert list(fields_at_fault(payload)) == [field]


def test_the_longest_prompt_any_model_takes_passes_the_common_rules() -> None:
    # a model's own, often lower, limit is checked next (tests/unit/test_catalog.py)
    assert PROMPT_MAX_CHARS == 10_000
    assert len(parse_request({"prompt": "x" * PROMPT_MAX_CHARS}).prompt) == PROMPT_MAX_CHARS


def test_all_faults_are_reported_at_once() -> None:
    assert set(fields_at_fault({"prompt": "", "seed": -5, "extra": 1})) == {"prompt", "seed", "extra"}
