"""What the Bedrock stand-in's tests share: model ids, request bodies, botocore clients and their errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.png import PngImage, read_png

TITAN = "amazon.titan-image-generator-v1"
TITAN_V2 = "amazon.titan-image-generator-v2:0"
NOVA = "amazon.nova-canvas-v1:0"
CORE = "stability.stable-image-core-v1:1"
ULTRA = "stability.stable-image-ultra-v1:1"
SD35 = "stability.sd3-5-large-v1:0"
INPAINT = "stability.stable-image-inpaint-v1:0"
INPAINT_PROFILE = f"us.{INPAINT}"
STABILITY_REGION = "us-west-2"  # where the Stability models answer on demand
AMAZON_REGION = "us-east-1"  # where Titan and Nova Canvas answered
END_OF_LIFE = (
    "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
)
INVALID_MODEL = "The provided model identifier is invalid."
MALFORMED = "Malformed input request, please reformat your input and try again."


def titan(text: str = "a lighthouse at dusk", params: dict[str, Any] | None = None, **config: Any) -> dict[str, Any]:
    """An Amazon TEXT_IMAGE body (Titan, Nova Canvas), 512x512 with seed 7 unless ``config`` says otherwise."""
    return {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": text, **(params or {})},
        "imageGenerationConfig": {"width": 512, "height": 512, "seed": 7, **config},
    }


def stability(prompt: str = "a lighthouse at dusk", **fields: Any) -> dict[str, Any]:
    """A Stability text-to-image body, seed 7 unless ``fields`` says otherwise."""
    return {"prompt": prompt, "seed": 7, **fields}


def encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def runtime_client(region: str = STABILITY_REGION, **config: Any) -> Any:
    """A bedrock-runtime client signing for ``region``, no retries; AWS_ENDPOINT_URL_BEDROCK_RUNTIME leads it."""
    return boto3.client(
        "bedrock-runtime", region_name=region, config=Config(retries={"total_max_attempts": 1}, **config)
    )


def control_client(region: str = STABILITY_REGION) -> Any:
    """A bedrock (control plane) client signing for ``region``, no retries; AWS_ENDPOINT_URL_BEDROCK leads it."""
    return boto3.client("bedrock", region_name=region, config=Config(retries={"total_max_attempts": 1}))


def invoke(client: Any, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """InvokeModel as the core calls it; the decoded JSON answer."""
    response = client.invoke_model(
        modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json"
    )
    decoded: dict[str, Any] = json.loads(response["body"].read())
    return decoded


def png_of(b64: str) -> PngImage:
    return read_png(base64.b64decode(b64))


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    """The code, HTTP status and message of a ClientError."""
    response: Any = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]
