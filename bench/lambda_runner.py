"""One Lambda-like container for a benchmark: a fresh interpreter that imports a handler and serves events.

    python -I bench/lambda_runner.py SPEC.json

Standard library only, and only ``time`` before the clock starts, so that the figures belong to the handler.
The Lambda context is ``local/lambda_context.py``'s, the one every caller of a handler outside Lambda uses.
SPEC is a JSON object: ``mode``, ``paths`` (put first on sys.path: the function's code directory and its
layer, as Lambda does), ``handler`` (``module.function``), and per mode:

- ``cold``: ``event`` (a file) and ``out`` (a file). Imports the handler, serves the event once and writes
  ``{"started", "imported", "returned"}`` (``time.perf_counter()``, which is CLOCK_MONOTONIC on Linux and
  so comparable with the parent's clock) and ``ok``.
- ``serve``: ``event`` (a file). Imports the handler, then for each line on stdin serves the event again
  with fresh ids and answers one JSON line ``{"ms", "ok", "timings"}`` on the original stdout; the
  handler's own output (logs, metrics) goes to stderr. Used to interleave two warm containers.
- ``compile``: ``event``, ``out`` and ``packages``. Serves the event once, then times ``compile()`` of the
  source of every loaded module of those packages: what a cold start costs where no bytecode is shipped.
- ``memory``: ``event``, ``out`` and ``tracemalloc`` (bool). Writes the process's memory before the imports,
  after them and after one event: VmRSS and VmHWM (KiB, /proc/self/status), ``ru_maxrss`` for reference
  (see bench.memory for why it is not used), and the tracemalloc peak of the event when asked.

Each invocation gets a fresh ``_X_AMZN_TRACE_ID``, as the Lambda runtime sets before each one. In ``serve``
mode each event also gets fresh ids (API request id, SQS message ids), so nothing is found already stored;
in the other modes the parent gives each child an event with ids of its own.
"""

import time

STARTED = time.perf_counter()

import functools  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

REMAINING_MS = 900_000  # Lambda's longest timeout: no benchmark is cut short by the time guard


@functools.cache
def context_class():
    """``local/lambda_context.py``'s class, loaded by its path (``-I`` keeps the repository off sys.path).

    Loaded after the handler's import (see ``new_context``), so that it never makes those imports look cheaper.
    """
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "local", "lambda_context.py")
    spec = importlib.util.spec_from_file_location("lambda_context", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LambdaContext


def new_context():
    """A fresh Lambda context for one invocation of the function whose environment this process has."""
    return context_class().from_environment(os.environ, remaining_ms=REMAINING_MS)


def new_trace() -> None:
    """A new trace id in the environment, as the Lambda runtime sets before each invocation."""
    os.environ["_X_AMZN_TRACE_ID"] = (
        f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=1"
    )


def fresh(event: dict) -> dict:
    """The event with new ids (API request id, SQS message ids)."""
    event = json.loads(json.dumps(event))
    if "requestContext" in event:
        event["requestContext"]["requestId"] = os.urandom(16).hex()
    for record in event.get("Records", []):
        record["messageId"] = os.urandom(16).hex()
    return event


def succeeded(result: object) -> bool:
    if not isinstance(result, dict):
        return False
    return result.get("statusCode") == 200 or result.get("batchItemFailures") == [] or "timings" in result


def load(spec: dict):
    for path in reversed(spec["paths"]):
        sys.path.insert(0, path)
    module_name, _, function_name = spec["handler"].rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)


def cold(spec: dict) -> None:
    with open(spec["event"]) as file:
        event = json.load(file)
    handler = load(spec)
    context = new_context()
    new_trace()
    imported = time.perf_counter()
    result = handler(event, context)
    returned = time.perf_counter()
    timings = result.get("timings") if isinstance(result, dict) else None
    write(
        spec["out"],
        {"started": STARTED, "imported": imported, "returned": returned, "ok": succeeded(result), "timings": timings},
    )


def serve(spec: dict) -> None:
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the handler's prints and logs go to stderr from here on
    with open(spec["event"]) as file:
        event = json.load(file)
    handler = load(spec)
    for _ in sys.stdin:
        current = fresh(event)
        new_trace()
        context = new_context()
        started = time.perf_counter()
        result = handler(current, context)
        elapsed_ms = (time.perf_counter() - started) * 1000
        timings = result.get("timings") if isinstance(result, dict) else None
        protocol.write(json.dumps({"ms": elapsed_ms, "ok": succeeded(result), "timings": timings}) + "\n")
        protocol.flush()


def compile_cost(spec: dict) -> None:
    """Serve the event once, then time compiling the source of every loaded module of ``packages``."""
    with open(spec["event"]) as file:
        event = json.load(file)
    handler = load(spec)
    new_trace()
    result = handler(event, new_context())
    costs: dict = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        package = name.split(".")[0]
        if package not in spec["packages"] or not path.endswith(".py"):
            continue
        with open(path, "rb") as file:
            source = file.read()
        started = time.perf_counter()
        compile(source, path, "exec")
        costs[package] = costs.get(package, 0.0) + (time.perf_counter() - started) * 1000
    write(spec["out"], {"compile_ms": costs, "ok": succeeded(result)})


def memory(spec: dict) -> None:
    import resource

    before = memory_now(resource)
    with open(spec["event"]) as file:
        event = json.load(file)
    handler = load(spec)
    imported = memory_now(resource)
    context = new_context()
    new_trace()
    traced_peak = None
    if spec.get("tracemalloc"):
        import tracemalloc

        tracemalloc.start()
        result = handler(event, context)
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        result = handler(event, context)
    done = memory_now(resource)
    write(
        spec["out"],
        {"before": before, "imported": imported, "done": done, "traced_peak": traced_peak, "ok": succeeded(result)},
    )


def memory_now(resource) -> dict:
    """ru_maxrss (KiB on Linux) and VmRSS/VmHWM from /proc (KiB), when there."""
    figures = {"ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    figures[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return figures


def write(path: str, figures: dict) -> None:
    with open(path, "w") as file:
        json.dump(figures, file)


def main() -> None:
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    {"cold": cold, "serve": serve, "memory": memory, "compile": compile_cost}[spec["mode"]](spec)


if __name__ == "__main__":
    main()
