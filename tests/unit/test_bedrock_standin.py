"""The Bedrock stand-in without HTTP: its PNGs, its knobs and its validation of request bodies."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any

import pytest

from local.bedrock_faults import NOT_A_PNG, corrupt_base64
from local.bedrock_formats import Reply
from local.bedrock_settings import ConfigError
from local.bedrock_standin import BedrockStandin, StandinSettings, build_parser, settings_from
from local.png import BOX_COLOUR, INK_COLOUR, NOTICE, SIGNATURE, banner_layout, read_png, render_image
from tests.conftest import BEFORE_AMAZON_EOL
from tests.standin_requests import (
    AMAZON_REGION,
    CORE,
    END_OF_LIFE,
    MALFORMED,
    NOVA,
    SD35,
    TITAN,
    ULTRA,
    encoded,
    png_of,
    stability,
    titan,
)


@pytest.fixture
def offline() -> BedrockStandin:
    """A stand-in that is never started: ``invoke`` answers without HTTP. Flat images keep it fast."""
    return BedrockStandin(StandinSettings(image_detail="flat"))


@pytest.fixture
def offline_before_eol(offline: BedrockStandin) -> BedrockStandin:
    """The offline stand-in on a date when Titan and Nova Canvas still answered."""
    offline.configure(today=BEFORE_AMAZON_EOL)
    return offline


def error_of(reply: Reply) -> tuple[int, str | None, str]:
    return reply.status, reply.error, reply.body.get("message", "")


# -- the PNG -------------------------------------------------------------------------------------------


def test_a_rendered_image_is_an_rgb_png_of_exactly_the_requested_size() -> None:
    # given / when
    png = render_image(TITAN, "a red fox", 7, 384, 576, 0, "noisy")

    # then
    image = read_png(png)
    assert (image.width, image.height, image.bit_depth, image.colour_type) == (384, 576, 8, 2)
    assert len(image.scanlines) == 576 * (1 + 3 * 384)


def test_a_rendered_image_says_in_a_text_chunk_that_it_is_not_from_an_ai_model() -> None:
    # given / when
    image = read_png(render_image(TITAN, "a red fox", 7, 512, 512, 0, "flat"))

    # then
    assert NOTICE in image.text.values()
    assert "not an AI model" in NOTICE


def test_the_reader_rejects_a_png_with_a_corrupted_chunk() -> None:
    # given
    png = bytearray(render_image(TITAN, "a red fox", 7, 512, 512, 0, "flat"))
    png[60] ^= 0xFF  # inside the IDAT data

    # when / then
    with pytest.raises(ValueError, match="CRC"):
        read_png(bytes(png))


def test_the_same_inputs_give_identical_bytes() -> None:
    # given
    render_image.cache_clear()
    first = render_image(SD35, "a red fox", 7, 1024, 1024, 0, "noisy")
    render_image.cache_clear()

    # when
    second = render_image(SD35, "a red fox", 7, 1024, 1024, 0, "noisy")

    # then
    assert first == second


@pytest.mark.parametrize(
    "changed",
    [
        {"seed": 8},
        {"prompt": "a grey fox"},
        {"model_id": NOVA},
        {"index": 1},
    ],
)
def test_any_other_input_gives_another_image(changed: dict[str, Any]) -> None:
    # given
    inputs: dict[str, Any] = {"model_id": TITAN, "prompt": "a red fox", "seed": 7, "index": 0}

    # when
    image = render_image(**{**inputs, **changed}, width=512, height=512, detail="flat")

    # then
    assert image != render_image(**inputs, width=512, height=512, detail="flat")


def test_a_noisy_1024_image_weighs_about_what_a_real_titan_png_weighs() -> None:
    # given / when
    size = len(render_image(TITAN, "a red fox", 7, 1024, 1024, 0, "noisy"))

    # then
    assert 1_200_000 < size < 2_000_000


def test_a_flat_image_is_small() -> None:
    # given / when
    size = len(render_image(TITAN, "a red fox", 7, 1024, 1024, 0, "flat"))

    # then
    assert size < 100_000


def test_the_banner_is_drawn_in_box_and_ink_colours_in_the_middle_of_the_image() -> None:
    # given
    width, height = 320, 384
    layout = banner_layout(width, height)
    assert layout is not None

    # when
    pixels = read_png(render_image(NOVA, "a red fox", 7, width, height, 0, "flat")).pixels()

    # then
    x0, y0, x1, y1 = layout.box
    inside = {pixels[(y * width + x) * 3 : (y * width + x) * 3 + 3] for y in range(y0, y1) for x in range(x0, x1)}
    assert inside == {bytes(BOX_COLOUR), bytes(INK_COLOUR)}
    assert 0 < x0 < x1 < width
    assert 0 < y0 < y1 < height


def test_an_image_too_small_for_the_banner_is_still_a_valid_png() -> None:
    # given
    assert banner_layout(8, 8) is None

    # when
    image = read_png(render_image(TITAN, "a red fox", 7, 8, 8, 0, "noisy"))

    # then
    assert (image.width, image.height) == (8, 8)
    assert len(image.pixels()) == 8 * 8 * 3


# -- the knobs -----------------------------------------------------------------------------------------


def test_settings_come_from_bedrock_standin_environment_variables() -> None:
    # given
    environ = {
        "BEDROCK_STANDIN_LATENCY_MS": "250",
        "BEDROCK_STANDIN_THROTTLE_RATE": "0.25",
        "BEDROCK_STANDIN_FILTER_WORDS": "wolf, bear ,",
        "BEDROCK_STANDIN_OUTPUT_FILTER_WORDS": "",
        "BEDROCK_STANDIN_EOL_MODELS": "amazon.titan-image-generator-v1",
        "BEDROCK_STANDIN_IMAGE_DETAIL": "flat",
        "BEDROCK_STANDIN_TODAY": "2026-06-01",
        "BEDROCK_STANDIN_QUOTA_RPS": "2.5",
        "BEDROCK_STANDIN_OUTAGE_STATUS": "502",
        "BEDROCK_STANDIN_BAD_OUTPUT": "not-png",
    }

    # when
    settings = StandinSettings.from_env(environ)

    # then
    assert settings.latency_ms == 250
    assert settings.throttle_rate == 0.25
    assert settings.filter_words == ("wolf", "bear")
    assert settings.output_filter_words == ()
    assert settings.eol_models == ("amazon.titan-image-generator-v1",)
    assert settings.image_detail == "flat"
    assert settings.throttle_words == ("throttle-me",)
    assert settings.today == date(2026, 6, 1)
    assert settings.quota_rps == 2.5
    assert settings.outage_status == 502
    assert settings.bad_output == "not-png"


def test_the_marketplace_knobs_come_from_the_environment_and_the_command_line() -> None:
    # given
    environ = {"BEDROCK_STANDIN_MARKETPLACE_SUBSCRIBERS": "AKIADEPLOYER, AKIAADMIN"}

    # when
    from_env = StandinSettings.from_env({**environ, "BEDROCK_STANDIN_MARKETPLACE_UNSUBSCRIBED": "true"})
    from_flags = settings_from(build_parser().parse_args(["--marketplace-unsubscribed"]), environ)
    default = settings_from(build_parser().parse_args([]), {})

    # then
    assert from_env.marketplace_unsubscribed is True
    assert from_env.marketplace_subscribers == ("AKIADEPLOYER", "AKIAADMIN")
    assert (from_flags.marketplace_unsubscribed, from_flags.marketplace_subscribers[0]) == (True, "AKIADEPLOYER")
    assert (default.marketplace_unsubscribed, default.marketplace_subscribers) == (False, ())


def test_without_a_today_knob_the_stand_in_goes_by_the_real_date() -> None:
    # given
    settings = StandinSettings()

    # when
    today = settings.date_today()

    # then
    assert settings.today is None
    assert today == date.today() or (today - date.today()).days in (-1, 1)  # UTC may be a day off local time


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BEDROCK_STANDIN_LATENCY_MS", "soon", "BEDROCK_STANDIN_LATENCY_MS='soon' is invalid: not an integer"),
        ("BEDROCK_STANDIN_ERROR_RATE", "1.5", "BEDROCK_STANDIN_ERROR_RATE='1.5' is invalid: must be between 0 and 1"),
        ("BEDROCK_STANDIN_THROTTLE_RATE", "often", "BEDROCK_STANDIN_THROTTLE_RATE='often' is invalid: not a number$"),
        ("BEDROCK_STANDIN_IMAGE_DETAIL", "fancy", "BEDROCK_STANDIN_IMAGE_DETAIL=.* must be one of noisy, flat"),
        ("BEDROCK_STANDIN_FAIL_WITH", "Oops", "BEDROCK_STANDIN_FAIL_WITH=.* must be one of AccessDeniedException"),
        ("BEDROCK_STANDIN_TODAY", "tomorrow", "BEDROCK_STANDIN_TODAY=.* must be an ISO date such as 2026-06-01"),
        ("BEDROCK_STANDIN_REGION", "Oregon", "BEDROCK_STANDIN_REGION=.* not an AWS region name"),
        ("BEDROCK_STANDIN_QUOTA_RPS", "-1", "BEDROCK_STANDIN_QUOTA_RPS=.* must be between 0 and"),
        ("BEDROCK_STANDIN_QUOTA_BURST", "0", "BEDROCK_STANDIN_QUOTA_BURST=.* must be between 1 and"),
        ("BEDROCK_STANDIN_OUTAGE_STATUS", "418", "BEDROCK_STANDIN_OUTAGE_STATUS=.* must be one of 429, 500"),
        ("BEDROCK_STANDIN_BAD_OUTPUT", "odd", "BEDROCK_STANDIN_BAD_OUTPUT=.* must be one of corrupt, not-png, fewer"),
        ("BEDROCK_STANDIN_MARKETPLACE_UNSUBSCRIBED", "maybe", "BEDROCK_STANDIN_MARKETPLACE_UNSUBSCRIBED='maybe'"),
    ],
)
def test_a_bad_environment_variable_is_named_in_the_error(name: str, value: str, message: str) -> None:
    # given / when / then
    with pytest.raises(ConfigError, match=message):
        StandinSettings.from_env({name: value})


def test_configure_changes_knobs_and_reset_restores_the_construction_settings(offline: BedrockStandin) -> None:
    # given
    offline.configure(latency_ms=20, filter_words=["wolf"], today="2026-06-01")
    offline.invoke(CORE, encoded(stability()))

    # when
    offline.reset()

    # then
    assert offline.settings == StandinSettings(image_detail="flat")
    assert offline.calls == []


def test_configure_refuses_an_unknown_knob(offline: BedrockStandin) -> None:
    # given / when / then
    with pytest.raises(TypeError, match="lateness_ms"):
        offline.configure(lateness_ms=20)


def test_configure_refuses_a_bad_value_and_names_the_knob(offline: BedrockStandin) -> None:
    # given / when / then
    with pytest.raises(ConfigError, match="BEDROCK_STANDIN_QUOTA_BURST"):
        offline.configure(quota_burst=0)
    assert offline.settings.quota_burst == 1


def test_the_random_dice_repeat_after_a_reset(offline: BedrockStandin) -> None:
    # given
    offline.configure(throttle_rate=0.5)
    first = [offline.invoke(CORE, encoded(stability())).status for _ in range(12)]
    offline.reset()
    offline.configure(throttle_rate=0.5)

    # when
    second = [offline.invoke(CORE, encoded(stability())).status for _ in range(12)]

    # then
    assert first == second
    assert set(first) == {200, 429}


# -- lifecycle and regions -----------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", [TITAN, "amazon.titan-image-generator-v2:0", NOVA])
def test_the_amazon_models_are_past_their_end_of_life_today(offline: BedrockStandin, model_id: str) -> None:
    # given / when
    reply = offline.invoke(model_id, encoded(titan()), region=AMAZON_REGION)

    # then
    assert error_of(reply) == (404, "ResourceNotFoundException", END_OF_LIFE)


def test_the_today_knob_brings_the_amazon_models_back_for_tests_of_their_format(
    offline_before_eol: BedrockStandin,
) -> None:
    # given / when
    reply = offline_before_eol.invoke(TITAN, encoded(titan(numberOfImages=2)), region=AMAZON_REGION)

    # then
    assert reply.status == 200
    assert len(reply.body["images"]) == 2


def test_without_a_signed_region_the_region_knob_applies(offline: BedrockStandin) -> None:
    # given
    offline.configure(region="eu-west-1")

    # when
    reply = offline.invoke(CORE, encoded(stability()))

    # then
    assert error_of(reply) == (400, "ValidationException", "The provided model identifier is invalid.")
    assert offline.calls[0].region == "eu-west-1"


# -- validation as Bedrock does it, per model ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (titan("x" * 513), "#/textToImageParams/text: expected maxLength: 512, actual: 513"),
        (titan(""), "#/textToImageParams/text: expected minLength: 1, actual: 0"),
        (titan(params={"negativeText": "n" * 513}), "#/textToImageParams/negativeText: expected maxLength: 512"),
        (titan(width=1000, height=1000), "1000x1000 is not one of the sizes Titan Image Generator supports"),
        (titan(params={"style": "PHOTOREALISM"}), "#/textToImageParams: extraneous key [style] is not permitted"),
        (titan(steps=30), "#/imageGenerationConfig: extraneous key [steps] is not permitted"),
        (titan(numberOfImages=6), "#/imageGenerationConfig/numberOfImages: 6 is not less or equal to 5"),
        (titan(cfgScale=1.0), "#/imageGenerationConfig/cfgScale: 1.0 is not greater or equal to 1.1"),
        (titan(seed=-1), "#/imageGenerationConfig/seed: -1 is not greater or equal to 0"),
        (titan(seed=2_147_483_647), "#/imageGenerationConfig/seed: 2147483647 is not less or equal to 2147483646"),
        (titan(seed="7"), "#/imageGenerationConfig/seed: expected type: Integer, found: String"),
        (titan(quality="ultra"), "#/imageGenerationConfig/quality: ultra is not a valid enum value"),
        (titan(seed=-1, quality="ultra"), "Malformed input request: 2 schema violations found"),
        ({"textToImageParams": {"text": "x"}}, "#: required key [taskType] not found"),
        ({"taskType": "INPAINTING"}, "only emulates TEXT_IMAGE"),
    ],
)
def test_titan_rejects_what_bedrock_rejects_with_a_validation_exception(
    offline_before_eol: BedrockStandin, body: dict[str, Any], message: str
) -> None:
    # given / when
    reply = offline_before_eol.invoke(TITAN, encoded(body), region=AMAZON_REGION)

    # then
    status, code, text = error_of(reply)
    assert (status, code) == (400, "ValidationException")
    assert message in text


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]"])
def test_a_body_that_is_not_a_json_object_is_malformed(offline: BedrockStandin, raw: bytes) -> None:
    # given / when
    reply = offline.invoke(CORE, raw)

    # then
    assert error_of(reply) == (400, "ValidationException", MALFORMED)


def test_nova_canvas_takes_longer_prompts_its_styles_and_sizes_titan_does_not(
    offline_before_eol: BedrockStandin,
) -> None:
    # given
    body = encoded(titan("x" * 1024, params={"style": "PHOTOREALISM"}, width=1280, height=720))

    # when
    nova = offline_before_eol.invoke(NOVA, body, region=AMAZON_REGION)
    titan_reply = offline_before_eol.invoke(TITAN, body, region=AMAZON_REGION)

    # then
    assert nova.status == 200
    assert png_of(nova.body["images"][0]).width == 1280
    assert titan_reply.status == 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (titan(seed=858_993_460), "#/imageGenerationConfig/seed: 858993460 is not less or equal to 858993459"),
        (titan("x" * 1025), "#/textToImageParams/text: expected maxLength: 1024, actual: 1025"),
        (titan(width=1000, height=1000), "1000x1000 is not one of Nova Canvas sizes"),
        (titan(width=4096, height=320), "4096x320 is not one of Nova Canvas sizes"),
        (titan(params={"style": "CUBISM"}), "#/textToImageParams/style: CUBISM is not a valid enum value"),
    ],
)
def test_nova_canvas_enforces_its_own_limits(
    offline_before_eol: BedrockStandin, body: dict[str, Any], message: str
) -> None:
    # given / when
    reply = offline_before_eol.invoke(NOVA, encoded(body), region=AMAZON_REGION)

    # then
    assert error_of(reply)[:2] == (400, "ValidationException")
    assert message in reply.body["message"]


@pytest.mark.parametrize(
    ("model_id", "fields", "message"),
    [
        (SD35, {"prompt": "x" * 10_001}, "prompt: must be a string of 1 to 10000 characters"),
        (CORE, {"negative_prompt": "n" * 10_001}, "negative_prompt: must be a string of 0 to 10000 characters"),
        (CORE, {"aspect_ratio": "4:3"}, "aspect_ratio: must be one of"),
        (SD35, {"seed": 4_294_967_295}, "seed: must be an integer from 0 to 4294967294"),
        (CORE, {"seed": 4_294_967_296}, "seed: must be an integer from 0 to 4294967295"),
        (ULTRA, {"seed": -1}, "seed: must be an integer from 0 to 4294967295"),
        (CORE, {"output_format": "webp"}, "output_format: must be one of png, jpeg, not 'webp'"),
        (ULTRA, {"output_format": "gif"}, "output_format: must be one of png, jpeg, not 'gif'"),
        (SD35, {"output_format": "gif"}, "output_format: must be one of png, jpeg, webp"),
        (CORE, {"mode": "image-to-image"}, "mode: must be one of text-to-image, not 'image-to-image'"),
        (ULTRA, {"mode": "image-to-image"}, "mode: image-to-image requests are not emulated"),
        (SD35, {"cfg_scale": 7}, "Invalid field 'cfg_scale' in request"),
        (CORE, {"image": "AAAA"}, "Invalid field 'image' in request"),
        (SD35, {"image": "AAAA"}, "'image': image-to-image requests are not emulated"),
    ],
)
def test_stability_models_each_enforce_their_own_limits(
    offline: BedrockStandin, model_id: str, fields: dict[str, Any], message: str
) -> None:
    # given / when
    reply = offline.invoke(model_id, encoded(stability(**fields)))

    # then
    status, code, text = error_of(reply)
    assert (status, code) == (400, "ValidationException")
    assert message in text


@pytest.mark.parametrize(
    ("model_id", "fields"),
    [
        (CORE, {"seed": 4_294_967_295, "output_format": "jpeg", "mode": "text-to-image"}),
        (ULTRA, {"seed": 4_294_967_295, "mode": "text-to-image"}),
        (SD35, {"seed": 4_294_967_294, "output_format": "webp", "negative_prompt": ""}),
    ],
)
def test_stability_models_accept_what_their_own_limits_allow(
    offline: BedrockStandin, model_id: str, fields: dict[str, Any]
) -> None:
    # given / when
    reply = offline.invoke(model_id, encoded(stability(**fields)))

    # then
    assert reply.status == 200
    assert reply.body["seeds"] == [fields["seed"]]


def test_stability_without_a_prompt_is_rejected(offline: BedrockStandin) -> None:
    # given / when
    reply = offline.invoke(SD35, b'{"aspect_ratio": "1:1"}')

    # then
    assert error_of(reply)[:2] == (400, "ValidationException")
    assert "prompt: field required" in reply.body["message"]


def test_stability_with_seed_zero_reports_the_seed_it_chose_and_chooses_it_again(offline: BedrockStandin) -> None:
    # given / when
    first = offline.invoke(SD35, encoded(stability(seed=0, aspect_ratio="9:21")))
    second = offline.invoke(SD35, encoded({"prompt": "a lighthouse at dusk"}))

    # then
    assert first.body["seeds"] == second.body["seeds"]
    assert first.body["seeds"][0] > 0
    assert png_of(first.body["images"][0]).width == 640


def test_every_invocation_is_recorded_with_its_body_region_outcome_and_the_knob_at_fault(
    offline: BedrockStandin,
) -> None:
    # given
    offline.invoke(CORE, encoded(stability("one")), region="us-west-2")

    # when
    offline.invoke(CORE, encoded(stability("throttle-me please")), region="us-west-2")

    # then
    calls = offline.calls
    assert [(call.model_id, call.region, call.status, call.error, call.fault) for call in calls] == [
        (CORE, "us-west-2", 200, None, None),
        (CORE, "us-west-2", 429, "ThrottlingException", "throttle_words"),
    ]
    assert calls[1].body["prompt"] == "throttle-me please"
    assert offline.throttled_calls == 1


# -- spoilt output -------------------------------------------------------------------------------------


def test_corrupt_base64_is_refused_by_lenient_and_strict_decoders_alike() -> None:
    # given
    good = base64.b64encode(render_image(CORE, "a fox", 7, 64, 64, 0, "flat")).decode()

    # when
    bad = corrupt_base64(good)

    # then
    with pytest.raises(binascii.Error):
        binascii.a2b_base64(bad)
    with pytest.raises(binascii.Error):
        binascii.a2b_base64(bad, strict_mode=True)


def test_the_not_a_png_bytes_are_not_a_png() -> None:
    # given / when / then
    assert not NOT_A_PNG.startswith(SIGNATURE)
    with pytest.raises(ValueError, match="not a PNG"):
        read_png(NOT_A_PNG)
