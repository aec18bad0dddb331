"""Inside one Lambda-like container: import the handler once, then serve one event at a time.

Started by ``local.containers`` as ``python -I local/runtime.py --path <code dir> --path <layer dir> <handler>``
with the function's environment only (like Lambda, nothing leaks in from the launcher's shell). ``-I``
keeps the repository itself off ``sys.path``: the handler sees its code directory and the layer, as
deployed, so an import that would fail in AWS fails here too. Standard library only.

Protocol, one JSON object per line: stdin carries ``{"event", "request_id", "deadline_ms"}``; the
original stdout carries ``{"type": "ready"}`` once, then one ``{"ok": ...}`` answer per event. The
handler's own prints and logs go to stderr (fd 1 is pointed there), which the launcher shows.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

ACCOUNT_ID = "123456789012"  # moto's default account, so ARNs agree with the emulated queues


@dataclass
class LambdaContext:
    """The context object Lambda passes to a Python handler (the attributes Powertools reads)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_ms: int
    identity: Any = None
    client_context: Any = None
    tenant_id: Any = None
    _clock: Callable[[], float] = field(default=time.time, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(self._clock() * 1000))


def load_handler(spec: str) -> Callable[[Any, Any], Any]:
    """``app.lambda_handler`` -> the function, imported the way Lambda does (module path, then attribute)."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {spec!r} is not of the form module.function")
    handler = getattr(importlib.import_module(module_name), function_name)
    if not callable(handler):
        raise TypeError(f"handler {spec!r} is not callable")
    return handler


def context_for(request: dict[str, Any], env: dict[str, str]) -> LambdaContext:
    name = env.get("AWS_LAMBDA_FUNCTION_NAME", "local")
    region = env.get("AWS_REGION", "us-east-1")
    return LambdaContext(
        function_name=name,
        function_version=env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        invoked_function_arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}",
        memory_limit_in_mb=int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")),
        aws_request_id=request["request_id"],
        log_group_name=env.get("AWS_LAMBDA_LOG_GROUP_NAME", f"/aws/lambda/{name}"),
        log_stream_name=env.get("AWS_LAMBDA_LOG_STREAM_NAME", "local"),
        deadline_ms=int(request["deadline_ms"]),
    )


def error_answer(exc: BaseException) -> dict[str, Any]:
    """The error document Lambda returns for an unhandled exception."""
    return {
        "ok": False,
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def serve(handler: Callable[[Any, Any], Any], requests: IO[bytes], answers: IO[bytes]) -> None:
    """One event at a time until stdin closes (the launcher stopped or died)."""
    for line in requests:
        request = json.loads(line)
        context = context_for(request, dict(os.environ))
        try:
            result = handler(request["event"], context)
            answer = json.dumps({"ok": True, "result": result})
        except Exception as exc:
            print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            answer = json.dumps(error_answer(exc), default=str)
        answers.write(answer.encode() + b"\n")
        answers.flush()


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C in the terminal reaches the whole process group; the launcher decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", action="append", default=[], help="a directory to import from (code, layer)")
    parser.add_argument("handler", help="module.function, as in the template's Handler")
    args = parser.parse_args(argv)
    sys.path[:0] = args.path

    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the handler's stdout (Powertools logs, EMF metrics) goes where the launcher shows it
    try:
        handler = load_handler(args.handler)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        answers.write(json.dumps({"type": "init_error", **error_answer(exc)}).encode() + b"\n")
        answers.flush()
        return 1
    answers.write(b'{"type": "ready"}\n')
    answers.flush()
    serve(handler, sys.stdin.buffer, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
