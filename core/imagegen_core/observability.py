"""Powertools Logger, Metrics and Tracer shared by the core and both handlers.

Service name and namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE.
Prompts are never logged at INFO: only their SHA-256 and length.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricResolution, MetricUnit, single_metric

if TYPE_CHECKING:
    from imagegen_core.models import GenerationRequest

NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "imagegen")

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "imagegen"))


class ThreadSafeMetrics(Metrics):
    """Metrics that the SQS worker's threads may add to at once.

    Powertools' add_metric reads, updates and stores a metric's entry in separate steps, so two threads
    adding the same metric for the first time can lose a data point; one lock per process prevents it.
    """

    _lock = threading.Lock()

    def add_metric(
        self, name: str, unit: MetricUnit | str, value: float, resolution: MetricResolution | int = 60
    ) -> None:
        with self._lock:
            super().add_metric(name=name, unit=unit, value=value, resolution=resolution)


metrics = ThreadSafeMetrics(namespace=NAMESPACE)
# Only botocore is patched (Bedrock, S3 and SQS calls become subsegments): that is every call we make.
# The default patches every library X-Ray supports that happens to be importable (requests, sqlite3, ...),
# importing each at cold start to do so; see docs/performance.md.
tracer = Tracer(patch_modules=("botocore",))


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()


def log_request(what: str, request: GenerationRequest, model_id: str, **extra: Any) -> None:
    """A request about to be generated or queued: at INFO its prompt's SHA-256 and length, never the prompt
    itself, which is logged at DEBUG only."""
    logger.info(
        what,
        extra={
            "model_id": model_id,
            "prompt_sha256": prompt_hash(request.prompt),
            "prompt_chars": len(request.prompt),
            "number_of_images": request.number_of_images,
            **extra,
        },
    )
    logger.debug("prompt", extra={"prompt": request.prompt})


def count_failure(code: str) -> None:
    """One ``Failures`` data point with the error code as a dimension."""
    with single_metric(name="Failures", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="code", value=code)
