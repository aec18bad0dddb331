"""Batch throughput of the SQS worker: ``bench/worker_batch.py`` (the worker's own benchmark), run for the table.

It runs in a child process of its own (``python -m bench.batch --child``): it starts moto in-process with
``mock_aws``, which must not meet the moto server the other benchmarks run in this process, and its RSS
figure is then its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from bench.lambda_env import ROOT

TIMEOUT_SECONDS = 600


def measure(quick: bool = False) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.batch", "--child", *(["--quick"] if quick else [])]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.worker_batch failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help="run the benchmark here and print its figures as JSON")
    args = parser.parse_args(argv)
    if not args.child:
        from bench import worker_batch

        print(worker_batch.report(measure(quick=args.quick)))
        return 0
    from bench import worker_batch

    figures = worker_batch.measure(quick=args.quick)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
