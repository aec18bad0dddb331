"""InvokeModel, and the translation of Bedrock's exceptions into our error taxonomy."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError
from pydantic_core import from_json

from imagegen_core.errors import ContentFilteredError, ImageGenError, ModelError, ThrottledError

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

_THROTTLING = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}
_PASSING = {
    "ModelTimeoutException",
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelErrorException",
    "ModelNotReadyException",  # the model is being loaded: a later attempt (a queue redelivery) succeeds
}
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
    try:
        response = client.invoke_model(
            modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
        )
        payload = response["body"].read()
    except ClientError as exc:
        raise error_from(exc, model_id, client.meta.region_name) from exc
    except (ReadTimeoutError, ConnectionError) as exc:
        raise ModelError(f"model {model_id} did not answer in time ({exc})", transient=True) from exc
    except BotoCoreError as exc:
        raise ModelError(f"calling model {model_id} failed: {exc}", transient=True) from exc
    try:
        # pydantic-core's parser (already in the layer) reads an answer of a few MB of base64 about ten times
        # faster than json.loads: ~0.1 ms instead of ~1.2 ms per 1024x1024 image (docs/performance.md).
        decoded = from_json(payload)
    except ValueError as exc:
        raise ModelError(f"model {model_id} answered with a body that is not JSON", transient=True) from exc
    if not isinstance(decoded, dict):
        raise ModelError(f"model {model_id} answered with an unexpected body", transient=True)
    return decoded


def error_from(exc: ClientError, model_id: str, region: str) -> ImageGenError:
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", "") or str(exc)
    lowered = message.lower()
    if code in _THROTTLING:
        return ThrottledError(f"Bedrock is throttling requests to {model_id}; try again later")
    if code in _PASSING:
        return ModelError(f"model {model_id} failed ({code}): {message}", transient=True)
    if "content filter" in lowered or "blocked by our content" in lowered:
        return ContentFilteredError(f"the model's content filter blocked the request: {message}")
    if code == "AccessDeniedException":
        reason = f"access to model {model_id} in {region} is denied"
    elif code == "ResourceNotFoundException" or any(hint in lowered for hint in _UNAVAILABLE_HINTS):
        reason = f"model {model_id} is not available in {region} (unknown id, legacy or past end of life)"
    else:
        reason = f"model {model_id} rejected the request ({code})"
    return ModelError(f"{reason}: {message.rstrip('.')}. {_how_to_change(region)}", transient=False)


def _how_to_change(region: str) -> str:
    return (
        "Choose another model with the ModelId stack parameter or the MODEL_ID variable "
        f"(e.g. stability.stable-image-core-v1:1 in us-west-2) and check model access in the "
        f"Bedrock console of {region}."
    )
