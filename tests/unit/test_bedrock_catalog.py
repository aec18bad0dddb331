"""The stand-in's own catalog: lifecycles, regions, inference profiles, and per-model limits as properties."""

from __future__ import annotations

import ast
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local.bedrock_catalog import (
    MODELS,
    PROFILES,
    TITAN_SIZES,
    CatalogError,
    Lifecycle,
    resolve_invocation,
)
from local.bedrock_formats import BedrockError, amazon_request, nova_size_ok, stability_request
from tests.conftest import BEFORE_AMAZON_EOL
from tests.helpers import ROOT
from tests.standin_requests import (
    CORE,
    END_OF_LIFE,
    INPAINT,
    INPAINT_PROFILE,
    INVALID_MODEL,
    NOVA,
    SD35,
    TITAN,
    TITAN_V2,
    ULTRA,
    stability,
    titan,
)

TODAY = date(2026, 11, 29)
ACTIVE_STABILITY = (CORE, ULTRA, SD35)
AMAZON = (TITAN, TITAN_V2, NOVA)
PROPERTY_EXAMPLES = settings(max_examples=60, deadline=None)


def test_the_stand_in_keeps_its_own_catalog_and_imports_no_model_table_from_the_core() -> None:
    # given every module of the stand-in
    modules = sorted((ROOT / "local").glob("bedrock_*.py"))

    # when
    imported = {
        node.module
        for module in modules
        for node in ast.walk(ast.parse(module.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module
    }

    # then only the generic settings base comes from the core
    assert {name for name in imported if name.startswith("imagegen_core")} == {"imagegen_core.env_settings"}


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (date(2025, 12, 29), "ACTIVE"),
        (date(2025, 12, 30), "LEGACY"),
        (date(2026, 6, 29), "LEGACY"),
        (TODAY, "END_OF_LIFE"),
    ],
)
def test_titan_was_active_then_legacy_and_ended_on_2026_06_30(day: date, status: str) -> None:
    # given / when / then
    assert MODELS[TITAN].lifecycle.status_on(day) == status


@pytest.mark.parametrize(
    ("model_id", "end_of_life"),
    [(TITAN, date(2026, 6, 30)), (TITAN_V2, date(2026, 6, 30)), (NOVA, date(2026, 9, 30))],
)
def test_the_amazon_image_models_end_on_their_published_dates(model_id: str, end_of_life: date) -> None:
    # given / when / then
    assert MODELS[model_id].lifecycle.end_of_life == end_of_life
    assert MODELS[model_id].lifecycle.status_on(end_of_life) == "END_OF_LIFE"


@pytest.mark.parametrize("model_id", ACTIVE_STABILITY)
def test_the_stability_text_to_image_models_are_active_on_demand_in_us_west_2_only(model_id: str) -> None:
    # given
    model = MODELS[model_id]

    # when / then
    assert model.lifecycle.status_on(TODAY) == "ACTIVE"
    assert model.regions == {"us-west-2"}
    assert model.inference_types == ("ON_DEMAND",)


def test_a_retired_model_is_past_its_end_of_life_whatever_the_date() -> None:
    # given / when / then
    assert Lifecycle(retired=True).status_on(date(2020, 1, 1)) == "END_OF_LIFE"


def test_stable_image_services_exist_only_behind_us_inference_profiles() -> None:
    # given
    services = [model for model in MODELS.values() if model.format == "stability-service"]

    # when
    profiled = {profile.model_id for profile in PROFILES.values()}

    # then
    assert len(services) == 13
    assert all(model.profile_only and model.inference_types == ("INFERENCE_PROFILE",) for model in services)
    assert profiled == {model.model_id for model in services}
    assert all(profile.profile_id.startswith("us.stability.") for profile in PROFILES.values())


@pytest.mark.parametrize(
    ("identifier", "region", "code", "message"),
    [
        (TITAN, "us-east-1", "ResourceNotFoundException", END_OF_LIFE),
        (NOVA, "eu-west-1", "ResourceNotFoundException", END_OF_LIFE),
        (NOVA, "us-west-2", "ValidationException", INVALID_MODEL),  # never offered there
        (CORE, "us-east-1", "ValidationException", INVALID_MODEL),
        (f"us.{CORE}", "us-west-2", "ValidationException", INVALID_MODEL),  # no such profile
        (INPAINT_PROFILE, "eu-west-1", "ValidationException", INVALID_MODEL),  # not a source region
        (f"arn:aws:bedrock:us-east-1::foundation-model/{CORE}", "us-west-2", "ValidationException", INVALID_MODEL),
        ("stability.sd3-large-v1:0", "us-west-2", "ResourceNotFoundException", END_OF_LIFE),
        ("anthropic.claude-3-haiku-20240307-v1:0", "us-west-2", "ValidationException", INVALID_MODEL),
    ],
)
def test_identifiers_bedrock_refuses_today(identifier: str, region: str, code: str, message: str) -> None:
    # given / when
    with pytest.raises(CatalogError) as excinfo:
        resolve_invocation(identifier, region, TODAY)

    # then
    assert (excinfo.value.code, excinfo.value.message) == (code, message)


