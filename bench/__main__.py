"""Run the benchmarks and print one table: figure, baseline, ratio, target, PASS/MISS.

    .venv/bin/python -m bench [--quick] [--only NAME ...] [--json FILE]

NAME is one of: cold-start, batch, overhead, memory, load, drain (default: all, in that order). ``--quick`` uses
fewer runs and smaller sizes, to keep the benchmarks working in CI; its verdicts are indicative only, judge
on a full run. A MISS is reported, not fatal: the exit status is 1 only when a benchmark crashed. Each
benchmark's details follow the table; docs/performance.md explains them. Every server listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import batch, cold_start, drain, load, memory, overhead, worker_batch
from bench.table import Row, machine, render

# The cold start first, on the quietest machine; the batch benchmark next, while this process is still small:
# its child reads its RSS high water with ru_maxrss, which Linux starts at the parent's high water.
NAMES = ("cold-start", "batch", "overhead", "memory", "load", "drain")


def cold_start_rows(figures: dict[str, Any]) -> list[Row]:
    rows = []
    for name, result in figures["functions"].items():
        ours, baseline = result["ours"], result["baseline"]
        rows.append(
            Row(
                f"cold start, {name}",
                f"{ours['cold_start_ms']:.0f} ms",
                f"{baseline['cold_start_ms']:.0f} ms (naive handler)",
                f"{result['ratio']:.2f}x",
                f"<= {cold_start.TARGET_RATIO}x",
                result["ratio"] <= cold_start.TARGET_RATIO,
            )
        )
    return rows


def overhead_rows(figures: dict[str, Any]) -> list[Row]:
    return [
        Row(
            "per-image overhead (1024x1024 PNG)",
            f"{figures['overhead_ms']:.1f} ms",
            f"{figures['bare_ms']:.1f} ms (decode + PutObject + job record)",
            f"{figures['ratio']:.2f}x",
            f"<= {overhead.TARGET_RATIO}x",
            figures["ratio"] <= overhead.TARGET_RATIO,
        )
    ]


def memory_rows(figures: dict[str, Any]) -> list[Row]:
    return [
        Row(
            f"peak memory, worker batch {figures['messages']}x{figures['images_per_message']} at {figures['size']}px",
            f"{figures['high_water_mb']:.0f} MB RSS high water",
            f"{figures['idle_after_imports_mb']:.0f} MB idle container",
            f"{figures['high_water_mb'] / figures['lambda_mb']:.2f} of {figures['lambda_mb']} MB",
            f"<= {figures['target_mb']:.0f} MB",
            figures["high_water_mb"] <= figures["target_mb"],
        )
    ]


def batch_rows(figures: dict[str, Any]) -> list[Row]:
    return [
        Row(
            f"batch throughput, {figures['messages']} messages, L = {figures['latency_ms']} ms",
            f"{figures['batch_ms']:.0f} ms per batch",
            f"{figures['sequential_ms']:.0f} ms one by one",
            f"{figures['speedup']:.2f}x faster",
            f">= {worker_batch.TARGET_SPEEDUP:g}x",
            figures["speedup"] >= worker_batch.TARGET_SPEEDUP,
        )
    ]


def load_rows(figures: dict[str, Any]) -> list[Row]:
    return [
        Row(
            f"local stack, {figures['requests']} requests at concurrency {figures['concurrency']}",
            f"p50 {figures['p50_ms']:.0f} / p99 {figures['p99_ms']:.0f} ms, {figures['errors']} errors",
            f"{figures['latency_ms']} ms stand-in latency",
            f"p50 +{figures['overhead_p50_ms']:.0f} ms",
            "0 errors",
            figures["errors"] == 0,
        )
    ]


def drain_rows(figures: dict[str, Any]) -> list[Row]:
    return [
        Row(
            f"drain, {run['messages']} queued at {run['quota_rps']} req/s (burst {run['quota_burst']}), "
            f"L = {run['latency_ms']} ms, x{run['time_scale']} time",
            f"{run['seconds']:.1f} s, {run['dead_lettered']} dead, {run['throttled_calls']} throttled",
            f"{run['ideal_seconds']:g} s ideal (N / quota)",
            f"{run['ratio']:.2f}x",
            f"<= {drain.TARGET_RATIO}x, 0 dead",
            drain.met(run),
        )
        for run in figures["runs"]
    ]


BENCHMARKS: dict[
    str, tuple[Callable[[bool], dict[str, Any]], Callable[[dict[str, Any]], str], Callable[..., list[Row]]]
] = {
    "cold-start": (lambda quick: cold_start.measure(quick=quick), cold_start.report, cold_start_rows),
    "overhead": (lambda quick: overhead.measure(quick=quick), overhead.report, overhead_rows),
    "memory": (lambda quick: memory.measure(quick=quick), memory.report, memory_rows),
    "batch": (lambda quick: batch.measure(quick=quick), worker_batch.report, batch_rows),
    "load": (lambda quick: load.measure(quick=quick), load.report, load_rows),
    "drain": (lambda quick: drain.measure(quick=quick), drain.report, drain_rows),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller sizes (CI)")
    parser.add_argument("--only", action="append", choices=NAMES, metavar="NAME", help=f"one of {', '.join(NAMES)}")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    names = [name for name in NAMES if not args.only or name in args.only]
    mode = "quick mode: indicative only" if args.quick else "full run"
    header = machine()
    rows: list[Row] = []
    details: list[str] = []
    figures: dict[str, Any] = {"machine": header, "quick": args.quick}
    crashed = False
    for name in names:
        measure, report, to_rows = BENCHMARKS[name]
        print(f"running {name} ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            result = measure(args.quick)
        except Exception:
            crashed = True
            rows.append(Row(name, "-", "-", "-", "-", None))
            details.append(f"{name} crashed:\n{traceback.format_exc()}")
            continue
        result["seconds"] = round(time.monotonic() - started, 1)
        figures[name] = result
        rows.extend(to_rows(result))
        details.append(f"{report(result)}\n  ({result['seconds']} s)")
    header["load_after"] = machine()["load"]
    print(render(rows, header, mode))
    print()
    print("\n\n".join(details))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
