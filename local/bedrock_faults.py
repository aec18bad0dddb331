"""Faults the Bedrock stand-in can inject that Bedrock itself never names: a front door's outage, spoilt images.

An outage is what a proxy or load balancer in front of Bedrock answers when it cannot reach it: a 5xx or 429
with an HTML page and **no** ``x-amzn-ErrorType``, so a client sees an untyped error. Spoilt output is a 200
answer whose images are not usable: base64 that does not decode, base64 of bytes that are not a PNG, or fewer
images than asked for.
"""

from __future__ import annotations

import base64
from typing import Any

from local.bedrock_formats import Reply

OUTAGE_REASONS: dict[int, str] = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}
NOT_A_PNG = b"GIF89a STAND-IN: these bytes are deliberately not a PNG image\n" * 4


def outage_reply(status: int) -> Reply:
    """A front door's error page: HTML, the status's reason phrase, nothing that names a Bedrock error."""
    title = f"{status} {OUTAGE_REASONS[status]}"
    page = f"<html>\n<head><title>{title}</title></head>\n<body>\n<center><h1>{title}</h1></center>\n</body>\n</html>\n"
    return Reply(status, {}, html=page)


def spoil(answer: dict[str, Any], kind: str) -> dict[str, Any]:
    """``answer`` (a successful Amazon or Stability body) with its images spoilt the way ``kind`` says."""
    images = list(answer.get("images") or [])
    if kind == "corrupt":
        images = [corrupt_base64(image) for image in images]
    elif kind == "not-png":
        images = [base64.b64encode(NOT_A_PNG).decode("ascii") for _ in images]
    elif kind == "fewer":
        images = images[:-1]
    else:
        raise ValueError(f"unknown kind of spoilt output {kind!r}")
    return {**answer, "images": images}


def corrupt_base64(image: str) -> str:
    """Text that no base64 decoder takes, lenient or strict: a stray character and one data character too many."""
    whole = image.rstrip("=")[: len(image.rstrip("=")) // 4 * 4]
    return f"{whole[: len(whole) // 2]}%{whole[len(whole) // 2 :]}A"
