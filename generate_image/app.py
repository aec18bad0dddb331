"""POST /generate-image: API Gateway's proxy events in, JSON answers out (the routes: ``imagegen_core.api``)."""

from __future__ import annotations

from imagegen_core.startup import imports_without_gc

with imports_without_gc():
    from typing import Any

    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from imagegen_core.api import handle
    from imagegen_core.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)
