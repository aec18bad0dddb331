"""The context object Lambda passes to a Python handler, for every caller of a handler outside Lambda.

One class for the local stack's containers (``local/runtime.py``), the benchmarks (``bench/lambda_runner.py``
in a child process, ``bench.worker_batch`` in-process) and the tests (the ``lambda_context`` fixture). It has
the attributes Powertools reads and counts the time left down to a deadline, as Lambda's does.

Standard library only, and small: the runtime and the benchmark runner run as ``python -I`` with only a
function's code directory and layer on ``sys.path`` (the repository stays off it, as on Lambda), so they load
this file by its path (``importlib.util.spec_from_file_location``) rather than import ``local``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

ACCOUNT_ID = "123456789012"  # moto's default account, so that ARNs agree with the emulated queues
DEFAULT_REMAINING_MS = 300_000


def _request_id() -> str:
    """A fresh id in the shape of Lambda's (a UUID), without importing uuid."""
    digits = os.urandom(16).hex()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class LambdaContext:
    """The context of one invocation: ``remaining_ms`` left when it is made, then counting down."""

    identity = None
    client_context = None
    tenant_id = None

    def __init__(
        self,
        *,
        function_name: str = "imagegen",
        function_version: str = "$LATEST",
        memory_limit_in_mb: int = 256,
        region: str = "eu-west-1",
        aws_request_id: str | None = None,
        log_group_name: str | None = None,
        log_stream_name: str = "local",
        remaining_ms: int = DEFAULT_REMAINING_MS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id or _request_id()
        self.log_group_name = log_group_name or f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name
        self.remaining_ms = remaining_ms
        self._clock = clock
        self._deadline = clock() + remaining_ms / 1000

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str], *, remaining_ms: int, aws_request_id: str | None = None
    ) -> LambdaContext:
        """The context of the function described by the variables the Lambda runtime sets (``AWS_LAMBDA_*``)."""
        name = environ.get("AWS_LAMBDA_FUNCTION_NAME", "imagegen")
        return cls(
            function_name=name,
            function_version=environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            memory_limit_in_mb=int(environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")),
            region=environ.get("AWS_REGION", "eu-west-1"),
            aws_request_id=aws_request_id,
            log_group_name=environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
            log_stream_name=environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "local"),
            remaining_ms=remaining_ms,
        )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock()) * 1000))
