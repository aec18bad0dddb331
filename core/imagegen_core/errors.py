"""The error taxonomy: what went wrong, whose fault it is, and whether trying again can help.

Every error carries a stable ``code`` (part of the API contract), the HTTP status the API answers
with, and ``transient``: True when the same request may succeed later (the SQS worker retries it),
False when it never will (the worker dead-letters it at once).
"""

from __future__ import annotations

from typing import Any


class ImageGenError(Exception):
    code = "internal_error"
    status = 500
    transient = False

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidJsonError(ImageGenError):
    """The body is missing, is not JSON, or is not a JSON object."""

    code = "invalid_json"
    status = 400


class RequestValidationError(ImageGenError):
    """A field breaks a rule; ``details`` lists each field and why."""

    code = "validation_error"
    status = 422


class ContentFilteredError(ImageGenError):
    """Bedrock's moderation blocked the prompt or the generated image."""

    code = "content_filtered"
    status = 422


class ThrottledError(ImageGenError):
    """Bedrock still throttles after the client's bounded retries."""

    code = "throttled"
    status = 429
    transient = True


class ModelError(ImageGenError):
    """The model failed or cannot be used; ``transient`` tells which (timeout vs. access denied)."""

    code = "model_error"
    status = 502

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class StorageError(ImageGenError):
    """S3 refused or failed a write or a listing; usually passing, so worth a retry."""

    code = "internal_error"
    status = 500
    transient = True
