"""The model catalog: lifecycle, defaults, and the limits validation applies to the configured model."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from imagegen_core.catalog import (
    DEFAULT_MODEL_ID,
    DEFAULT_REGION,
    MODELS,
    foundation_model_id,
    is_inference_profile,
    live_models,
    spec_for,
)
from imagegen_core.errors import RequestValidationError
from imagegen_core.families import family_for, limit_problems
from imagegen_core.models import parse_request

TODAY = date(2026, 11, 29)


def problems_for(model_id: str, payload: dict[str, Any]) -> dict[str, str]:
    """What validation says of ``payload`` for ``model_id``: the common rules first, then the model's limits."""
    try:
        request = parse_request(payload)
    except RequestValidationError as error:
        return {p["field"]: p["message"] for p in error.details or []}
    return {p["field"]: p["message"] for p in limit_problems(request, spec_for(model_id), family_for(model_id))}


def test_the_default_model_is_live_today_in_the_default_region() -> None:
    # given
    spec = spec_for(DEFAULT_MODEL_ID)

    # then
    assert spec.lifecycle.status_on(TODAY) == "ACTIVE"
    assert DEFAULT_REGION in spec.regions
    assert spec in live_models(TODAY)


@pytest.mark.parametrize(
    ("model_id", "end_of_life"),
    [
        ("amazon.titan-image-generator-v1", date(2026, 6, 30)),
        ("amazon.titan-image-generator-v2:0", date(2026, 6, 30)),
        ("amazon.nova-canvas-v1:0", date(2026, 9, 30)),
    ],
)
def test_the_amazon_models_are_past_their_end_of_life(model_id: str, end_of_life: date) -> None:
    lifecycle = spec_for(model_id).lifecycle
    assert lifecycle.end_of_life == end_of_life
    assert lifecycle.status_on(TODAY) == "END_OF_LIFE"
    assert lifecycle.status_on(date(2026, 1, 1)) != "END_OF_LIFE"


def test_every_live_model_is_a_stability_model_in_us_west_2() -> None:
    live = live_models(TODAY)
    assert {spec.model_id for spec in live} == {
        "stability.stable-image-core-v1:1",
        "stability.stable-image-ultra-v1:1",
        "stability.sd3-5-large-v1:0",
    }
    assert all("us-west-2" in spec.regions for spec in live)


def test_a_2000_character_prompt_is_fine_for_stability_and_too_long_for_titan() -> None:
    # given
    payload = {"prompt": "x" * 2000}

    # when / then
    assert problems_for("stability.stable-image-core-v1:1", payload) == {}
    assert problems_for("amazon.titan-image-generator-v1", payload) == {
        "prompt": "at most 512 characters for amazon.titan-image-generator-v1, not 2000"
    }


def test_nova_canvas_takes_longer_prompts_than_titan_but_smaller_seeds() -> None:
    assert problems_for("amazon.nova-canvas-v1:0", {"prompt": "x" * 1024}) == {}
    assert "prompt" in problems_for("amazon.nova-canvas-v1:0", {"prompt": "x" * 1025})
    assert problems_for("amazon.nova-canvas-v1:0", {"prompt": "p", "seed": 858_993_459}) == {}
    assert problems_for("amazon.nova-canvas-v1:0", {"prompt": "p", "seed": 858_993_460}) == {
        "seed": "must be between 0 and 858993459 for amazon.nova-canvas-v1:0"
    }


@pytest.mark.parametrize(
    ("model_id", "seed_max"),
    [
        ("stability.stable-image-core-v1:1", 4_294_967_295),
        ("stability.stable-image-ultra-v1:1", 4_294_967_295),
        ("stability.sd3-5-large-v1:0", 4_294_967_294),
        ("amazon.titan-image-generator-v1", 2_147_483_646),
    ],
)
def test_each_model_has_its_own_seed_range(model_id: str, seed_max: int) -> None:
    assert problems_for(model_id, {"prompt": "p", "seed": seed_max}) == {}
    assert set(problems_for(model_id, {"prompt": "p", "seed": seed_max + 1})) == {"seed"}


def test_amazon_models_accept_only_titan_s_sizes() -> None:
    assert problems_for("amazon.titan-image-generator-v1", {"prompt": "p", "width": 1173, "height": 640}) == {}
    problems = problems_for("amazon.titan-image-generator-v1", {"prompt": "p", "width": 1000, "height": 1000})
    assert set(problems) == {"width", "height"}
    assert "1000x1000 is not a supported size" in problems["width"]
    assert "1024x1024" in problems["width"]


def test_stability_rejects_what_it_cannot_do() -> None:
    # given
    payload = {"prompt": "p", "width": 512, "height": 512, "number_of_images": 2, "cfg_scale": 5, "quality": "premium"}

    # when
    problems = problems_for("stability.stable-image-core-v1:1", payload)

    # then
    assert set(problems) == {"width", "height", "number_of_images", "cfg_scale", "quality"}
    assert "1344x768 (16:9)" in problems["width"]
    assert problems["number_of_images"] == "Stable Image Core makes 1 image per request"
    assert problems["cfg_scale"] == "not supported by Stable Image Core"


def test_stability_accepts_the_defaults() -> None:
    assert problems_for("stability.sd3-5-large-v1:0", {"prompt": "p"}) == {}


def test_an_unlisted_model_of_a_known_family_gets_the_family_s_limits() -> None:
    # given
    spec = spec_for("stability.stable-image-core-v2:0")

    # then
    assert (spec.family, spec.lifecycle.status_on(TODAY)) == ("stability", "UNKNOWN")
    assert spec.limits.prompt_max_chars == 10_000
    assert spec.limits.seed_max == 4_294_967_294  # the family's strictest
    assert problems_for("amazon.titan-image-generator-v9:0", {"prompt": "x" * 513}).keys() == {"prompt"}


@pytest.mark.parametrize(
    ("model_id", "foundation_model", "profile"),
    [
        ("stability.stable-image-core-v1:1", "stability.stable-image-core-v1:1", False),
        ("us.stability.stable-image-core-v1:1", "stability.stable-image-core-v1:1", True),
        ("global.amazon.nova-canvas-v1:0", "amazon.nova-canvas-v1:0", True),
        ("arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0", "stability.sd3-5-large-v1:0", False),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.stability.sd3-5-large-v1:0",
            "stability.sd3-5-large-v1:0",
            True,
        ),
    ],
)
def test_profiles_and_arns_resolve_to_their_foundation_model(
    model_id: str, foundation_model: str, profile: bool
) -> None:
    assert foundation_model_id(model_id) == foundation_model
    assert is_inference_profile(model_id) is profile
    assert spec_for(model_id).model_id == foundation_model


def test_the_table_has_one_entry_per_model_and_only_known_families() -> None:
    ids = [spec.model_id for spec in MODELS]
    assert len(ids) == len(set(ids))
    assert {spec.family for spec in MODELS} == {"amazon", "stability"}
    assert all(spec.limits.sizes and spec.limits.max_images >= 1 for spec in MODELS)
