"""The Stability AI format: SD3.5 Large, Stable Image Core and Ultra (one image per call)."""

from __future__ import annotations

from typing import Any

from imagegen_core.errors import ContentFilteredError, ModelError
from imagegen_core.models import GenerationRequest

# Stability models take an aspect ratio, not a size; these are the ~1 megapixel sizes they produce.
ASPECT_RATIOS: dict[tuple[int, int], str] = {
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
_AMAZON_ONLY = ("cfg_scale", "quality")


class StabilityFamily:
    name: str = "stability"
    model_prefixes: tuple[str, ...] = ("stability.",)

    def check(self, request: GenerationRequest) -> list[dict[str, str]]:
        problems = []
        if (request.width, request.height) not in ASPECT_RATIOS:
            sizes = ", ".join(f"{w}x{h} ({ratio})" for (w, h), ratio in ASPECT_RATIOS.items())
            message = f"{request.width}x{request.height} is not a supported size; use one of {sizes}"
            problems += [{"field": "width", "message": message}, {"field": "height", "message": message}]
        if request.number_of_images != 1:
            problems.append({"field": "number_of_images", "message": "Stability models make 1 image per request"})
        for field in _AMAZON_ONLY:
            if field in request.model_fields_set:
                problems.append({"field": field, "message": "not supported by Stability models"})
        return problems

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
