"""The stand-in's control plane through a real botocore ``bedrock`` client, and its answers against botocore's
service model: GetFoundationModel, ListFoundationModels and the inference profiles, for the caller's region."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.bedrock_standin import BedrockStandin
from tests.conftest import BEFORE_AMAZON_EOL
from tests.standin_requests import (
    AMAZON_REGION,
    CORE,
    INPAINT,
    INPAINT_PROFILE,
    INVALID_MODEL,
    NOVA,
    SD35,
    STABILITY_REGION,
    TITAN,
    TITAN_V2,
    ULTRA,
    control_client,
    error_of,
    output_shape,
    problems,
)

STABILITY_ON_DEMAND = [CORE, ULTRA, SD35]


@pytest.fixture
def bedrock(standin: BedrockStandin) -> Any:
    """A bedrock (control plane) client in us-west-2, where the Stability models are offered today."""
    return control_client(STABILITY_REGION)


# -- GetFoundationModel --------------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", STABILITY_ON_DEMAND)
def test_an_active_model_is_described_as_botocore_expects(bedrock: Any, standin: BedrockStandin, model_id: str) -> None:
    # given
    raw = standin.control("GetFoundationModel", model_id, {}, STABILITY_REGION).body

    # when
    details = bedrock.get_foundation_model(modelIdentifier=model_id)["modelDetails"]

    # then
    assert problems(output_shape("GetFoundationModel"), raw) == []
    assert details["modelArn"] == f"arn:aws:bedrock:us-west-2::foundation-model/{model_id}"
    assert details["modelId"] == model_id
    assert details["providerName"] == "Stability AI"
    assert details["inputModalities"] == ["TEXT"]
    assert details["outputModalities"] == ["IMAGE"]
    assert details["inferenceTypesSupported"] == ["ON_DEMAND"]
    assert details["modelLifecycle"] == {"status": "ACTIVE"}


def test_the_shape_check_catches_unknown_members_missing_ones_and_wrong_types(standin: BedrockStandin) -> None:
    # given
    details = standin.control("GetFoundationModel", CORE, {}, STABILITY_REGION).body["modelDetails"]
    spoilt = {"modelDetails": {**details, "modelVersion": "1", "inputModalities": "TEXT"}}
    del spoilt["modelDetails"]["modelArn"]

    # when
    found = problems(output_shape("GetFoundationModel"), spoilt)

    # then
    assert sorted(found) == [
        "$.modelDetails.inputModalities: expected a list",
        "$.modelDetails.modelArn: required",
        "$.modelDetails.modelVersion: not a member of FoundationModelDetails",
    ]


def test_a_foundation_model_arn_names_the_model_too(bedrock: Any) -> None:
    # given / when
    details = bedrock.get_foundation_model(modelIdentifier=f"arn:aws:bedrock:us-west-2::foundation-model/{SD35}")

    # then
    assert details["modelDetails"]["modelName"] == "Stable Diffusion 3.5 Large"


@pytest.mark.parametrize(
    ("model_id", "region"),
    [
        (TITAN, "us-east-1"),
        (TITAN_V2, "us-west-2"),
        (NOVA, "us-east-1"),
        (CORE, "us-east-1"),
        ("no.such-model", "us-west-2"),
    ],
)
def test_a_model_not_offered_in_the_region_today_is_an_invalid_identifier(
    standin: BedrockStandin, model_id: str, region: str
) -> None:
    # given
    client = control_client(region)

    # when
    with pytest.raises(ClientError) as excinfo:
        client.get_foundation_model(modelIdentifier=model_id)

    # then
    assert error_of(excinfo) == ("ValidationException", 400, INVALID_MODEL)


def test_before_its_end_of_life_a_model_is_legacy_with_its_dates(standin_before_eol: BedrockStandin) -> None:
    # given
    client = control_client(AMAZON_REGION)

    # when
    details = client.get_foundation_model(modelIdentifier=TITAN)["modelDetails"]

    # then
    assert details["modelLifecycle"] == {
        "status": "LEGACY",
        "legacyTime": datetime(2025, 12, 30, tzinfo=UTC),
        "endOfLifeTime": datetime(2026, 6, 30, tzinfo=UTC),
    }
    assert details["modelLifecycle"]["endOfLifeTime"].date() > BEFORE_AMAZON_EOL


# -- ListFoundationModels ------------------------------------------------------------------------------


def test_the_image_models_on_demand_in_us_west_2_are_the_three_stability_ones(
    bedrock: Any, standin: BedrockStandin
) -> None:
    # given
    raw = standin.control("ListFoundationModels", None, {"byOutputModality": ["IMAGE"]}, STABILITY_REGION).body

    # when
    summaries = bedrock.list_foundation_models(byOutputModality="IMAGE", byInferenceType="ON_DEMAND")["modelSummaries"]

    # then
    assert problems(output_shape("ListFoundationModels"), raw) == []
    assert [summary["modelId"] for summary in summaries] == STABILITY_ON_DEMAND
    assert {summary["modelLifecycle"]["status"] for summary in summaries} == {"ACTIVE"}


def test_the_stable_image_services_are_listed_as_reachable_through_profiles_only(bedrock: Any) -> None:
    # given / when
    summaries = bedrock.list_foundation_models(byProvider="Stability AI")["modelSummaries"]

    # then
    services = [summary for summary in summaries if summary["modelId"] not in STABILITY_ON_DEMAND]
    assert len(services) == 13
    assert INPAINT in {summary["modelId"] for summary in services}
    assert all(summary["inferenceTypesSupported"] == ["INFERENCE_PROFILE"] for summary in services)
    assert all(summary["inputModalities"] == ["TEXT", "IMAGE"] for summary in services)


@pytest.mark.parametrize(("provider", "count"), [("stability", 16), ("STABILITY AI", 16), ("amazon", 0), ("meta", 0)])
def test_by_provider_matches_the_provider_name_or_the_id_prefix(bedrock: Any, provider: str, count: int) -> None:
    # given / when
    summaries = bedrock.list_foundation_models(byProvider=provider)["modelSummaries"]

    # then
    assert len(summaries) == count


def test_no_image_model_is_on_demand_in_us_east_1_today(standin: BedrockStandin) -> None:
    # given
    client = control_client("us-east-1")

    # when
    summaries = client.list_foundation_models(byOutputModality="IMAGE", byInferenceType="ON_DEMAND")["modelSummaries"]

    # then
    assert summaries == []


def test_before_the_amazon_end_of_life_us_east_1_listed_titan_and_nova_canvas_as_legacy(
    standin_before_eol: BedrockStandin,
) -> None:
    # given
    client = control_client(AMAZON_REGION)

    # when
    summaries = client.list_foundation_models(byOutputModality="IMAGE", byProvider="amazon")["modelSummaries"]

    # then
    assert [(summary["modelId"], summary["modelLifecycle"]["status"]) for summary in summaries] == [
        (TITAN, "LEGACY"),
        (TITAN_V2, "LEGACY"),
        (NOVA, "LEGACY"),
    ]


@pytest.mark.parametrize(
    ("filters", "count"),
    [
        ({"byOutputModality": "TEXT"}, 0),
        ({"byInferenceType": "PROVISIONED"}, 0),
        ({"byCustomizationType": "FINE_TUNING"}, 0),
    ],
)
def test_filters_the_stand_ins_image_models_cannot_meet_give_an_empty_list(
    bedrock: Any, filters: dict[str, str], count: int
) -> None:
    # given / when
    summaries = bedrock.list_foundation_models(**filters)["modelSummaries"]

    # then
    assert len(summaries) == count


def test_a_model_the_knobs_ended_leaves_the_list(bedrock: Any, standin: BedrockStandin) -> None:
    # given
    standin.configure(eol_models=[CORE])

    # when
    summaries = bedrock.list_foundation_models(byOutputModality="IMAGE", byInferenceType="ON_DEMAND")["modelSummaries"]

    # then
    assert [summary["modelId"] for summary in summaries] == [ULTRA, SD35]


def test_a_filter_value_outside_its_enum_is_a_validation_exception_in_aws_words(bedrock: Any) -> None:
    # given / when
    with pytest.raises(ClientError) as excinfo:
        bedrock.list_foundation_models(byOutputModality="VIDEO")

    # then
    assert error_of(excinfo) == (
        "ValidationException",
        400,
        "1 validation error detected: Value 'VIDEO' at 'byOutputModality' failed to satisfy constraint: "
        "Member must satisfy enum value set: [TEXT, IMAGE, EMBEDDING]",
    )


# -- inference profiles --------------------------------------------------------------------------------


def test_an_inference_profile_names_its_model_in_every_destination_region(
    bedrock: Any, standin: BedrockStandin
) -> None:
    # given
    raw = standin.control("GetInferenceProfile", INPAINT_PROFILE, {}, STABILITY_REGION).body

    # when
    profile = bedrock.get_inference_profile(inferenceProfileIdentifier=INPAINT_PROFILE)

    # then
    assert problems(output_shape("GetInferenceProfile"), raw) == []
    assert profile["inferenceProfileId"] == INPAINT_PROFILE
    assert (
        profile["inferenceProfileArn"] == f"arn:aws:bedrock:us-west-2:123456789012:inference-profile/{INPAINT_PROFILE}"
    )
    assert [model["modelArn"] for model in profile["models"]] == [
        f"arn:aws:bedrock:{region}::foundation-model/{INPAINT}" for region in ("us-east-1", "us-east-2", "us-west-2")
    ]
    assert (profile["status"], profile["type"]) == ("ACTIVE", "SYSTEM_DEFINED")


def test_an_inference_profile_outside_its_source_regions_is_not_found(standin: BedrockStandin) -> None:
    # given
    client = control_client("eu-west-1")

    # when
    with pytest.raises(ClientError) as excinfo:
        client.get_inference_profile(inferenceProfileIdentifier=INPAINT_PROFILE)

    # then
    assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)


def test_the_us_regions_list_the_thirteen_stability_profiles_and_europe_none(standin: BedrockStandin) -> None:
    # given
    us, europe = control_client("us-east-2"), control_client("eu-west-1")

    # when
    in_us = us.list_inference_profiles()["inferenceProfileSummaries"]
    in_europe = europe.list_inference_profiles()["inferenceProfileSummaries"]

    # then
    assert len(in_us) == 13
    assert all(summary["inferenceProfileId"].startswith("us.stability.") for summary in in_us)
    assert in_europe == []
