"""The bare minimum of storing one generated image, for the per-image overhead benchmark (child side).

Run in a warm benchmark child (``bench/lambda_runner.py`` in ``serve`` mode) next to our generate_image
function, with the same event, stand-in and moto S3. Each call times, with plain boto3 clients created at
import (no Powertools, no X-Ray, no pydantic):

- ``invoke_ms``: InvokeModel for the event's request, the answer's body read: the stand-in's own time plus
  the transfer, which the benchmark takes as Bedrock's share of our handler's time;
- ``loads_ms``: ``json.loads`` of the answer (shown, not counted in the bare minimum);
- ``decode_ms`` + ``put_ms``: one base64 decode and one PutObject of the same bytes, to a new key;
- ``record_ms``: the job's bookkeeping every request now has (issue 12), done plainly: the job written once
  when it is done (a PutItem of the same attributes as ours), and its PutEvents.

The bare minimum our code is measured against is ``decode_ms + put_ms + record_ms``.
"""

from __future__ import annotations

import binascii
import json
import time
import uuid
from typing import Any

# The naive baseline's plain boto3 clients and its plain job records (this directory is the child's sys.path).
from baseline_handlers import BUCKET, MODEL_ID, bedrock, finish_job, s3  # type: ignore[import-not-found]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = json.loads(event["body"])
    body = json.dumps(
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": request["prompt"]},
            "imageGenerationConfig": {
                "numberOfImages": 1,
                "width": 1024,
                "height": 1024,
                "cfgScale": 8.0,
                "seed": request["seed"],
                "quality": "standard",
            },
        }
    )
    job_id = str(uuid.uuid4())
    started = time.perf_counter()
    payload = bedrock.invoke_model(modelId=MODEL_ID, body=body)["body"].read()
    invoked = time.perf_counter()
    encoded = json.loads(payload)["images"][0]
    loaded = time.perf_counter()
    data = binascii.a2b_base64(encoded)  # the fastest decode, as the service uses
    decoded = time.perf_counter()
    key = f"bare/{job_id}.png"
    s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="image/png")
    stored = time.perf_counter()
    finish_job(job_id, [key], request, "api")
    recorded = time.perf_counter()
    return {
        "timings": {
            "invoke_ms": (invoked - started) * 1000,
            "loads_ms": (loaded - invoked) * 1000,
            "decode_ms": (decoded - loaded) * 1000,
            "put_ms": (stored - decoded) * 1000,
            "record_ms": (recorded - stored) * 1000,
            "answer_bytes": len(payload),
            "png_bytes": len(data),
        }
    }
