"""The Amazon TEXT_IMAGE format: Titan Image Generator v1/v2 and Nova Canvas."""

from __future__ import annotations

from typing import Any

from imagegen_core.errors import ContentFilteredError, ModelError
from imagegen_core.models import GenerationRequest

# The sizes Titan Image Generator accepts (Nova Canvas accepts these and more).
SIZES: frozenset[tuple[int, int]] = frozenset(
    {
        (1024, 1024), (768, 768), (512, 512),
        (768, 1152), (384, 576), (1152, 768), (576, 384),
        (768, 1280), (384, 640), (1280, 768), (640, 384),
        (896, 1152), (448, 576), (1152, 896), (576, 448),
        (768, 1408), (384, 704), (1408, 768), (704, 384),
        (640, 1408), (320, 704), (1408, 640), (704, 320),
        (1152, 640), (1173, 640),
    }
)  # fmt: skip


class AmazonImageFamily:
    name: str = "amazon"
    model_prefixes: tuple[str, ...] = ("amazon.titan-image-generator", "amazon.nova-canvas")

    def check(self, request: GenerationRequest) -> list[dict[str, str]]:
        if (request.width, request.height) in SIZES:
            return []
        sizes = ", ".join(f"{w}x{h}" for w, h in sorted(SIZES))
        message = f"{request.width}x{request.height} is not a supported size; use one of {sizes}"
        return [{"field": "width", "message": message}, {"field": "height", "message": message}]

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
