"""The Bedrock stand-in without HTTP: its PNGs, its knobs and its validation of request bodies."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from local.bedrock_formats import Reply
from local.bedrock_standin import BedrockStandin, StandinSettings
from local.png import BOX_COLOUR, INK_COLOUR, NOTICE, PngImage, banner_layout, read_png, render_image

TITAN = "amazon.titan-image-generator-v1"
NOVA = "amazon.nova-canvas-v1:0"
SD35 = "stability.sd3-5-large-v1:0"


def titan_body(text: str = "a lighthouse at dusk", params: dict[str, Any] | None = None, **config: Any) -> bytes:
    body: dict[str, Any] = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": text, **(params or {})}}
    body["imageGenerationConfig"] = {"width": 512, "height": 512, **config}
    return json.dumps(body).encode()


def stability_body(prompt: str = "a lighthouse at dusk", **fields: Any) -> bytes:
    return json.dumps({"prompt": prompt, **fields}).encode()


@pytest.fixture
def offline() -> BedrockStandin:
    """A stand-in that is never started: ``invoke`` answers without HTTP. Flat images keep it fast."""
    return BedrockStandin(StandinSettings(image_detail="flat"))


def read_png_of(b64: str) -> PngImage:
    return read_png(base64.b64decode(b64))


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


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BEDROCK_STANDIN_LATENCY_MS", "soon", "BEDROCK_STANDIN_LATENCY_MS must be an integer"),
        ("BEDROCK_STANDIN_ERROR_RATE", "1.5", "BEDROCK_STANDIN_ERROR_RATE must be between 0 and 1"),
        ("BEDROCK_STANDIN_IMAGE_DETAIL", "fancy", "BEDROCK_STANDIN_IMAGE_DETAIL must be one of noisy, flat"),
        ("BEDROCK_STANDIN_FAIL_WITH", "Oops", "BEDROCK_STANDIN_FAIL_WITH must be one of AccessDeniedException"),
    ],
)
def test_a_bad_environment_variable_is_named_in_the_error(name: str, value: str, message: str) -> None:
    # given / when / then
    with pytest.raises(ValueError, match=message):
        StandinSettings.from_env({name: value})


def test_configure_changes_knobs_and_reset_restores_the_construction_settings(offline: BedrockStandin) -> None:
    # given
    offline.configure(latency_ms=20, filter_words=["wolf"])
    offline.invoke(TITAN, titan_body())

    # when
    offline.reset()

    # then
    assert offline.settings == StandinSettings(image_detail="flat")
    assert offline.calls == []


def test_configure_refuses_an_unknown_knob(offline: BedrockStandin) -> None:
    # given / when / then
    with pytest.raises(TypeError):
        offline.configure(lateness_ms=20)


def test_the_random_dice_repeat_after_a_reset(offline: BedrockStandin) -> None:
    # given
    offline.configure(throttle_rate=0.5)
    first = [offline.invoke(TITAN, titan_body()).status for _ in range(12)]
    offline.reset()
    offline.configure(throttle_rate=0.5)

    # when
    second = [offline.invoke(TITAN, titan_body()).status for _ in range(12)]

    # then
    assert first == second
    assert set(first) == {200, 429}


# -- validation as Bedrock does it ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (titan_body("x" * 513), "#/textToImageParams/text: expected maxLength: 512, actual: 513"),
        (titan_body(""), "#/textToImageParams/text: expected minLength: 1, actual: 0"),
        (titan_body(params={"negativeText": "n" * 513}), "#/textToImageParams/negativeText: expected maxLength: 512"),
        (titan_body(width=1000, height=1000), "1000x1000 is not one of the sizes Titan Image Generator supports"),
        (titan_body(params={"style": "PHOTOREALISM"}), "#/textToImageParams: extraneous key [style] is not permitted"),
        (titan_body(steps=30), "#/imageGenerationConfig: extraneous key [steps] is not permitted"),
        (titan_body(numberOfImages=6), "#/imageGenerationConfig/numberOfImages: 6 is not less or equal to 5"),
        (titan_body(cfgScale=1.0), "#/imageGenerationConfig/cfgScale: 1.0 is not greater or equal to 1.1"),
        (titan_body(seed=-1), "#/imageGenerationConfig/seed: -1 is not greater or equal to 0"),
        (titan_body(seed="7"), "#/imageGenerationConfig/seed: expected type: Integer, found: String"),
        (titan_body(quality="ultra"), "#/imageGenerationConfig/quality: ultra is not a valid enum value"),
        (titan_body(seed=-1, quality="ultra"), "Malformed input request: 2 schema violations found"),
        (b'{"textToImageParams": {"text": "x"}}', "#: required key [taskType] not found"),
        (b'{"taskType": "INPAINTING"}', "only emulates TEXT_IMAGE"),
        (b"not json", "Malformed input request, please reformat your input and try again."),
        (b"[1, 2]", "Malformed input request, please reformat your input and try again."),
    ],
)
def test_titan_rejects_what_bedrock_rejects_with_a_validation_exception(
    offline: BedrockStandin, body: bytes, message: str
) -> None:
    # given / when
    reply = offline.invoke(TITAN, body)

    # then
    status, code, text = error_of(reply)
    assert (status, code) == (400, "ValidationException")
    assert message in text


def test_nova_canvas_takes_longer_prompts_its_styles_and_sizes_titan_does_not(offline: BedrockStandin) -> None:
    # given
    body = titan_body("x" * 1024, params={"style": "PHOTOREALISM"}, width=1280, height=720)

    # when
    nova, titan = offline.invoke(NOVA, body), offline.invoke(TITAN, body)

    # then
    assert nova.status == 200
    assert read_png_of(nova.body["images"][0]).width == 1280
    assert titan.status == 400


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prompt": "x" * 10_001}, "prompt: must be a string of 1 to 10000 characters"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio: must be one of"),
        ({"seed": 4_294_967_295}, "seed: must be an integer from 0 to 4294967294"),
        ({"output_format": "gif"}, "output_format: must be one of png, jpeg, webp"),
        ({"cfg_scale": 7}, "Invalid field 'cfg_scale' in request"),
        ({"mode": "image-to-image"}, "not emulated"),
    ],
)
def test_stability_rejects_bad_fields_with_a_validation_exception(
    offline: BedrockStandin, fields: dict[str, Any], message: str
) -> None:
    # given / when
    reply = offline.invoke(SD35, stability_body(**fields))

    # then
    status, code, text = error_of(reply)
    assert (status, code) == (400, "ValidationException")
    assert message in text


def test_stability_without_a_prompt_is_rejected(offline: BedrockStandin) -> None:
    # given / when
    reply = offline.invoke(SD35, b'{"aspect_ratio": "1:1"}')

    # then
    assert error_of(reply)[:2] == (400, "ValidationException")
    assert "prompt: field required" in reply.body["message"]


def test_stability_with_seed_zero_reports_the_seed_it_chose_and_chooses_it_again(offline: BedrockStandin) -> None:
    # given / when
    first = offline.invoke(SD35, stability_body(seed=0, aspect_ratio="9:21"))
    second = offline.invoke(SD35, stability_body())

    # then
    assert first.body["seeds"] == second.body["seeds"]
    assert first.body["seeds"][0] > 0
    assert read_png_of(first.body["images"][0]).width == 640


@pytest.mark.parametrize(
    "model_id",
    [
        "us.amazon.nova-canvas-v1:0",
        "eu.amazon.titan-image-generator-v2:0",
        "apac.stability.stable-image-core-v1:1",
        "global.stability.stable-image-ultra-v1:1",
        "arn:aws:bedrock:us-east-1::foundation-model/stability.sd3-5-large-v1:0",
    ],
)
def test_cross_region_prefixes_and_arns_reach_their_family(offline: BedrockStandin, model_id: str) -> None:
    # given
    body = stability_body() if "stability." in model_id else titan_body()

    # when
    reply = offline.invoke(model_id, body)

    # then
    assert reply.status == 200


@pytest.mark.parametrize(
    "model_id",
    ["anthropic.claude-3-haiku-20240307-v1:0", "amazon.titan-text-express-v1", "amazon.nova-canvas-v9:0", ""],
)
def test_other_model_ids_are_invalid_identifiers(offline: BedrockStandin, model_id: str) -> None:
    # given / when
    reply = offline.invoke(model_id, titan_body())

    # then
    assert error_of(reply) == (400, "ValidationException", "The provided model identifier is invalid.")


def test_every_invocation_is_recorded_with_its_body_and_outcome(offline: BedrockStandin) -> None:
    # given
    offline.invoke(TITAN, titan_body("one"))

    # when
    offline.invoke(TITAN, titan_body("throttle-me please"))

    # then
    calls = offline.calls
    assert [(call.model_id, call.status, call.error) for call in calls] == [
        (TITAN, 200, None),
        (TITAN, 429, "ThrottlingException"),
    ]
    assert calls[1].body["textToImageParams"]["text"] == "throttle-me please"
