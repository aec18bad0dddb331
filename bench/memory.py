"""Peak memory of the SQS worker on a full batch: 10 messages of 5 images at 1024x1024 ("noisy" PNGs).

A fresh child (``bench/lambda_runner.py`` in memory mode) runs the sqs_worker function as Lambda does
(template.yaml's settings: WORKER_CONCURRENCY, MAX_IMAGES_IN_FLIGHT, tracing on) against moto and the
stand-in (latency 0), and reports its memory at three moments: when the interpreter has started (the
runner's first line), once the handler is imported (the idle container), and after the batch (its high
water). RSS figures are the kernel's VmRSS and VmHWM (/proc/self/status). Not ``ru_maxrss``: Linux carries
the high water of the process image that ran before ``exec`` into it, and a child forked (vfork) from this
process starts with *this* process's high water, which grows with everything moto stores; VmHWM belongs to
the child's own image. A second child runs the same batch under
tracemalloc for the peak of what Python itself allocates during the batch (tracemalloc slows the batch and
adds its own bookkeeping, so it does not share a run with the RSS figures). S3 and the stand-in live in the
benchmark's process, so their copies of the images are not counted: only the function's own memory is.

Quick mode: 10 messages of 5 images at 512x512, one run of each kind, to keep the benchmark working.

    .venv/bin/python -m bench.memory [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any

from bench.events import prerender, sqs_event
from bench.lambda_env import WORKER_FUNCTION, bucket_name, lambda_function
from bench.processes import run_once
from bench.services import create_bucket, create_queue, running_services

MESSAGES, IMAGES = 10, 5
SIZE, QUICK_SIZE = 1024, 512
RUNS, QUICK_RUNS = 3, 1
LAMBDA_MB = 256
TARGET_MB = 0.75 * LAMBDA_MB  # "with room to spare": a quarter of the function's memory left over
MIB = 1024  # the figures from the kernel are in KiB


def measure(quick: bool = False) -> dict[str, Any]:
    size = QUICK_SIZE if quick else SIZE
    runs = QUICK_RUNS if quick else RUNS
    body = json.dumps(
        {
            "prompt": "benchmark lanterns over a harbour",
            "number_of_images": IMAGES,
            "width": size,
            "height": size,
            "seed": 7,
        }
    )
    rss_runs: list[dict[str, Any]] = []
    traced_runs: list[dict[str, Any]] = []
    with running_services(latency_ms=0, image_detail="noisy") as services:
        create_bucket(services.endpoints, bucket_name())
        worker = lambda_function(
            WORKER_FUNCTION, services.endpoints, create_queue(services.endpoints, "imagegen-bench-dlq")
        )
        for _ in range(runs):
            for traced, results in ((False, rss_runs), (True, traced_runs)):
                event = sqs_event([body] * MESSAGES)
                prerender(services.standin, event, worker.environment["MODEL_ID"])
                results.append(run_once(worker, "memory", event, tracemalloc=traced))
    return {
        "messages": MESSAGES,
        "images_per_message": IMAGES,
        "size": size,
        "runs": runs,
        "interpreter_mb": _median_mb(rss_runs, "before", "VmRSS"),
        "idle_after_imports_mb": _median_mb(rss_runs, "imported", "VmRSS"),
        "high_water_mb": _median_mb(rss_runs, "done", "VmHWM"),
        "batch_above_idle_mb": round(
            statistics.median(run["done"]["VmHWM"] - run["imported"]["VmRSS"] for run in rss_runs) / MIB, 1
        ),
        "tracemalloc_peak_mb": round(statistics.median(run["traced_peak"] for run in traced_runs) / 2**20, 1),
        "lambda_mb": LAMBDA_MB,
        "target_mb": TARGET_MB,
        "worker_concurrency": worker.environment.get("WORKER_CONCURRENCY"),
        "max_images_in_flight": worker.environment.get("MAX_IMAGES_IN_FLIGHT", "10 (default)"),
    }


def _median_mb(runs: list[dict[str, Any]], moment: str, figure: str) -> float:
    return round(statistics.median(run[moment][figure] for run in runs) / MIB, 1)


def report(figures: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"Peak memory: sqs_worker, one batch of {figures['messages']} messages x {figures['images_per_message']} "
            f"images at {figures['size']}x{figures['size']} (median of {figures['runs']} fresh processes; MB)",
            f"  interpreter alone (runner's first line)      {figures['interpreter_mb']:7.1f}",
            f"  idle container (handler imported)            {figures['idle_after_imports_mb']:7.1f}",
            f"  high water after the batch (VmHWM)          {figures['high_water_mb']:7.1f}"
            f"  (target <= {figures['target_mb']:.0f} of a {figures['lambda_mb']} MB function)",
            f"  the batch above the idle container           {figures['batch_above_idle_mb']:7.1f}",
            f"  tracemalloc peak during the batch            {figures['tracemalloc_peak_mb']:7.1f}",
            f"  (WORKER_CONCURRENCY={figures['worker_concurrency']}, "
            f"MAX_IMAGES_IN_FLIGHT={figures['max_images_in_flight']})",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE}x{QUICK_SIZE} images, {QUICK_RUNS} run")
    args = parser.parse_args(argv)
    print(report(measure(quick=args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
