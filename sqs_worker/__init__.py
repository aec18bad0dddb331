"""The SQS worker function: queue-driven image generation (handler in ``sqs_worker.app``)."""
