"""What template.yaml deploys, translated for the local stack: functions, the API, the queue mapping.

Nothing here is copied by hand from the template: every name, number and variable is read from it
(resolved by ``local.intrinsics``), so the local stack cannot drift from what is deployed. The queue
and DLQ numbers come from ``local.template.queue_settings``, shared with the tests.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.api_shim import ApiDefinition, GatewayResponse, Route
from local.containers import FunctionSpec
from local.intrinsics import Resolver, TemplateError
from local.template import TEMPLATE, load_template

SQS_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
)
SQS_JSON_ATTRIBUTES = ("RedrivePolicy", "RedriveAllowPolicy")


@dataclass(frozen=True)
class ApiThrottle:
    """The stage's MethodSettings throttle (requests per second and burst)."""

    rate: float
    burst: int


@dataclass(frozen=True)
class SqsEventSource:
    """A function's SQS event (the event source mapping) as the template declares it."""

    queue_logical_id: str
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None


def resource(template: Mapping[str, Any], logical_id: str) -> Mapping[str, Any]:
    resources = template.get("Resources") or {}
    if logical_id not in resources:
        raise TemplateError(f"template.yaml has no resource {logical_id}")
    return resources[logical_id]


def function_properties(template: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    """A function's properties with the template's Globals merged in, the way SAM merges them."""
    merged: dict[str, Any] = dict((template.get("Globals") or {}).get("Function") or {})
    for key, value in (resource(template, logical_id).get("Properties") or {}).items():
        if key == "Environment":
            variables = {
                **((merged.get("Environment") or {}).get("Variables") or {}),
                **(value.get("Variables") or {}),
            }
            merged["Environment"] = {"Variables": variables}
        elif key == "Layers":
            merged["Layers"] = [*(merged.get("Layers") or []), *value]
        else:
            merged[key] = value
    return merged


def function_spec(
    template: Mapping[str, Any],
    resolver: Resolver,
    logical_id: str,
    *,
    root: Path,
    environment: Mapping[str, str],
    overrides: Mapping[str, str],
) -> FunctionSpec:
    """The container spec of a function: code and layer directories, handler, Lambda-like environment.

    ``environment`` is the base every container gets (credentials, endpoints, region); the template's
    variables come on top of it and ``overrides`` (the local stack's own, e.g. MODEL_ID) last. A variable
    the template declares empty does not blank the base's value: the template declares the
    ``AWS_ENDPOINT_URL_*`` empty (AWS's endpoints, and a slot for ``sam local --env-vars``), and the
    local endpoints of the base must still reach the container.
    """
    raw = function_properties(template, logical_id)
    layer_dirs = [_layer_dir(template, layer, root) for layer in raw.pop("Layers", None) or []]
    properties = resolver.resolve(raw)
    code_dir = (root / properties["CodeUri"]).resolve()
    name = str(properties.get("FunctionName") or resolver.physical_name(logical_id))
    timeout = int(properties.get("Timeout", 3))
    memory = int(properties.get("MemorySize", 128))
    variables = {
        key: str(value)
        for key, value in ((properties.get("Environment") or {}).get("Variables") or {}).items()
        if str(value) or key not in environment
    }
    runtime = str(properties.get("Runtime", "python3"))
    lambda_env = {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "LAMBDA_TASK_ROOT": str(code_dir),
        "_HANDLER": str(properties["Handler"]),
    }
    return FunctionSpec(
        name=name,
        handler=str(properties["Handler"]),
        paths=(code_dir, *[path for path in layer_dirs if path is not None]),
        environment={**environment, **lambda_env, **variables, **overrides},
        timeout_seconds=timeout,
        memory_mb=memory,
    )


def api_definition(template: Mapping[str, Any], resolver: Resolver, api_logical_id: str) -> ApiDefinition:
    """Stage, routes (from the functions' Api events) and gateway responses of a SAM API."""
    properties = resolver.resolve(resource(template, api_logical_id).get("Properties") or {})
    stage = str(properties.get("StageName", "Prod"))
    secured = _secured_operations(properties)
    default_key_required = bool((properties.get("Auth") or {}).get("ApiKeyRequired", False))
    routes: list[Route] = []
    for item in (template.get("Resources") or {}).values():
        if item.get("Type") != "AWS::Serverless::Function":
            continue
        for event in ((item.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            event_properties = event.get("Properties") or {}
            if (event_properties.get("RestApiId") or {}).get("Ref") != api_logical_id:
                continue
            path, method = str(event_properties["Path"]), str(event_properties["Method"]).lower()
            key_required = (event_properties.get("Auth") or {}).get("ApiKeyRequired", default_key_required)
            key_required = bool(key_required) or (path, method) in secured
            routes.append(Route(path, method.upper() if method != "any" else "ANY", key_required))
    if not routes:
        raise TemplateError(f"no function has an Api event on {api_logical_id}")
    responses = {
        response_type: GatewayResponse(
            status=int(spec["StatusCode"]) if "StatusCode" in spec else None,
            headers={
                name: str(value).strip("'")
                for name, value in ((spec.get("ResponseParameters") or {}).get("Headers") or {}).items()
            },
            template=(spec.get("ResponseTemplates") or {}).get("application/json"),
        )
        for response_type, spec in (properties.get("GatewayResponses") or {}).items()
    }
    return ApiDefinition(stage=stage, routes=tuple(routes), gateway_responses=responses)


def api_throttle(template: Mapping[str, Any], resolver: Resolver, api_logical_id: str) -> ApiThrottle | None:
    """The stage-wide throttle of the API's ``MethodSettings`` for ``/*`` (None when it sets none)."""
    properties = resolver.resolve(resource(template, api_logical_id).get("Properties") or {})
    for setting in properties.get("MethodSettings") or []:
        if setting.get("ResourcePath") == "/*" and "ThrottlingRateLimit" in setting:
            rate = float(setting["ThrottlingRateLimit"])
            return ApiThrottle(rate=rate, burst=int(setting.get("ThrottlingBurstLimit", max(1, int(rate)))))
    return None


def sqs_event_source(template: Mapping[str, Any], resolver: Resolver, function_logical_id: str) -> SqsEventSource:
    events = (resource(template, function_logical_id).get("Properties") or {}).get("Events") or {}
    for event in events.values():
        if event.get("Type") != "SQS":
            continue
        properties = resolver.resolve({key: value for key, value in event["Properties"].items() if key != "Queue"})
        queue = event["Properties"]["Queue"]
        queue_id = _referenced_resource(queue)
        concurrency = (properties.get("ScalingConfig") or {}).get("MaximumConcurrency")
        return SqsEventSource(
            queue_logical_id=queue_id,
            batch_size=int(properties.get("BatchSize", 10)),
            batching_window_seconds=int(properties.get("MaximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or []),
            maximum_concurrency=int(concurrency) if concurrency is not None else None,
        )
    raise TemplateError(f"{function_logical_id} has no SQS event")


def table_request(name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """CreateTable's parameters for a resolved AWS::DynamoDB::Table (keys, indexes, billing; TTL and SSE are
    separate calls or not emulated)."""
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": list(properties["AttributeDefinitions"]),
        "KeySchema": list(properties["KeySchema"]),
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            {key: value for key, value in index.items() if key in ("IndexName", "KeySchema", "Projection")}
            for index in properties["GlobalSecondaryIndexes"]
        ]
    return request


def create_table(dynamodb: Any, name: str, properties: Mapping[str, Any]) -> None:
    """The table as the template declares it, with its TTL attribute."""
    dynamodb.create_table(**table_request(name, properties))
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def create_jobs_table(dynamodb: Any, name: str, region: str) -> None:
    """template.yaml's jobs table, under ``name`` (for the tests and the benchmarks, which run no stack)."""
    create_table(dynamodb, name, copy.deepcopy(_jobs_table_properties(TEMPLATE, region)))


@functools.cache
def _jobs_table_properties(template_path: Path, region: str) -> Mapping[str, Any]:
    """The resolved properties of the template's JobsTable, worked out once per template and region: the tests
    create the table for every test that uses AWS, and reading the template takes far longer than CreateTable.
    The caller gets a deep copy, so nothing it does changes the cached value."""
    template = load_template(template_path)
    resolver = Resolver(template, region, "123456789012", "imagegen")
    properties: Mapping[str, Any] = resolver.resolve(resource(template, "JobsTable").get("Properties") or {})
    return properties


def queue_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """CreateQueue attributes from a resolved AWS::SQS::Queue's properties (SSE, redrive, numbers)."""
    attributes = {name: _attribute_text(properties[name]) for name in SQS_ATTRIBUTES if name in properties}
    for name in SQS_JSON_ATTRIBUTES:
        if name in properties:
            value = properties[name]
            attributes[name] = value if isinstance(value, str) else json.dumps(value)
    return attributes


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _layer_dir(template: Mapping[str, Any], layer: Any, root: Path) -> Path | None:
    """The source directory (``ContentUri``) of a ``!Ref`` to a layer of this template; None for an ARN."""
    if not (isinstance(layer, dict) and "Ref" in layer):
        return None
    item = (template.get("Resources") or {}).get(layer["Ref"]) or {}
    if item.get("Type") != "AWS::Serverless::LayerVersion":
        return None
    return (root / item["Properties"]["ContentUri"]).resolve()


def _secured_operations(properties: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(path, method) pairs of a DefinitionBody whose ``security`` names an apiKey scheme."""
    body = properties.get("DefinitionBody") or {}
    schemes = {
        name
        for name, scheme in (body.get("securityDefinitions") or {}).items()
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header" and scheme.get("name") == "x-api-key"
    }
    secured = set()
    for path, operations in (body.get("paths") or {}).items():
        for method, operation in (operations or {}).items():
            requirements = (operation or {}).get("security") or []
            if any(name in schemes for requirement in requirements for name in requirement):
                secured.add((path, method.lower()))
    return secured


def _referenced_resource(value: Any) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target.split(".")[0] if isinstance(target, str) else target[0])
    raise TemplateError(f"cannot tell which resource {value!r} refers to")
