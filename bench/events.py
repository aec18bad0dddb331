"""The benchmark's events: the files in events/ with fresh ids, and the stand-in's images rendered ahead.

Every run needs ids of its own: the API stores under the request id and the worker under the message id
(and resumes what is already there), so a repeated id would skip the work being measured. A message without
a seed gets one derived from its id (``imagegen_core.queue_messages``), so a fresh id also means an image
the stand-in has not rendered yet; ``prerender`` renders it before the run, so that, at latency 0, Bedrock
answers at once for us as it does for the baseline (whose naive handler always asks for seed 0).
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from bench.lambda_env import ROOT

# The API request the benchmarks send: two images in one Titan call (events/ holds the default model's sample).
API_BODY = {"prompt": "a lighthouse on a cliff at sunset, oil painting", "number_of_images": 2, "seed": 42}


def load_event(relative_path: str) -> dict[str, Any]:
    """An event of events/; an API event carries the benchmarks' request (API_BODY)."""
    event = dict(json.loads((ROOT / relative_path).read_text()))
    if "requestContext" in event:
        event["body"] = json.dumps(API_BODY)
    return event


def with_fresh_ids(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of an API Gateway or SQS event with a new request id or new message ids."""
    event = copy.deepcopy(event)
    if "requestContext" in event:
        event["requestContext"]["requestId"] = str(uuid.uuid4())
    for record in event.get("Records", []):
        record["messageId"] = str(uuid.uuid4())
    return event


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    """An SQS event (the shape of events/sqs_plain_text.json) with one record per body."""
    template = load_event("events/sqs_plain_text.json")["Records"][0]
    return {"Records": [{**copy.deepcopy(template), "body": body, "messageId": str(uuid.uuid4())} for body in bodies]}


def prerender(standin: Any, event: dict[str, Any], model_id: str) -> None:
    """Have the stand-in render (and cache) the images our function will ask for with this event."""
    from imagegen_core.catalog import spec_for
    from imagegen_core.families import family_for
    from imagegen_core.models import parse_request
    from imagegen_core.queue_messages import request_for

    family = family_for(model_id)
    seed_max = spec_for(model_id).limits.seed_max
    requests = [request_for(record["body"], record["messageId"], seed_max) for record in event.get("Records", [])]
    if "body" in event:
        requests.append(parse_request(json.loads(event["body"])))
    for request in requests:
        seed = request.seed if request.seed is not None else 0
        reply = standin.invoke(model_id, json.dumps(family.build_body(request, seed)).encode())
        if reply.status != 200:
            raise RuntimeError(f"the stand-in could not render the benchmark's images: {reply.body}")
