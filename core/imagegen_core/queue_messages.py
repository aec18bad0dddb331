"""The queue's side of the contract: how an SQS message is read, where its images go, and how a dead letter
explains itself. Pure functions; the rules are in docs/architecture.md ("Queue messages")."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from imagegen_core.errors import ImageGenError, InvalidJsonError, RequestValidationError
from imagegen_core.models import GenerationRequest, decode_json, parse_request

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

ERROR_MESSAGE_MAX_CHARS = 1000
SQS_MESSAGE_MAX_BYTES = 262_144  # a queue's default MaximumMessageSize: body and attributes together
# Characters SQS accepts in a body or a string attribute; anything else is replaced. Compiled (and cached by
# ``re``) on the first dead letter, not at import: this class of ranges takes ~3 ms to compile at cold start.
_NOT_ALLOWED_BY_SQS = "[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
_NOT_JSON = object()


def request_for(body: str, message_id: str, seed_max: int) -> GenerationRequest:
    """The request a message body carries, with a seed derived from ``message_id`` when it gives none
    (in 1..``seed_max``, the configured model's range: Stability reads a seed of 0 as "random")."""
    request = parse_body(body)
    if request.seed is None:
        request = request.model_copy(update={"seed": derived_seed(message_id, seed_max)})
    return request


def parse_body(body: str) -> GenerationRequest:
    """Read a message body as plain text or JSON (rules in the module docstring); raises our errors."""
    text = body.strip()
    if not text:
        raise RequestValidationError(
            'message body is empty; send a prompt as plain text or a JSON object such as {"prompt": "a cat"}',
            [{"field": "prompt", "message": "field required"}],
        )
    if text[0] == "{":
        return parse_request(decode_json(text, what="message body (it starts with '{')"))
    decoded = _json_or_nothing(text) if text[0] in '"[' else _NOT_JSON
    if isinstance(decoded, str):
        return parse_request({"prompt": decoded})
    if isinstance(decoded, list):
        return parse_request(decoded)  # invalid_json: "must be a JSON object, not an array"
    return parse_request({"prompt": text})


def derived_seed(message_id: str, seed_max: int) -> int:
    """A seed in [1, seed_max] that depends only on the message id (SHA-256, so evenly spread)."""
    digest = hashlib.sha256(message_id.encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % seed_max


def job_id_for(message_id: str) -> str:
    """The job under which a message's images are stored: ``<prefix>/sqs/<message id>/``."""
    return f"sqs/{message_id}"


def dead_letter_attributes(
    error: ImageGenError,
    *,
    original_message_id: str,
    model_id: str,
    receive_count: int,
    failed_at: datetime,
) -> dict[str, MessageAttributeValueTypeDef]:
    """The attributes that explain a dead letter: ``error_code`` and ``error_message`` above all."""
    values = {
        "error_code": ("String", error.code),
        "error_message": ("String", error_text(error)),
        "original_message_id": ("String", original_message_id),
        "model_id": ("String", model_id),
        "receive_count": ("Number", str(receive_count)),
        "failed_at": ("String", failed_at.astimezone(UTC).isoformat(timespec="seconds")),
    }
    return {name: {"DataType": kind, "StringValue": value} for name, (kind, value) in values.items()}


def fit_dead_letter(
    body: str, attributes: dict[str, MessageAttributeValueTypeDef], limit: int = SQS_MESSAGE_MAX_BYTES
) -> dict[str, MessageAttributeValueTypeDef]:
    """``attributes`` with ``error_message`` shortened so that the dead letter (body + attributes) fits SQS's
    message size: a message as large as the queue allows must still reach the DLQ with its reason."""

    def size(values: dict[str, MessageAttributeValueTypeDef]) -> int:
        return len(body.encode()) + sum(
            len(name.encode()) + len(value["DataType"].encode()) + len(str(value.get("StringValue", "")).encode())
            for name, value in values.items()
        )

    room = limit - size({**attributes, "error_message": {"DataType": "String", "StringValue": ""}})
    text = str(attributes["error_message"].get("StringValue", ""))
    if len(text.encode()) <= room:
        return attributes
    cut = text.encode()[: max(room - 3, 0)].decode(errors="ignore")
    return {**attributes, "error_message": {"DataType": "String", "StringValue": (cut + "…") if room > 3 else "…"}}


def error_text(error: ImageGenError) -> str:
    """The operator's account of the error followed by each field at fault, SQS-safe and bounded."""
    text = error.detail
    if error.details:
        text += " (" + "; ".join(f"{d.get('field', '?')}: {d.get('message', '')}" for d in error.details) + ")"
    text = re.sub(_NOT_ALLOWED_BY_SQS, "?", text) or error.code
    if len(text) > ERROR_MESSAGE_MAX_CHARS:
        text = text[: ERROR_MESSAGE_MAX_CHARS - 1] + "…"
    return text


def _json_or_nothing(text: str) -> Any:
    try:
        return decode_json(text, what="message body")
    except InvalidJsonError:
        return _NOT_JSON
