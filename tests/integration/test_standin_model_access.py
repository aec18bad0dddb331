"""The stand-in's model access through real botocore clients: GetFoundationModelAvailability, the AWS Marketplace
agreement offers, and the first-use subscription of a Marketplace model (Stability's) on a fresh account."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.bedrock_account import MARKETPLACE_DENIED
from local.bedrock_standin import BedrockStandin
from tests.standin_requests import (
    AMAZON_REGION,
    CORE,
    DEPLOYER,
    FUNCTION,
    INPAINT,
    INPAINT_PROFILE,
    INVALID_MODEL,
    NOVA,
    SD35,
    STABILITY_REGION,
    TITAN,
    control_client,
    error_of,
    invoke,
    output_shape,
    problems,
    runtime_client,
    stability,
    titan,
)


def availability(model_id: str, region: str = STABILITY_REGION, access_key: str = FUNCTION) -> dict[str, Any]:
    answer: dict[str, Any] = control_client(region, access_key).get_foundation_model_availability(modelId=model_id)
    return answer


def agreement_of(model_id: str) -> str:
    return str(availability(model_id)["agreementAvailability"]["status"])


# -- GetFoundationModelAvailability ----------------------------------------------------------------------------


def test_an_offered_model_is_available_in_every_respect_as_botocore_expects(standin: BedrockStandin) -> None:
    # given
    raw = standin.control("GetFoundationModelAvailability", CORE, {}, STABILITY_REGION).body

    # when
    answer = availability(CORE)

    # then
    assert problems(output_shape("GetFoundationModelAvailability"), raw) == []
    assert answer["modelId"] == CORE
    assert answer["agreementAvailability"] == {"status": "AVAILABLE"}
    assert (answer["authorizationStatus"], answer["entitlementAvailability"], answer["regionAvailability"]) == (
        "AUTHORIZED",
        "AVAILABLE",
        "AVAILABLE",
    )


@pytest.mark.parametrize(("model_id", "region"), [(CORE, "us-east-1"), (NOVA, AMAZON_REGION), (SD35, "eu-west-1")])
def test_a_known_model_not_offered_in_the_region_today_is_not_available_there(
    standin: BedrockStandin, model_id: str, region: str
) -> None:
    # given / when (Nova Canvas is past its end of life; Stability is offered in us-west-2 only)
    answer = availability(model_id, region)

    # then
    assert answer["regionAvailability"] == "NOT_AVAILABLE"


@pytest.mark.parametrize(
    ("model_id", "message"),
    [
        ("no.such-model", INVALID_MODEL),
        (INPAINT_PROFILE, INVALID_MODEL),  # a profile id is not a foundation model id
        (f"arn:aws:bedrock:us-west-2::foundation-model/{CORE}", "failed to satisfy constraint"),
    ],
)
def test_an_identifier_that_names_no_foundation_model_is_a_validation_exception(
    standin: BedrockStandin, model_id: str, message: str
) -> None:
    # given / when
    with pytest.raises(ClientError) as excinfo:
        availability(model_id)

    # then
    code, status, text = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert message in text


def test_on_a_fresh_account_stability_has_no_agreement_and_amazon_needs_none(fresh_account: BedrockStandin) -> None:
    # given / when
    stability_agreements = {model_id: agreement_of(model_id) for model_id in (CORE, SD35, INPAINT)}
    amazon = availability(TITAN, AMAZON_REGION)["agreementAvailability"]["status"]

    # then
    assert set(stability_agreements.values()) == {"NOT_AVAILABLE"}
    assert amazon == "AVAILABLE"


# -- the first-use subscription ------------------------------------------------------------------------------


def test_on_a_fresh_account_a_caller_who_may_not_subscribe_gets_bedrock_s_marketplace_refusal(
    fresh_account: BedrockStandin,
) -> None:
    # given
    client = runtime_client(access_key=FUNCTION)

    # when
    with pytest.raises(ClientError) as excinfo:
        invoke(client, CORE, stability())

    # then the call is refused in Bedrock's words, and nothing was subscribed
    assert error_of(excinfo) == ("AccessDeniedException", 403, MARKETPLACE_DENIED)
    assert "(aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe)" in MARKETPLACE_DENIED
    assert fresh_account.calls[-1].fault == "marketplace"
    assert fresh_account.subscriptions == frozenset()
    assert agreement_of(CORE) == "NOT_AVAILABLE"


def test_a_caller_who_may_subscribe_is_answered_and_subscribes_the_account_for_everyone(
    fresh_account: BedrockStandin,
) -> None:
    # given
    deployer, function = runtime_client(access_key=DEPLOYER), runtime_client(access_key=FUNCTION)

    # when
    first = invoke(deployer, CORE, stability())
    after = invoke(function, CORE, stability())

    # then
    assert len(first["images"]) == 1
    assert len(after["images"]) == 1
    assert fresh_account.subscriptions == frozenset({CORE})
    assert agreement_of(CORE) == "AVAILABLE"
    assert agreement_of(SD35) == "NOT_AVAILABLE"  # a subscription is per model


def test_a_call_through_an_inference_profile_subscribes_its_foundation_model(fresh_account: BedrockStandin) -> None:
    # given
    deployer = runtime_client(access_key=DEPLOYER)

    # when (a Stable Image Service refuses a text-only body, after the subscription)
    with pytest.raises(ClientError) as excinfo:
        invoke(deployer, INPAINT_PROFILE, stability())

    # then
    assert error_of(excinfo)[:2] == ("ValidationException", 400)
    assert fresh_account.subscriptions == frozenset({INPAINT})


def test_amazon_models_answer_a_fresh_account_without_marketplace(fresh_account: BedrockStandin) -> None:
    # given Titan on a day it still answered
    fresh_account.configure(today="2026-06-01")

    # when
    answer = invoke(runtime_client(AMAZON_REGION, access_key=FUNCTION), TITAN, titan())

    # then
    assert len(answer["images"]) == 1
    assert fresh_account.subscriptions == frozenset()


def test_a_bedrock_api_key_names_nobody_who_may_subscribe(fresh_account: BedrockStandin) -> None:
    # given / when (no SigV4 credential, as with an API key: the stand-in's direct call)
    reply = fresh_account.invoke(CORE, b'{"prompt": "a lighthouse"}', STABILITY_REGION, access_key=None)

    # then
    assert (reply.status, reply.error) == (403, "AccessDeniedException")


def test_reset_and_setting_the_knob_again_make_the_account_fresh_again(fresh_account: BedrockStandin) -> None:
    # given
    invoke(runtime_client(access_key=DEPLOYER), CORE, stability())

    # when
    fresh_account.configure(marketplace_unsubscribed=True)
    after_configure = fresh_account.subscriptions
    fresh_account.reset()

    # then
    assert after_configure == frozenset()
    assert fresh_account.subscriptions == frozenset()
    assert fresh_account.settings.marketplace_unsubscribed is False
    assert agreement_of(CORE) == "AVAILABLE"  # the default account has subscribed to everything


# -- agreement offers and CreateFoundationModelAgreement -----------------------------------------------------


def test_a_marketplace_model_has_one_public_offer_and_an_amazon_model_none(standin: BedrockStandin) -> None:
    # given
    raw = standin.control("ListFoundationModelAgreementOffers", CORE, {}, STABILITY_REGION).body

    # when
    stability_offers = control_client().list_foundation_model_agreement_offers(modelId=CORE)["offers"]
    standin.configure(today="2026-06-01")
    amazon_offers = control_client(AMAZON_REGION).list_foundation_model_agreement_offers(modelId=TITAN)["offers"]

    # then
    assert problems(output_shape("ListFoundationModelAgreementOffers"), raw) == []
    assert len(stability_offers) == 1
    assert stability_offers[0]["offerToken"]
    assert amazon_offers == []


def test_creating_the_agreement_subscribes_the_account_once(fresh_account: BedrockStandin) -> None:
    # given
    client = control_client(access_key=DEPLOYER)
    [offer] = client.list_foundation_model_agreement_offers(modelId=SD35, offerType="PUBLIC")["offers"]

    # when
    created = client.create_foundation_model_agreement(modelId=SD35, offerToken=offer["offerToken"])
    with pytest.raises(ClientError) as again:
        client.create_foundation_model_agreement(modelId=SD35, offerToken=offer["offerToken"])

    # then
    assert (created["ResponseMetadata"]["HTTPStatusCode"], created["modelId"]) == (202, SD35)
    assert agreement_of(SD35) == "AVAILABLE"
    assert error_of(again)[:2] == ("ConflictException", 409)


def test_creating_an_agreement_needs_aws_marketplace_subscribe_and_the_model_s_own_token(
    fresh_account: BedrockStandin,
) -> None:
    # given
    token = control_client().list_foundation_model_agreement_offers(modelId=CORE)["offers"][0]["offerToken"]

    # when
    with pytest.raises(ClientError) as not_allowed:
        control_client(access_key=FUNCTION).create_foundation_model_agreement(modelId=CORE, offerToken=token)
    with pytest.raises(ClientError) as wrong_token:
        control_client(access_key=DEPLOYER).create_foundation_model_agreement(modelId=SD35, offerToken=token)

    # then
    code, status, message = error_of(not_allowed)
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"User: {FUNCTION} is not authorized to perform: aws-marketplace:Subscribe" in message
    assert error_of(wrong_token)[:2] == ("ValidationException", 400)
    assert fresh_account.subscriptions == frozenset()
