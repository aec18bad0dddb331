"""Helpers the tests share (fixtures live in the conftest.py files; these are plain functions and constants).

- the test environment's names: ``ROOT``, ``BUCKET``, ``JOBS_TABLE``, ``REGION``;
- events from ``events/`` (the same files ``sam local invoke -e`` uses): ``load_event``, ``api_event``;
- a Lambda proxy answer's headers as API Gateway sends them: ``response_headers``;
- PNGs, made and read independently of the code under test: ``tiny_png``, ``png_size``, ``PNG_SIGNATURE``;
- what landed in S3: ``keys_under``;
- waiting on a condition with a deadline instead of sleeping: ``wait_until``.
"""

from __future__ import annotations

import json
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
BUCKET = "imagegen-test-bucket"
JOBS_TABLE = "imagegen-test-jobs"
REGION = "eu-west-1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

T = TypeVar("T")


def load_event(name: str) -> dict[str, Any]:
    """An event from events/ (the same files `sam local invoke -e` uses)."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def api_event(body: Any, *, raw: str | None = None, request_id: str | None = None) -> dict[str, Any]:
    """The API event of events/api_generate_image.json with another body and a fresh request id."""
    event = load_event("api_generate_image")
    event["body"] = raw if raw is not None else json.dumps(body)
    event["requestContext"]["requestId"] = request_id or str(uuid.uuid4())
    return event


def response_headers(response: dict[str, Any]) -> dict[str, str]:
    """The headers of a REST API (payload v1) proxy answer: ``headers`` and ``multiValueHeaders`` merged, as API
    Gateway merges them (the last value of a multi-value header)."""
    headers = dict(response.get("headers") or {})
    headers.update({name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()})
    return headers


def tiny_png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size (8-bit greyscale, one zlib stream)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a valid PNG has right after its signature."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (kind, length) == (b"IHDR", 13), "the first chunk is not IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def keys_under(s3: Any, bucket: str, prefix: str) -> list[str]:
    """The keys in ``bucket`` under ``prefix``, sorted (one page: the tests store far fewer than 1,000)."""
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """The first truthy value of ``condition()``, polled until ``timeout`` s; fails saying ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)  # a poll interval, not a fixed wait: the deadline bounds the whole wait
