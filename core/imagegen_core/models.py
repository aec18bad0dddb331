"""The request model shared by the HTTP API and the queue.

Its bounds are the widest any model family allows (``imagegen_core.catalog``), so that nothing unbounded
gets further; the configured model's own limits are checked next (``ImageService.validate``).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from imagegen_core.catalog import MAX_IMAGES, PROMPT_MAX_CHARS, SEED_MAX
from imagegen_core.errors import InvalidJsonError, RequestValidationError

__all__ = ["MAX_IMAGES", "PROMPT_MAX_CHARS", "SEED_MAX", "GenerationRequest", "decode_json", "parse_request"]

DEFAULT_SIZE = 1024


class GenerationRequest(BaseModel):
    """What a caller asks for. Each model's own limits (sizes, counts, lengths) live in ``catalog``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    prompt: str = Field(min_length=1, max_length=PROMPT_MAX_CHARS)
    negative_prompt: str | None = Field(default=None, min_length=1, max_length=PROMPT_MAX_CHARS)
    width: int = DEFAULT_SIZE
    height: int = DEFAULT_SIZE
    number_of_images: int = Field(default=1, ge=1, le=MAX_IMAGES)
    cfg_scale: float = Field(default=8.0, ge=1.1, le=10.0)
    seed: int | None = Field(default=None, ge=0, le=SEED_MAX)
    quality: Literal["standard", "premium"] = "standard"

    @field_validator("prompt", "negative_prompt", mode="before")
    @classmethod
    def _trim(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


def decode_json(text: str, *, what: str) -> Any:
    """JSON text as Python values, or InvalidJsonError naming ``what``: not JSON, NaN/Infinity (not JSON either),
    numbers too long to convert, or nesting too deep for the parser."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise InvalidJsonError(f"{what} is nested too deeply to be a request") from None
    except ValueError as exc:
        raise InvalidJsonError(f"{what} is not valid JSON: {str(exc)[:200]}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def parse_request(payload: Any) -> GenerationRequest:
    """Validate a decoded JSON payload; errors list every field at fault."""
    if not isinstance(payload, dict):
        raise InvalidJsonError(f"request body must be a JSON object, not {_json_type(payload)}")
    try:
        return GenerationRequest.model_validate(payload)
    except ValidationError as exc:
        details = [_detail(error) for error in exc.errors(include_url=False)]
        fields = ", ".join(sorted({d["field"] for d in details}))
        raise RequestValidationError(f"invalid request: check {fields}", details) from None


def _detail(error: Any) -> dict[str, str]:
    field = ".".join(str(part) for part in error["loc"]) or "body"
    if error["type"] == "extra_forbidden":
        return {"field": field, "message": "unknown field"}
    if error["type"] == "missing":
        return {"field": field, "message": "field required"}
    return {"field": field, "message": error["msg"]}


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
