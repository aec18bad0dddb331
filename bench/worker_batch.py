"""How much a batch gains from running its messages in parallel: one SQS batch through the worker's handler.

Bedrock is the in-process stand-in answering every call after a fixed latency L; S3 and the DLQ are moto
in-process. A batch of 10 one-image messages (1024x1024, the stand-in's default "noisy" PNGs of ~1.5 MB)
runs through ``sqs_worker.app.lambda_handler`` as configured (WORKER_CONCURRENCY=10), then the same kind of
batch with WORKER_CONCURRENCY=1 as the sequential baseline. Every run uses fresh message ids, so nothing is
skipped as already stored; each message names its seed so that the stand-in renders each image once (in
a sequential warm-up) and its answers then cost what Bedrock's cost the worker: latency and bytes.

    .venv/bin/python -m bench.worker_batch [--quick]

Figures (median of several runs): L, the batch time, batch / L (target <= 1.5: the batch takes about one
call's time), the speed-up over the sequential baseline (target >= 6x), the most Bedrock calls seen in
flight, and memory: the tracemalloc peak of the allocations made during a parallel and a sequential batch
(both include the stand-in's side of each call, its base64 JSON answer of about 2 MB per image, and the
copies of each stored PNG that moto keeps in memory, about 4 MB per image) and the process's RSS
high-water mark (resource.getrusage) after the warm-up, after the parallel batches and at the end; it
includes the in-process stand-in and moto. ``measure()`` returns the figures as a dict for a ``python -m
bench`` table.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import sys
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, Final

from bench.lambda_env import JOBS_TABLE, MODEL, STANDIN_TODAY
from local.lambda_context import LambdaContext
from local.resources import create_jobs_table

MESSAGES = 10
LATENCY_MS, QUICK_LATENCY_MS = 500, 200
RUNS, QUICK_RUNS = 5, 3
TARGET_BATCH_OVER_LATENCY = 1.5
TARGET_SPEEDUP = 6.0
BUCKET = "imagegen-bench"
REGION: Final = "eu-west-1"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "BUCKET_NAME": BUCKET,
    "JOBS_TABLE": JOBS_TABLE,
    **MODEL,
    "BEDROCK_MAX_ATTEMPTS": "1",
    "IMAGE_PREFIX": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_NAMESPACE": "imagegen-bench",
}


def measure(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark and return its figures (times in ms, memory in MB)."""
    latency_ms = QUICK_LATENCY_MS if quick else LATENCY_MS
    runs = QUICK_RUNS if quick else RUNS
    with _environment(ENVIRONMENT), _stack(latency_ms) as (handler, calls_in_flight):
        _batch(handler, concurrency=1)  # warm-up: imports, clients, the stand-in's renders (one at a time)
        rss_before = _max_rss_mb()
        parallel = [_batch(handler, concurrency=10) for _ in range(runs)]
        rss_after = _max_rss_mb()
        peak_calls = calls_in_flight.peak
        sequential = [_batch(handler, concurrency=1) for _ in range(runs)]
        parallel_peak = _traced_peak(lambda: _batch(handler, concurrency=10))
        sequential_peak = _traced_peak(lambda: _batch(handler, concurrency=1))
    batch_ms = statistics.median(parallel)
    sequential_ms = statistics.median(sequential)
    return {
        "quick": quick,
        "messages": MESSAGES,
        "runs": runs,
        "latency_ms": latency_ms,
        "batch_ms": round(batch_ms, 1),
        "batch_over_latency": round(batch_ms / latency_ms, 2),
        "sequential_ms": round(sequential_ms, 1),
        "speedup": round(sequential_ms / batch_ms, 2),
        "peak_calls_in_flight": peak_calls,
        "tracemalloc_peak_mb": round(parallel_peak / 2**20, 1),
        "sequential_tracemalloc_peak_mb": round(sequential_peak / 2**20, 1),
        "max_rss_before_parallel_mb": rss_before,
        "max_rss_after_parallel_mb": rss_after,
        "max_rss_mb": _max_rss_mb(),
    }


