"""What every model family provides, and the checks of a request against a model's limits."""

from __future__ import annotations

from typing import Any, Protocol

from imagegen_core.catalog import ModelSpec, Size
from imagegen_core.models import GenerationRequest

Problem = dict[str, str]


class ModelFamily(Protocol):
    name: str

    def describe_size(self, size: Size) -> str:
        """How a supported size is named in an error message (Stability adds its aspect ratio)."""
        ...

    def build_body(self, request: GenerationRequest, seed: int) -> dict[str, Any]:
        """The InvokeModel JSON body."""
        ...

    def parse_response(self, body: dict[str, Any]) -> list[str]:
        """The base64 images of a response; raises ContentFilteredError or ModelError."""
        ...


def limit_problems(request: GenerationRequest, spec: ModelSpec, family: ModelFamily) -> list[Problem]:
    """The rules of ``spec``'s limits that ``request`` breaks, one ``{"field", "message"}`` each."""
    limits, model = spec.limits, spec.model_id
    problems: list[Problem] = []
    for field, value, most in (
        ("prompt", request.prompt, limits.prompt_max_chars),
        ("negative_prompt", request.negative_prompt, limits.negative_prompt_max_chars),
    ):
        if value is not None and len(value) > most:
            problems.append({"field": field, "message": f"at most {most} characters for {model}, not {len(value)}"})
    if (request.width, request.height) not in limits.sizes:
        sizes = ", ".join(family.describe_size(size) for size in limits.sizes)
        message = f"{request.width}x{request.height} is not a supported size; use one of {sizes}"
        problems += [{"field": "width", "message": message}, {"field": "height", "message": message}]
    if request.number_of_images > limits.max_images:
        many = "1 image" if limits.max_images == 1 else f"at most {limits.max_images} images"
        problems.append({"field": "number_of_images", "message": f"{spec.name} makes {many} per request"})
    if request.seed is not None and request.seed > limits.seed_max:
        problems.append({"field": "seed", "message": f"must be between 0 and {limits.seed_max} for {model}"})
    for field in sorted(request.model_fields_set - limits.options):
        if field in OPTIONAL_FIELDS:
            problems.append({"field": field, "message": f"not supported by {spec.name}"})
    return problems


# Fields some formats take and others do not (the rest are common to every family).
OPTIONAL_FIELDS = frozenset({"cfg_scale", "quality"})
