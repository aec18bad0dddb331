"""The Stability AI format: Stable Image Core, Stable Image Ultra, SD3.5 Large (one image per call)."""

from __future__ import annotations

from typing import Any

from imagegen_core.catalog import STABILITY_ASPECT_RATIOS, Size
from imagegen_core.errors import ContentFilteredError, ModelError
from imagegen_core.models import GenerationRequest


class StabilityFamily:
    name: str = "stability"

    def describe_size(self, size: Size) -> str:
        return f"{size[0]}x{size[1]} ({STABILITY_ASPECT_RATIOS[size]})"

    def build_body(self, request: GenerationRequest, seed: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "aspect_ratio": STABILITY_ASPECT_RATIOS[(request.width, request.height)],
            "seed": seed,
            "output_format": "png",
        }
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        return body

    def parse_response(self, body: dict[str, Any]) -> list[str]:
        reasons = [reason for reason in body.get("finish_reasons") or [] if reason]
        filtered = [reason for reason in reasons if reason.startswith("Filter reason")]
        if filtered:
            raise ContentFilteredError(f"the model's content filter blocked the request ({filtered[0]})")
        if reasons:
            raise ModelError(f"the model failed: {reasons[0]}", transient=True)
        images = body.get("images")
        if not images or not all(isinstance(image, str) for image in images):
            raise ModelError("the model answered without images", transient=True)
        return list(images)
