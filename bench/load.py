"""The local stack under load: N requests at concurrency 10 against POST /generate-image.

Starts ``python -m local`` as the e2e fixture does (tests/e2e/conftest.py: free ports, a state directory of
its own, no AWS_/LOCAL_/BEDROCK_STANDIN_ variables of the shell), with the stand-in answering after
BEDROCK_STANDIN_LATENCY_MS (200 ms) with its default "noisy" 1024x1024 PNGs, LOCAL_API_CONCURRENCY=10
containers of the API function (Lambda would scale out to one per concurrent request), and the stage
throttle off (LOCAL_API_THROTTLE=off: API Gateway's rate limit is a limit we set, not a cost of our code; at
the template's limits a load test measures the throttle). One warm-up request per container (cold starts
are the cold-start benchmark's business), then N requests from 10 threads, all with the same prompt and
seed: the stand-in renders the image once, and each answer then costs what Bedrock's would cost us (bytes
and latency), not a fresh render. Every request must answer 200.

Figures: errors, p50/p90/p99/max latency, throughput, and the overhead above the stand-in's latency at p50
(the API shim, the container protocol, our handler, moto's S3 and the presigned URL). Stopped with SIGINT,
as a user would; the request loop is bounded in count and time and talks to 127.0.0.1 only.

    .venv/bin/python -m bench.load [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.lambda_env import ROOT

REQUESTS, QUICK_REQUESTS = 200, 30
CONCURRENCY = 10
LATENCY_MS = 200
READY_TIMEOUT, STOP_TIMEOUT, REQUEST_TIMEOUT = 90.0, 20.0, 60.0
STACK_KNOBS = {
    "LOCAL_AWS_PORT": "0",
    "LOCAL_BEDROCK_PORT": "0",
    "LOCAL_API_PORT": "0",
    "LOCAL_API_THROTTLE": "off",
    "LOCAL_API_CONCURRENCY": str(CONCURRENCY),
    "BEDROCK_STANDIN_LATENCY_MS": str(LATENCY_MS),
}
BODY = json.dumps({"prompt": "benchmark lanterns over a harbour", "seed": 7}).encode()


def measure(quick: bool = False) -> dict[str, Any]:
    count = QUICK_REQUESTS if quick else REQUESTS
    with running_stack() as endpoints:
        url, key = endpoints["api_url"], endpoints["api_key"]
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            list(pool.map(lambda _: _request(url, key), range(CONCURRENCY)))  # warm-up: one per container
            overflows_before = _listen_overflows()
            started = time.perf_counter()
            results = list(pool.map(lambda _: _request(url, key), range(count)))
            elapsed = time.perf_counter() - started
            overflows_after = _listen_overflows()
    latencies = sorted(ms for status, ms in results if status == 200)
    errors = [status for status, _ in results if status != 200]
    p50 = _percentile(latencies, 50)
    return {
        "requests": count,
        "concurrency": CONCURRENCY,
        "latency_ms": LATENCY_MS,
        "errors": len(errors),
        "error_statuses": sorted(set(errors)),
        "p50_ms": p50,
        "p90_ms": _percentile(latencies, 90),
        "p99_ms": _percentile(latencies, 99),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "throughput_rps": round(count / elapsed, 1),
        "overhead_p50_ms": round(p50 - LATENCY_MS, 1) if p50 is not None else None,
        "listen_overflows": (
            None if overflows_before is None or overflows_after is None else overflows_after - overflows_before
        ),
    }


@contextlib.contextmanager
def running_stack() -> Iterator[dict[str, Any]]:
    """``python -m local`` on free ports in a temporary state directory; yields endpoints.json."""
    with tempfile.TemporaryDirectory(prefix="imagegen-bench-stack-") as directory:
        state_dir = Path(directory) / "state"
        log_path = Path(directory) / "local-stack.log"
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("AWS_", "LOCAL_", "BEDROCK_STANDIN_", "PYTEST_"))
        }
        environment = {**inherited, **STACK_KNOBS, "LOCAL_STATE_DIR": str(state_dir)}
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "local"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            yield _wait_for_endpoints(process, state_dir / "endpoints.json", log_path)
        finally:
            _stop(process, log_path)


def _wait_for_endpoints(process: subprocess.Popen[bytes], path: Path, log_path: Path) -> dict[str, Any]:
    deadline = time.monotonic() + READY_TIMEOUT
    while not path.exists():
        if process.poll() is not None:
            raise RuntimeError(f"python -m local exited with {process.returncode}:\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the local stack was not ready within {READY_TIMEOUT:.0f} s:\n{_tail(log_path)}")
        time.sleep(0.1)  # a poll interval; the deadline bounds the wait
    return dict(json.loads(path.read_text()))


def _stop(process: subprocess.Popen[bytes], log_path: Path) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise RuntimeError(f"the local stack did not stop within {STOP_TIMEOUT:.0f} s:\n{_tail(log_path)}") from None


def _request(url: str, api_key: str) -> tuple[int, float]:
    """One POST on a connection of its own (as curl or the CLI would); (status, ms), status 0 for no answer."""
    request = urllib.request.Request(
        url, data=BODY, method="POST", headers={"Content-Type": "application/json", "x-api-key": api_key}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, (time.perf_counter() - started) * 1000


def _listen_overflows() -> int | None:
    """Linux's count of connections dropped because a listen queue was full (machine-wide), if readable.

    A dropped SYN is sent again after 1 s: such a request takes ~1.2 s. The API shim listens with
    ThreadingHTTPServer's default queue of 5, which 10 clients connecting at once can fill.
    """
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            fields = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(fields.get("ListenOverflows", 0))
    return None


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(percent / 100 * len(values) + 0.5) - 1))  # nearest rank
    return round(values[index], 1)


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def report(figures: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"Local stack: {figures['requests']} x POST /generate-image at concurrency {figures['concurrency']}, "
            f"stand-in latency {figures['latency_ms']} ms (ms)",
            f"  errors {figures['errors']} {figures['error_statuses'] or ''}",
            f"  p50 {figures['p50_ms']}  p90 {figures['p90_ms']}  p99 {figures['p99_ms']}  max {figures['max_ms']}"
            f"  mean {figures['mean_ms']}",
            f"  throughput {figures['throughput_rps']} requests/s",
            f"  overhead above the stand-in's latency at p50: {figures['overhead_p50_ms']} ms",
            f"  connections dropped by a full listen queue (1 s SYN retry each): {figures['listen_overflows']}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REQUESTS} requests instead of {REQUESTS}")
    args = parser.parse_args(argv)
    print(report(measure(quick=args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
