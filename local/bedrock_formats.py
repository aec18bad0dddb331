"""What Bedrock says for image models: the request bodies it accepts and the errors it answers with.

Pure functions, no HTTP and no knobs: :mod:`local.bedrock_standin` puts them on the wire. Messages copy
Bedrock's own words where they are known (the Amazon models validate against a JSON schema and report
violations as the everit validator words them).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Titan Image Generator's sizes and Stability's aspect ratios, as Bedrock documents them (the stand-in's own copy).
SIZES = frozenset(
    {
        (1024, 1024), (768, 768), (512, 512), (768, 1152), (384, 576), (1152, 768), (576, 384),
        (768, 1280), (384, 640), (1280, 768), (640, 384), (896, 1152), (448, 576), (1152, 896), (576, 448),
        (768, 1408), (384, 704), (1408, 768), (704, 384), (640, 1408), (320, 704), (1408, 640), (704, 320),
        (1152, 640), (1173, 640),
    }
)  # fmt: skip
ASPECT_RATIOS = {
    (1024, 1024): "1:1", (1344, 768): "16:9", (768, 1344): "9:16", (1536, 640): "21:9", (640, 1536): "9:21",
    (1216, 832): "3:2", (832, 1216): "2:3", (1088, 896): "5:4", (896, 1088): "4:5",
}  # fmt: skip

ERROR_STATUS: dict[str, int] = {
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408,
    "ThrottlingException": 429,
    "ModelErrorException": 424,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
    "ModelNotReadyException": 429,
    "ServiceQuotaExceededException": 400,
    # Raised by the AWS front door before the request reaches Bedrock.
    "MissingAuthenticationTokenException": 403,
    "IncompleteSignatureException": 403,
    "UnknownOperationException": 404,
}
INVALID_MODEL = "The provided model identifier is invalid."
END_OF_LIFE = (
    "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
)
MALFORMED = "Malformed input request, please reformat your input and try again."
# The errors the stand-in can be told to fail every call with, and what Bedrock says with them.
FAILURES: dict[str, str] = {
    "AccessDeniedException": "You don't have access to the model with the specified model ID.",
    "ModelErrorException": "The model failed to process the request.",
    "ModelNotReadyException": "The model is not ready to serve inference requests. Try your request again.",
    "InternalServerException": "The server encountered an internal error while processing the request.",
    "ServiceUnavailableException": "The service isn't currently available. Try your request again.",
    "ServiceQuotaExceededException": "Your request exceeds the service quota for your account.",
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ModelTimeoutException": "Model has timed out in processing the request. Try your request again.",
}
_GEO_PREFIX = re.compile(r"^(us|eu|apac|global)\.")
# The text-to-image model ids Bedrock answers to, legacy ones included, and their request formats.
KNOWN_MODELS = {
    "amazon.titan-image-generator-v1": "titan",
    "amazon.titan-image-generator-v2:0": "titan",
    "amazon.nova-canvas-v1:0": "nova",
    "stability.sd3-large-v1:0": "stability",
    "stability.sd3-5-large-v1:0": "stability",
    "stability.stable-image-core-v1:0": "stability",
    "stability.stable-image-core-v1:1": "stability",
    "stability.stable-image-ultra-v1:0": "stability",
    "stability.stable-image-ultra-v1:1": "stability",
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    error: str | None = None


class BedrockError(Exception):
    """An error as Bedrock reports it: a code (the exception shape's name), its HTTP status, a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = ERROR_STATUS[code]

    def reply(self) -> Reply:
        return Reply(self.status, {"message": self.message}, self.code)


@dataclass(frozen=True)
class ImageRequest:
    """What every family asks for, once its body is validated."""

    prompt: str
    seed: int
    width: int
    height: int
    count: int = 1


def resolve_model(model_id: str) -> tuple[str, str]:
    """The base model id (no ``us.`` prefix, no ARN around it) and its family: titan, nova or stability."""
    base_id = model_id.rsplit("/", 1)[-1] if model_id.startswith("arn:") else model_id
    base_id = _GEO_PREFIX.sub("", base_id)
    family = KNOWN_MODELS.get(base_id)
    if family is None:  # Bedrock knows exact model ids, not families
        raise BedrockError("ValidationException", INVALID_MODEL)
    return base_id, family


def decode_body(raw_body: bytes) -> dict[str, Any]:
    """The JSON object of the body, or Bedrock's ValidationException."""
    try:
        body = json.loads(raw_body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BedrockError("ValidationException", MALFORMED)
    return body


# Amazon TEXT_IMAGE (Titan Image Generator v1/v2, Nova Canvas). Bedrock checks these bodies against a JSON
# schema and reports violations in the everit validator's words, which the messages below copy.
_AMAZON_TASKS = (
    "TEXT_IMAGE",
    "INPAINTING",
    "OUTPAINTING",
    "IMAGE_VARIATION",
    "COLOR_GUIDED_GENERATION",
    "BACKGROUND_REMOVAL",
)
_NOVA_STYLES = (
    "3D_ANIMATED_FAMILY_FILM",
    "DESIGN_SKETCH",
    "FLAT_VECTOR_ILLUSTRATION",
    "GRAPHIC_NOVEL_ILLUSTRATION",
    "MAXIMALISM",
    "MIDCENTURY_RETRO",
    "PHOTOREALISM",
    "SOFT_DIGITAL_PAINTING",
)
_AMAZON_SEED_MAX = 2_147_483_646
_AMAZON_DEFAULT_SEED = 42


def amazon_request(body: dict[str, Any], *, nova: bool) -> ImageRequest:
    problems: list[str] = []
    _keys(body, "#", ("taskType", "textToImageParams", "imageGenerationConfig"), ("taskType",), problems)
    _enum(body, "taskType", "#", _AMAZON_TASKS, problems)
    params = body.get("textToImageParams")
    if body.get("taskType") == "TEXT_IMAGE" and params is None:
        problems.append("#: required key [textToImageParams] not found")
    text_max = 1024 if nova else 512
    if params is not None and _object(params, "#/textToImageParams", problems):
        fields = ("text", "negativeText", "style") if nova else ("text", "negativeText")
        _keys(params, "#/textToImageParams", fields, ("text",), problems)
        _string(params, "text", "#/textToImageParams", 1, text_max, problems)
        _string(params, "negativeText", "#/textToImageParams", 1, text_max if nova else 512, problems)
        _enum(params, "style", "#/textToImageParams", _NOVA_STYLES, problems)
    config = body.get("imageGenerationConfig", {})
    if _object(config, "#/imageGenerationConfig", problems):
        path = "#/imageGenerationConfig"
        _keys(config, path, ("numberOfImages", "width", "height", "cfgScale", "seed", "quality"), (), problems)
        _integer(config, "numberOfImages", path, 1, 5, problems)
        _integer(config, "width", path, 1, 4096, problems)
        _integer(config, "height", path, 1, 4096, problems)
        _number(config, "cfgScale", path, 1.1, 10.0, problems)
        _integer(config, "seed", path, 0, _AMAZON_SEED_MAX, problems)
        _enum(config, "quality", path, ("standard", "premium"), problems)
    if problems:
        raise BedrockError("ValidationException", _malformed(problems))
    if body["taskType"] != "TEXT_IMAGE":
        raise BedrockError(
            "ValidationException", f"The Bedrock stand-in only emulates TEXT_IMAGE, not {body['taskType']}."
        )
    width, height = config.get("width", 1024), config.get("height", 1024)
    if not _amazon_size_ok(width, height, nova=nova):
        rule = "Nova Canvas sizes" if nova else "the sizes Titan Image Generator supports"
        raise BedrockError(
            "ValidationException",
            f"Malformed input request: #/imageGenerationConfig: {width}x{height} is not one of {rule}, "
            "please reformat your input and try again.",
        )
    assert isinstance(params, dict)
    return ImageRequest(
        prompt=params["text"],
        seed=config.get("seed", _AMAZON_DEFAULT_SEED),
        width=width,
        height=height,
        count=config.get("numberOfImages", 1),
    )


def _amazon_size_ok(width: int, height: int, *, nova: bool) -> bool:
    if (width, height) in SIZES:
        return True
    # Nova Canvas: sides 320-4096 and multiples of 16, aspect ratio within 1:4..4:1, under 4.19 MP.
    return (
        nova
        and 320 <= width <= 4096
        and 320 <= height <= 4096
        and width % 16 == 0
        and height % 16 == 0
        and max(width, height) <= 4 * min(width, height)
        and width * height < 4_194_304
    )


# Stability (SD3.5 Large, Stable Image Core, Stable Image Ultra): text-to-image only.
_RATIO_SIZES: dict[str, tuple[int, int]] = {ratio: size for size, ratio in ASPECT_RATIOS.items()}
_STABILITY_FIELDS = ("prompt", "negative_prompt", "aspect_ratio", "mode", "seed", "output_format")
_STABILITY_SEED_MAX = 4_294_967_294


def stability_request(body: dict[str, Any]) -> ImageRequest:
    problems: list[str] = []
    for key in body:
        if key in ("image", "strength"):
            problems.append(f"'{key}': image-to-image requests are not emulated by the Bedrock stand-in")
        elif key not in _STABILITY_FIELDS:
            problems.append(f"Invalid field '{key}' in request. Available fields are: {', '.join(_STABILITY_FIELDS)}")
    prompt = body.get("prompt")
    if "prompt" not in body:
        problems.append("prompt: field required")
    _stability_string(body, "prompt", problems)
    _stability_string(body, "negative_prompt", problems)
    _stability_choice(body, "aspect_ratio", tuple(_RATIO_SIZES), problems)
    _stability_choice(body, "output_format", ("png", "jpeg", "webp"), problems)
    _stability_choice(body, "mode", ("text-to-image", "image-to-image"), problems)
    if body.get("mode") == "image-to-image":
        problems.append("mode: image-to-image requests are not emulated by the Bedrock stand-in")
    seed = body.get("seed", 0)
    if not _is_int(seed) or not 0 <= seed <= _STABILITY_SEED_MAX:
        problems.append(f"seed: must be an integer from 0 to {_STABILITY_SEED_MAX}, not {seed!r}")
    if problems:
        raise BedrockError("ValidationException", "; ".join(problems))
    assert isinstance(prompt, str)
    if seed == 0:  # 0 means "random": the stand-in derives one from the prompt, so that answers repeat
        seed = 1 + int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "big") % _STABILITY_SEED_MAX
    width, height = _RATIO_SIZES[body.get("aspect_ratio", "1:1")]
    return ImageRequest(prompt=prompt, seed=seed, width=width, height=height)


def _stability_string(body: dict[str, Any], key: str, problems: list[str]) -> None:
    value = body.get(key)
    if key in body and (not isinstance(value, str) or not 1 <= len(value) <= 10_000):
        problems.append(f"{key}: must be a string of 1 to 10000 characters")


def _stability_choice(body: dict[str, Any], key: str, choices: tuple[str, ...], problems: list[str]) -> None:
    if key in body and body[key] not in choices:
        problems.append(f"{key}: must be one of {', '.join(choices)}, not {body[key]!r}")


# -- schema checks in Bedrock's words ------------------------------------------------------------------


def _malformed(problems: list[str]) -> str:
    detail = problems[0] if len(problems) == 1 else f"{len(problems)} schema violations found"
    return f"Malformed input request: {detail}, please reformat your input and try again."


def _type(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "BigDecimal"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "JSONArray"
    return "JSONObject"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(value: Any, path: str, problems: list[str]) -> bool:
    if isinstance(value, dict):
        return True
    problems.append(f"{path}: expected type: JSONObject, found: {_type(value)}")
    return False


def _keys(obj: dict[str, Any], path: str, allowed: Sequence[str], required: Sequence[str], problems: list[str]) -> None:
    problems += [f"{path}: required key [{key}] not found" for key in required if key not in obj]
    problems += [f"{path}: extraneous key [{key}] is not permitted" for key in obj if key not in allowed]


def _string(obj: dict[str, Any], key: str, path: str, low: int, high: int, problems: list[str]) -> None:
    if key not in obj:
        return
    value = obj[key]
    if not isinstance(value, str):
        problems.append(f"{path}/{key}: expected type: String, found: {_type(value)}")
    elif len(value) < low:
        problems.append(f"{path}/{key}: expected minLength: {low}, actual: {len(value)}")
    elif len(value) > high:
        problems.append(f"{path}/{key}: expected maxLength: {high}, actual: {len(value)}")


def _integer(obj: dict[str, Any], key: str, path: str, low: int, high: int, problems: list[str]) -> None:
    if key not in obj:
        return
    if not _is_int(obj[key]):
        problems.append(f"{path}/{key}: expected type: Integer, found: {_type(obj[key])}")
    else:
        _range(obj[key], f"{path}/{key}", low, high, problems)


def _number(obj: dict[str, Any], key: str, path: str, low: float, high: float, problems: list[str]) -> None:
    if key not in obj:
        return
    if not isinstance(obj[key], int | float) or isinstance(obj[key], bool):
        problems.append(f"{path}/{key}: expected type: Number, found: {_type(obj[key])}")
    else:
        _range(obj[key], f"{path}/{key}", low, high, problems)


def _range(value: float, path: str, low: float, high: float, problems: list[str]) -> None:
    if value < low:
        problems.append(f"{path}: {value} is not greater or equal to {low}")
    elif value > high:
        problems.append(f"{path}: {value} is not less or equal to {high}")


def _enum(obj: dict[str, Any], key: str, path: str, choices: Sequence[str], problems: list[str]) -> None:
    if key in obj and obj[key] not in choices:
        problems.append(f"{path}/{key}: {obj[key]} is not a valid enum value")
