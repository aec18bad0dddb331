"""Per-image overhead: what our code adds to one 1024x1024 image, against the bare minimum of storing it.

Two warm containers (``bench/lambda_runner.py`` in serve mode) run side by side against the same moto S3
and the same Bedrock stand-in (latency 0, "noisy" PNGs of ~1.4 MB, ~1.9 MB of base64 JSON per answer):

- ours: the generate_image function as Lambda runs it (tracing on, see ``bench.lambda_env``), serving the
  API event for one image: parse and validate, InvokeModel, decode, PutObject, presign, logs, metrics,
  traces, the JSON response;
- the bare minimum (``bench/bare_minimum.py``): plain boto3, timing a raw InvokeModel round trip (body
  read), then one base64 decode and one PutObject of the same bytes, and the job's record and event (which
  every request has since jobs).

They are invoked in turn, one event each, for every round (after warm-up rounds), so both see the same
machine at the same moment. Figures are medians. Our overhead = our handler's time - the raw InvokeModel
round trip (Bedrock's share: the stand-in's time and the transfer); the bare minimum = decode + PutObject +
the job's records.
moto's in-process S3 is most of both; it is the same S3 for both sides.

    .venv/bin/python -m bench.overhead [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any

from bench.events import load_event, prerender
from bench.lambda_env import API_FUNCTION, ROOT, FunctionSetup, bucket_name, lambda_function
from bench.processes import WarmContainer
from bench.services import create_bucket, create_queue, running_services

ROUNDS, QUICK_ROUNDS = 40, 8
WARM_UP_ROUNDS = 3
TARGET_RATIO = 1.2


def measure(quick: bool = False) -> dict[str, Any]:
    rounds = QUICK_ROUNDS if quick else ROUNDS
    with running_services(latency_ms=0, image_detail="noisy") as services:
        create_bucket(services.endpoints, bucket_name())
        ours = lambda_function(API_FUNCTION, services.endpoints, create_queue(services.endpoints, "imagegen-bench-dlq"))
        bare = FunctionSetup("bare_minimum.handler", (str(ROOT / "bench"),), ours.environment)
        event = load_event("events/api_generate_image.json")
        event["body"] = json.dumps({"prompt": "a lighthouse on a cliff at sunset, oil painting", "seed": 42})
        prerender(services.standin, event, ours.environment["MODEL_ID"])
        handler_ms: list[float] = []
        parts: dict[str, list[float]] = {
            "invoke_ms": [], "loads_ms": [], "decode_ms": [], "put_ms": [], "record_ms": [], "bare_ms": []
        }  # fmt: skip
        sizes: dict[str, Any] = {}
        with WarmContainer(ours, event) as our_container, WarmContainer(bare, event) as bare_container:
            for index in range(WARM_UP_ROUNDS + rounds):
                ours_answer = our_container.invoke()
                bare_answer = bare_container.invoke()
                if index < WARM_UP_ROUNDS:
                    continue
                handler_ms.append(ours_answer["ms"])
                timings = bare_answer["timings"]
                for name in ("invoke_ms", "loads_ms", "decode_ms", "put_ms", "record_ms"):
                    parts[name].append(timings[name])
                parts["bare_ms"].append(timings["decode_ms"] + timings["put_ms"] + timings["record_ms"])
                sizes = {"answer_bytes": timings["answer_bytes"], "png_bytes": timings["png_bytes"]}
    medians = {name: round(statistics.median(values), 2) for name, values in parts.items()}
    handler = round(statistics.median(handler_ms), 2)
    overhead = round(handler - medians["invoke_ms"], 2)
    with_parse = statistics.median(
        bare + loads for bare, loads in zip(parts["bare_ms"], parts["loads_ms"], strict=True)
    )
    return {
        "rounds": rounds,
        "ratio_with_parse": round(overhead / with_parse, 2),
        "handler_ms": handler,
        **medians,
        "overhead_ms": overhead,
        "ratio": round(overhead / medians["bare_ms"], 2),
        **sizes,
    }


def report(figures: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"Per-image overhead: one 1024x1024 PNG of {figures['png_bytes'] / 2**20:.2f} MB "
            f"({figures['answer_bytes'] / 2**20:.2f} MB answer), median of {figures['rounds']} rounds (ms)",
            f"  our handler, warm                      {figures['handler_ms']:7.2f}",
            f"  raw InvokeModel round trip (Bedrock)   {figures['invoke_ms']:7.2f}",
            f"  our overhead = handler - InvokeModel   {figures['overhead_ms']:7.2f}",
            f"  bare minimum = b64decode + PutObject + the job's record and event   {figures['bare_ms']:7.2f}"
            f"  (decode {figures['decode_ms']:.2f} + put {figures['put_ms']:.2f} + the job's record and event "
            f"{figures['record_ms']:.2f}; json.loads of the answer {figures['loads_ms']:.2f}, ours only)",
            f"  ratio {figures['ratio']:.2f} (target <= {TARGET_RATIO}); with the answer's JSON parse counted in"
            f" the bare minimum too (every handler must parse it): {figures['ratio_with_parse']:.2f}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.overhead", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds instead of {ROUNDS}")
    args = parser.parse_args(argv)
    print(report(measure(quick=args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