def test_a_service_model_called_by_its_own_id_asks_for_an_inference_profile() -> None:
    # given / when
    with pytest.raises(CatalogError) as excinfo:
        resolve_invocation(INPAINT, "us-east-2", TODAY)

    # then
    assert excinfo.value.code == "ValidationException"
    assert excinfo.value.message.startswith(f"Invocation of model ID {INPAINT} with on-demand throughput isn")
    assert "inference profile" in excinfo.value.message


@pytest.mark.parametrize(
    ("identifier", "region", "model_id"),
    [
        (CORE, "us-west-2", CORE),
        (f"arn:aws:bedrock:us-west-2::foundation-model/{SD35}", "us-west-2", SD35),
        (INPAINT_PROFILE, "us-east-1", INPAINT),
        (f"arn:aws:bedrock:us-east-2:123456789012:inference-profile/{INPAINT_PROFILE}", "us-east-2", INPAINT),
    ],
)
def test_identifiers_that_reach_a_model_today(identifier: str, region: str, model_id: str) -> None:
    # given / when
    target = resolve_invocation(identifier, region, TODAY)

    # then
    assert target.model.model_id == model_id


def test_before_their_end_of_life_the_amazon_models_answer_where_they_were_offered() -> None:
    # given / when
    targets = [resolve_invocation(model_id, "us-east-1", BEFORE_AMAZON_EOL).model.model_id for model_id in AMAZON]

    # then
    assert targets == list(AMAZON)


def test_a_model_the_knobs_ended_is_refused_like_any_model_past_its_end_of_life() -> None:
    # given / when
    with pytest.raises(CatalogError) as excinfo:
        resolve_invocation(CORE, "us-west-2", TODAY, ended=frozenset({CORE}))

    # then
    assert excinfo.value.message == END_OF_LIFE


# -- limits, as properties ---------------------------------------------------------------------------


@PROPERTY_EXAMPLES
@given(model_id=st.sampled_from(ACTIVE_STABILITY), seed=st.integers(-(2**33), 2**33))
def test_a_stability_seed_is_accepted_exactly_within_its_models_range(model_id: str, seed: int) -> None:
    # given
    limits = MODELS[model_id].limits

    # when
    try:
        stability_request(stability(seed=seed), limits)
        accepted = True
    except BedrockError:
        accepted = False

    # then
    assert accepted == (0 <= seed <= limits.seed_max)


@PROPERTY_EXAMPLES
@given(model_id=st.sampled_from(ACTIVE_STABILITY + AMAZON), length=st.integers(0, 11_000))
def test_a_prompt_is_accepted_exactly_up_to_its_models_length(model_id: str, length: int) -> None:
    # given
    model = MODELS[model_id]
    prompt = "p" * length

    # when
    try:
        if model.format == "stability":
            stability_request(stability(prompt), model.limits)
        else:
            amazon_request(titan(prompt), model.limits)
        accepted = True
    except BedrockError:
        accepted = False

    # then
    assert accepted == (1 <= length <= model.limits.prompt_max)


@PROPERTY_EXAMPLES
@given(
    model_id=st.sampled_from(AMAZON),
    size=st.one_of(st.sampled_from(sorted(TITAN_SIZES)), st.tuples(st.integers(1, 4096), st.integers(1, 4096))),
)
def test_an_amazon_size_is_accepted_exactly_when_the_model_supports_it(model_id: str, size: tuple[int, int]) -> None:
    # given
    model = MODELS[model_id]
    width, height = size

    # when
    try:
        request = amazon_request(titan(width=width, height=height), model.limits)
        accepted = (request.width, request.height) == size
    except BedrockError:
        accepted = False

    # then
    assert accepted == (size in TITAN_SIZES or (model_id == NOVA and nova_size_ok(width, height)))


@PROPERTY_EXAMPLES
@given(model_id=st.sampled_from(AMAZON), count=st.integers(-2, 8))
def test_the_number_of_images_is_accepted_from_one_to_five(model_id: str, count: int) -> None:
    # given
    limits = MODELS[model_id].limits

    # when
    try:
        accepted = amazon_request(titan(numberOfImages=count), limits).count == count
    except BedrockError:
        accepted = False

    # then
    assert accepted == (1 <= count <= 5)
