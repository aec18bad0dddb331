from __future__ import annotations

import pytest

from imagegen_core.errors import ContentFilteredError, ModelError
from imagegen_core.families import family_for
from imagegen_core.families.amazon import AmazonImageFamily
from imagegen_core.families.stability import StabilityFamily
from imagegen_core.models import parse_request

AMAZON = AmazonImageFamily()
STABILITY = StabilityFamily()


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("amazon.titan-image-generator-v1", "amazon"),
        ("amazon.titan-image-generator-v2:0", "amazon"),
        ("amazon.nova-canvas-v1:0", "amazon"),
        ("us.amazon.nova-canvas-v1:0", "amazon"),
        ("stability.sd3-5-large-v1:0", "stability"),
        ("stability.stable-image-core-v1:1", "stability"),
        ("stability.stable-image-ultra-v1:1", "stability"),
    ],
)
def test_the_family_is_chosen_from_the_model_id(model_id: str, family: str) -> None:
    assert family_for(model_id).name == family


def test_an_arn_or_a_profile_of_a_known_family_keeps_its_family() -> None:
    assert family_for("global.stability.stable-image-core-v1:1").name == "stability"
    assert family_for("arn:aws:bedrock:us-west-2::foundation-model/stability.sd3-5-large-v1:0").name == "stability"
    assert family_for("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-canvas-v1:0").name == (
        "amazon"
    )


def test_an_unknown_model_id_lists_the_supported_ones() -> None:
    with pytest.raises(ValueError, match=r"unsupported model id 'anthropic\.claude'.*stability\.\*"):
        family_for("anthropic.claude")


def test_the_amazon_body_carries_every_parameter() -> None:
    # given
    request = parse_request(
        {"prompt": "a fox", "negative_prompt": "blur", "width": 768, "height": 1152, "number_of_images": 3,
         "cfg_scale": 6.5, "quality": "premium"}
    )  # fmt: skip

    # when
    body = AMAZON.build_body(request, seed=7)

    # then
    assert body == {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": "a fox", "negativeText": "blur"},
        "imageGenerationConfig": {
            "numberOfImages": 3, "width": 768, "height": 1152, "cfgScale": 6.5, "seed": 7, "quality": "premium",
        },
    }  # fmt: skip


def test_the_amazon_body_omits_an_absent_negative_prompt() -> None:
    body = AMAZON.build_body(parse_request({"prompt": "a fox"}), seed=1)
    assert body["textToImageParams"] == {"text": "a fox"}


def test_an_amazon_answer_gives_its_images() -> None:
    assert AMAZON.parse_response({"images": ["aaa", "bbb"], "error": None}) == ["aaa", "bbb"]


def test_an_amazon_answer_with_an_error_is_content_filtered() -> None:
    with pytest.raises(ContentFilteredError, match="blocked by our content filters"):
        AMAZON.parse_response({"images": [], "error": "The generated image has been blocked by our content filters."})


def test_an_amazon_answer_without_images_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="without images"):
        AMAZON.parse_response({"images": []})


def test_the_stability_body_uses_the_aspect_ratio_of_the_size() -> None:
    request = parse_request({"prompt": "a fox", "negative_prompt": "blur", "width": 1344, "height": 768})
    assert STABILITY.build_body(request, seed=9) == {
        "prompt": "a fox",
        "negative_prompt": "blur",
        "aspect_ratio": "16:9",
        "seed": 9,
        "output_format": "png",
    }


def test_a_stability_answer_gives_its_images() -> None:
    assert STABILITY.parse_response({"seeds": [1], "finish_reasons": [None], "images": ["aaa"]}) == ["aaa"]


@pytest.mark.parametrize("reason", ["Filter reason: prompt", "Filter reason: output image"])
def test_a_stability_filter_reason_is_content_filtered(reason: str) -> None:
    with pytest.raises(ContentFilteredError, match=reason):
        STABILITY.parse_response({"seeds": [1], "finish_reasons": [reason], "images": []})


def test_a_stability_inference_error_is_a_transient_model_error() -> None:
    with pytest.raises(ModelError, match="Inference error") as caught:
        STABILITY.parse_response({"seeds": [1], "finish_reasons": ["Inference error"], "images": []})
    assert caught.value.transient
