"""Cold start of each function against a naive baseline: a fresh interpreter, one import, one event.

For each function (generate_image with events/api_generate_image.json, sqs_worker with
events/sqs_plain_text.json) a fresh ``python -I bench/lambda_runner.py`` imports the handler exactly as
Lambda does (its code directory and the core layer on sys.path, template.yaml's environment plus what the
Lambda runtime sets: tracing on, see ``bench.lambda_env``) and serves the event once. The baseline is
``bench/baseline_handlers.py`` (plain boto3, clients at import, json) serving the same event in the same
environment. S3 and SQS are moto's threaded server and Bedrock the stand-in at latency 0 with flat images,
all in this process; each child sees fresh ids, so every run does the full work.

Figures per run, from the child's own clock: *cold start* = top of the runner -> handler returned (imports,
init, first event); *import* = top of the runner -> handler imported; and *from spawn* = the parent's clock
just before the process was created -> handler returned (adds the interpreter's own start-up, the same for
both). Our function and the baseline alternate run by run (after one discarded warm-up each, which writes
the bytecode caches and warms moto), so drift on a busy machine hits both alike; the figures are medians.

    .venv/bin/python -m bench.cold_start [--quick] [--importtime]

``--importtime`` also runs each child under ``python -X importtime`` and prints the packages whose imports
cost most (self time, median over the runs), ours next to the baseline's: what dominates the cold start.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.events import load_event, prerender, with_fresh_ids
from bench.lambda_env import API_FUNCTION, WORKER_FUNCTION, FunctionSetup, baseline_of, bucket_name, lambda_function
from bench.processes import run_once
from bench.services import create_bucket, create_queue, running_services

RUNS, QUICK_RUNS = 10, 3
# What `sam build` puts in the core layer (core/requirements.txt and their dependencies: aws-xray-sdk pulls in
# botocore, and with it urllib3, dateutil, six, jmespath), plus our own code. The layer is built with bytecode
# (core/Makefile); the compile cost below is what a layer without it would add to every cold start.
LAYER_PACKAGES = (
    "aws_lambda_powertools", "aws_xray_sdk", "wrapt", "pydantic", "pydantic_core", "typing_extensions",
    "typing_inspection", "annotated_types", "botocore", "urllib3", "dateutil", "six", "jmespath",
    "imagegen_core", "app",
)  # fmt: skip
TARGET_RATIO = 1.3
FUNCTIONS = (
    # (name, template logical id, event file, baseline handler)
    ("generate_image", API_FUNCTION, "events/api_generate_image.json", "api_handler"),
    ("sqs_worker", WORKER_FUNCTION, "events/sqs_plain_text.json", "sqs_handler"),
)


def measure(quick: bool = False, importtime: bool = False) -> dict[str, Any]:
    """Medians (ms) for each function and its baseline, and their ratio."""
    runs = QUICK_RUNS if quick else RUNS
    figures: dict[str, Any] = {"runs": runs, "functions": {}}
    with running_services(latency_ms=0, image_detail="flat") as services:
        endpoints = services.endpoints
        create_bucket(endpoints, bucket_name())
        dlq_url = create_queue(endpoints, "imagegen-bench-dlq")
        for name, logical_id, event_file, baseline_handler in FUNCTIONS:
            template_event = load_event(event_file)
            ours = lambda_function(logical_id, endpoints, dlq_url)
            baseline = baseline_of(ours, baseline_handler)
            _cold_run(ours, template_event, services.standin)  # warm-up: bytecode caches, moto, the stand-in
            _cold_run(baseline, template_event, services.standin)
            samples: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
            options = ("-X", "importtime") if importtime else ()
            for _ in range(runs):
                samples["ours"].append(_cold_run(ours, template_event, services.standin, options))
                samples["baseline"].append(_cold_run(baseline, template_event, services.standin, options))
            result: dict[str, Any] = {side: _summary(runs_of_side) for side, runs_of_side in samples.items()}
            result["ratio"] = round(result["ours"]["cold_start_ms"] / result["baseline"]["cold_start_ms"], 2)
            result["event"] = event_file
            if importtime:
                result["importtime"] = {side: _import_costs(runs_of_side) for side, runs_of_side in samples.items()}
            result["compile_ms"] = _compile_cost(ours, template_event, services.standin)
            figures["functions"][name] = result
        figures["xray_datagrams"] = services.xray.datagrams
    return figures


def _cold_run(
    function: FunctionSetup, template_event: dict[str, Any], standin: Any, options: tuple[str, ...] = ()
) -> dict[str, Any]:
    """One fresh process serving the event once, with ids of its own and its images already rendered."""
    event = with_fresh_ids(template_event)
    prerender(standin, event, function.environment["MODEL_ID"])
    return run_once(function, "cold", event, python_options=options)


def _compile_cost(function: FunctionSetup, template_event: dict[str, Any], standin: Any) -> dict[str, float]:
    """ms to compile, from source, the modules our function loads from the core layer (see LAYER_PACKAGES)."""
    event = with_fresh_ids(template_event)
    prerender(standin, event, function.environment["MODEL_ID"])
    costs = run_once(function, "compile", event, packages=list(LAYER_PACKAGES))["compile_ms"]
    return {package: round(ms, 1) for package, ms in sorted(costs.items(), key=lambda item: -item[1])}


def _summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    def median_ms(start: str, end: str) -> float:
        return round(statistics.median((run[end] - run[start]) * 1000 for run in runs), 1)

    return {
        "cold_start_ms": median_ms("started", "returned"),
        "import_ms": median_ms("started", "imported"),
        "first_event_ms": median_ms("imported", "returned"),
        "from_spawn_ms": median_ms("spawned", "returned"),
    }


def _import_costs(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median self time (ms) of each top-level package's imports, from ``-X importtime``."""
    per_run = []
    for run in runs:
        totals: collections.Counter[str] = collections.Counter()
        for line in run["stderr"].splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, _cumulative, module = line.split(":", 1)[1].split("|")
            totals[module.strip().split(".")[0]] += int(self_us)
        per_run.append(totals)
    packages = set().union(*per_run)
    return {package: round(statistics.median(run.get(package, 0) for run in per_run) / 1000, 1) for package in packages}


