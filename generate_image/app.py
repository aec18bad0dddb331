"""POST /generate-image: translate the API Gateway event, call the core, answer JSON."""

from __future__ import annotations

from imagegen_core.startup import imports_without_gc

with imports_without_gc():
    import json
    from typing import Any

    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from imagegen_core.errors import ImageGenError, InvalidJsonError, ThrottledError
    from imagegen_core.models import parse_request
    from imagegen_core.observability import count_failure, logger, metrics, prompt_hash, tracer
    from imagegen_core.service import default_service
    from imagegen_core.throttling import current_streak, retry_after

app = APIGatewayRestResolver()


@app.post("/generate-image")
def generate_image() -> dict[str, Any]:
    request = parse_request(_json_body(app.current_event.decoded_body))
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


@app.exception_handler(ImageGenError)
def on_known_error(error: ImageGenError) -> Response:
    if error.code == "internal_error":  # e.g. S3 failures: the caller gets no internals, the logs get all
        return on_unexpected_error(error)
    count_failure(error.code)
    logger.warning("request failed", extra={"code": error.code, "reason": error.message})
    headers = {}
    if isinstance(error, ThrottledError):
        headers["Retry-After"] = str(retry_after(current_streak(), default_service().settings.retry_after_seconds))
    return _error_response(error.status, error.to_dict(), headers)


@app.exception_handler(Exception)
def on_unexpected_error(error: Exception) -> Response:
    count_failure("internal_error")
    logger.exception("unexpected error")
    message = "internal error; quote the request_id when reporting it"
    return _error_response(500, {"code": "internal_error", "message": message})


@app.not_found
def on_not_found(_: Exception) -> Response:
    message = f"no route for {app.current_event.http_method} {app.current_event.path}; use POST /generate-image"
    return _error_response(404, {"code": "not_found", "message": message})


def _json_body(body: str | None) -> Any:
    if not body or not body.strip():
        raise InvalidJsonError('request body is missing; send a JSON object such as {"prompt": "a cat"}')
    try:
        return json.loads(body)
    except ValueError as exc:
        raise InvalidJsonError(f"request body is not valid JSON: {exc}") from None


def _error_response(status: int, error: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    body = {"error": error, "request_id": app.current_event.request_context.request_id}
    return Response(status_code=status, content_type="application/json", body=json.dumps(body), headers=headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
