"""The options that become fields of a generation request, shared by `generate` and `submit`.

Only the shape of each value is checked here (see ``option_types``); the service owns the limits
(sizes, scales, lengths) and explains a broken one field by field, so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
from typing import Any

from imagegen_cli.option_types import image_size, positive_number, text, whole_number

MAX_IMAGES = 5  # the API's documented 1-5
MAX_SEED = 2**32 - 1  # seeds are 32-bit numbers (each model takes its own part of that range)
MAX_SIDE = 99_999  # pixels: far above any model, still a number the service can answer about
MAX_CFG_SCALE = 1000.0

prompt_text = text("prompt")


def add_generation_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("generation options")
    group.add_argument(
        "--n", type=whole_number(1, MAX_IMAGES), metavar="1-5", help="how many images (number_of_images)"
    )
    group.add_argument("--size", type=image_size(MAX_SIDE), metavar="WxH", help="image size in pixels, e.g. 1024x1024")
    group.add_argument("--seed", type=whole_number(0, MAX_SEED), help="seed for a repeatable result")
    group.add_argument(
        "--negative", type=text("negative prompt"), metavar="TEXT", help="what the image should not show"
    )
    group.add_argument(
        "--cfg-scale", type=positive_number(MAX_CFG_SCALE), metavar="SCALE", help="how closely to follow the prompt"
    )
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
