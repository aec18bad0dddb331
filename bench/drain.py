"""How fast a backlog drains at Bedrock's quota: N queued prompts through Lambda's event source, as deployed.

The local stack (``local.stack.LocalStack``, in a child process of its own: moto's state is per process) runs
the pieces as template.yaml deploys them: the image queue with the template's visibility timeout (1810 s) and
redrive policy (``maxReceiveCount``) to its DLQ, the SQS event source (batches of 10, as many pollers as
``MaximumConcurrency``, partial batch failures, failed messages left alone to reappear, visibility changes
honoured), the worker in Lambda-like containers with the template's environment, and the Bedrock stand-in with
a quota (a token bucket per model) and a latency. The worker is sized as docs/operations.md says:
``BedrockRequestsPerMinute`` is the quota, ``WorkerMaxConcurrency`` is
``imagegen_core.throttling.invocations_needed(quota, latency)``.

N prompts are queued first (one prompt and seed for all, so that the stand-in renders the image once: see
BODY), every worker container is started (cold starts are the cold-start benchmark's business), then the event
source is let loose; the clock runs until every prompt's image is stored (or dead-lettered, or the run gives
up). The ideal is N / quota. It runs twice: with a quota that lets 2 calls through at once (1 s of quota, the
harshest: Bedrock does not say how bursty its per-minute quotas are) and with one that lets 10 through (5 s).

**Time is scaled by 5** to keep the run short: a quota of 10 req/s with 1 s per call stands for 2 req/s with
5 s per call (a Stable Image Core-like model), the batching window is 2 s (the template's 10 s) and the
worker hands messages back after 1 s doubling up to 180 s (its defaults: 2 s up to 900 s; 1 s is SQS's
smallest step, so the first hand-backs are slower than scaled). Every ratio (calls in flight = quota x latency
= 10, calls per batch, hand-back delays per call) is then what it is at full scale. Not scaled, all on the slow
side: the in-call backoff of a throttled call (up to 0.5 s, then 1 s: five times too long here), the
plumbing's own time between two batches (delete, receive, invoke: ~0.2 s here), the worker's timeout and time
guard (300 s and 30 s; a batch takes a few seconds here: neither binds). A faster scale (20 req/s) made this
2-core machine the bottleneck: with no quota at all the plumbing (moto, the stand-in and the pollers share one
process) drained 200 messages at ~21 req/s.

Figures: time to drain / ideal (target <= 1.5, aim 1.1), messages dead-lettered (target 0), the rate in the
middle of the drain against the quota, throttled calls (the stand-in's count) against all calls, messages
handed back, the most receives of one message, and the slowest message's wait (queued to stored) and its time
from its first Bedrock attempt to stored.

    .venv/bin/python -m bench.drain [--quick] [--messages N]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.lambda_env import ROOT

MESSAGES, QUICK_MESSAGES = 200, 40
# What is modelled, at full scale: a quota of 2 req/s, 5 s a call, the template's 10 s batching window and the
# worker's hand-back delays (2 s doubling to 900 s). TIME_SCALE divides every time and multiplies every rate.
TIME_SCALE = 5
QUOTA_RPS = 2 * TIME_SCALE
# Bedrock does not say how much of a per-minute quota may come at once: the drain runs with a bucket of 2 calls
# (1 s of quota: the harshest) and of 10 calls (5 s of quota).
BURSTS = (2, 10)
LATENCY_MS = 5000 // TIME_SCALE
BATCHING_WINDOW_SECONDS = max(1, 10 // TIME_SCALE)
HAND_BACK_BASE_SECONDS = max(1, round(2 / TIME_SCALE))  # SQS counts whole seconds
HAND_BACK_MAX_SECONDS = 900 // TIME_SCALE
TARGET_RATIO, AIM_RATIO = 1.5, 1.1
TIMEOUT_SECONDS = 600
# One prompt and seed for every message: the stand-in renders the image once (~60 ms of the launcher's CPU for a
# 1024x1024 PNG, which at 20 calls a second would make the benchmark's machine the bottleneck) and then answers
# as Bedrock costs the worker: latency and bytes. Each message still stores its own image, under its own id.
BODY = json.dumps({"prompt": "a lantern over the harbour at dusk", "seed": 7})
_LEFT_TO_RETRY = re.compile(r"batch of \d+: \d+ deleted, (\d+) left to retry")


def measure(quick: bool = False, messages: int | None = None) -> dict[str, Any]:
    """Run the drain once per burst, each in a child process; their figures."""
    count = messages or (QUICK_MESSAGES if quick else MESSAGES)
    runs = []
    for burst in BURSTS:
        command = [sys.executable, "-m", "bench.drain", "--child", "--messages", str(count), "--burst", str(burst)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"bench.drain failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        runs.append(dict(json.loads(done.stdout.strip().splitlines()[-1])))
    return {"quick": quick, "runs": runs}


class WorkerLog:
    """The stack's console, read as it is written: when each message was first attempted and when stored, its
    receive counts (the worker's JSON log lines), and how many messages the event source left on the queue
    after their batch (the poller's summary lines: the worker's hand-backs, and any other failure)."""

    def __init__(self) -> None:
        self.first_attempt: dict[str, float] = {}
        self.stored: dict[str, float] = {}
        self.most_receives = 0
        self.left_to_retry = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        now = time.monotonic()
        for line in text.splitlines():
            self._read(line, now)
        return len(text)

    def flush(self) -> None:
        pass

    def _read(self, line: str, now: float) -> None:
        retried = _LEFT_TO_RETRY.search(line) if line.startswith("[sqs]") else None
        if retried:
            with self._lock:
                self.left_to_retry += int(retried[1])
            return
        start = line.find("{")
        if start < 0 or '"message_id"' not in line:
            return
        try:
            record = json.loads(line[start:])
        except ValueError:
            return
        message_id, what = record.get("message_id"), record.get("message")
        with self._lock:
            if what == "generating":
                self.first_attempt.setdefault(message_id, now)
                self.most_receives = max(self.most_receives, int(record.get("receive_count") or 0))
            elif what == "images stored":
                self.stored.setdefault(message_id, now)

    def stored_count(self) -> int:
        with self._lock:
            return len(self.stored)


def drain(messages: int, burst: int) -> dict[str, Any]:
    """The benchmark itself (in the child): queue, warm, let the event source loose, time it."""
    from imagegen_core.throttling import invocations_needed
    from local.aws_emulation import clients
    from local.bedrock_standin import StandinSettings
    from local.stack import LocalStack, StackSettings
    from local.template import load_template, queue_settings

    template = queue_settings(load_template())["ImageQueue"]
    quota_per_minute = QUOTA_RPS * 60
    invocations = invocations_needed(quota_per_minute, LATENCY_MS / 1000)
    log = WorkerLog()
    with tempfile.TemporaryDirectory(prefix="imagegen-bench-drain-") as directory:
        settings = StackSettings(
            aws_port=0,
            bedrock_port=0,
            api_port=0,
            state_dir=Path(directory),
            visibility_timeout=int(template["VisibilityTimeout"] or 0),
            batching_window=BATCHING_WINDOW_SECONDS,
            api_throttle=False,
            function_env={
                "HAND_BACK_BASE_SECONDS": str(HAND_BACK_BASE_SECONDS),
                "HAND_BACK_MAX_SECONDS": str(HAND_BACK_MAX_SECONDS),
            },
            parameters={
                "BedrockRequestsPerMinute": str(quota_per_minute),
                "WorkerMaxConcurrency": str(invocations),
            },
        )
        standin = StandinSettings(latency_ms=LATENCY_MS, quota_rps=QUOTA_RPS, quota_burst=burst, image_detail="flat")
        stack = LocalStack(settings, out=log, standin=standin)  # type: ignore[arg-type]
        try:
            endpoints = stack.start(poll=False)
            stack.warm_worker()
            _, sqs = clients(endpoints.aws_endpoint_url, endpoints.region)
            queued_at = _queue(sqs, endpoints.queue_url, messages)
            started = time.monotonic()
            stack.start_polling()
            ended, dead_letters = _wait_for_drain(sqs, endpoints.dlq_url, log, messages, started)
            calls = stack.standin.calls
        finally:
            stack.stop()
    ideal = messages / QUOTA_RPS
    elapsed = ended - started
    stored = dict(log.stored)
    return {
        "messages": messages,
        "quota_rps": QUOTA_RPS,
        "quota_burst": burst,
        "latency_ms": LATENCY_MS,
        "time_scale": TIME_SCALE,
        "worker_max_concurrency": invocations,
        "visibility_timeout": int(template["VisibilityTimeout"] or 0),
        "max_receive_count": int(template["maxReceiveCount"] or 0),
        "drained": len(stored) + dead_letters == messages,
        "stored": len(stored),
        "dead_lettered": dead_letters,
        "seconds": round(elapsed, 2),
        "ideal_seconds": ideal,
        "ratio": round(elapsed / ideal, 3),
        "calls": len(calls),
        "throttled_calls": sum(call.error == "ThrottlingException" for call in calls),
        "handed_back": log.left_to_retry,
        "most_receives": log.most_receives,
        "steady_rate_over_quota": round(_steady_rate(sorted(stored.values())) / QUOTA_RPS, 2),
        "slowest_wait_seconds": round(max((at - queued_at for at in stored.values()), default=0.0), 2),
        "slowest_after_first_attempt_seconds": round(
            max((at - log.first_attempt.get(message, at) for message, at in stored.items()), default=0.0), 2
        ),
    }


def _steady_rate(completions: list[float]) -> float:
    """Messages stored per second between the 10th and the 90th percentile of completions: the pace in the
    middle of the drain, without its start (the first calls take a latency) and its end (the last batches)."""
    if len(completions) < 10:
        return 0.0
    first, last = completions[len(completions) // 10], completions[len(completions) * 9 // 10]
    return round((len(completions) * 9 // 10 - len(completions) // 10) / max(last - first, 1e-9), 2)


def _queue(sqs: Any, queue_url: str, messages: int) -> float:
    """Send ``messages`` prompts (batches of 10); when the last was queued."""
    for start in range(0, messages, 10):
        entries = [{"Id": str(index), "MessageBody": BODY} for index in range(min(10, messages - start))]
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"queueing failed: {answer['Failed']}")
    return time.monotonic()


def _wait_for_drain(sqs: Any, dlq_url: str, log: WorkerLog, messages: int, started: float) -> tuple[float, int]:
    """Until every message is stored or dead-lettered (or TIMEOUT_SECONDS pass): (when, dead letters)."""
    deadline = started + TIMEOUT_SECONDS / 2
    dead_letters = 0
    while time.monotonic() < deadline:
        if log.stored_count() + dead_letters >= messages:
            break
        dead_letters = _depth(sqs, dlq_url)
        time.sleep(0.05)  # a poll interval; the deadline bounds the wait
    ended = max(log.stored.values(), default=time.monotonic())
    return ended, _depth(sqs, dlq_url)


def _depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def report(figures: dict[str, Any]) -> str:
    return "\n".join(_report_run(run, figures["quick"]) for run in figures["runs"])


def _report_run(figures: dict[str, Any], quick: bool) -> str:
    verdict = "judged on the full run" if quick else ("met" if met(figures) else "MISSED")
    aim = "" if quick else (" (aim 1.1: met)" if figures["ratio"] <= AIM_RATIO else " (aim 1.1: not yet)")
    return "\n".join(
        [
            f"Drain: {figures['messages']} queued prompts, Bedrock quota {figures['quota_rps']} req/s (burst "
            f"{figures['quota_burst']}), {figures['latency_ms']} ms a call; time scaled by {figures['time_scale']} "
            f"(= {figures['quota_rps'] / figures['time_scale']:g} req/s, "
            f"{figures['latency_ms'] * figures['time_scale'] / 1000:g} s a call)",
            f"  worker: WorkerMaxConcurrency {figures['worker_max_concurrency']}, batches of 10, visibility timeout "
            f"{figures['visibility_timeout']} s, DLQ after {figures['max_receive_count']} receives",
            f"  drained in {figures['seconds']} s = {figures['ratio']:.2f} x the ideal {figures['ideal_seconds']:g} s "
            f"(target <= {TARGET_RATIO}: {verdict}){aim}",
            f"  stored {figures['stored']}, dead-lettered {figures['dead_lettered']} (target 0); in the middle of the "
            f"drain (10th to 90th percentile) {figures['steady_rate_over_quota']:.2f} of the quota",
            f"  Bedrock calls {figures['calls']}, throttled {figures['throttled_calls']}; messages handed back to the "
            f"queue {figures['handed_back']}; most receives of one message {figures['most_receives']}",
            f"  slowest message: {figures['slowest_wait_seconds']} s from queued to stored, "
            f"{figures['slowest_after_first_attempt_seconds']} s from its first attempt to stored",
        ]
    )


def met(figures: dict[str, Any]) -> bool:
    """The floor: drained within 1.5 x the ideal with no dead letter."""
    return bool(figures["drained"] and figures["dead_lettered"] == 0 and figures["ratio"] <= TARGET_RATIO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drain", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_MESSAGES} prompts instead of {MESSAGES}")
    parser.add_argument("--messages", type=int, help="how many prompts to queue")
    parser.add_argument("--burst", type=int, default=BURSTS[0], help="the quota's bucket (with --child)")
    parser.add_argument("--child", action="store_true", help="run the benchmark here and print its figures as JSON")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(drain(args.messages or MESSAGES, args.burst)))
        return 0
    print(report(measure(quick=args.quick, messages=args.messages)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
