"""`imagegen generate`: one request to the HTTP API, then the images saved from their presigned URLs."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from imagegen_cli.api import ImagegenApi, download
from imagegen_cli.config import Settings
from imagegen_cli.errors import ApiError, CliError, ExitCode, PartialFailure
from imagegen_cli.generation_options import add_generation_options, request_fields
from imagegen_cli.spinner import Spinner, wants_spinner

NEEDS = ("api_url",)
WANTS = ("api_key",)  # a stack deployed with ApiAuth other than API_KEY has none


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generate",
        parents=parents,
        help="generate images now through the HTTP API and save them as PNG files",
        description="Generate images through the HTTP API, save them into --out and print their paths.",
    )
    parser.add_argument("prompt", help="what the image should show")
    add_generation_options(parser)
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="where to save (default ./out)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer instead of the paths")
    parser.add_argument("--no-download", action="store_true", help="do not download the images")
    parser.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="HTTP timeout (default 120)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no spinner and no progress on stderr")
    parser.set_defaults(run=run, needs=NEEDS, wants=WANTS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    assert settings.api_url is not None  # required by NEEDS
    api = ImagegenApi(settings.api_url, settings.api_key, timeout=args.timeout)
    body = {"prompt": args.prompt, **request_fields(args)}
    count = body.get("number_of_images", 1)
    label = f"generating {count} image{'s' if count != 1 else ''}"
    try:
        with Spinner(sys.stderr, label, enabled=wants_spinner(sys.stderr, args.quiet)):
            answer = api.generate(body)
    except ApiError as error:
        if args.json and error.body is not None:
            print(json.dumps(error.body, indent=2))
        raise
    if args.json:
        print(json.dumps(answer, indent=2))
    if args.no_download:
        return ExitCode.OK
    return _save_all(answer, args)


def _save_all(answer: dict[str, Any], args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{_slug(args.prompt)}-{str(answer.get('request_id', 'image'))[:8]}"
    failed: list[str] = []
    images = answer["images"]
    for index, image in enumerate(images, start=1):
        path = args.out / f"{stem}-{index}.png"
        try:
            download(str(image.get("url", "")), path, timeout=args.timeout)
        except CliError as error:
            where = image.get("s3_uri", image.get("key", "?"))
            print(f"imagegen: image {index} ({where}) could not be downloaded: {error}", file=sys.stderr)
            failed.append(str(where))
            continue
        if args.json:
            if not args.quiet:
                print(f"saved {path}", file=sys.stderr)
        else:
            print(path)
    if failed:
        raise PartialFailure(
            f"{len(failed)} of {len(images)} images could not be downloaded; they are still in the bucket: "
            + ", ".join(failed)
        )
    return ExitCode.OK


def _slug(prompt: str, limit: int = 40) -> str:
    """A file-name-safe stem from the prompt: 'A red fox!' -> 'a-red-fox'."""
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")
    return slug[:limit].rstrip("-") or "image"