def report(figures: dict[str, Any]) -> str:
    ratio_ok = figures["batch_over_latency"] <= TARGET_BATCH_OVER_LATENCY
    speedup_ok = figures["speedup"] >= TARGET_SPEEDUP
    quick = figures["quick"]
    return "\n".join(
        [
            f"SQS worker: one batch of {figures['messages']} one-image messages, Bedrock stand-in latency "
            f"L = {figures['latency_ms']} ms, median of {figures['runs']} runs",
            f"  parallel batch (WORKER_CONCURRENCY=10)    {figures['batch_ms']:8.1f} ms = "
            f"{figures['batch_over_latency']:.2f} x L  "
            f"(target <= {TARGET_BATCH_OVER_LATENCY}: {_verdict(ratio_ok, quick)})",
            f"  sequential baseline (WORKER_CONCURRENCY=1) {figures['sequential_ms']:7.1f} ms",
            f"  speed-up                                  {figures['speedup']:8.2f} x"
            f"       (target >= {TARGET_SPEEDUP:g}: {_verdict(speedup_ok, quick)})",
            f"  Bedrock calls in flight at most            {figures['peak_calls_in_flight']:7d}",
            f"  tracemalloc peak of a parallel batch       {figures['tracemalloc_peak_mb']:7.1f} MB "
            f"(sequential: {figures['sequential_tracemalloc_peak_mb']} MB), both with the stand-in's answers",
            "    and moto's in-memory copies of the stored PNGs (about 4 MB per image)",
            f"  max RSS of the process: {figures['max_rss_before_parallel_mb']} MB after a sequential warm-up, "
            f"{figures['max_rss_after_parallel_mb']} MB after the parallel batches, "
            f"{figures['max_rss_mb']} MB at the end",
        ]
    )


def _verdict(ok: bool, quick: bool) -> str:
    if quick:
        return "judged on the full run"
    return "met" if ok else "MISSED"


def _max_rss_mb() -> float:
    """The process's resident set high-water mark so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _traced_peak(work: Callable[[], object]) -> int:
    """The peak of the memory Python allocates while ``work`` runs, in bytes."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class _CallsInFlight:
    """Counts the Bedrock calls in flight from the worker's client (botocore events), with a high-water mark."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0
        self.peak = 0

    def before(self, **_: Any) -> None:
        with self._lock:
            self._now += 1
            self.peak = max(self.peak, self._now)

    def after(self, **_: Any) -> None:
        with self._lock:
            self._now -= 1


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _stack(latency_ms: int) -> Iterator[tuple[Callable[..., Any], _CallsInFlight]]:
    """The stand-in, moto (bucket and DLQ) and a fresh container; yields the handler and the call counter."""
    import boto3
    from moto import mock_aws

    from imagegen_core.clients import bedrock_client, reset_clients
    from imagegen_core.config import get_settings
    from imagegen_core.service import reset_default_service
    from local.bedrock_standin import BedrockStandin, StandinSettings
    from sqs_worker.app import lambda_handler

    settings = StandinSettings(latency_ms=latency_ms, today=date.fromisoformat(STANDIN_TODAY))
    with BedrockStandin(settings, host="127.0.0.1", port=0) as standin, mock_aws():
        saved_endpoint = os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
        os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = standin.url
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        sqs = boto3.client("sqs", region_name=REGION)
        os.environ["DLQ_URL"] = sqs.create_queue(QueueName="imagegen-bench-dlq")["QueueUrl"]
        os.environ["QUEUE_URL"] = sqs.create_queue(QueueName="imagegen-bench")["QueueUrl"]
        create_jobs_table(boto3.client("dynamodb", region_name=REGION), JOBS_TABLE, REGION)
        reset_default_service()
        reset_clients()
        config = get_settings()
        client = bedrock_client(config.bedrock_region, config.bedrock_read_timeout_seconds)
        counter = _CallsInFlight()
        client.meta.events.register("before-call.bedrock-runtime.InvokeModel", counter.before)
        client.meta.events.register("after-call.bedrock-runtime.InvokeModel", counter.after)
        try:
            yield lambda_handler, counter
        finally:
            reset_default_service()
            reset_clients()
            os.environ.pop("DLQ_URL", None)
            os.environ.pop("QUEUE_URL", None)
            if saved_endpoint is None:
                os.environ.pop("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", None)
            else:
                os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = saved_endpoint


def _batch(handler: Callable[..., Any], concurrency: int) -> float:
    """One batch of fresh messages through the handler; its wall time in ms. Raises if a message failed."""
    from imagegen_core.service import reset_default_service

    os.environ["WORKER_CONCURRENCY"] = str(concurrency)
    reset_default_service()  # the worker settings are read once per container: start a container with these
    event = {"Records": [_record(index) for index in range(MESSAGES)]}
    with contextlib.redirect_stdout(io.StringIO()):  # the EMF metrics lines
        started = time.perf_counter()
        response = handler(event, LambdaContext(function_name="imagegen-bench", region=REGION))
        elapsed_ms = (time.perf_counter() - started) * 1000
    if response["batchItemFailures"]:
        raise RuntimeError(f"the benchmark batch had failures: {response['batchItemFailures']}")
    return elapsed_ms


def _record(index: int) -> dict[str, Any]:
    body = json.dumps({"prompt": f"benchmark lantern number {index}", "seed": 1000 + index})
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "AQEB-bench",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:000000000000:imagegen-bench",
        "awsRegion": REGION,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"L = {QUICK_LATENCY_MS} ms, {QUICK_RUNS} runs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    figures = measure(quick=args.quick)
    print(json.dumps(figures) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
