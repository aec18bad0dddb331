"""`imagegen generate`: one request to the HTTP API, then the images saved from their presigned URLs;
or, with ``--async``, a job (``POST /jobs``) whose id is printed at once, for `imagegen job ID --wait`.

The output folder is prepared before the request (a generation is paid for, a folder problem is not),
and every name written there is made from the prompt and the request id by ``OutputFolder.path_for``,
so nothing the server sends can lead a file out of ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from imagegen_cli.api import ImagegenApi
from imagegen_cli.config import Settings, api_base_url
from imagegen_cli.errors import ApiError, ExitCode, PartialFailure, UsageError
from imagegen_cli.generation_options import add_generation_options, prompt_text, request_fields
from imagegen_cli.job import say_queued
from imagegen_cli.jobs_api import JobsApi, job_id_problem
from imagegen_cli.option_types import positive_number
from imagegen_cli.output import OutputFolder
from imagegen_cli.saving import ImageToSave, file_stem, not_downloaded, save_images, where_kept
from imagegen_cli.spinner import Spinner, wants_spinner

NEEDS = ("api_url",)
WANTS = ("api_base_url", "api_key")  # a stack deployed with ApiAuth other than API_KEY has no key
MAX_TIMEOUT = 3600.0
DEFAULT_OUT = Path("out")


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "generate",
        parents=parents,
        help="generate images now through the HTTP API and save them as PNG files",
        description="Generate images through the HTTP API, save them into --out and print their paths.",
    )
    parser.add_argument("prompt", type=prompt_text, help="what the image should show")
    add_generation_options(parser)
    parser.add_argument("--out", type=Path, metavar="DIR", help="where to save (default ./out)")
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer instead of the paths")
    parser.add_argument(
        "--async",
        dest="run_async",
        action="store_true",
        help="queue a job (POST /jobs) and print its id at once; `imagegen job ID --wait --out DIR` saves its images",
    )
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
    if args.run_async:
        return _queue_job(args, settings)
    assert settings.api_url is not None  # required by NEEDS
    api = ImagegenApi(settings.api_url, settings.api_key, timeout=args.timeout)
    out = args.out if args.out is not None else DEFAULT_OUT
    folder = None if args.no_download else OutputFolder.prepare(out)  # before paying for a generation
    body = {"prompt": args.prompt, **request_fields(args)}
    count = body.get("number_of_images", 1)
    label = f"generating {count} image{'s' if count != 1 else ''}"
    with _error_body_printed(args.json), Spinner(sys.stderr, label, enabled=wants_spinner(sys.stderr, args.quiet)):
        answer = api.generate(body)
    if args.json:
        print(json.dumps(answer, indent=2))
    _name_the_job(answer, args.quiet)
    if folder is None:
        return ExitCode.OK
    return _save_all(answer, folder, count, args)


def _name_the_job(answer: dict[str, Any], quiet: bool) -> None:
    """The request is a job too: its id on stderr, so that `imagegen job ID` finds it again later."""
    job_id = answer.get("job_id")
    if quiet or not isinstance(job_id, str) or job_id_problem(job_id):
        return
    print(f"job {job_id}; `imagegen job {job_id}` shows it again (its links made fresh)", file=sys.stderr)


def _queue_job(args: argparse.Namespace, settings: Settings) -> int:
    """``POST /jobs`` with the body ``generate`` would send; the job id (or the answer) on stdout."""
    if args.out is not None:
        raise UsageError("--async saves nothing now: `imagegen job ID --wait --out DIR` saves the job's images")
    jobs = JobsApi(api_base_url(settings), settings.api_key, timeout=args.timeout)
    with _error_body_printed(args.json):
        receipt = jobs.create({"prompt": args.prompt, **request_fields(args)})
    job_id = receipt["job_id"]  # checked by JobsApi.create
    print(json.dumps(receipt, indent=2) if args.json else job_id)
    if not args.quiet:
        say_queued(job_id)
    return ExitCode.OK


@contextmanager
def _error_body_printed(wanted: bool) -> Iterator[None]:
    """With --json, the API's error answer is printed on stdout too (the report still goes to stderr)."""
    try:
        yield
    except ApiError as error:
        if wanted and error.body is not None:
            print(json.dumps(error.body, indent=2))
        raise


def _save_all(answer: dict[str, Any], folder: OutputFolder, asked: int, args: argparse.Namespace) -> int:
    images = [ImageToSave(item["url"], where_kept(item.get("s3_uri"), item.get("key"))) for item in answer["images"]]
    stem = file_stem(args.prompt, answer.get("request_id"))
    failed = save_images(images, folder, stem, timeout=args.timeout, paths_on_stdout=not args.json, quiet=args.quiet)
    problems = []
    if failed:
        problems.append(not_downloaded(failed, len(images)))
    if len(images) < asked:
        problems.append(f"the API returned {len(images)} of the {asked} images asked for")
    if problems:
        raise PartialFailure("; ".join(problems))
    return ExitCode.OK
