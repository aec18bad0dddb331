"""What the Bedrock stand-in's tests share: model ids, request bodies, botocore clients and their errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import ListShape, Shape, StructureShape

from local.png import PngImage, read_png

TITAN = "amazon.titan-image-generator-v1"
TITAN_V2 = "amazon.titan-image-generator-v2:0"
NOVA = "amazon.nova-canvas-v1:0"
CORE = "stability.stable-image-core-v1:1"
ULTRA = "stability.stable-image-ultra-v1:1"
SD35 = "stability.sd3-5-large-v1:0"
INPAINT = "stability.stable-image-inpaint-v1:0"
INPAINT_PROFILE = f"us.{INPAINT}"
DEPLOYER = "AKIADEPLOYER"  # an access key id that the fresh_account fixture lets aws-marketplace:Subscribe
FUNCTION = "AKIAFUNCTIONROLE"  # one that may not, like the functions' roles
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


def runtime_client(region: str = STABILITY_REGION, access_key: str | None = None, **config: Any) -> Any:
    """A bedrock-runtime client signing for ``region`` (as ``access_key``, if given), no retries;
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME leads it."""
    return boto3.client(
        "bedrock-runtime",
        region_name=region,
        config=Config(retries={"total_max_attempts": 1}, **config),
        aws_access_key_id=access_key,
        aws_secret_access_key=_secret(access_key),
    )


def control_client(region: str = STABILITY_REGION, access_key: str | None = None) -> Any:
    """A bedrock (control plane) client signing for ``region`` (as ``access_key``, if given), no retries;
    AWS_ENDPOINT_URL_BEDROCK leads it."""
    return boto3.client(
        "bedrock",
        region_name=region,
        config=Config(retries={"total_max_attempts": 1}),
        aws_access_key_id=access_key,
        aws_secret_access_key=_secret(access_key),
    )


def _secret(access_key: str | None) -> str | None:
    """The stand-in reads who asks from the credential's access key id and never checks the secret; None (no
    access key given) leaves boto3's usual credentials."""
    return "any-secret" if access_key else None


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


CONTROL_PLANE = botocore.session.get_session().get_service_model("bedrock")


def output_shape(operation: str) -> Shape:
    """The output shape of a ``bedrock`` (control plane) operation in botocore's service model."""
    shape = CONTROL_PLANE.operation_model(operation).output_shape
    assert shape is not None
    return shape


def problems(shape: Shape, value: Any, path: str = "$") -> list[str]:
    """Where ``value`` (a raw JSON answer) departs from ``shape``: unknown or missing members, wrong types."""
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        found = [f"{path}.{name}: not a member of {shape.name}" for name in value if name not in shape.members]
        found += [f"{path}.{name}: required" for name in shape.required_members if name not in value]
        for name, member in value.items():
            if name in shape.members:
                found += problems(shape.members[name], member, f"{path}.{name}")
        return found
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [
            problem for index, item in enumerate(value) for problem in problems(shape.member, item, f"{path}[{index}]")
        ]
    expected = {"string": str, "boolean": bool, "timestamp": str, "integer": int}.get(shape.type_name, object)
    return [] if isinstance(value, expected) else [f"{path}: expected {shape.type_name}, got {value!r}"]
