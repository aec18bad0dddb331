"""The SQS worker: a batch of messages in, one ``batchItemFailures`` response out (ReportBatchItemFailures).

Each message is a plain-text prompt or a JSON request; what becomes of it (stored, dead-lettered with its
reason, or handed back to SQS) is ``imagegen_core.worker``'s, explained in docs/architecture.md.
"""

from __future__ import annotations

from imagegen_core.startup import imports_without_gc

with imports_without_gc():
    from typing import Any

    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from imagegen_core.observability import logger, metrics, tracer
    from imagegen_core.worker import process_batch


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_batch(event, context)
