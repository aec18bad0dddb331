"""The error taxonomy: what went wrong, whose fault it is, and whether trying again can help.

Every error carries a stable ``code`` (part of the API contract), the HTTP status the API answers with, and
``transient``: True when the same request may succeed later (the SQS worker retries it), False when it never
will (the worker dead-letters it at once).

Two texts: ``message`` is for the caller and carries no internals (no endpoint, no upstream exception text,
no stack parameter or console advice): it says what the caller can do. ``detail`` is for the operator and
goes to the logs with the request id (and to a dead letter's attributes); it defaults to ``message``.
What the caller sends back to us is bounded too: ``details`` is capped, and field names are cut short.
"""

from __future__ import annotations

from typing import Any

MESSAGE_MAX_CHARS = 500
DETAILS_MAX = 20
FIELD_MAX_CHARS = 100
DETAIL_MESSAGE_MAX_CHARS = 600


class ImageGenError(Exception):
    code = "internal_error"
    status = 500
    transient = False

    def __init__(
        self,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        detail: str | None = None,
    ) -> None:
        super().__init__(detail or message)
        self.message = _cut(message, MESSAGE_MAX_CHARS)
        self.details = bounded_details(details) if details is not None else None
        self.detail = detail or message

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of an API answer: code, message, and details when there are any."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidJsonError(ImageGenError):
    """The body is missing, is not JSON (or not UTF-8, or nested too deeply), or is not a JSON object."""

    code = "invalid_json"
    status = 400


class BadRequestError(ImageGenError):
    """The event is not one the function can answer (not an API Gateway proxy request)."""

    code = "bad_request"
    status = 400


class NotFoundError(ImageGenError):
    code = "not_found"
    status = 404


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
    """The model failed or cannot be used; ``transient`` tells which (a timeout vs. a retired model)."""

    code = "model_error"
    status = 502

    def __init__(self, message: str, *, transient: bool, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        self.transient = transient


class UpstreamUnavailableError(ImageGenError):
    """Bedrock (or whatever answers at its endpoint) is down or overloaded: not the caller's or the model's fault."""

    code = "service_unavailable"
    status = 503
    transient = True


class StorageError(ImageGenError):
    """S3 refused or failed a write or a listing; usually passing, so worth a retry."""

    code = "internal_error"
    status = 500
    transient = True

    def __init__(self, detail: str) -> None:
        super().__init__("internal error; quote the request_id when reporting it", detail=detail)


def bounded_details(details: list[dict[str, Any]]) -> list[dict[str, str]]:
    """At most DETAILS_MAX entries of short text, whatever the caller sent (say, thousands of unknown fields)."""
    kept = [
        {"field": _cut(str(item.get("field", "body")), FIELD_MAX_CHARS),
         "message": _cut(str(item.get("message", "")), DETAIL_MESSAGE_MAX_CHARS)}
        for item in details[:DETAILS_MAX]
    ]  # fmt: skip
    if len(details) > DETAILS_MAX:
        kept.append({"field": "…", "message": f"and {len(details) - DETAILS_MAX} more problems"})
    return kept


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
