"""`imagegen status`: how full the queues are and which images landed last.

S3 lists keys in name order, not by time, so the newest images are found by listing and sorting.
The listing stops after ``--scan`` objects so that a large bucket costs a bounded number of calls;
the output says when it stopped early.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from imagegen_cli.aws import AwsClients, answer_field, answer_items
from imagegen_cli.config import Settings
from imagegen_cli.console import one_line
from imagegen_cli.errors import ExitCode
from imagegen_cli.option_types import whole_number

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef

NEEDS = ("queue_url",)
WANTS = ("dlq_url", "bucket")
PAGE_SIZE = 1000
MAX_LIMIT = 100_000
MAX_SCAN = 100_000_000
_DEPTH_ATTRIBUTES: tuple[QueueAttributeNameType, ...] = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class QueueDepth:
    url: str
    visible: int
    in_flight: int
    delayed: int

    @property
    def failed(self) -> int:
        """For a dead-letter queue, its failed messages: the visible ones and those in flight."""
        return self.visible + self.in_flight


@dataclass(frozen=True)
class StoredImage:
    key: str
    size: int
    last_modified: str  # ISO 8601, UTC


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    sent: str
    error_code: str
    error_message: str
    original_message_id: str


@dataclass(frozen=True)
class ImageListing:
    bucket: str
    prefix: str
    newest: list[StoredImage]
    scanned: int
    complete: bool


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        parents=parents,
        help="queue and dead-letter queue depth, and the newest images in the bucket",
        description="Show the queue's depth, the dead-letter queue's depth and the newest images in the bucket.",
    )
    parser.add_argument(
        "--limit", type=whole_number(0, MAX_LIMIT), default=10, metavar="N", help="how many images to show (default 10)"
    )
    parser.add_argument(
        "--scan",
        type=whole_number(1, MAX_SCAN),
        default=10_000,
        metavar="N",
        help="list at most N objects (default 10000)",
    )
    parser.add_argument("--prefix", help="only images under this key prefix (default: the stack's image prefix)")
    parser.add_argument("--dlq", action="store_true", help="also peek at the newest dead-lettered messages")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.set_defaults(run=run, needs=NEEDS, wants=WANTS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    assert settings.queue_url is not None  # required by NEEDS
    clients = AwsClients(settings)
    queue = queue_depth(clients.sqs, settings.queue_url)
    dlq = queue_depth(clients.sqs, settings.dlq_url) if settings.dlq_url else None
    letters = peek_dead_letters(clients.sqs, settings.dlq_url) if args.dlq and settings.dlq_url else []
    images = None
    if settings.bucket:
        prefix = args.prefix if args.prefix is not None else _prefix_of(settings.image_prefix)
        images = newest_images(clients.s3, settings.bucket, prefix, limit=args.limit, scan=args.scan)
    if args.json:
        print(json.dumps(_as_json(queue, dlq, letters, images), indent=2))
    else:
        _print_status(queue, dlq, letters, images, show_letters=args.dlq)
    return ExitCode.OK


def queue_depth(sqs: SQSClient, url: str) -> QueueDepth:
    answer = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(_DEPTH_ATTRIBUTES))
    attributes = answer_field(answer, "Attributes", dict, "SQS GetQueueAttributes")
    return QueueDepth(url, *(_count(attributes.get(name)) for name in _DEPTH_ATTRIBUTES))


def peek_dead_letters(sqs: SQSClient, url: str, count: int = 10) -> list[DeadLetter]:
    """Up to ``count`` dead-lettered messages, newest first, left on the queue (visibility timeout 0)."""
    answer = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=min(count, 10),
        VisibilityTimeout=0,
        WaitTimeSeconds=0,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["SentTimestamp"],
    )
    letters = []
    for message in answer_items(answer, "Messages"):
        attributes = message.get("MessageAttributes")
        attributes = attributes if isinstance(attributes, dict) else {}
        system = message.get("Attributes")
        sent_ms = _count(system.get("SentTimestamp") if isinstance(system, dict) else None)
        letters.append(
            DeadLetter(
                message_id=str(message.get("MessageId", "")),
                sent=_iso_time(sent_ms),
                error_code=_string(attributes, "error_code", "-"),
                error_message=_string(attributes, "error_message", ""),
                original_message_id=_string(attributes, "original_message_id", "-"),
            )
        )
    return sorted(letters, key=lambda letter: letter.sent, reverse=True)


def _count(value: object) -> int:
    """A count or timestamp SQS sends as a string; 0 when it is missing or not a number."""
    text = str(value) if value is not None else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else 0


def _iso_time(epoch_ms: int) -> str:
    try:
        return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return "?"


def _string(attributes: Mapping[str, MessageAttributeValueOutputTypeDef], name: str, default: str) -> str:
    attribute = attributes.get(name)
    value = attribute.get("StringValue") if isinstance(attribute, dict) else None
    return value if isinstance(value, str) else default


def newest_images(s3: S3Client, bucket: str, prefix: str, *, limit: int, scan: int) -> ImageListing:
    """The ``limit`` newest PNGs under ``prefix`` among the first ``scan`` objects of the listing."""
    found: list[tuple[datetime, StoredImage]] = []
    scanned = 0
    complete = True
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": min(PAGE_SIZE, max(scan, 1))}
    )
    for page in pages:
        for item in answer_items(page, "Contents"):
            scanned += 1
            key, when = item.get("Key"), item.get("LastModified")
            if isinstance(key, str) and key.lower().endswith(".png") and isinstance(when, datetime):
                when = when.astimezone(UTC)
                image = StoredImage(key, _count(item.get("Size")), when.isoformat(timespec="seconds"))
                found.append((when, image))
        if scanned >= scan and isinstance(page, dict) and page.get("IsTruncated"):
            complete = False
            break
    found.sort(key=lambda pair: (pair[0], pair[1].key), reverse=True)
    return ImageListing(bucket, prefix, [image for _, image in found[: max(limit, 0)]], scanned, complete)


def _prefix_of(image_prefix: str | None) -> str:
    return f"{image_prefix.strip('/')}/" if image_prefix else ""


def _print_status(
    queue: QueueDepth,
    dlq: QueueDepth | None,
    letters: list[DeadLetter],
    images: ImageListing | None,
    *,
    show_letters: bool,
) -> None:
    print(
        f"queue     {queue.visible} waiting, {queue.in_flight} in flight, {queue.delayed} delayed   "
        + one_line(queue.url, 500)
    )
    if dlq is None:
        print("dlq       unknown: no dead-letter queue URL (--dlq-url or IMAGEGEN_DLQ_URL)")
    else:
        failed = dlq.failed
        print(f"dlq       {failed} failed message{'s' if failed != 1 else ''}   {one_line(dlq.url, 500)}")
    if show_letters and letters:
        for letter in letters:
            message = one_line(letter.error_message, 100)  # --json has the whole text
            code, original = one_line(letter.error_code, 40), one_line(letter.original_message_id, 80)
            print(f"  {letter.sent}  {code:<16} {original}  {message}")
    if images is None:
        print("images    unknown: no bucket name (--bucket or IMAGEGEN_BUCKET)")
        return
    where = one_line(f"s3://{images.bucket}/{images.prefix}", 500)
    note = "" if images.complete else f" (listing stopped after {images.scanned:,} objects; older keys not seen)"
    print(f"images    newest {len(images.newest)} in {where}{note}")
    for image in images.newest:
        print(f"  {image.last_modified}  {_human_size(image.size):>9}  {one_line(image.key, 1100)}")


def _as_json(
    queue: QueueDepth, dlq: QueueDepth | None, letters: list[DeadLetter], images: ImageListing | None
) -> dict[str, Any]:
    return {
        "queue": asdict(queue),
        "dead_letter_queue": asdict(dlq) if dlq else None,
        "dead_letters": [asdict(letter) for letter in letters],
        "images": asdict(images) if images else None,
    }


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} MiB"
