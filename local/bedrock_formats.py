"""What Bedrock says for image models: the request bodies it accepts and the errors it answers with.

Pure functions, no HTTP and no knobs: :mod:`local.bedrock_standin` puts them on the wire. Each body is checked
against the limits of its model in :mod:`local.bedrock_catalog` (the stand-in's own table, never the core's).
Messages copy Bedrock's own words where they are known (the Amazon models validate against a JSON schema and
report violations as the everit validator words them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from local.bedrock_catalog import Limits

ERROR_STATUS: dict[str, int] = {
    "ValidationException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ConflictException": 409,
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


@dataclass(frozen=True)
class Reply:
    """An answer: its status, its JSON body and error code, or (from a front door, not Bedrock) an HTML page."""

    status: int
    body: dict[str, Any]
    error: str | None = None  # the x-amzn-ErrorType code
    html: str | None = None  # sent as text/html instead of ``body``, with no x-amzn-* headers


class BedrockError(Exception):
    """An error as Bedrock reports it: a code (the exception shape's name), its HTTP status, a message."""

    def __init__(self, code: str, message: str, *, fault: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = ERROR_STATUS[code]
        self.fault = fault  # the stand-in knob that caused it, if one did

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
_AMAZON_DEFAULT_SEED = 42
_AMAZON_CONFIG = ("numberOfImages", "width", "height", "cfgScale", "seed", "quality")


def amazon_request(body: dict[str, Any], limits: Limits) -> ImageRequest:
    """A TEXT_IMAGE body checked against one Amazon model's limits (Nova Canvas: ``limits.styles`` and sizes)."""
    problems: list[str] = []
    _keys(body, "#", ("taskType", "textToImageParams", "imageGenerationConfig"), ("taskType",), problems)
    _enum(body, "taskType", "#", _AMAZON_TASKS, problems)
    params = body.get("textToImageParams")
    if body.get("taskType") == "TEXT_IMAGE" and params is None:
        problems.append("#: required key [textToImageParams] not found")
    if params is not None and _object(params, "#/textToImageParams", problems):
        path = "#/textToImageParams"
        fields = ("text", "negativeText", "style") if limits.styles else ("text", "negativeText")
        _keys(params, path, fields, ("text",), problems)
        _string(params, "text", path, 1, limits.prompt_max, problems)
        _string(params, "negativeText", path, 1, limits.negative_prompt_max, problems)
        if limits.styles:
            _enum(params, "style", path, limits.styles, problems)
    config = body.get("imageGenerationConfig", {})
    if _object(config, "#/imageGenerationConfig", problems):
        path = "#/imageGenerationConfig"
        _keys(config, path, _AMAZON_CONFIG, (), problems)
        _integer(config, "numberOfImages", path, 1, limits.images_max, problems)
        _integer(config, "width", path, 1, 4096, problems)
        _integer(config, "height", path, 1, 4096, problems)
        _number(config, "cfgScale", path, 1.1, 10.0, problems)
        _integer(config, "seed", path, 0, limits.seed_max, problems)
        _enum(config, "quality", path, ("standard", "premium"), problems)
    if problems:
        raise BedrockError("ValidationException", _malformed(problems))
    if body["taskType"] != "TEXT_IMAGE":
        raise BedrockError(
            "ValidationException", f"The Bedrock stand-in only emulates TEXT_IMAGE, not {body['taskType']}."
        )
    width, height = config.get("width", 1024), config.get("height", 1024)
    if (width, height) not in limits.sizes and not (limits.any_size and nova_size_ok(width, height)):
        rule = "Nova Canvas sizes" if limits.any_size else "the sizes Titan Image Generator supports"
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


def nova_size_ok(width: int, height: int) -> bool:
    """Nova Canvas: sides 320-4096 and multiples of 16, an aspect ratio within 1:4..4:1, under 4.19 MP."""
    return (
        320 <= width <= 4096
        and 320 <= height <= 4096
        and width % 16 == 0
        and height % 16 == 0
        and max(width, height) <= 4 * min(width, height)
        and width * height < 4_194_304
    )


# Stability (Stable Image Core and Ultra, SD3.5 Large): text-to-image only.
_STABILITY_FIELDS = ("prompt", "negative_prompt", "aspect_ratio", "seed", "output_format")
_IMAGE_TO_IMAGE_FIELDS = ("image", "strength")


def stability_request(body: dict[str, Any], limits: Limits) -> ImageRequest:
    """A text-to-image body checked against one Stability model's limits (its seeds, formats and modes)."""
    fields = _STABILITY_FIELDS + (("mode",) if limits.modes else ())
    i2i = "image-to-image" in limits.modes
    problems: list[str] = []
    for key in body:
        if i2i and key in _IMAGE_TO_IMAGE_FIELDS:
            problems.append(f"'{key}': image-to-image requests are not emulated by the Bedrock stand-in")
        elif key not in fields:
            problems.append(f"Invalid field '{key}' in request. Available fields are: {', '.join(fields)}")
    prompt = body.get("prompt")
    if "prompt" not in body:
        problems.append("prompt: field required")
    _stability_string(body, "prompt", 1, limits.prompt_max, problems)
    _stability_string(body, "negative_prompt", 0, limits.negative_prompt_max, problems)
    _stability_choice(body, "aspect_ratio", tuple(limits.aspect_ratios), problems)
    _stability_choice(body, "output_format", limits.output_formats, problems)
    if "mode" in fields:
        _stability_choice(body, "mode", limits.modes, problems)
    if body.get("mode") == "image-to-image" and i2i:
        problems.append("mode: image-to-image requests are not emulated by the Bedrock stand-in")
    seed = body.get("seed", 0)
    if not _is_int(seed) or not 0 <= seed <= limits.seed_max:
        problems.append(f"seed: must be an integer from 0 to {limits.seed_max}, not {seed!r}")
    if problems:
        raise BedrockError("ValidationException", "; ".join(problems))
    assert isinstance(prompt, str)
    if seed == 0:  # 0 means "random": the stand-in derives one from the prompt, so that answers repeat
        seed = 1 + int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "big") % limits.seed_max
    width, height = limits.aspect_ratios[body.get("aspect_ratio", "1:1")]
    return ImageRequest(prompt=prompt, seed=seed, width=width, height=height)


def service_request(body: dict[str, Any], model_id: str) -> None:
    """Stable Image Services (inpaint, upscale, ...) edit an input image: without one they refuse the request."""
    required = ("init_image", "style_image") if "style-transfer" in model_id else ("image",)
    missing = [f"{key}: field required" for key in required if not isinstance(body.get(key), str) or not body[key]]
    if missing:
        raise BedrockError("ValidationException", "; ".join(missing))
    raise BedrockError(
        "ValidationException", f"The Bedrock stand-in does not emulate Stable Image Services such as {model_id}."
    )


def prompt_of(body: dict[str, Any]) -> str:
    """The prompt of any family's body, or "" (for the knobs that react to words before validation)."""
    params = body.get("textToImageParams")
    text = params.get("text") if isinstance(params, dict) else body.get("prompt")
    return text if isinstance(text, str) else ""


def _stability_string(body: dict[str, Any], key: str, low: int, high: int, problems: list[str]) -> None:
    value = body.get(key)
    if key in body and (not isinstance(value, str) or not low <= len(value) <= high):
        problems.append(f"{key}: must be a string of {low} to {high} characters")


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
