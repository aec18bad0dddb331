"""`imagegen smoke`: prove that a running deployment makes pictures, both ways in, and dead-letters nothing.

Against the local stack (``.local/endpoints.json``) or a deployed one (``--stack NAME --region REGION``):

1. ``POST /generate-image`` answers 200, and its first image, downloaded through the presigned URL, is a PNG
   of the size the answer states;
2. a plain-text message sent to the queue gets its PNG under ``<prefix>/sqs/<message id>/`` within
   ``--timeout`` seconds;
3. the dead-letter queue holds no more messages than before.

A short report on stdout; exit 0, or 6 naming the first check that failed (2/3/4 for configuration, AWS and
network errors, as every command).
"""

from __future__ import annotations

import argparse
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imagegen_cli.api import ImagegenApi, download
from imagegen_cli.aws import AwsClients
from imagegen_cli.config import Settings
from imagegen_cli.errors import ApiError, CheckFailed, ExitCode
from imagegen_cli.option_types import positive_number
from imagegen_cli.status import queue_depth

NEEDS = ("api_url", "queue_url", "dlq_url", "bucket", "image_prefix")
WANTS = ("api_key",)
PROMPT = "imagegen smoke test: a lighthouse on a cliff at dawn"
MAX_WAIT = 3600.0
DEAD_LETTERED = "\0dead-lettered"  # not a key: what the wait for the queued image found instead


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    detail: str


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "smoke",
        parents=parents,
        help="prove a running deployment works: one HTTP generation, one queued one, no new dead letters",
        description="Run one generation over HTTP and one through the queue, and check the dead-letter queue.",
    )
    parser.add_argument(
        "--timeout",
        type=positive_number(MAX_WAIT),
        default=180.0,
        metavar="SECONDS",
        help="how long to wait for each generation, above 0 and at most 3600 (default 180)",
    )
    parser.set_defaults(run=run, needs=NEEDS, wants=WANTS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    aws = AwsClients(settings)
    print(f"smoke test of {settings.api_url} ({settings.sources.get('api_url', '?')})")
    dead_before = _dead_letters(aws, settings)
    steps = [
        _http(settings, args.timeout),
        _queue(aws, settings, args.timeout, dead_before),
        _no_new_dead_letters(aws, settings, dead_before),
    ]
    for step in steps:
        print(f"  {'ok  ' if step.ok else 'FAIL'} {step.name}: {step.detail}")
    failed = [step for step in steps if not step.ok]
    if failed:
        raise CheckFailed(f"smoke test failed: {failed[0].name}: {failed[0].detail}")
    print("smoke test passed")
    return ExitCode.OK


def _http(settings: Settings, timeout: float) -> Step:
    assert settings.api_url is not None
    name = "POST /generate-image"
    api = ImagegenApi(settings.api_url, settings.api_key, timeout=timeout)
    started = time.monotonic()
    try:
        answer = api.generate({"prompt": PROMPT})
    except ApiError as error:
        return Step(name, False, f"HTTP {error.status} {error.code}: {error.message}")
    image = answer["images"][0]  # api.generate checked that there are 1 to 5, each with a text URL
    with tempfile.TemporaryDirectory(prefix="imagegen-smoke-") as folder:
        path = Path(folder) / "image.png"
        try:
            size = download(image["url"], path, timeout=timeout)
        except ApiError as error:
            return Step(name, False, f"the image's presigned URL failed: {error.code}: {error.message}")
        dimensions = png_dimensions(path.read_bytes())
    promised = (image.get("width"), image.get("height"))
    if dimensions != promised:
        return Step(name, False, f"the PNG is {dimensions[0]}x{dimensions[1]}, the answer says {promised}")
    elapsed = time.monotonic() - started
    return Step(name, True, f"{answer.get('model_id', '?')}: a {size:,}-byte {dimensions[0]}x{dimensions[1]} PNG "
                f"in {elapsed:.1f} s")  # fmt: skip


def _queue(aws: AwsClients, settings: Settings, timeout: float, dead_before: int) -> Step:
    name = "queue message"
    message_id = aws.sqs.send_message(QueueUrl=str(settings.queue_url), MessageBody=PROMPT)["MessageId"]
    prefix = f"{settings.image_prefix}/sqs/{message_id}/"
    started = time.monotonic()

    def image_or_dead_letter() -> str | None:
        if _dead_letters(aws, settings) > dead_before:
            return DEAD_LETTERED
        return _first_key(aws, str(settings.bucket), prefix)

    key = wait_for(image_or_dead_letter, timeout)
    if key == DEAD_LETTERED:
        return Step(name, False, f"message {message_id} went to the dead-letter queue instead of making an image")
    if key is None:
        return Step(name, False, f"no image under s3://{settings.bucket}/{prefix} after {timeout:g} s "
                    "(see the worker's logs and the dead-letter queue)")  # fmt: skip
    head = aws.s3.head_object(Bucket=str(settings.bucket), Key=key)
    if head.get("ContentType") != "image/png":
        return Step(name, False, f"s3://{settings.bucket}/{key} is {head.get('ContentType')}, not image/png")
    return Step(name, True, f"message {message_id} -> s3://{settings.bucket}/{key} in "
                f"{time.monotonic() - started:.1f} s")  # fmt: skip


def _no_new_dead_letters(aws: AwsClients, settings: Settings, before: int) -> Step:
    after = _dead_letters(aws, settings)
    if after > before:
        return Step("dead-letter queue", False, f"it grew from {before} to {after} messages: "
                    "`imagegen status --dlq` shows why")  # fmt: skip
    return Step("dead-letter queue", True, f"{after} message(s), none new")


def _dead_letters(aws: AwsClients, settings: Settings) -> int:
    return queue_depth(aws.sqs, str(settings.dlq_url)).failed


def _first_key(aws: AwsClients, bucket: str, prefix: str) -> str | None:
    contents = aws.s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("Contents", [])
    return contents[0]["Key"] if contents else None


def wait_for(probe: Callable[[], str | None], timeout: float, interval: float = 1.0) -> str | None:
    """The first value ``probe`` returns within ``timeout`` seconds, polling every ``interval``; None if none."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None or time.monotonic() >= deadline:
            return value
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def png_dimensions(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (the download already checked the signature)."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        return (0, 0)
    width, height = struct.unpack(">II", data[16:24])
    return width, height
