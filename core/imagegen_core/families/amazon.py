"""The Amazon TEXT_IMAGE format: Titan Image Generator v1/v2 and Nova Canvas (all past end of life on Bedrock)."""

from __future__ import annotations

from typing import Any

from imagegen_core.catalog import Size
from imagegen_core.errors import ContentFilteredError, ModelError
from imagegen_core.models import GenerationRequest


class AmazonImageFamily:
    name: str = "amazon"

    def describe_size(self, size: Size) -> str:
        return f"{size[0]}x{size[1]}"

    def build_body(self, request: GenerationRequest, seed: int) -> dict[str, Any]:
        text_params: dict[str, Any] = {"text": request.prompt}
        if request.negative_prompt:
            text_params["negativeText"] = request.negative_prompt
        return {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": text_params,
            "imageGenerationConfig": {
                "numberOfImages": request.number_of_images,
                "width": request.width,
                "height": request.height,
                "cfgScale": request.cfg_scale,
                "seed": seed,
                "quality": request.quality,
            },
        }

    def parse_response(self, body: dict[str, Any]) -> list[str]:
        if body.get("error"):
            raise ContentFilteredError(f"the model refused the request: {body['error']}")
        images = body.get("images")
        if not images or not all(isinstance(image, str) for image in images):
            raise ModelError("the model answered without images", transient=True)
        return list(images)
