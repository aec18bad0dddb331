"""The options that become fields of a generation request, shared by `generate` and `submit`.

Only the shape of each value is checked here; the service owns the limits (sizes, scales, lengths)
and explains a broken one field by field, so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

MAX_IMAGES = 5  # the API's documented 1-5


def add_generation_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("generation options")
    group.add_argument("--n", type=_image_count, metavar="1-5", help="how many images (number_of_images)")
    group.add_argument("--size", type=_size, metavar="WxH", help="image size in pixels, e.g. 1024x1024")
    group.add_argument("--seed", type=_non_negative_int, help="seed for a repeatable result")
    group.add_argument("--negative", metavar="TEXT", help="what the image should not show (negative_prompt)")
    group.add_argument("--cfg-scale", type=float, metavar="SCALE", help="how closely to follow the prompt")
    group.add_argument("--quality", choices=("standard", "premium"), help="image quality")


def request_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The request fields given on the command line (the prompt excluded); absent ones are left out."""
    fields: dict[str, Any] = {}
    if args.negative is not None:
        fields["negative_prompt"] = args.negative
    if args.size is not None:
        fields["width"], fields["height"] = args.size
    if args.n is not None:
        fields["number_of_images"] = args.n
    if args.cfg_scale is not None:
        fields["cfg_scale"] = args.cfg_scale
    if args.seed is not None:
        fields["seed"] = args.seed
    if args.quality is not None:
        fields["quality"] = args.quality
    return fields


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1024x1024")
    return int(match.group(1)), int(match.group(2))


def _image_count(text: str) -> int:
    count = _int(text)
    if not 1 <= count <= MAX_IMAGES:
        raise argparse.ArgumentTypeError(f"{count} is not between 1 and {MAX_IMAGES}")
    return count


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
