"""InvokeModel, and the translation of Bedrock's exceptions into our error taxonomy."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError
from pydantic_core import from_json

from imagegen_core.catalog import is_inference_profile, spec_for
from imagegen_core.errors import (
    ContentFilteredError,
    ImageGenError,
    ModelError,
    ThrottledError,
    UpstreamUnavailableError,
)

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

_THROTTLING = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}
_MODEL_PASSING = {
    "ModelTimeoutException",
    "ModelErrorException",
    "ModelNotReadyException",  # the model is being loaded: a later attempt (a queue redelivery) succeeds
}
_SERVICE_PASSING = {"ServiceUnavailableException", "InternalServerException", "InternalFailure"}
# Every error Bedrock (and the AWS front door before it) names in x-amzn-ErrorType. Anything else, say a proxy's
# HTML 503 page, is an outage of whatever answers at the endpoint: never the caller's or the model's fault.
_TYPED = (
    _THROTTLING
    | _MODEL_PASSING
    | _SERVICE_PASSING
    | {
        "ValidationException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "ServiceUnavailable",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "UnknownOperationException",
        "ModelStreamErrorException",
    }
)
_UNAVAILABLE_HINTS = ("end of its life", "model identifier is invalid", "marked by provider as legacy")


# Full-jitter exponential backoff between throttled attempts: up to 0.5 s, 1 s, 2 s, ... (capped at 4 s).
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 4.0


def invoke(
    client: BedrockRuntimeClient,
    model_id: str,
    body: dict[str, Any],
    max_attempts: int = 1,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Call the model and return its decoded JSON answer, retrying throttling only.

    Throttling is answered at once, so ``max_attempts`` calls with backoff fit any budget. Timeouts and
    model failures are not retried here (the client makes one attempt): a second slow attempt would not fit
    the API function's timeout, and the queue retries whole messages anyway.
    """
    for attempt in range(1, max_attempts + 1):
        try:
            return _invoke_once(client, model_id, body)
        except ThrottledError:
            if attempt == max_attempts:
                raise
            sleep(random.uniform(0, backoff_ceiling(attempt)))
    raise AssertionError("unreachable: the last attempt returns or raises")


def backoff_ceiling(attempt: int) -> float:
    """The longest wait after the ``attempt``-th throttled call (the wait is uniform below it)."""
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))


def _invoke_once(client: BedrockRuntimeClient, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    region = client.meta.region_name
    try:
        response = client.invoke_model(
            modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
        )
        payload = response["body"].read()
    except ClientError as exc:
        raise error_from(exc, model_id, region) from exc
    except ReadTimeoutError as exc:
        raise ModelError(
            "the image model did not answer in time; try again later",
            transient=True,
            detail=f"{model_id} in {region} did not answer in time ({exc})",
        ) from exc
    except (ConnectionError, BotoCoreError) as exc:
        raise UpstreamUnavailableError(
            "the image service is unavailable; try again later",
            detail=f"calling {model_id} in {region} failed: {exc}",
        ) from exc
    try:
        # pydantic-core's parser (already in the layer) reads an answer of a few MB of base64 about ten times
        # faster than json.loads: ~0.1 ms instead of ~1.2 ms per 1024x1024 image (docs/performance.md).
        decoded = from_json(payload)
    except ValueError:
        decoded = None
    if not isinstance(decoded, dict):
        raise ModelError(
            "the image model's answer could not be read; try again later",
            transient=True,
            detail=f"{model_id} answered with a body that is not a JSON object: {payload[:200]!r}",
        )
    return decoded


def error_from(exc: ClientError, model_id: str, region: str) -> ImageGenError:
    """Bedrock's error as ours: a client-safe message for the caller, Bedrock's words for the operator."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "") or exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    detail = f"{model_id} in {region}: {code or status}: {message.rstrip('.')}"
    lowered = message.lower()
    if code in _THROTTLING or (code not in _TYPED and status == 429):
        return ThrottledError("the image model is busy; retry later", detail=detail)
    if code in _SERVICE_PASSING or code not in _TYPED:
        return UpstreamUnavailableError("the image service is unavailable; try again later", detail=detail)
    if code in _MODEL_PASSING:
        return ModelError("the image model failed to answer; try again later", transient=True, detail=detail)
    if "content filter" in lowered or "blocked by our content" in lowered:
        return ContentFilteredError(
            "the model's content filter blocked the request; rephrase the prompt", detail=detail
        )
    if code == "AccessDeniedException":
        marketplace = (
            " (AWS Marketplace subscription: run `make preflight CANARY=1` once)" if "marketplace" in lowered else ""
        )
        return ModelError(
            f"the service may not use its image model {model_id}; its operator must grant access",
            transient=False,
            detail=f"{detail}{marketplace}. {_how_to_change(region)}",
        )
    if code == "ResourceNotFoundException" or any(hint in lowered for hint in _UNAVAILABLE_HINTS):
        return ModelError(
            f"the service's image model {model_id} is not available{_why_unavailable(model_id, region)}; "
            "its operator must choose another model",
            transient=False,
            detail=f"{detail}. {_how_to_change(region)}",
        )
    return ModelError("the image model rejected the request", transient=False, detail=detail)


def _why_unavailable(model_id: str, region: str) -> str:
    """What the catalog knows: a retirement date, or the regions that offer the model."""
    try:
        spec = spec_for(model_id)
    except ValueError:
        return ""
    end_of_life = spec.lifecycle.end_of_life
    if end_of_life is not None and end_of_life <= datetime.now(UTC).date():
        return f": it reached its end of life on Bedrock on {end_of_life.isoformat()}"
    if spec.regions and region not in spec.regions and not is_inference_profile(model_id):
        return f" in {region} (it is offered in {', '.join(spec.regions)})"
    return ""


def _how_to_change(region: str) -> str:
    return (
        "Operator: choose a live model with the ModelId and BedrockRegion stack parameters (make preflight checks "
        f"one; README: Choosing a model) or the MODEL_ID variable, and check model access in Bedrock in {region}."
    )
