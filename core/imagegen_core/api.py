"""The HTTP API: its routes, how a request body is read, and how every failure becomes a bounded JSON answer.

``handle`` is the whole API function; ``generate_image/app.py`` only decorates it. Every answer is JSON:
``{"error": {"code", "message", "details"?}, "request_id"}`` for errors, never a stack trace, never a 5xx for
the caller's fault, and never larger than a few KB whatever the input (errors.bounded_details).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from imagegen_core.config import get_settings
from imagegen_core.errors import (
    BadRequestError,
    ImageGenError,
    InvalidJsonError,
    ThrottledError,
    UpstreamUnavailableError,
)
from imagegen_core.models import decode_json, parse_request
from imagegen_core.observability import count_failure, logger, prompt_hash
from imagegen_core.service import default_service

INTERNAL_ERROR = "internal error; quote the request_id when reporting it"
PATH_MAX_CHARS = 200

app = APIGatewayRestResolver()


def handle(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Answer one API Gateway proxy event; anything else (a direct invoke, an empty event) gets a JSON 400."""
    if not _is_proxy_event(event):
        error = BadRequestError("this function answers API Gateway REST proxy requests only")
        count_failure(error.code)
        logger.warning("not an API Gateway proxy event", extra={"event_type": type(event).__name__})
        body = json.dumps({"error": error.to_dict(), "request_id": getattr(context, "aws_request_id", None)})
        return {"statusCode": 400, "headers": {"Content-Type": "application/json"}, "body": body}
    return app.resolve(event, context)


@app.post("/generate-image")
def generate_image() -> dict[str, Any]:
    request = parse_request(json_body(app.current_event.raw_event))
    service = default_service()
    request_id = app.current_event.request_context.request_id
    logger.info(
        "generating",
        extra={
            "model_id": service.settings.model_id,
            "prompt_sha256": prompt_hash(request.prompt),
            "prompt_chars": len(request.prompt),
            "number_of_images": request.number_of_images,
        },
    )
    logger.debug("prompt", extra={"prompt": request.prompt})
    result = service.generate(request, job_id=f"api/{request_id}", request_id=request_id)
    return {
        "request_id": request_id,
        "model_id": result.model_id,
        "seed": result.seed,
        "images": [
            {
                "bucket": image.bucket,
                "key": image.key,
                "s3_uri": image.s3_uri,
                "url": service.store.presigned_url(image.key),
                "width": image.width,
                "height": image.height,
            }
            for image in result.images
        ],
    }


def json_body(event: dict[str, Any]) -> Any:
    """The request body as JSON: base64 when API Gateway says so, UTF-8, bounded nesting; else invalid_json."""
    body = event.get("body")
    if body is None or (isinstance(body, str) and not body.strip()):
        raise InvalidJsonError('request body is missing; send a JSON object such as {"prompt": "a cat"}')
    if not isinstance(body, str):
        raise InvalidJsonError("request body is not text")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidJsonError("request body is flagged base64 but does not decode") from None
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJsonError("request body is not UTF-8 text") from None
    return decode_json(body, what="request body")


@app.exception_handler(ImageGenError)
def on_known_error(error: ImageGenError) -> Response:
    count_failure(error.code)
    if error.status >= 500 and error.code == "internal_error":  # S3 failures: the detail is for the logs only
        logger.error("request failed", extra={"code": error.code, "reason": error.detail})
    else:
        logger.warning("request failed", extra={"code": error.code, "reason": error.detail})
    headers = {}
    if isinstance(error, ThrottledError | UpstreamUnavailableError):
        headers["Retry-After"] = str(error.retry_after or get_settings().retry_after_seconds)
    return error_response(error.status, error.to_dict(), headers)


@app.exception_handler(Exception)
def on_unexpected_error(error: Exception) -> Response:
    count_failure("internal_error")
    logger.exception("unexpected error")
    return error_response(500, {"code": "internal_error", "message": INTERNAL_ERROR})


@app.not_found
def on_not_found(_: Exception) -> Response:
    event = app.current_event
    route = f"{event.http_method} {event.path}"[:PATH_MAX_CHARS]
    return error_response(404, {"code": "not_found", "message": f"no route for {route}; use POST /generate-image"})


def error_response(status: int, error: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    body = {"error": error, "request_id": app.current_event.request_context.request_id}
    return Response(status_code=status, content_type="application/json", body=json.dumps(body), headers=headers)


def _is_proxy_event(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and isinstance(event.get("httpMethod"), str)
        and isinstance(event.get("path"), str)
        and isinstance(event.get("requestContext"), dict)
    )
