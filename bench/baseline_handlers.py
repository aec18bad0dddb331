"""The naive baseline for the cold-start benchmark: both functions written the way a first draft would be.

Plain boto3 with its clients created at import, ``json``, no Powertools, no pydantic, no validation, no
error taxonomy, no logs, metrics or traces. It does the same work as our handlers for the same events and
the same stand-ins: parse the event, (for the queue) record the job as running, InvokeModel (Titan's body),
base64-decode each image, PutObject it, record the job as succeeded and put its event on EventBridge and, for
the API, presign a GET URL per image. It is run from the ``bench/`` directory as a top-level
module, so importing it costs nothing but its own imports. Not for production.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import boto3

s3 = boto3.client("s3")
dynamodb = boto3.client("dynamodb")
events = boto3.client("events")
bedrock = boto3.client("bedrock-runtime", region_name=os.environ.get("BEDROCK_REGION", "us-east-1"))
BUCKET = os.environ["BUCKET_NAME"]
TABLE = os.environ["JOBS_TABLE"]
MODEL_ID = os.environ.get("MODEL_ID", "amazon.titan-image-generator-v1")
PREFIX = os.environ.get("IMAGE_PREFIX", "images")


def api_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = json.loads(event["body"])
    request_id = event["requestContext"]["requestId"]
    keys = _generate(request, f"api/{request_id}", "api")  # a caller waiting: one record, at the end
    urls = [
        s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600) for key in keys
    ]
    body = {"request_id": request_id, "images": [{"key": key, "url": url} for key, url in zip(keys, urls, strict=True)]}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def sqs_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        body = record["body"]
        request = json.loads(body) if body.startswith("{") else {"prompt": body}
        try:
            _generate(request, f"sqs/{record['messageId']}", "queue")
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def _generate(request: dict[str, Any], job_id: str, source: str) -> list[str]:
    count = request.get("number_of_images", 1)
    seed = request.get("seed", 0)
    body = {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": request["prompt"]},
        "imageGenerationConfig": {
            "numberOfImages": count,
            "width": request.get("width", 1024),
            "height": request.get("height", 1024),
            "cfgScale": request.get("cfg_scale", 8.0),
            "seed": seed,
            "quality": request.get("quality", "standard"),
        },
    }
    if source == "queue":
        record_job(job_id, "running", request, source)
    response = bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps(body))
    images = json.loads(response["body"].read())["images"]
    keys = []
    for index, encoded in enumerate(images):
        key = f"{PREFIX}/{job_id}/{index}-seed-{seed}.png"
        s3.put_object(Bucket=BUCKET, Key=key, Body=base64.b64decode(encoded), ContentType="image/png")
        keys.append(key)
    finish_job(job_id, keys, request, source)
    return keys


def finish_job(job_id: str, keys: list[str], request: dict[str, Any], source: str) -> None:
    """The job recorded as succeeded, and its event put on EventBridge."""
    record_job(job_id, "succeeded", request, source)
    detail = json.dumps({"job_id": job_id, "status": "succeeded", "images": keys})
    events.put_events(Entries=[{"Source": "imagegen", "DetailType": "Job Succeeded", "Detail": detail}])


def record_job(job_id: str, status: str, request: dict[str, Any], source: str) -> None:
    """The job as a whole item, written over whatever was there (no conditions: a first draft's way), with the
    attributes ours keeps: status, source, model, the request, attempts, times, the list keys and the TTL."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    item: dict[str, Any] = {
        "job_id": {"S": job_id},
        "status": {"S": status},
        "source": {"S": source},
        "model_id": {"S": MODEL_ID},
        "request": {"M": {key: {"S": str(value)} for key, value in request.items()}},
        "attempts": {"N": "1"},
        "created_at": {"S": now},
        "updated_at": {"S": now},
        "list_pk": {"S": "jobs"},
        "list_sk": {"S": f"{now}#{job_id}"},
        "expires_at": {"N": str(int(time.time()) + 30 * 86400)},
    }
    dynamodb.put_item(TableName=TABLE, Item=item)
