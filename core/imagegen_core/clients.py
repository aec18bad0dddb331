"""AWS clients, created lazily once per container and shared by every thread.

Endpoints come only from the standard ``AWS_ENDPOINT_URL_*`` variables, which botocore reads itself,
so the same code talks to AWS, to moto or to the local Bedrock stand-in.

All clients come from one botocore ``Session`` per container: a session loads and caches botocore's data
files (endpoints, partitions, defaults, each service's model), so a session per client would read them
again for every client, some 30-40 ms each at cold start (see docs/performance.md). A session is not
thread-safe, so it is only used under the lock, to create clients; the clients themselves are.

The clients are botocore's, which boto3's ``Session.client`` returns too: boto3 adds resources and S3's
managed transfers (upload_file, ...), which we do not use, and importing it (with s3transfer) adds
~10 ms to every cold start.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}
_session: Any = None  # botocore.session.Session, created with the first client
BEDROCK_CONNECT_TIMEOUT_SECONDS = 3


def s3_client() -> S3Client:
    return _client(("s3",), lambda: _new("s3", retries={"total_max_attempts": 5, "mode": "standard"}))


def sqs_client() -> SQSClient:
    return _client(("sqs",), lambda: _new("sqs", retries={"total_max_attempts": 5, "mode": "standard"}))


def dynamodb_client() -> DynamoDBClient:
    return _client(("dynamodb",), lambda: _new("dynamodb", retries={"total_max_attempts": 3, "mode": "standard"}))


def events_client() -> EventBridgeClient:
    return _client(("events",), lambda: _new("events", retries={"total_max_attempts": 3, "mode": "standard"}))


def bedrock_client(region: str, read_timeout: int) -> BedrockRuntimeClient:
    """One attempt per call: ``bedrock.invoke`` retries throttling itself and nothing else (botocore's retry
    modes would also repeat a timed-out generation, which the API function has no time for). Every attempt
    goes through ``imagegen_core.throttling``'s hooks: the worker's pacing, the throttle count, Retry-After."""

    def create() -> Any:
        from imagegen_core.throttling import watch

        return watch(
            _new(
                "bedrock-runtime",
                region_name=region,
                retries={"total_max_attempts": 1, "mode": "standard"},
                read_timeout=read_timeout,
                connect_timeout=BEDROCK_CONNECT_TIMEOUT_SECONDS,
            )
        )

    return _client(("bedrock-runtime", region, read_timeout), create)


def reset_clients() -> None:
    """Forget every client and what the container learnt about Bedrock's quota (tests: a clean container)."""
    global _session
    from imagegen_core.throttling import reset_throttling

    with _lock:
        _clients.clear()
        _session = None
    reset_throttling()


def _client(key: tuple[Any, ...], create: Any) -> Any:
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = create()
    return client


def _new(service: str, region_name: str | None = None, **config: Any) -> Any:
    """A new client from the container's session; called with ``_lock`` held."""
    global _session
    import botocore.session  # imported on first use: nothing reaches for AWS at import time
    from botocore.config import Config

    if _session is None:
        _session = botocore.session.get_session()
    return _session.create_client(
        service,
        region_name=region_name,
        config=Config(signature_version="s3v4" if service == "s3" else None, max_pool_connections=50, **config),
    )
