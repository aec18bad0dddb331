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
import importlib.util
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.lambda_context import LambdaContext


def lambda_context_class() -> type[LambdaContext]:
    """``local/lambda_context.py``'s class, loaded by its path: ``-I`` keeps this directory off sys.path."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lambda_context.py")
    spec = importlib.util.spec_from_file_location("lambda_context", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    context_class: type[LambdaContext] = module.LambdaContext
    return context_class


def load_handler(spec: str) -> Callable[[Any, Any], Any]:
    """``app.lambda_handler`` -> the function, imported the way Lambda does (module path, then attribute)."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {spec!r} is not of the form module.function")
    handler = getattr(importlib.import_module(module_name), function_name)
    if not callable(handler):
        raise TypeError(f"handler {spec!r} is not callable")
    return handler


def context_for(context_class: type[LambdaContext], request: dict[str, Any]) -> LambdaContext:
    """The context of one request: its id, and the time left until the launcher's deadline (epoch ms)."""
    remaining_ms = int(request["deadline_ms"]) - int(time.time() * 1000)
    return context_class.from_environment(os.environ, remaining_ms=remaining_ms, aws_request_id=request["request_id"])


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
    context_class = lambda_context_class()
    for line in requests:
        request = json.loads(line)
        context = context_for(context_class, request)
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
