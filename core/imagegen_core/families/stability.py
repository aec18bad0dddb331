"""The Stability AI format: Stable Image Core, Stable Image Ultra, SD3.5 Large (one image per call)."""

from __future__ import annotations

from typing import Any

from imagegen_core.catalog import Size
from imagegen_core.errors import ContentFilteredError, ModelError
from imagegen_core.models import GenerationRequest

# Stability takes an aspect ratio, not a size: each ratio and the size the models make for it.
ASPECT_RATIOS: dict[Size, str] = {
    (1024, 1024): "1:1",
    (1344, 768): "16:9",
    (768, 1344): "9:16",
    (1536, 640): "21:9",
    (640, 1536): "9:21",
    (1216, 832): "3:2",
    (832, 1216): "2:3",
    (1088, 896): "5:4",
    (896, 1088): "4:5",
}


class StabilityFamily:
    name: str = "stability"

    def describe_size(self, size: Size) -> str:
        return f"{size[0]}x{size[1]} ({ASPECT_RATIOS[size]})"

    def build_body(self, request: GenerationRequest, seed: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "aspect_ratio": ASPECT_RATIOS[(request.width, request.height)],
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
