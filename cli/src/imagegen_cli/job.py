"""`imagegen job ID`: what became of one job; ``--wait`` waits for it to end, ``--out`` saves its images.

The exit code says how the job stands: 0 succeeded (or, without --wait and --out, just shown while it is
queued or running), 3 failed (its error code explained like the API's own errors), 7 not finished when it
had to be (--wait timed out, or --out found no images yet). ``--out`` is prepared before the first request,
as `generate` does, and the files are named from the prompt and the job id, never from the server's keys.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from imagegen_cli.config import Settings, api_base_url
from imagegen_cli.console import one_line
from imagegen_cli.errors import ExitCode, JobFailed, PartialFailure, StillRunning
from imagegen_cli.jobs_api import Job, JobsApi, job_id_problem
from imagegen_cli.option_types import positive_number, shown
from imagegen_cli.output import OutputFolder
from imagegen_cli.saving import ImageToSave, file_stem, not_downloaded, save_images, where_kept
from imagegen_cli.waiting import Clock, wait_for_job

NEEDS = ()  # the API URL or the API base URL: api_base_url() says which is missing
WANTS = ("api_url", "api_base_url", "api_key")
DEFAULT_WAIT = 600.0
MAX_WAIT = 86_400.0
HTTP_TIMEOUT = 30.0  # each request; --timeout bounds the whole wait
DOWNLOAD_TIMEOUT = 120.0
CLOCK = Clock()  # the tests put a clock of their own here


def job_id(text: str) -> str:
    """An argparse type: the id as given, when it can be a job id (it goes into a URL path)."""
    problem = job_id_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{shown(text, 60)}: {problem}")
    return text


def say_queued(job_id: str) -> None:
    """On stderr, for `generate --async` and `submit`: the job is queued, and how to wait for it."""
    print(f"queued job {job_id}; `imagegen job {job_id} --wait --out DIR` waits for it", file=sys.stderr)


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "job",
        parents=parents,
        help="show a job (status, images or error); --wait waits for it to end, --out saves its images",
        description=(
            "Show a job: one made by `generate --async`, by `submit` or by any message sent to the queue (its "
            "SQS message id), or by a request to POST /generate-image. Exit code 0 when it succeeded (or is "
            "only shown), 3 when it failed, 7 when --wait timed out or --out found nothing to save yet."
        ),
    )
    parser.add_argument("job_id", type=job_id, metavar="ID", help="the job id (an SQS message id for the queue)")
    parser.add_argument("--wait", action="store_true", help="wait until the job has succeeded or failed")
    parser.add_argument(
        "--timeout",
        type=positive_number(MAX_WAIT),
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help="how long --wait waits, above 0 and at most 86400 (default 600)",
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="save the images of a succeeded job into DIR")
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer instead of the summary")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr while waiting")
    parser.set_defaults(run=run, needs=NEEDS, wants=WANTS)


def run(args: argparse.Namespace, settings: Settings) -> int:
    jobs = JobsApi(api_base_url(settings), settings.api_key, timeout=min(args.timeout, HTTP_TIMEOUT))
    folder = OutputFolder.prepare(args.out) if args.out is not None else None  # before anything is asked
    if args.wait:
        progress = _no_progress if args.quiet else _print_progress
        try:
            job = wait_for_job(
                lambda: jobs.get(args.job_id), args.job_id, args.timeout, clock=CLOCK, on_change=progress
            )
        except StillRunning as still:
            if args.json and still.last_answer is not None:  # a script still gets the job as it last stood
                print(json.dumps(still.last_answer, indent=2))
            raise
    else:
        job = jobs.get(args.job_id)
    _show(job, args, summary_on_stdout=folder is None)
    if job.status == "failed":
        raise JobFailed(job.job_id, job.error_code or "unknown_error", job.error_message or "")
    if folder is None:
        return ExitCode.OK
    if job.status != "succeeded":
        raise StillRunning(job.job_id, job.status)
    return _save(job, folder, args)


def describe(job: Job) -> list[str]:
    """The job as lines of ``label value``, every value printable and on its one line."""
    fields = [("job", job.job_id), ("status", _status(job))]
    for label, name in (
        ("source", "source"),
        ("model", "model_id"),
        ("created", "created_at"),
        ("updated", "updated_at"),
    ):
        fields.append((label, one_line(job.text(name) or "?", 100)))
    fields.append(("prompt", one_line(job.prompt or "?", 200)))
    for index, image in enumerate(job.images, start=1):
        size = f"{image.width}x{image.height}" if image.width and image.height else "?"
        fields.append((f"image {index}", f"{size}  {one_line(image.key or '?', 200)}"))
    if job.error_code:
        fields.append(("error", one_line(f"{job.error_code}: {job.error_message}", 300)))
    return [f"{label:<9} {value}" for label, value in fields]


def _show(job: Job, args: argparse.Namespace, *, summary_on_stdout: bool) -> None:
    """The JSON answer (--json) or the summary on stdout; with --out, stdout is for the paths, so the
    summary goes to stderr (unless --quiet)."""
    if args.json:
        print(json.dumps(job.answer, indent=2))
    elif summary_on_stdout:
        print("\n".join(describe(job)))
    elif not args.quiet:
        print("\n".join(describe(job)), file=sys.stderr)


def _save(job: Job, folder: OutputFolder, args: argparse.Namespace) -> int:
    images = [ImageToSave(image.url, where_kept(image.key)) for image in job.images]
    failed = save_images(
        images,
        folder,
        file_stem(job.prompt, job.job_id),
        timeout=DOWNLOAD_TIMEOUT,
        paths_on_stdout=not args.json,
        quiet=args.quiet,
    )
    if failed:
        raise PartialFailure(not_downloaded(failed, len(images)))
    return ExitCode.OK


def _print_progress(job: Job) -> None:
    print(f"job {job.job_id}: {_status(job)}", file=sys.stderr)


def _status(job: Job) -> str:
    """The job's status as shown, with its attempt when the API counts them: ``running (attempt 2)``."""
    attempts = f" (attempt {job.attempts})" if job.attempts else ""
    return one_line(job.status, 40) + attempts


def _no_progress(job: Job) -> None:
    pass
