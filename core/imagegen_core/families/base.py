"""What every model family provides."""

from __future__ import annotations

from typing import Any, Protocol

from imagegen_core.models import GenerationRequest


class ModelFamily(Protocol):
    name: str
    model_prefixes: tuple[str, ...]

    def check(self, request: GenerationRequest) -> list[dict[str, str]]:
        """Family-specific rule violations, one ``{"field", "message"}`` each; empty when valid."""
        ...

    def build_body(self, request: GenerationRequest, seed: int) -> dict[str, Any]:
        """The InvokeModel JSON body."""
        ...

    def parse_response(self, body: dict[str, Any]) -> list[str]:
        """The base64 images of a response; raises ContentFilteredError or ModelError."""
        ...