def report(figures: dict[str, Any]) -> str:
    lines = [f"Cold start (median of {figures['runs']} fresh processes each; ms)"]
    for name, result in figures["functions"].items():
        for side in ("ours", "baseline"):
            values = result[side]
            lines.append(
                f"  {name:15s} {side:9s} cold start {values['cold_start_ms']:6.1f} = import {values['import_ms']:6.1f}"
                f" + first event {values['first_event_ms']:6.1f}   (from spawn {values['from_spawn_ms']:6.1f})"
            )
        lines.append(f"  {name:15s} ratio {result['ratio']:.2f} (target <= {TARGET_RATIO})")
        costs = result["compile_ms"]
        top = ", ".join(f"{package} {ms:.0f}" for package, ms in list(costs.items())[:6])
        lines.append(
            f"    not in the ratio: compiling the layer's modules from source, which a layer without bytecode would"
            f" make Lambda do at every cold start (ours ships .pyc): {sum(costs.values()):.0f} ms ({top}, ...)"
        )
        if "importtime" in result:
            ours, baseline = result["importtime"]["ours"], result["importtime"]["baseline"]
            lines.append("    imports, self time by package (ms): ours / baseline / difference")
            for package in sorted(ours, key=lambda p: baseline.get(p, 0.0) - ours[p])[:15]:
                lines.append(
                    f"      {package:28s} {ours[package]:6.1f} {baseline.get(package, 0.0):6.1f}"
                    f" {ours[package] - baseline.get(package, 0.0):+6.1f}"
                )
            lines.append(f"      {'(all)':28s} {sum(ours.values()):6.1f} {sum(baseline.values()):6.1f}")
    lines.append(f"  X-Ray segment documents received from the children: {figures['xray_datagrams']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs instead of {RUNS}")
    parser.add_argument("--importtime", action="store_true", help="also break the imports down (python -X importtime)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    figures = measure(quick=args.quick, importtime=args.importtime)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    print(report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
