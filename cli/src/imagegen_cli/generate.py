"""`imagegen generate`: one request to the HTTP API, then the images saved from their presigned URLs.

The output folder is prepared before the request (a generation is paid for, a folder problem is not),
and every name written there is made from the prompt and the request id by ``OutputFolder.path_for``,
so nothing the server sends can lead a file out of ``--out``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from imagegen_cli.api import ImagegenApi, download
from imagegen_cli.config import Settings
from imagegen_cli.console import one_line
from imagegen_cli.errors import ApiError, CliError, ExitCode, PartialFailure
from imagegen_cli.generation_options import add_generation_options, prompt_text, request_fields
from imagegen_cli.option_types import positive_number
from imagegen_cli.output import OutputFolder
from imagegen_cli.spinner import Spinner, wants_spinner

NEEDS = ("api_url",)
WANTS = ("api_key",)  # a stack deployed with ApiAuth other than API_KEY has none
MAX_TIMEOUT = 3600.0


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generate",
        parents=parents,
        help="generate images now through the HTTP API and save them as PNG files",
        description="Generate images through the HTTP API, save them into --out and print their paths.",
    )
    parser.add_argument("prompt", type=prompt_text, help="what the image should show")
    add_generation_options(parser)
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="where to save (default ./out)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer instead of the paths")
    parser.add_argument("--no-download", action="store_true", help="do not download the images")
    parser.add_argument(
        "--timeout",
        type=positive_number(MAX_TIMEOUT),
        default=120.0,
        metavar="SECONDS",
        help="HTTP timeout, above 0 and at most 3600 (default 120)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no spinner and no progress on stderr")
    parser.set_defaults(run=run, needs=NEEDS, wants=WANTS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    assert settings.api_url is not None  # required by NEEDS
    api = ImagegenApi(settings.api_url, settings.api_key, timeout=args.timeout)
    folder = None if args.no_download else OutputFolder.prepare(args.out)  # before paying for a generation
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
    if folder is None:
        return ExitCode.OK
    return _save_all(answer, folder, count, args)


def _save_all(answer: dict[str, Any], folder: OutputFolder, asked: int, args: argparse.Namespace) -> int:
    stem = f"{_slug(args.prompt)}-{_short_id(answer.get('request_id'))}"
    failed: list[str] = []
    images = answer["images"]
    for index, image in enumerate(images, start=1):
        path = folder.path_for(f"{stem}-{index}.png")
        try:
            download(image["url"], path, timeout=args.timeout)  # api.generate checked that it is a string
        except CliError as error:
            where = _where(image)
            print(f"imagegen: image {index} ({where}) could not be downloaded: {one_line(error)}", file=sys.stderr)
            failed.append(where)
            continue
        if args.json:
            if not args.quiet:
                print(f"saved {path}", file=sys.stderr)
        else:
            print(path)
    problems = []
    if failed:
        problems.append(
            f"{len(failed)} of {len(images)} images could not be downloaded; they are still in the bucket: "
            + ", ".join(failed)
        )
    if len(images) < asked:
        problems.append(f"the API returned {len(images)} of the {asked} images asked for")
    if problems:
        raise PartialFailure("; ".join(problems))
    return ExitCode.OK


def _where(image: dict[str, Any]) -> str:
    """Where the image is kept, as the answer says (its S3 URI or key), for the user to fetch it later."""
    where = image.get("s3_uri") or image.get("key")
    return one_line(where, 200) if isinstance(where, str) and where else "?"


def _short_id(request_id: Any) -> str:
    """The first 8 letters and digits of the request id: names stay short and come from a safe alphabet."""
    safe = re.sub(r"[^A-Za-z0-9-]", "", request_id if isinstance(request_id, str) else "")
    return safe.strip("-")[:8] or "image"


def _slug(prompt: str, limit: int = 40) -> str:
    """A file-name-safe stem from the prompt: 'A red fox!' -> 'a-red-fox'."""
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")
    return slug[:limit].rstrip("-") or "image"
